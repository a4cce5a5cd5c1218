"""The spaCy component "themekit": codebook evidence, privacy risks and tier resolution.

Registered with `@Language.factory` and the `spacy_factories` entry point, so a fresh
interpreter can `nlp.add_pipe("themekit", config={"codebook": "llm-mental-health"})`
without importing themekit first. It writes, in this order of preference for consumers:
`doc.cats` (a score for every code), `doc.spans["themekit"]` (evidence, labelled by code),
`doc.spans["themekit_risks"]` (privacy-risk spans, labelled by flag: the smallest token
spans covering what the detectors found) and `doc._.themekit` (a `Coding`: codes per tier,
flags, provenance, review reasons, and the risks' exact character offsets, in the same
order as those spans, which redaction replaces).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import srsly
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy import util
from spacy.util import load_config, minibatch, registry

from themekit.codebook import COMBINE_POLICIES, Codebook, RuleSpec, load_codebook, parse_codebook
from themekit.errors import CodebookError, SettingError
from themekit.nlp.coding import Coding
from themekit.plugins.types import RiskFinder, SpanFinder, TierRule
from themekit.model.heads import CodebookHeads
from themekit.nlp.matching import columns, shared_columns
from themekit.model.card import CARD_FILE, model_identity
from themekit.plugins import (
    plugin_error,
    registered_codebooks,
    registered_detectors,
    registered_evidence_sources,
    registered_tier_rules,
)
from themekit.nlp.tiers import CodeEvidence, Resolution, resolve

SPANS_KEY = "themekit"
"""Where evidence goes by default, `doc.spans["themekit"]`; privacy risks go under the same
key plus `_risks`. A second themekit component in one pipeline takes another `spans_key`."""
CODEBOOK_FILE = "codebook.yaml"
RULES_ONLY_CACHE = 8192  # score combinations kept (1,292 in the 10k corpus)

if not Doc.has_extension("themekit"):
    Doc.set_extension("themekit", default=None)


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
    """Multilabel scores over every code (spaCy's own `score_cats`), of the codes the
    component assigned: `doc.cats` holds scores, and tier defaults and per-code thresholds,
    not a flat 0.5, decide which codes a document gets."""
    examples = list(examples)
    labels = sorted({label for eg in examples for label in eg.reference.cats})
    kwargs.setdefault("getter", _assigned_codes)
    return Scorer.score_cats(
        examples, "cats", labels=labels, multi_label=True, threshold=0.5, **kwargs
    )


def _assigned_codes(doc: Doc, attr: str) -> dict[str, float]:
    """1.0 for each code the component assigned; the reference's own cats otherwise."""
    coding = doc._.themekit
    if not isinstance(coding, Coding):
        return getattr(doc, attr)
    assigned = coding.assigned()
    return {code: float(code in assigned) for code in getattr(doc, attr)}


@Language.factory(
    "themekit",
    assigns=["doc.cats", "doc.spans", "doc._.themekit"],
    default_config={
        "codebook": "llm-mental-health",
        "thresholds": {},
        "combine": None,
        "rules_only": False,
        "spans_key": SPANS_KEY,
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
    rules_only: bool,
    spans_key: str,
    scorer: Callable[..., dict[str, Any]] | None,
) -> ThemekitComponent:
    return ThemekitComponent(nlp, name, codebook, thresholds, scorer, combine,
                             rules_only=rules_only, spans_key=spans_key)


class ThemekitComponent:
    """Runs evidence sources and detectors from plugins, then resolves the codebook's tiers.

    Model scores combine with the rule evidence as the codebook's `combine` policies
    declare. They come from an earlier component that set `doc.cats` for the codes (a
    trained model's pipeline); else from the codebook's default model, when a plugin
    registered one with it; with `rules_only`, or with neither, rules alone decide.
    """

    def __init__(
        self,
        nlp: Language,
        name: str,
        codebook: str | Codebook,
        thresholds: dict[str, float] | None = None,
        scorer: Callable[..., dict[str, Any]] | None = score_codes,
        combine: str | None = None,
        *,
        rules_only: bool = False,
        spans_key: str = SPANS_KEY,
    ) -> None:
        if combine is not None and combine not in COMBINE_POLICIES:
            raise SettingError("combine", f"must be one of {', '.join(COMBINE_POLICIES)}, "
                                          f"got {combine!r}")
        self.nlp = nlp
        self.name = name
        self.thresholds = dict(thresholds or {})
        self.combine = combine  # one policy for every code, overriding the codebook's
        self.rules_only = rules_only
        self.spans_key = spans_key
        self.scorer = scorer
        self.pipeline_model: dict[str, Any] = {"name": "doc.cats"}
        """Which model wrote the `doc.cats` scores an earlier component sets: the model
        folder's identity when the pipeline was loaded from one (see `from_disk`)."""
        self._codebook: Codebook | None = None
        self._load_error: CodebookError | None = None
        self._finders: _Finders | None = None
        self._default: DefaultModel | None = None
        self._default_loaded = False
        self._quantize = False
        if isinstance(codebook, Codebook):
            self._set_codebook(codebook)
            return
        try:
            self._set_codebook(load_codebook(codebook))
        except CodebookError as exc:
            # `spacy.load` makes the component from its config before `from_disk` supplies
            # the codebook saved with the pipeline, and the config's codebook need not exist
            # on this machine: the error counts only if nothing supplies a codebook
            self._load_error = exc

    @property
    def codebook(self) -> Codebook:
        if self._codebook is None:
            assert self._load_error is not None
            raise CodebookError(self._load_error.source, self._load_error.problems)
        return self._codebook

    def _set_codebook(self, codebook: Codebook) -> None:
        if self.combine:
            codebook = codebook.with_combine(self.combine)
        unknown = sorted(set(self.thresholds) - set(codebook.codes))
        if unknown:
            raise SettingError("thresholds", f"for codes that codebook {codebook.ref} does not "
                                             f"have: {', '.join(unknown)}")
        for code, value in self.thresholds.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value <= 1:
                raise SettingError("thresholds", f"{code} must be a number in (0, 1], got "
                                                 f"{value!r}")
        self._codebook = codebook
        self._load_error = None
        self._finders = None  # built on first use, so spacy.load builds only the saved one
        self._default = None  # loaded on first use, for this codebook
        self._default_loaded = False

    @property
    def labels(self) -> tuple[str, ...]:
        """The code ids (empty while no codebook could be loaded)."""
        return tuple(self._codebook.codes) if self._codebook else ()

    def __call__(self, doc: Doc) -> Doc:
        return self._code(doc, self._model_scores([doc])[0])

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Codes documents in batches, so the default model encodes a batch at a time."""
        for batch in minibatch(stream, size=batch_size):
            for doc, scored in zip(batch, self._model_scores(batch)):
                yield self._code(doc, scored)

    def quantize(self) -> None:
        """Int8 dynamic quantization of the default model's encoder (CPU inference)."""
        self._quantize = True
        if self._default is not None:
            self._default.heads.quantize()
            self._default.identity["int8"] = True

    def default_model(self) -> DefaultModel | None:
        """The model registered with this codebook, loaded at first use; None when the
        codebook has none or the component is rules-only."""
        if self.rules_only:
            return None
        if not self._default_loaded:
            self._default = DefaultModel.of(self.codebook)
            self._default_loaded = True
            if self._default is not None and self._quantize:
                self.quantize()
        return self._default

    def _model_scores(self, docs: list[Doc]) -> list[ModelScores | None]:
        """Per document, the model scores its rules combine with, or None for rules alone:
        an earlier component's `doc.cats`, else the default model's, run once for all the
        documents that need it."""
        if self.rules_only:
            return [None] * len(docs)
        out: list[ModelScores | None] = []
        codes = self.codebook.codes
        for doc in docs:
            scores = {c: doc.cats[c] for c in codes if c in doc.cats} if doc.cats else {}
            out.append(ModelScores(scores, self.pipeline_model, self.thresholds)
                       if scores else None)
        todo = [i for i, scored in enumerate(out) if scored is None]
        default = self.default_model() if todo else None
        if default is not None:
            thresholds = {**default.thresholds, **self.thresholds}
            texts = [docs[i].text for i in todo]
            for i, scores in zip(todo, default.heads.score_texts(texts)):
                out[i] = ModelScores(scores, default.identity, thresholds)
        return out

    def _code(self, doc: Doc, scored: ModelScores | None) -> Doc:
        codebook = self.codebook
        if doc.cats and (done := doc._.themekit) is not None and done.codebook == codebook.ref:
            # coded already (nlp(doc) twice): its doc.cats now hold this component's own
            # scores, which a second pass would take for a model's (a fresh doc has no cats,
            # so rules-only coding skips the 2 µs of reading the extension)
            return doc
        finders = self._finders or self._build_finders(codebook)
        with shared_columns(doc):  # one read of the token attributes for every finder
            evidence_spans, risks = finders.find(doc)
        evidence = finders.evidence_by_code(evidence_spans)
        if scored is not None:
            outcome = self._outcome(evidence, scored.scores, scored.thresholds)
        else:
            outcome = finders.rules_only_outcome(
                tuple(sorted((code, e.score, e.vetoed) for code, e in evidence.items()))
            )
        doc.spans[self.spans_key] = evidence_spans
        doc.spans[f"{self.spans_key}_risks"] = [risk.span for risk in risks]
        doc.cats = {**doc.cats, **outcome.cats}  # another component's labels stay
        doc._.themekit = Coding(
            codebook=codebook.ref,
            flags=sorted({risk.span.label_ for risk in risks}),
            # a match whose code was not assigned was outweighed (below its threshold,
            # vetoed, or overruled by the model), and says so
            evidence=[{**_span_json(s, "code", "pattern"),
                       "assigned": s.label_ in outcome.provenance} for s in evidence_spans],
            risks=[risk.to_json() for risk in risks],
            model=dict(scored.model) if scored else None,
            **outcome.copy(evidence),
        )
        return doc

    def _build_finders(self, codebook: Codebook) -> _Finders:
        self._finders = _Finders.build(self.nlp, codebook,
                                       lambda scores: self._outcome(scores, None))
        return self._finders

    def _outcome(self, evidence: dict[str, CodeEvidence], model_scores: dict[str, float] | None,
                 thresholds: dict[str, float] | None = None) -> Outcome:
        resolution = resolve(self.codebook, evidence, model_scores,
                             self.thresholds if thresholds is None else thresholds,
                             self._finders.rules if self._finders else ())
        return Outcome.of(resolution)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the built matchers (closures over spaCy objects), which are
        built again on first use: `nlp.pipe(n_process=...)` pickles the pipeline where
        processes are spawned, not forked."""
        return {**self.__dict__, "_finders": None}

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        return self.scorer(examples, **kwargs) if self.scorer else {}

    def initialize(self, get_examples: Callable[[], Iterable[Example]] | None = None, *,
                   nlp: Language | None = None, codebook: str | None = None) -> None:
        """Take the codebook (a registered name or a YAML path) here rather than in the
        component's config, as spaCy's SpanRuler takes its patterns: `nlp.initialize()` with
        `[initialize.components.themekit] codebook = "path/to/codebook.yaml"`."""
        if codebook is not None:
            self._set_codebook(load_codebook(codebook))

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the codebook itself, so the pipeline loads the same codes anywhere
        (`exclude=["codebook"]` leaves it out)."""
        util.to_disk(path, {CODEBOOK_FILE: lambda p: srsly.write_yaml(p, self._raw_codebook())},
                     exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> ThemekitComponent:
        """The saved codebook; and when the pipeline is a `themekit train` model folder,
        that model's identity, which every record it codes then carries."""
        def read_codebook(saved: Path) -> None:
            if saved.exists():
                self._set_codebook(parse_codebook(srsly.read_yaml(saved), source=str(saved)))

        util.from_disk(path, {CODEBOOK_FILE: read_codebook}, exclude)
        if (Path(path).parent / CARD_FILE).is_file():
            self.pipeline_model = model_identity(Path(path).parent)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """The codebook itself, as `to_disk` saves it (`nlp.to_bytes()`)."""
        return util.to_bytes({CODEBOOK_FILE: self._raw_codebook}, exclude)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> ThemekitComponent:
        def read_codebook(saved: dict[str, Any]) -> None:
            self._set_codebook(parse_codebook(saved, source=f"{self.name} (from bytes)"))

        util.from_bytes(data, {CODEBOOK_FILE: read_codebook}, exclude)
        return self

    def _raw_codebook(self) -> dict[str, Any]:
        return dict(self.codebook.raw)


class ModelScores(NamedTuple):
    """A document's model scores, the model they come from and the thresholds for them."""

    scores: dict[str, float]
    model: dict[str, Any]
    thresholds: dict[str, float]


@dataclass
class DefaultModel:
    """The model a plugin registered with a codebook, as the component runs it: its heads
    (the encoder loads at the first document) and the identity its records carry."""

    heads: CodebookHeads
    identity: dict[str, Any]
    thresholds: dict[str, float]
    """The per-code thresholds tuned with the model (the component's own settings win)."""

    @classmethod
    def of(cls, codebook: Codebook) -> DefaultModel | None:
        registered = registered_codebooks().get(codebook.name)
        if registered is None or registered.model is None:
            return None
        identity = model_identity(registered.model)
        if identity["codebook"] != codebook.ref:
            raise CodebookError(codebook.source, [
                f"the default model registered with codebook '{codebook.name}' "
                f"({registered.model}) was trained for {identity['codebook']}, not "
                f"{codebook.ref}: code with rules only (--rules-only, or the component's "
                "rules_only setting), or train a model for this version and use it"])
        config = load_config(registered.model / "config.cfg")
        return cls(CodebookHeads.from_model(registered.model), identity,
                   dict(config["components"]["themekit"].get("thresholds", {})))


@dataclass
class _Finders:
    """What a codebook needs built before it codes documents: the evidence sources and
    detectors plugins registered, the tier rules, pattern weights, cached outcomes."""

    codes: frozenset[str]
    evidence_finders: list[tuple[str, SpanFinder]]
    risk_finders: list[tuple[str, RiskFinder]]
    rules: list[Any]
    weights: dict[str, float]
    rules_only_outcome: Callable[[tuple[tuple[str, float, bool], ...]], Outcome]

    @classmethod
    def build(cls, nlp: Language, codebook: Codebook,
              outcome: Callable[[dict[str, CodeEvidence]], Outcome]) -> _Finders:
        sources, detectors = registered_evidence_sources(), registered_detectors()
        rule_types = registered_tier_rules()
        return cls(
            codes=frozenset(codebook.codes),
            evidence_finders=[(name, _built("evidence source", name, source.build, nlp, codebook))
                              for name, source in sources.items()],
            risk_finders=[(name, _built("detector", name, detectors[name].build, nlp,
                                        **codebook.detector_options.get(name, {})))
                          for name in codebook.detectors],
            rules=[_NamedRule(_built("rule type", spec.type, rule_types[spec.type].from_config,
                                     spec, codebook), spec) for spec in codebook.rules],
            weights={p.id: p.weight for p in codebook.patterns()},
            # Without model scores a coding depends only on each code's rule score and veto
            # (which patterns matched shows only in provenance, filled in per document), and
            # the same few combinations recur across a corpus: resolve each one once
            rules_only_outcome=functools.lru_cache(maxsize=RULES_ONLY_CACHE)(
                lambda scores: outcome(
                    {code: CodeEvidence(score, (), vetoed) for code, score, vetoed in scores}
                )
            ),
        )

    def find(self, doc: Doc) -> tuple[list[Span], list[Risk]]:
        """Evidence spans and risks, each in text order. A finder that raises is named, with
        the plugin that registered it."""
        evidence: list[Span] = []
        risks: list[Risk] = []
        kind, name = "evidence source", ""
        try:
            for name, find in self.evidence_finders:
                for span in find(doc):
                    if span.label_ not in self.codes:
                        raise ValueError(f"a span labelled {span.label_!r}, which is not a code "
                                         "of the codebook")
                    evidence.append(span)
            kind = "detector"
            for name, find in self.risk_finders:
                risks.extend(Risk.of(doc, name, found) for found in find(doc))
        except Exception as exc:
            raise plugin_error(kind, name, exc, "failed on a document") from exc
        evidence.sort(key=_position)
        risks.sort(key=lambda risk: (risk.start, risk.end))
        return evidence, risks

    def evidence_by_code(self, spans: list[Span]) -> dict[str, CodeEvidence]:
        patterns: dict[str, set[str]] = {}
        for span in spans:
            patterns.setdefault(span.label_, set()).add(span.id_)
        evidence = {}
        for code, ids in patterns.items():
            # summed in sorted order: a set's order changes with each process's hash seed,
            # and a float sum with its order (0 or 1e-17), so workers would code differently
            ordered = tuple(sorted(ids))
            weights = [self.weights.get(p, 1.0) for p in ordered]
            evidence[code] = CodeEvidence(
                weight=sum(weights), patterns=ordered, vetoed=any(w < 0 for w in weights)
            )
        return evidence


class Risk(NamedTuple):
    """What a detector found: the exact characters (what redaction replaces) and the
    smallest token span covering them (what the risk span group, `doc.spans["themekit_risks"]`
    by default, holds)."""

    span: Span
    start: int
    end: int
    text: str

    @classmethod
    def of(cls, doc: Doc, flag: str, found: Span | tuple[int, int]) -> Risk:
        """The flag is the detector's registered name, whatever label its spans carry."""
        if isinstance(found, Span):
            return cls(Span(doc, found.start, found.end, label=flag),
                       found.start_char, found.end_char, found.text)
        start, end = found
        text = columns(doc).text
        if not 0 <= start < end <= len(text):
            raise ValueError(f"character offsets ({start}, {end}) outside a text of "
                             f"{len(text)} characters")
        return cls(doc.char_span(start, end, label=flag, alignment_mode="expand"),
                   start, end, text[start:end])

    def to_json(self) -> dict[str, Any]:
        return {"flag": self.span.label_, "text": self.text, "start": self.start,
                "end": self.end}


def _built(kind: str, name: str, build: Callable[..., Any], *args: Any, **options: Any) -> Any:
    try:
        return build(*args, **options)
    except Exception as exc:
        raise plugin_error(kind, name, exc, "could not be built") from exc


@dataclass(frozen=True)
class _NamedRule:
    """A codebook rule that names itself and its plugin when it fails on a document."""

    rule: TierRule
    spec: RuleSpec

    @property
    def stage(self) -> str:
        return self.rule.stage

    def apply(self, resolution: Resolution) -> None:
        try:
            self.rule.apply(resolution)
        except Exception as exc:
            raise plugin_error("rule type", self.spec.type, exc,
                               f"failed on a document in rule '{self.spec.id}'") from exc


def _position(span: Span) -> tuple[int, int]:
    return span.start, span.end


def _span_json(span: Span, label_key: str, id_key: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {label_key: span.label_}
    if id_key:
        out[id_key] = span.id_
    out.update(text=span.text, start=span.start_char, end=span.end_char)
    return out
