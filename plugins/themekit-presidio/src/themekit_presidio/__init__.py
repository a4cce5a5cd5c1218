"""Microsoft Presidio's pattern recognizers as themekit detectors.

A team that already trusts Presidio's recognizers gets them in themekit's pipeline: every
predefined Presidio recognizer that works on patterns alone (credit cards, IBAN, crypto
wallets, US SSN, UK NHS numbers, ...; none needs an NER model) is registered as a detector
named `presidio.` and its entity in lower case (`presidio.credit_card`), which redacts as
`[CREDIT_CARD]`. A codebook lists the ones it wants under `detectors:`, and may set
`min_score` for each (`- presidio.us_ssn: {min_score: 0.3}`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from spacy.language import Language
from spacy.tokens import Doc

from themekit import hookimpl
from themekit.plugins.types import CharSpan, Detector

DEFAULT_MIN_SCORE = 0.5
"""Presidio's score below which a match is dropped. Validated matches (a credit card that
passes the Luhn check, an IBAN whose checksum holds) score 1.0; Presidio scores its weak
patterns (an SSN without dashes, say) 0.05 to 0.4, which it raises only with context words
found by an NLP engine this plugin does not run."""


def pattern_recognizers() -> dict[str, tuple[type, str]]:
    """Detector name -> (Presidio recognizer class, entity), for each predefined recognizer
    that is a `PatternRecognizer` and names its entity as a default argument (which the
    ones needing a model or a language-specific setup do not)."""
    from presidio_analyzer import PatternRecognizer
    from presidio_analyzer import predefined_recognizers

    found: dict[str, tuple[type, str]] = {}
    for attr in sorted(dir(predefined_recognizers)):
        cls = getattr(predefined_recognizers, attr)
        if not inspect.isclass(cls) or cls is PatternRecognizer \
                or not issubclass(cls, PatternRecognizer):
            continue
        entity = inspect.signature(cls).parameters.get("supported_entity")
        if entity is None or not isinstance(entity.default, str):
            continue
        found.setdefault(f"presidio.{entity.default.lower()}", (cls, entity.default))
    return found


def _builder(cls: type, entity: str) -> Callable[..., Callable[[Doc], list[CharSpan]]]:
    def build(nlp: Language, min_score: float = DEFAULT_MIN_SCORE
              ) -> Callable[[Doc], list[CharSpan]]:
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) \
                or not 0 <= min_score <= 1:
            raise ValueError(f"min_score must be a number from 0 to 1, got {min_score!r}")
        recognizer = cls()

        def find(doc: Doc) -> list[CharSpan]:
            results = recognizer.analyze(doc.text, [entity], nlp_artifacts=None)
            return sorted(CharSpan(r.start, r.end) for r in results or ()
                          if r.score >= min_score)

        return find

    return build


@hookimpl
def register_detectors(register: Callable[[Detector], None]) -> None:
    for name, (cls, entity) in pattern_recognizers().items():
        register(Detector(name, _builder(cls, entity),
                          f"Presidio's {cls.__name__} ({entity}).",
                          redact_as=f"[{entity}]", options=("min_score",)))
