"""Keyword-pattern evidence: the codebook's phrases and Matcher token patterns, matched once
per document with one PhraseMatcher and one Matcher for the whole codebook."""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from themekit import hookimpl
from themekit.codebook import Codebook
from themekit.extensions import EvidenceSource


def build_pattern_finder(nlp: Language, codebook: Codebook):
    phrase_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    token_matcher = Matcher(nlp.vocab)
    code_of: dict[str, str] = {}
    for pattern in codebook.patterns():
        code_of[pattern.id] = pattern.code
        if pattern.phrase is not None:
            phrase_matcher.add(pattern.id, [nlp.make_doc(pattern.phrase)])
        else:
            token_matcher.add(pattern.id, [list(pattern.tokens)], greedy="LONGEST")
    strings = nlp.vocab.strings
    matchers = [m for m in (phrase_matcher, token_matcher) if len(m)]

    def find(doc: Doc) -> list[Span]:
        spans = []
        for match_id, start, end in [m for matcher in matchers for m in matcher(doc)]:
            pattern_id = strings[match_id]
            spans.append(Span(doc, start, end, label=code_of[pattern_id], span_id=pattern_id))
        return spans

    return find


@hookimpl
def register_evidence_sources(register):
    register(
        EvidenceSource(
            name="patterns",
            build=build_pattern_finder,
            description="The codebook's keyword phrases (case-insensitive) and token patterns.",
        )
    )
