"""The example plugin works through the public hooks, as an installed plugin would."""

import pytest
import spacy

import themekit_example
from themekit.codebook import load_codebook
from themekit.plugins import get_plugin_manager, reset_plugin_caches


@pytest.fixture
def example_registered():
    """Register the plugin as its entry point would, unless it is installed and loaded."""
    pm = get_plugin_manager()
    installed = pm.get_plugin("example") is not None
    if not installed:
        pm.register(themekit_example, name="example")
        reset_plugin_caches()
    yield
    if not installed:
        pm.unregister(name="example")
        reset_plugin_caches()


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
