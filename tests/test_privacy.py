"""Privacy-risk detectors (with character offsets) and redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from themekit.plugins import registered_detectors
from themekit.nlp.redaction import redact_coding, redact_text


def flags_of(nlp, text):
    return [(r["flag"], r["text"]) for r in nlp(text)._.themekit.risks]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write me at jo.doe@example.com", [("pii.email", "jo.doe@example.com")]),
        ("call 415-555-0132 tonight", [("pii.phone", "415-555-0132")]),
        ("or (415) 555-0132", [("pii.phone", "(415) 555-0132")]),
        ("uk: +44 20 7946 0958", [("pii.phone", "+44 20 7946 0958")]),
        ("see https://example.org/post/1 and www.example.net", [
            ("pii.url", "https://example.org/post/1"), ("pii.url", "www.example.net")]),
        ("@jane_doe you need this", [("pii.handle", "@jane_doe")]),
        # spaCy splits the trailing underscores off as a suffix; they are part of the handle
        ("dm @lena.rios__ or @sam_ _ ok", [("pii.handle", "@lena.rios__"), ("pii.handle", "@sam_")]),
        ("I have bipolar and my replika helps", [("sensitive.health_disclosure", "I have bipolar")]),
        ("i'm on sertraline now", [("sensitive.health_disclosure", "i'm on sertraline")]),
        ("as someone with complex PTSD it felt cold",
         [("sensitive.health_disclosure", "someone with complex PTSD")]),
        ("I have an eating disorder", [("sensitive.health_disclosure", "I have an eating disorder")]),
        ("i'm deaf so hotlines don't work for me", [("sensitive.health_disclosure", "i'm deaf")]),
        ("my social anxiety is worse", [("sensitive.health_disclosure", "my social anxiety")]),
        ("some nights I want to die", [("risk.crisis", "want to die")]),
        ("I was suicidal last year", [("risk.crisis", "suicidal")]),
        ("thoughts of not wanting to be alive lately",
         [("risk.crisis", "not wanting to be alive")]),
        ("i dont want to live like this", [("risk.crisis", "nt want to live")]),
    ],
)
def test_detectors_find_spans_with_offsets(nlp, text, expected):
    doc = nlp(text)
    assert flags_of(nlp, text) == expected
    for risk in doc._.themekit.risks:
        assert text[risk["start"]:risk["end"]] == risk["text"]
    assert doc._.themekit.flags == sorted({flag for flag, _ in expected})
    assert [s.label_ for s in doc.spans["themekit_risks"]] == [f for f, _ in expected]


@pytest.mark.parametrize(
    "text",
    [
        "Character.AI and chatgpt.com are both apps",  # product names, not links
        "I died laughing at this 😂",
        "my sister has anxiety",  # not a first-person disclosure
        "it was 2019 when 3 of us tried it",
        "rated 4.5 stars",
        "I don't want to be rude but it is slow",
        "from 2019-2020 it was fine",
    ],
)
def test_detectors_leave_hard_negatives_alone(nlp, text):
    assert flags_of(nlp, text) == []


def test_redaction_replaces_only_personal_data(nlp):
    text = "mail jo@example.com or call 415-555-0132, @sam_x see https://example.org/a. I want to die"
    coding = nlp(text)._.themekit.to_json()
    assert redact_text(text, coding["risks"]) == (
        "mail [EMAIL] or call [PHONE], [@USER] see [URL]. I want to die")
    redacted = redact_coding(coding)
    assert {r["text"] for r in redacted["risks"]} == {
        "[EMAIL]", "[PHONE]", "[@USER]", "[URL]", "want to die"}
    assert "jo@example.com" not in str(redacted)
    redacted_text = redact_text(text, coding["risks"])
    for span in redacted["risks"] + redacted["evidence"]:  # offsets fit the redacted text
        assert redacted_text[span["start"]:span["end"]] == span["text"], span


def test_redaction_joins_overlapping_spans_under_the_first_and_keeps_unredacted_flags():
    text = "mail jo@x.org/cv ✨ I want to die"
    risks = [{"flag": "pii.url", "start": 8, "end": 16},  # runs past the e-mail: joined to it
             {"flag": "risk.crisis", "start": 20, "end": 31},  # flagged, never redacted
             {"flag": "pii.email", "start": 5, "end": 13}]
    assert redact_text(text, risks) == "mail [EMAIL] ✨ I want to die"
    assert redact_text(text, []) == text
    coding = {"risks": [{**r, "text": text[r["start"]:r["end"]]} for r in risks], "evidence": []}
    redacted = redact_text(text, risks)
    for span in redact_coding(coding)["risks"]:  # each overlapping span points at the whole
        assert redacted[span["start"]:span["end"]] == span["text"], span


TOKEN_DETECTORS = {
    # flag: the plain test of every token that the gated, array-based detector must equal
    "pii.handle": lambda token: token.prefix_ == "@" and len(token) > 2
    and token.text[1:].replace("_", "").replace(".", "").isalnum(),
}
ODD_TOKENS = (
    "https://example.org/" + "a" * 100 + " a@b.co @x @@ @jo_ann. x@y www.x.org http://t.co ftp://h/p ... .com a.b/c Character.AI "
    "e-mail: JO@EXAMPLE.ORG, HTTPS://EXAMPLE.ORG/A @Jane.Doe 555.123.4567 (@me) @ "
)


def _texts(shared: Path | None) -> list[str]:
    texts = [ODD_TOKENS, "", "nothing to see"]
    if shared is not None:
        with open(shared / "comments-10k.jsonl", encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines]
    return texts


@pytest.mark.parametrize("with_corpus", [False, True])
def test_token_detectors_equal_a_plain_loop_over_tokens(nlp, request, with_corpus):
    """The shape gates that spare most documents must never hide a token."""
    shared = request.getfixturevalue("shared_data") if with_corpus else None
    finders = {flag: registered_detectors()[flag].build(nlp) for flag in TOKEN_DETECTORS}
    found = 0
    for doc in nlp.tokenizer.pipe(_texts(shared)):
        for flag, plain in TOKEN_DETECTORS.items():
            expected = [(t.i, t.i + 1) for t in doc if plain(t)]
            assert [(s.start, s.end) for s in finders[flag](doc)] == expected, (flag, doc.text)
            found += len(expected)
    assert found >= 3
