"""Keyword-pattern evidence: the codebook's phrases (one PhraseMatcher for the whole
codebook) and token patterns (an AnchoredMatcher, which runs only the patterns whose
required words occur in the document)."""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from themekit import hookimpl
from themekit.codebook import Codebook
from themekit.plugins.types import EvidenceSource
from themekit.nlp.matching import AnchoredMatcher


def build_pattern_finder(nlp: Language, codebook: Codebook):
    phrase_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    token_matcher = AnchoredMatcher(nlp.vocab)
    code_of: dict[str, str] = {}
    for pattern in codebook.patterns():
        code_of[pattern.id] = pattern.code
        if pattern.phrase is not None:
            phrase_matcher.add(pattern.id, [nlp.make_doc(pattern.phrase)])
        else:
            token_matcher.add(pattern.id, list(pattern.tokens), greedy="LONGEST")
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
