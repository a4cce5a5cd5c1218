"""Draw the comments a human codes: reproducible, optionally stratified or model-guided.

Random order comes from a hash of (seed, id), not from a random-number stream: the same
seed picks the same comments on any machine and Python version, whatever the file order,
and adding comments to a corpus never reshuffles the ones already there.

Uncertainty sampling (`model`) needs a trained model: it ranks comments by how close the
model's score for any code sits to that code's threshold. Rule-only scores are clipped sums
of pattern weights written by hand, so "close to the threshold" would mean "matched a
pattern whose weight someone set near 0.5", not "the system is unsure"; it is not offered.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.language import Language

from themekit.errors import InputError, ModelError, SettingError
from themekit.codebook import Codebook
from themekit.io.records import BadRecord, Record, read_records
from themekit.io.sheets import SheetItem, blank_item, read_ids

MISSING = "(missing)"
"""The stratum of records that lack the `--by` field."""


@dataclass
class SampleResult:
    items: list[SheetItem]
    pool: int
    excluded: int
    bad: list[BadRecord] = field(default_factory=list)
    strata: dict[str, tuple[int, int]] = field(default_factory=dict)
    """stratum -> (records in the pool, records drawn); empty when not stratified."""
    margins: dict[str, float] = field(default_factory=dict)
    """id -> distance of its nearest code score to that code's threshold (model sampling)."""
    unmatched: int = 0
    """Records left out because their text does not match `match` (keyword enrichment)."""


def draw_sample(
    corpus: str,
    n: int,
    codebook: Codebook,
    *,
    seed: int = 0,
    by: str | None = None,
    exclude: Iterable[str] = (),
    match: str | None = None,
    nlp: Language | None = None,
    fmt: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 256,
    keep_fields: Sequence[str] | None = None,
    on_record: Callable[[], None] | None = None,
) -> SampleResult:
    """Draw `n` comments from `corpus` as blank sheet items.

    `by` stratifies on a record field (proportional allocation, every stratum at least one
    item when `n` allows); `exclude` names JSONL files whose ids are left out (already
    coded); `match` (a regular expression, case-insensitive) keeps only comments whose
    text it finds, to enrich a sample for codes a random draw barely contains; `nlp` (a
    pipeline with a trained model) picks the most uncertain comments within each stratum
    instead of random ones. Each item keeps its record's other fields (source, rating,
    thread title: the coder's context and the stratum), or only `keep_fields`.
    """
    if n < 1:
        raise SettingError("size", f"must be at least 1, got {n}")
    if nlp is not None and not _has_model(nlp):
        raise ModelError("uncertainty sampling needs a trained model (a text categorizer before "
                         "the themekit component); rule scores are not uncertainties")
    keyword = _compile_match(match)
    skip: set[str] = set()
    for path in exclude:
        skip |= read_ids(path)
    pool, bad, excluded = _read_pool(corpus, fmt, text_field, id_field, skip)
    unmatched = 0
    if keyword is not None:
        kept = [(rid, rec) for rid, rec in pool if keyword.search(rec.text)]
        unmatched, pool = len(pool) - len(kept), kept
    if not pool:
        raise InputError(f"{corpus}: no records left to sample ({len(bad)} bad, "
                         f"{excluded} excluded as already drawn"
                         + (f", {unmatched} not matching the pattern" if keyword else "") + ")")
    keys = {rid: _rank_key(seed, rid) for rid, _ in pool}
    groups: dict[str, list[str]] = {}
    for rid, record in pool:
        groups.setdefault(_stratum(record.data, by), []).append(rid)
    allocation = allocate(n, {s: len(ids) for s, ids in groups.items()})

    margins: dict[str, float] = {}
    if nlp is not None:
        margins = uncertainty_margins(nlp, ((rid, r.text) for rid, r in pool),
                                      batch_size=batch_size, on_record=on_record)
    chosen: list[str] = []
    for stratum, ids in groups.items():
        order = sorted(ids, key=lambda i: (margins.get(i, 0.0), keys[i]))
        chosen.extend(order[: allocation[stratum]])

    records = dict(pool)
    items = [
        blank_item(rid, records[rid].text, codebook, line=records[rid].line,
                   data=_context(records[rid].data, keep_fields, text_field))
        for rid in sorted(chosen, key=keys.__getitem__)
    ]
    strata = {s: (len(groups[s]), allocation[s]) for s in sorted(groups)} if by else {}
    kept = {i.id: margins[i.id] for i in items} if margins else {}
    return SampleResult(items, len(pool), excluded, bad, strata, kept, unmatched)


