"""The example plugin works through the public hooks, as an installed plugin would."""

import pytest
import spacy

import themekit_example
from themekit.codebook import load_codebook
from themekit.plugins import REGISTRY


@pytest.fixture
def example_registered():
    """The plugin registered as its entry point would, unless it is installed and loaded."""
    with REGISTRY.registered(themekit_example, name="example"):
        yield


def test_codebook_and_detector_are_usable_by_name(example_registered):
    book = load_codebook("app-reviews")
    assert book.detectors == ("pii.email", "spam.promo_code")
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "app-reviews"})
    doc = nlp("Uninstalled because of the price. Use code SAVE20 lol")
    coding = doc._.themekit
    assert coding.codes == {"verdict": "quit", "issues": ["problem", "churn_after_billing"]}
    assert [(r["flag"], r["text"]) for r in coding.risks] == [("spam.promo_code", "Use code SAVE20")]


def test_requires_keeps_billing_churn_out_without_quit(example_registered):
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "app-reviews"})
    assert nlp("I recommend it because of the price")._.themekit.codes["issues"] == []


def test_the_plugin_adds_a_command(example_registered, tmp_path):
    from click.testing import CliRunner

    from themekit.cli import main

    reviews = tmp_path / "reviews.jsonl"
    reviews.write_text('{"id": "1", "text": "Use code SAVE20 lol"}\n'
                       '{"id": "2", "text": "works fine"}\n', encoding="utf-8")
    coded = tmp_path / "coded.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["annotate", str(reviews), "-o", str(coded),
                                  "--codebook", "app-reviews"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["promo-codes", str(coded)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 of 2 coded comments carry a promo code"
    assert "promo-codes" in runner.invoke(main, ["--help"]).output
