"""The Presidio plugin: Presidio's pattern recognizers as themekit detectors, reporting
character offsets that redaction replaces. Skipped where the plugin and presidio-analyzer
are not installed (themekit's own test run installs neither). No conftest puts the
plugin's src/ on sys.path: an egg-info left there by an editable install elsewhere would
make every themekit test load the plugin's entry point without Presidio."""

import pytest

pytest.importorskip("presidio_analyzer")
themekit_presidio = pytest.importorskip("themekit_presidio")

import spacy  # noqa: E402
import srsly  # noqa: E402

from themekit.errors import PluginError  # noqa: E402
from themekit.plugins import REGISTRY, registered_detectors  # noqa: E402
from themekit.nlp.redaction import redact_text  # noqa: E402

CODEBOOK = {
    "name": "presidio-test", "version": "1",
    "tiers": [{"id": "use", "type": "exclusive", "default": "no",
               "codes": [{"id": "yes", "definition": "uses it", "patterns": ["i use it"]},
                         {"id": "no", "definition": "does not"}]}],
}


@pytest.fixture
def presidio_registered():
    """The plugin registered as its entry point would, unless it is installed and loaded."""
    with REGISTRY.registered(themekit_presidio, name="presidio"):
        yield


def pipeline(tmp_path, detectors):
    path = tmp_path / "codebook.yaml"
    srsly.write_yaml(path, {**CODEBOOK, "detectors": detectors})
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    return nlp


def test_pattern_recognizers_are_registered_as_detectors(presidio_registered):
    assert {"presidio.credit_card", "presidio.iban_code", "presidio.ip_address",
            "presidio.crypto", "presidio.email_address", "presidio.url",
            "presidio.us_ssn"} <= set(registered_detectors())


def test_cards_and_ibans_are_found_to_the_character_and_redacted(presidio_registered, tmp_path):
    nlp = pipeline(tmp_path, ["presidio.credit_card", "presidio.iban_code"])
    text = "card:4111 1111 1111 1111, iban GB82 WEST 1234 5698 7654 32 thanks"
    coding = nlp(text)._.themekit.to_json()
    assert [(r["flag"], r["text"]) for r in coding["risks"]] == [
        ("presidio.credit_card", "4111 1111 1111 1111"),
        ("presidio.iban_code", "GB82 WEST 1234 5698 7654 32")]
    assert redact_text(text, coding["risks"]) == "card:[CREDIT_CARD], iban [IBAN_CODE] thanks"


def test_numbers_that_fail_the_checksum_are_not_cards(presidio_registered, tmp_path):
    nlp = pipeline(tmp_path, ["presidio.credit_card"])
    assert nlp("order 4111 1111 1111 1112 shipped")._.themekit.risks == []


def test_min_score_is_an_option_and_is_checked(presidio_registered, tmp_path):
    nlp = pipeline(tmp_path, [{"presidio.credit_card": {"min_score": 2}}])
    with pytest.raises(PluginError, match="min_score must be a number from 0 to 1"):
        nlp("card 4111 1111 1111 1111")