def _context(data: dict[str, Any], keep: Sequence[str] | None,
             text_field: str) -> dict[str, Any]:
    """The fields of a record a sheet item keeps beside its id, text and codes."""
    names = [k for k in data if k != text_field] if keep is None else keep
    return {k: data[k] for k in names if k in data and k != text_field}


def _compile_match(match: str | None) -> re.Pattern[str] | None:
    if match is None:
        return None
    try:
        return re.compile(match, re.IGNORECASE)
    except re.error as exc:
        raise SettingError("match", f"{match!r} is not a regular expression: {exc}") from exc


def allocate(n: int, sizes: dict[str, int]) -> dict[str, int]:
    """Proportional allocation of `n` over strata, by largest remainder.

    Every stratum gets at least one item when `n` is at least the number of strata; no
    stratum gets more items than it has. Ties go to the stratum named first.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    quota = {s: n * size / total for s, size in sizes.items()}
    floor = 1 if n >= len(sizes) else 0
    alloc = {s: min(sizes[s], max(floor, math.floor(q))) for s, q in quota.items()}
    names = sorted(sizes)
    while sum(alloc.values()) > n:
        over = [s for s in names if alloc[s] > floor]
        alloc[max(over, key=lambda s: alloc[s] - quota[s])] -= 1
    while sum(alloc.values()) < n:
        room = [s for s in names if alloc[s] < sizes[s]]
        alloc[max(room, key=lambda s: quota[s] - alloc[s])] += 1
    return alloc


def uncertainty_margins(
    nlp: Language,
    texts: Iterable[tuple[str, str]],
    batch_size: int = 256,
    on_record: Callable[[], None] | None = None,
) -> dict[str, float]:
    """id -> min over leaf codes of |score - threshold| (smaller: the model is less sure).

    The score is the one the themekit component decided with (`doc.cats`); the threshold
    is the one it recorded in the code's provenance, else the model's tuned threshold for
    the code, else the codebook's.
    """
    component = nlp.get_pipe("themekit")
    codebook = component.codebook
    leaves = [c for c in codebook.codes.values() if not codebook.children(c.id)]
    ids, stream = [], []
    for rid, text in texts:
        ids.append(rid)
        stream.append(text)
    margins: dict[str, float] = {}
    for rid, doc in zip(ids, nlp.pipe(stream, batch_size=batch_size)):
        provenance = doc._.themekit.provenance
        margins[rid] = min(
            abs(doc.cats.get(code.id, 0.0) - _threshold(code.id, code.threshold, provenance,
                                                           component.thresholds))
            for code in leaves
        )
        if on_record:
            on_record()
    return margins


def _threshold(code: str, default: float, provenance: dict[str, dict[str, Any]],
               tuned: dict[str, float]) -> float:
    recorded = provenance.get(code, {}).get("threshold")
    if recorded is not None:
        return float(recorded)
    return float(tuned.get(code, default))


def _has_model(nlp: Language) -> bool:
    """Whether a component before themekit scores the codebook's codes (a trained model)."""
    codes = set(nlp.get_pipe("themekit").codebook.codes)
    return any(name != "themekit" and codes & set(getattr(pipe, "labels", None) or ())
               for name, pipe in nlp.pipeline)


def _read_pool(
    corpus: str, fmt: str | None, text_field: str, id_field: str, skip: set[str]
) -> tuple[list[tuple[str, Record]], list[BadRecord], int]:
    """Good records with a unique id, minus the excluded ids; every other record is reported."""
    pool: list[tuple[str, Record]] = []
    bad: list[BadRecord] = []
    lines: dict[str, int] = {}
    excluded = 0
    source = "<stdin>" if corpus == "-" else corpus
    for rec in read_records(corpus, text_field=text_field, fmt=fmt, id_field=id_field):
        if isinstance(rec, BadRecord):
            bad.append(rec)
            continue
        raw_id = rec.data.get(id_field)
        if raw_id is None or raw_id == "":
            bad.append(BadRecord(source, rec.line, id_field, "missing id (a sheet needs one "
                                 "to match codings; set --id-field)", json.dumps(rec.data)))
            continue
        rid = str(raw_id)
        if rid in lines:
            bad.append(BadRecord(source, rec.line, id_field, f"duplicate id {rid!r} (first on "
                                 f"line {lines[rid]}); only the first is kept", "", rid))
            continue
        lines[rid] = rec.line
        if rid in skip:
            excluded += 1
            continue
        pool.append((rid, rec))
    return pool, bad, excluded


def _stratum(data: dict[str, Any], by: str | None) -> str:
    if by is None:
        return ""
    value = data.get(by)
    if value is None or value == "":
        return MISSING
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _rank_key(seed: int, record_id: str) -> str:
    return hashlib.sha256(f"{seed}\x00{record_id}".encode()).hexdigest()
