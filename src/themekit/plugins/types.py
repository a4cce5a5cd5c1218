"""The things plugins register, and the interfaces they implement."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

if TYPE_CHECKING:  # spaCy is imported by what builds pipelines, not by `themekit --help`
    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from themekit.codebook import Codebook, RuleSpec
    from themekit.nlp.tiers import Resolution

SpanFinder = Callable[["Doc"], Iterable["Span"]]


class CharSpan(NamedTuple):
    """Where a detector found something, in characters of `doc.text` (end exclusive).

    Personal data does not keep to token boundaries (`(415)555-0132` glued to a colon, a
    number inside a longer token), so a detector that reads the text returns these rather
    than spans; a plain `(start, end)` pair of ints is read the same way."""

    start: int
    end: int


RiskFinder = Callable[["Doc"], Iterable["Span | CharSpan | tuple[int, int]"]]


@dataclass(frozen=True)
class RegisteredCodebook:
    """A codebook file findable by name; `model` is the folder of the model trained for it
    (a `themekit train` output), which codes by default when the codebook is used."""

    name: str
    path: Path
    description: str = ""
    model: Path | None = None


@dataclass(frozen=True)
class Detector:
    """A privacy-risk detector; its `name` is the flag id it writes (e.g. `pii.email`).

    `build(nlp, **options)` is called once per pipeline and returns a function from a Doc
    to what it finds there: token spans, or `CharSpan`s (exact character offsets, which
    the component covers with the smallest token span and which redaction replaces
    exactly). `options` names the keyword arguments `build` accepts, which a codebook
    sets per detector (`- pii.phone: {regions: [US, PH]}`); `build` raises ValueError
    for a bad value. `redact_as` is the placeholder `--redact` writes over what it finds
    (None: the flag is reported but the text is kept).
    """

    name: str
    build: Callable[..., RiskFinder]
    description: str = ""
    redact_as: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvidenceSource:
    """Finds evidence for codes: spans labelled with a code id, `span.id_` naming the pattern."""

    name: str
    build: Callable[[Language, Codebook], SpanFinder]
    description: str = ""


class TierRule(Protocol):
    stage: Literal["assign", "review"]
    """"assign" rules run before `requires` and roll-up and may change codes; "review" rules
    run last and only add review reasons."""

    def apply(self, resolution: Resolution) -> None:
        """Change codes or add review reasons after the tiers are resolved."""


class TierRuleType(Protocol):
    """A rule type: `type` is the name codebooks use, `from_config` validates one rule."""

    type: str
    description: str

    def from_config(self, spec: RuleSpec, codebook: Codebook) -> TierRule:
        """Raise ValueError with a precise message when the rule is malformed."""
