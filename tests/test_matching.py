"""AnchoredMatcher skips patterns that cannot match, and finds exactly what Matcher finds."""

from __future__ import annotations

import spacy
from spacy.matcher import Matcher

from themekit.codebook import load_codebook
from themekit.matching import AnchoredMatcher

TEXTS = [
    "I talk to ChatGPT every night", "i've been venting to my replika", "my replika is sweet",
    "It really helped me so much", "not that helpful tbh", "at 3 am nobody is up", "",
    "my sister uses it for homework", "I will try it", "When I feel anxious I vent",
    "nothing relevant here at all", "I tried the app and it kept telling me to breathe",
    # long texts: matches near the ends and in the middle of several windows
    "I talk to it " + "filler words that go on and on " * 40 + "and my replika and I vent to her",
    "it helped me " * 30,
]


def test_same_matches_as_spacy_matcher_on_the_default_codebook():
    nlp = spacy.blank("en")
    plain, anchored = Matcher(nlp.vocab), AnchoredMatcher(nlp.vocab)
    for pattern in load_codebook("llm-mental-health").patterns():
        if pattern.tokens:
            plain.add(pattern.id, [list(pattern.tokens)], greedy="LONGEST")
            anchored.add(pattern.id, list(pattern.tokens), greedy="LONGEST")
    found = 0
    for doc in nlp.pipe(TEXTS):
        assert sorted(anchored(doc)) == sorted(plain(doc)), doc.text
        found += len(plain(doc))
    assert found >= 8


def test_optional_tokens_are_not_required():
    nlp = spacy.blank("en")
    matcher = AnchoredMatcher(nlp.vocab)
    matcher.add("x", [{"LOWER": "very", "OP": "?"}, {"LOWER": {"IN": ["good", "great"]}}])
    assert [(s, e) for _, s, e in matcher(nlp("good stuff"))] == [(0, 1)]
    assert matcher(nlp("bad stuff")) == []
