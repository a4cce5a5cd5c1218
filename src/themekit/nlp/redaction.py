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
    out: list[str] = []
    cursor = 0
    for start, end, placeholder in _replacements(risks):
        out.append(text[cursor:start])
        out.append(placeholder)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def redact_coding(coding: dict[str, Any]) -> dict[str, Any]:
    """The coding of a redacted text: personal data removed from its risk and evidence span
    texts, and their offsets moved to where those spans sit in the redacted text."""
    replacements = _replacements(coding["risks"])

    def clean(span: dict[str, Any]) -> dict[str, Any]:
        # a replacement reaching into the span is written whole, as the moved offsets say
        start, end, text = span["start"], span["end"], span["text"]
        parts: list[str] = []
        cursor = start
        for r_start, r_end, placeholder in replacements:
            if r_end > start and r_start < end:
                parts += [text[cursor - start:max(r_start, start) - start], placeholder]
                cursor = min(r_end, end)
        parts.append(text[cursor - start:])
        return {**span, "text": "".join(parts),
                "start": _moved(start, replacements, at_end=False),
                "end": _moved(end, replacements, at_end=True)}

    return {**coding, "risks": [clean(r) for r in coding["risks"]],
            "evidence": [clean(e) for e in coding["evidence"]]}


def _replacements(risks: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) of the character ranges redaction replaces, in text order.
    Overlapping risks (an IP inside a link, an e-mail running into a link) are replaced
    together, under the placeholder of the one that starts first (the longer at a tie), so
    nothing of either is left behind."""
    marks = placeholders()
    out: list[tuple[int, int, str]] = []
    for risk in sorted(risks, key=lambda r: (r["start"], -r["end"])):
        placeholder = marks.get(risk["flag"])
        if placeholder is None:
            continue
        if out and risk["start"] < out[-1][1]:
            start, end, first = out[-1]
            out[-1] = (start, max(end, risk["end"]), first)
        else:
            out.append((risk["start"], risk["end"], placeholder))
    return out


def _moved(position: int, replacements: list[tuple[int, int, str]], at_end: bool) -> int:
    """Where an offset of the original text falls in the redacted one; inside a replaced
    span, a start moves to the placeholder's start and an end to its end."""
    shift = 0
    for start, end, placeholder in replacements:
        if end <= position:
            shift += len(placeholder) - (end - start)
        elif start < position:
            return start + shift + (len(placeholder) if at_end else 0)
        else:
            break
    return position + shift
