"""Redaction: replace personal-data spans found by detectors with their placeholders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from themekit.plugins import registered_detectors


def placeholders() -> dict[str, str]:
    """Flag id -> placeholder, for every registered detector that redacts."""
    return {name: d.redact_as for name, d in registered_detectors().items() if d.redact_as}


def redact_text(text: str, risks: Iterable[Mapping[str, Any]]) -> str:
    """Replace each redactable risk span (dicts with flag/start/end) in `text`."""
    marks = placeholders()
    out: list[str] = []
    cursor = 0
    for risk in sorted(risks, key=lambda r: r["start"]):
        placeholder = marks.get(risk["flag"])
        if placeholder is None or risk["start"] < cursor:
            continue
        out.append(text[cursor:risk["start"]])
        out.append(placeholder)
        cursor = risk["end"]
    out.append(text[cursor:])
    return "".join(out)


def redact_coding(coding: dict[str, Any]) -> dict[str, Any]:
    """The coding with personal data removed from its risk and evidence span texts."""
    marks = placeholders()
    redacted = [r for r in coding["risks"] if r["flag"] in marks]

    def clean(span: dict[str, Any]) -> dict[str, Any]:
        inside = [{**r, "start": r["start"] - span["start"], "end": r["end"] - span["start"]}
                  for r in redacted if r["start"] >= span["start"] and r["end"] <= span["end"]]
        return {**span, "text": redact_text(span["text"], inside)} if inside else span

    return {**coding, "risks": [clean(r) for r in coding["risks"]],
            "evidence": [clean(e) for e in coding["evidence"]]}
