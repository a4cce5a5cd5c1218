"""AnchoredMatcher skips patterns that cannot match, and finds exactly what Matcher finds."""

from __future__ import annotations

import random

import pytest
import spacy
from spacy.matcher import Matcher

from themekit.codebook import load_codebook
from themekit.nlp.matching import AnchoredMatcher

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


OPS = [None, None, "?", "*", "+", "{2}", "{1,3}", "{,2}", "{2,}", "!"]
WORDS = ["a", "b", "c", "d"]


def _random_pattern(rng: random.Random) -> list[dict]:
    pattern = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.15:
            spec: dict = {}
        elif kind < 0.55:
            spec = {"LOWER": rng.choice(WORDS)}
        elif kind < 0.9:
            spec = {"LOWER": {"IN": rng.sample(WORDS, rng.randint(1, 3))}}
        else:
            spec = {"ORTH": rng.choice(WORDS).upper()}  # a second attribute: no expression
        op = rng.choice(OPS)
        if op:
            spec["OP"] = op
        pattern.append(spec)
    return pattern


@pytest.mark.parametrize("greedy", [None, "LONGEST", "FIRST"])
def test_same_matches_as_spacy_matcher_on_random_patterns(greedy):
    """Quantifiers, wildcards, word lists, negation and mixed attributes: whether a pattern
    takes the expression path, the window path or neither, the matches equal Matcher's."""
    rng = random.Random(7)
    nlp = spacy.blank("en")
    docs = [nlp(" ".join(rng.choice(WORDS + ["A", "x"]) for _ in range(rng.randint(0, 30))))
            for _ in range(40)]
    found = 0
    for _ in range(150):
        pattern = _random_pattern(rng)
        plain, anchored = Matcher(nlp.vocab), AnchoredMatcher(nlp.vocab)
        plain.add("p", [pattern], greedy=greedy)
        anchored.add("p", pattern, greedy=greedy)
        for doc in docs:
            expected = sorted(plain(doc))
            assert sorted(anchored(doc)) == expected, (pattern, doc.text)
            found += len(expected)
    assert found > 1000


def test_patterns_over_one_attribute_compile_to_an_expression():
    nlp = spacy.blank("en")
    matcher = AnchoredMatcher(nlp.vocab)
    matcher.add("x", [{"LOWER": "my"}, {}, {"LOWER": {"IN": ["cat", "dog"]}, "OP": "{,2}"}])
    matcher.add("y", [{"LOWER": "my"}, {"IS_PUNCT": True}])
    compiled = [entry.expression is not None for entry in matcher._entries]
    assert compiled == [True, False]
    assert [(s, e) for _, s, e in matcher(nlp("so my cat"))] == [(1, 3)]
    assert [(s, e) for _, s, e in matcher(nlp("my cat dog dog"))] == [(0, 2), (0, 3), (0, 4)]
    assert matcher(nlp("it is my")) == []  # the anchor is there, the sequence is not
