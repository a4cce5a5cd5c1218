"""The spaCy component "themekit": codebook evidence, privacy risks and tier resolution.

Registered with `@Language.factory` and the `spacy_factories` entry point, so a fresh
interpreter can `nlp.add_pipe("themekit", config={"codebook": "llm-mental-health"})`
without importing themekit first. It writes, in this order of preference for consumers:
`doc.cats` (a score for every code), `doc.spans["themekit"]` (evidence, labelled by code),
`doc.spans["themekit_risks"]` (privacy-risk spans, labelled by flag) and `doc._.themekit`
(a `Coding`: codes per tier, flags, provenance, review reasons).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from themekit.codebook import Codebook, load_codebook, parse_codebook
from themekit.matching import shared_columns
from themekit.plugins import (
    registered_detectors,
    registered_evidence_sources,
    registered_tier_rules,
)
from themekit.tiers import CodeEvidence, Resolution, resolve

EVIDENCE_KEY = "themekit"
RISKS_KEY = "themekit_risks"
CODEBOOK_FILE = "codebook.yaml"
RULES_ONLY_CACHE = 8192  # score combinations kept (1,292 in the 10k corpus)

if not Doc.has_extension("themekit"):
    Doc.set_extension("themekit", default=None)


@dataclass
class Coding:
    """The result for one document, as written to `doc._.themekit` and to annotate output."""

    codebook: str
    codes: dict[str, str | list[str]]
    flags: list[str]
    scores: dict[str, float]
    provenance: dict[str, dict[str, Any]]
    evidence: list[dict[str, Any]]
    risks: list[dict[str, Any]]
    review: list[str]
    dropped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "codebook": self.codebook,
            "codes": self.codes,
            "flags": self.flags,
            "scores": self.scores,
            "provenance": self.provenance,
            "evidence": self.evidence,
            "risks": self.risks,
            "review": self.review,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class Outcome:
    """The parts of a `Coding` that tier resolution decides, ready for JSON. `copy()` gives
    each document its own dicts, so an outcome can be shared through a cache."""

    codes: dict[str, str | list[str]]
    scores: dict[str, float]
    provenance: dict[str, dict[str, Any]]
    review: list[str]
    dropped: dict[str, str]
    cats: dict[str, float]

    @classmethod
    def of(cls, resolution: Resolution) -> Outcome:
        scores = {c: round(s, 4) for c, s in resolution.scores.items() if s > 0}
        return cls(
            codes=resolution.codes_json(),
            scores=scores,
            provenance={code: assignment.to_json()
                        for tier_codes in resolution.assigned.values()
                        for code, assignment in tier_codes.items()},
            review=resolution.review,
            dropped=resolution.dropped,
            cats={**dict.fromkeys(resolution.codebook.codes, 0.0), **scores},
        )

    def copy(self, evidence: dict[str, CodeEvidence]) -> dict[str, Any]:
        """Fresh containers for the fields `Coding` shares with the outcome, with the
        patterns behind each pattern-sourced code taken from this document's evidence."""
        provenance = {}
        for code, why in self.provenance.items():
            provenance[code] = {k: list(v) if isinstance(v, list) else v for k, v in why.items()}
            if why["source"] == "pattern":
                provenance[code]["patterns"] = list(evidence[code].patterns)
        return {
            "codes": {tier: v if isinstance(v, str) else list(v) for tier, v in self.codes.items()},
            "scores": dict(self.scores),
            "provenance": provenance,
            "review": list(self.review),
            "dropped": dict(self.dropped),
        }


@registry.scorers("themekit.codes_scorer.v1")
def make_codes_scorer() -> Callable[..., dict[str, Any]]:
    return score_codes


