"""`Coding`, the result for one document, and how it travels inside spaCy's binary formats.

spaCy writes `doc._` values with msgpack (`Doc.to_bytes`, `DocBin(store_user_data=True)`,
and `nlp.pipe(n_process=2)`, whose workers send their documents back as bytes). The
encoder and decoder below are registered with srsly under the `srsly_msgpack_*` entry
points, so a process that reads such bytes gets a `Coding` back without importing
themekit first. This module imports no spaCy, so srsly can load it at any time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import srsly

MSGPACK_KEY = "__themekit_coding__"


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
    model: dict[str, Any] | None = None
    """The model whose scores combined with the rules (name, codebook, sha256); None when
    rules alone coded the document."""

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
            "model": self.model,
        }

    def assigned(self) -> set[str]:
        """Every code assigned, in any tier, parents included."""
        return {code for value in self.codes.values()
                for code in ([value] if isinstance(value, str) else value)}


@srsly.msgpack_encoders("themekit_coding")
def encode_coding(obj: Any, chain: Callable[[Any], Any] | None = None) -> Any:
    if isinstance(obj, Coding):
        return {MSGPACK_KEY: obj.to_json()}
    return obj if chain is None else chain(obj)


@srsly.msgpack_decoders("themekit_coding")
def decode_coding(obj: Any, chain: Callable[[Any], Any] | None = None) -> Any:
    if isinstance(obj, dict) and MSGPACK_KEY in obj:
        return Coding(**_with_lists(obj[MSGPACK_KEY]))
    return obj if chain is None else chain(obj)


def _with_lists(value: Any) -> Any:
    """DocBin reads msgpack arrays as tuples; a `Coding` holds lists, as `to_json` gives."""
    if isinstance(value, (list, tuple)):
        return [_with_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _with_lists(v) for k, v in value.items()}
    return value
