"""Reading coded JSONL (what `themekit annotate` writes) and gold labels as codebook labels.

`report` and `evaluate` both read coded files; this module is the one place that checks a
record's codebook reference and turns its codes into `Labels`, so both agree on what a
record says and both reject the same bad input with the same file/line/field message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from themekit.codebook import Codebook, find_codebook_path, is_number, load_codebook
from themekit.errors import CodebookError, InputError
from themekit.io.records import read_jsonl

CODED_KEY = "themekit"  # the field `themekit annotate` adds to each record


@dataclass(frozen=True)
class Labels:
    """One comment's codes: a code per exclusive tier, a set per multi tier (parents
    included), and the privacy flags when known (None: not coded, e.g. gold without flags)."""

    codes: Mapping[str, str | frozenset[str]]
    flags: frozenset[str] | None = None


@dataclass(frozen=True)
class CodedRecord:
    line: int
    data: dict[str, Any]
    coding: dict[str, Any]
    labels: Labels


def parse_labels(
    codebook: Codebook,
    codes: Any,
    flags: Any,
    where: str,
    field_prefix: str = "",
    flags_field: str = "flags",
) -> Labels:
    """Validate codes per tier against the codebook; a child code implies its parent.

    `where` is "FILE, line N"; `field_prefix` names the object the tier fields sit in, so
    an error reads e.g. "gold.jsonl, line 4, field 'themes': unknown code 'x'".
    """
    if not isinstance(codes, Mapping):
        raise InputError(f"{where}, field '{field_prefix.rstrip('.') or 'codes'}': expected an "
                         f"object of codes per tier, got {type(codes).__name__}")
    out: dict[str, str | frozenset[str]] = {}
    for tier in codebook.tiers:
        field = f"{field_prefix}{tier.id}"
        if tier.id not in codes:
            raise InputError(f"{where}, field '{field}': missing (tier '{tier.id}' of "
                             f"{codebook.ref})")
        value = codes[tier.id]
        if tier.kind == "exclusive":
            if not isinstance(value, str):
                raise InputError(f"{where}, field '{field}': expected one code (a string), got "
                                 f"{type(value).__name__}")
            check_known(value, tier.codes, where, field)
            out[tier.id] = value
        else:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{where}, field '{field}': expected a list of codes")
            for code in value:
                check_known(code, tier.codes, where, field)
                _check_not_a_bare_parent(codebook, code, value, where, field)
            out[tier.id] = frozenset(codebook.with_ancestors(value))
    if flags is None:
        return Labels(out)
    return Labels(out, _parse_flags(codebook, flags, where, flags_field))


def _check_not_a_bare_parent(codebook: Codebook, code: str, codes: list[str], where: str,
                             field: str) -> None:
    """A parent follows from its children (annotate writes both); alone it would count as
    neither right nor wrong for any child, as sheets and training data also refuse it."""
    children = [c.id for c in codebook.children(code)]
    if children and not set(children) & set(codes):
        raise InputError(f"{where}, field '{field}': parent code {code!r} without any of its "
                         f"children ({', '.join(children)}); write the specific child code")


def check_known(value: str, allowed: Iterable[str], where: str, field: str,
                kind: str = "code") -> None:
    """Fail with file, line and field when `value` is not one of the codebook's `allowed`."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise InputError(f"{where}, field '{field}': unknown {kind} {value!r} "
                         f"(known: {', '.join(allowed)})")


def _parse_flags(codebook: Codebook, flags: Any, where: str, field: str) -> frozenset[str]:
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise InputError(f"{where}, field '{field}': expected a list of flag ids")
    for flag in flags:
        check_known(flag, codebook.detectors, where, field, kind="flag")
    return frozenset(flags)


def coded_codebook(path: str | Path, override: str | Path | None = None) -> Codebook:
    """The codebook a coded file was made with: `override` if given, else the first
    record's `themekit.codebook` reference (name@version), loaded by name."""
    if override is not None:
        return load_codebook(override)
    for line_no, data in read_jsonl(path):
        ref = _coding(data, f"{path}, line {line_no}").get("codebook")
        if not isinstance(ref, str) or not ref:
            raise InputError(f"{path}, line {line_no}, field '{CODED_KEY}.codebook': missing; "
                             "give the codebook", setting="codebook")
        name = ref.rsplit("@", 1)[0]
        try:
            found = find_codebook_path(name)
        except CodebookError as exc:
            raise InputError(f"{path}, line {line_no}: coded with {ref}, and no codebook is "
                             f"registered as {name!r}; give its YAML file (as given "
                             "to annotate)", setting="codebook") from exc
        codebook = load_codebook(found)
        if codebook.ref != ref:
            raise InputError(f"{path}, line {line_no}: coded with {ref} but the registered "
                             f"codebook is {codebook.ref}; give the matching file",
                             setting="codebook")
        return codebook
    raise InputError(f"{path}: no coded records")


def read_coded(path: str | Path, codebook: Codebook) -> Iterator[CodedRecord]:
    """Stream coded records, failing on the first bad line with file, line and field."""
    for line_no, data in read_jsonl(path):
        where = f"{path}, line {line_no}"
        coding = _coding(data, where)
        ref = coding.get("codebook")
        if ref != codebook.ref:
            raise InputError(f"{where}, field '{CODED_KEY}.codebook': {ref!r} does not match "
                             f"the codebook in use ({codebook.ref})")
        labels = parse_labels(codebook, coding.get("codes"), coding.get("flags", []), where,
                              f"{CODED_KEY}.codes.", f"{CODED_KEY}.flags")
        _check_scores_and_review(coding, where)
        yield CodedRecord(line_no, data, coding, labels)


def _check_scores_and_review(coding: dict[str, Any], where: str) -> None:
    """Reports read these as they are; a wrong type would surface as a traceback."""
    scores = coding.get("scores", {})
    if not isinstance(scores, dict) or not all(is_number(v) for v in scores.values()):
        raise InputError(f"{where}, field '{CODED_KEY}.scores': expected an object of "
                         "scores per code")
    review = coding.get("review", [])
    if not isinstance(review, list) or not all(isinstance(r, str) for r in review):
        raise InputError(f"{where}, field '{CODED_KEY}.review': expected a list of texts")
    risks = coding.get("risks", [])
    if not isinstance(risks, list) or not all(isinstance(r, dict) for r in risks):
        raise InputError(f"{where}, field '{CODED_KEY}.risks': expected a list of objects "
                         "(flag, start, end, text)")


def _coding(data: dict[str, Any], where: str) -> dict[str, Any]:
    coding = data.get(CODED_KEY)
    if not isinstance(coding, dict):
        raise InputError(f"{where}, field '{CODED_KEY}': missing; is this the output of "
                         "`themekit annotate`?")
    return coding