def score_codes(examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
    """Multilabel scores over every code in doc.cats (spaCy's own `score_cats`)."""
    examples = list(examples)
    labels = sorted({label for eg in examples for label in eg.reference.cats})
    return Scorer.score_cats(
        examples, "cats", labels=labels, multi_label=True, threshold=0.5, **kwargs
    )


@Language.factory(
    "themekit",
    assigns=["doc.cats", "doc.spans", "doc._.themekit"],
    default_config={
        "codebook": "llm-mental-health",
        "thresholds": {},
        "combine": None,
        "scorer": {"@scorers": "themekit.codes_scorer.v1"},
    },
    default_score_weights={"cats_macro_f": 1.0},
)
def make_themekit(
    nlp: Language,
    name: str,
    codebook: str,
    thresholds: dict[str, float],
    combine: str | None,
    scorer: Callable[..., dict[str, Any]] | None,
) -> ThemekitComponent:
    return ThemekitComponent(nlp, name, codebook, thresholds, scorer, combine)


class ThemekitComponent:
    """Runs evidence sources and detectors from plugins, then resolves the codebook's tiers.

    When an earlier component (a trained text categorizer) has set `doc.cats` with scores
    for codes, those scores combine with the rule evidence as the codebook's `combine`
    policies declare; otherwise rules alone decide.
    """

    def __init__(
        self,
        nlp: Language,
        name: str,
        codebook: str | Codebook,
        thresholds: dict[str, float] | None = None,
        scorer: Callable[..., dict[str, Any]] | None = score_codes,
        combine: str | None = None,
    ) -> None:
        self.nlp = nlp
        self.name = name
        self.thresholds = dict(thresholds or {})
        self.combine = combine  # one policy for every code, overriding the codebook's
        self.scorer = scorer
        self._codebook_ref = codebook
        self._codebook: Codebook | None = None
        if isinstance(codebook, Codebook):
            self._set_codebook(codebook)

    @property
    def codebook(self) -> Codebook:
        """Loaded on first use, so `spacy.load` can supply the saved codebook first."""
        if self._codebook is None:
            self._set_codebook(load_codebook(self._codebook_ref))
        return self._codebook

    def _set_codebook(self, codebook: Codebook) -> None:
        if self.combine:
            codebook = codebook.with_combine(self.combine)
        self._codebook = codebook
        self.evidence_finders = [s.build(self.nlp, codebook)
                                 for s in registered_evidence_sources().values()]
        detectors = registered_detectors()
        self.risk_finders = [(name, detectors[name].build(self.nlp)) for name in codebook.detectors]
        rule_types = registered_tier_rules()
        self.rules = [rule_types[spec.type].from_config(spec, codebook) for spec in codebook.rules]
        self.weights = {p.id: p.weight for p in codebook.patterns()}
        self._cache_rules_only_outcomes()

    @property
    def labels(self) -> tuple[str, ...]:
        """The code ids (empty until the codebook is loaded: spaCy asks while loading)."""
        return tuple(self._codebook.codes) if self._codebook else ()

    def __call__(self, doc: Doc) -> Doc:
        codebook = self.codebook  # loads it (and builds the matchers) on first use
        with shared_columns(doc):  # one read of the token attributes for every finder
            evidence_spans = sorted((span for find in self.evidence_finders
                                     for span in find(doc)), key=_position)
            risk_spans = sorted(
                # the flag is the detector's registered name, whatever label its spans carry
                (Span(doc, span.start, span.end, label=name)
                 for name, find in self.risk_finders for span in find(doc)),
                key=_position,
            )
        evidence = self._evidence_by_code(evidence_spans)
        model_scores = {c: doc.cats[c] for c in codebook.codes if c in doc.cats} if doc.cats else {}
        if model_scores:
            outcome = self._outcome(evidence, model_scores)
        else:
            outcome = self._rules_only_outcome(
                tuple(sorted((code, e.score, e.vetoed) for code, e in evidence.items()))
            )
        doc.spans[EVIDENCE_KEY] = evidence_spans
        doc.spans[RISKS_KEY] = risk_spans
        doc.cats = dict(outcome.cats)
        doc._.themekit = Coding(
            codebook=codebook.ref,
            flags=sorted({span.label_ for span in risk_spans}),
            evidence=[_span_json(s, "code", "pattern") for s in evidence_spans],
            risks=[_span_json(s, "flag") for s in risk_spans],
            **outcome.copy(evidence),
        )
        return doc

    def _evidence_by_code(self, spans: list[Span]) -> dict[str, CodeEvidence]:
        patterns: dict[str, set[str]] = {}
        for span in spans:
            patterns.setdefault(span.label_, set()).add(span.id_)
        evidence = {}
        for code, ids in patterns.items():
            weights = [self.weights.get(p, 1.0) for p in ids]
            evidence[code] = CodeEvidence(
                weight=sum(weights), patterns=tuple(sorted(ids)), vetoed=any(w < 0 for w in weights)
            )
        return evidence

    def _outcome(self, evidence: dict[str, CodeEvidence],
                 model_scores: dict[str, float] | None) -> Outcome:
        resolution = resolve(self.codebook, evidence, model_scores, self.thresholds, self.rules)
        return Outcome.of(resolution)

    def _cache_rules_only_outcomes(self) -> None:
        """Without model scores a coding depends only on each code's rule score and veto
        (which patterns matched shows only in provenance, filled in per document), and the
        same few combinations recur across a corpus: resolve each combination once."""
        self._rules_only_outcome = functools.lru_cache(maxsize=RULES_ONLY_CACHE)(
            lambda scores: self._outcome(
                {code: CodeEvidence(score, (), vetoed) for code, score, vetoed in scores}, None
            )
        )

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        return self.scorer(examples, **kwargs) if self.scorer else {}

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the codebook itself, so the pipeline loads the same codes anywhere."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_yaml(path / CODEBOOK_FILE, dict(self.codebook.raw))

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> ThemekitComponent:
        saved = Path(path) / CODEBOOK_FILE
        if saved.exists():
            self._set_codebook(parse_codebook(srsly.read_yaml(saved), source=str(saved)))
        return self


def _position(span: Span) -> tuple[int, int]:
    return span.start, span.end


def _span_json(span: Span, label_key: str, id_key: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {label_key: span.label_}
    if id_key:
        out[id_key] = span.id_
    out.update(text=span.text, start=span.start_char, end=span.end_char)
    return out
