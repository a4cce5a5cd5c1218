"""`themekit report`: summarise a coded file in one streaming pass, then render it.

`build_report` reads the coded JSONL once, keeping only counters and a bounded set of
exemplar candidates, so memory stays flat however large the corpus. `report_tables` turns
the result into plain tables that the terminal, Markdown and HTML renderers all share, so
every format shows the same figures.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from themekit.codebook import Codebook, Tier
from themekit.errors import InputError, SettingError
from themekit.io.coded import CodedRecord, coded_codebook, read_coded
from themekit.io.rendered import write_rendered
from themekit.model.card import card_accuracy, model_identity, read_card, system_label
from themekit.nlp.redaction import redact_text
from themekit.analysis.stats import CorrectedShare, Share, corrected_share, percent, percent_range, share

EXEMPLARS_PER_CODE = 3
EXCERPT_CHARS = 160
SHORT_TEXT = 40
"""Texts shorter than this rank after longer ones: a bare "ok" says little about a code."""
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Exemplar:
    id: str
    line: int
    score: float
    text: str


@dataclass
class Report:
    """Counts from one coded file; shares and intervals are computed on demand."""

    source: str
    codebook: Codebook
    by: str | None
    n: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    by_group: Counter[tuple[str, str]] = field(default_factory=Counter)
    pairs: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)
    flags: Counter[str] = field(default_factory=Counter)
    review: Counter[str] = field(default_factory=Counter)
    exemplars: dict[str, list[Exemplar]] = field(default_factory=dict)
    corrected: dict[str, CorrectedShare] = field(default_factory=dict)
    calibration: str | None = None
    coded_by: Counter[str] = field(default_factory=Counter)
    models: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """The model record of each system in `coded_by` (None: rules only)."""
    accuracy: dict[str, str] = field(default_factory=dict)
    """What the card of a system's model records of its accuracy, when the card is known."""
    warnings: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    """The distinct ids seen (a record without one counts as distinct)."""
    repeated_ids: int = 0

    def share(self, code: str) -> Share:
        return share(self.codes[code], self.n)

    def group_names(self) -> list[str]:
        """The groups of `--by`: a tier's codes in codebook order, or a field's values, the
        most frequent first, or a date field's periods in time order."""
        if self.by in self.codebook.tier_ids():
            return list(self.codebook.tier(self.by).codes)
        if self.by and self.by.rsplit(":", 1)[-1] in DATE_PERIODS:  # periods in time order
            return sorted(self.groups, key=lambda g: (g.startswith("("), g))
        return sorted(self.groups, key=lambda g: (-self.groups[g], g))

    def group_share(self, group: str, code: str) -> Share:
        return share(self.by_group[group, code], self.groups[group])

    def flag_ids(self) -> list[str]:
        """The codebook's detectors first (zero counts included), then any others seen."""
        declared = list(self.codebook.detectors)
        return declared + sorted(set(self.flags) - set(declared))

    def to_json(self) -> dict[str, Any]:
        book = self.codebook
        return {
            "source": self.source,
            "codebook": book.ref,
            "n": self.n,
            "tiers": {t.id: {c: self.share(c).to_json() for c in t.codes} for t in book.tiers},
            "by": self.by,
            "groups": {
                g: {"n": self.groups[g],
                    "tiers": {t.id: {c: self.group_share(g, c).to_json() for c in t.codes}
                              for t in _other_tiers(book, self.by)}}
                for g in (self.group_names() if self.by else ())
            },
            "cooccurrence": {
                tier: [{"a": a, "b": b, "count": self.pairs[tier][a, b]}
                       for a, b in _leaf_pairs(book, book.tier(tier))]
                for tier in self.pairs
            },
            "flags": {f: share(self.flags[f], self.n).to_json() for f in self.flag_ids()},
            "review": dict(self.review.most_common()),
            "exemplars": {code: [vars(e) for e in items] for code, items in self.exemplars.items()},
            "calibration": self.calibration,
            "corrected": {code: c.to_json() for code, c in self.corrected.items()},
            "repeated_ids": self.repeated_ids,
            "coded_by": [{"system": label, "model": self.models[label], "comments": n,
                          "accuracy": self.accuracy.get(label)}
                         for label, n in self.coded_by.most_common()],
            "warnings": self.warnings,
        }


def build_report(
    path: str | Path,
    codebook: str | Path | None = None,
    by: str | None = None,
    redact: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    calibration: str | Path | None = None,
) -> Report:
    """Stream a coded file into a `Report` (codebook from the records unless given); with
    `calibration` (the JSON of `themekit evaluate`) shares are also corrected for error."""
    book = coded_codebook(path, codebook)
    by = _group_tier(book, by)
    confusion, calibrated_by = load_calibration(calibration, book) if calibration else ({}, None)
    report = Report(source=str(path), codebook=book, by=by,
                    pairs={t.id: Counter() for t in book.tiers if t.kind == "multi"})
    picker = _ExemplarPicker(redact)
    leaf_pairs = {tier: _leaf_pairs(book, book.tier(tier)) for tier in report.pairs}
    for record in read_coded(path, book):
        _count(report, record, leaf_pairs)
        item_id = record.data.get(id_field)
        if item_id is not None:
            key = json.dumps(item_id)
            report.repeated_ids += key in report.ids
            report.ids.add(key)
        picker.offer(book, record, text_field, id_field, str(path))
    if report.n == 0:
        raise InputError(f"{path}: no coded records")
    if by and by not in book.tier_ids() and set(report.groups) == {MISSING_GROUP}:
        raise SettingError("by", f"{by}: neither a tier of {book.ref} (tiers: "
                         f"{', '.join(book.tier_ids())}) nor a field of any record in {path}")
    report.exemplars = picker.result(book)
    report.accuracy = {label: text for label, model in report.models.items()
                       if (text := shipped_model_accuracy(book, model))}
    report.calibration = str(calibration) if calibration else None
    report.corrected = {
        code: corrected_share(report.codes[code], report.n, *counts)
        for code, counts in confusion.items() if code in book.codes
    }
    report.warnings = system_warnings(report, calibrated_by)
    return report


def load_calibration(path: str | Path, book: Codebook
                     ) -> tuple[dict[str, tuple[int, int, int, int]], dict[str, int] | None]:
    """(tp, fp, fn, tn) per code from the JSON `themekit evaluate --json` writes, and the
    systems that coded the records it scored (None from an older JSON that lacks them)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read calibration JSON: {exc}") from exc
    if isinstance(data, dict) and "systems" in data:
        raise InputError(f"{path}: this is the JSON of `evaluate --compare`, which holds several "
                         "systems; calibrate with the `evaluate --json` of the one coded file")
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), dict):
        raise InputError(f"{path}: not the JSON of `themekit evaluate --json` (no 'tiers')")
    if data.get("codebook") != book.ref:
        raise InputError(f"{path}, field 'codebook': evaluated with {data.get('codebook')!r}, "
                         f"but the coded file uses {book.ref}")
    out = {}
    for tier_id, tier in data["tiers"].items():
        codes = tier.get("codes") if isinstance(tier, dict) else None
        if not isinstance(codes, dict):
            raise InputError(f"{path}, field 'tiers.{tier_id}.codes': expected an object of "
                             "scores per code")
        for code, scores in codes.items():
            try:
                out[code] = tuple(int(scores[k]) for k in ("tp", "fp", "fn", "tn"))
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{path}, field 'tiers.{tier_id}.codes.{code}': needs integer "
                                 f"tp, fp, fn and tn ({exc})") from exc
    coded_by = data.get("coded_by")
    return out, dict(coded_by) if isinstance(coded_by, dict) else None


RULES_ONLY_WARNING = (
    "coded by rules alone: keyword patterns find a code only where its words appear, so "
    "these shares lean low wherever the rules miss (on hand-coded real comments they found "
    "about a third of personal use). Code with the model (annotate without --rules-only), "
    "or correct the shares with --calibration (docs/statistics.md).")


def system_warnings(report: Report, calibrated_by: dict[str, int] | None) -> list[str]:
    """What the reader must know about who coded the records: rules only, several systems
    in one file, or a calibration measured on another system."""
    warnings = []
    if None in report.models.values() and not report.corrected:
        warnings.append(RULES_ONLY_WARNING)
    if report.repeated_ids:
        warnings.append(f"{report.repeated_ids} of the {report.n} records repeat an earlier "
                        f"record's id ({report.n - report.repeated_ids} distinct comments): "
                        "every share and interval counts each copy as another comment, so "
                        "the intervals are too narrow; remove the copies first")
    if len(report.coded_by) > 1:
        warnings.append(f"the records were coded by {len(report.coded_by)} different systems; "
                        "their shares mix them")
    if calibrated_by is not None and set(calibrated_by) != set(report.coded_by):
        warnings.append(f"the calibration was measured on records coded by "
                        f"{'; '.join(calibrated_by)}, but this file was coded by "
                        f"{'; '.join(report.coded_by)}: its correction assumes the same "
                        "system's errors")
    return warnings


def shipped_model_accuracy(book: Codebook, model: dict[str, Any] | None) -> str | None:
    """The accuracy the card records, when `model` is the codebook's shipped default model
    (a model elsewhere is known by its hash only)."""
    from themekit.plugins import registered_codebooks

    registered = registered_codebooks().get(book.name)
    if model is None or registered is None or registered.model is None:
        return None
    if model_identity(registered.model)["sha256"] != model.get("sha256"):
        return None
    return card_accuracy(read_card(registered.model))


def _group_tier(book: Codebook, by: str | None) -> str | None:
    if by is None:
        return next((t.id for t in book.tiers if t.kind == "exclusive"), None)
    try:
        tier = book.tier(by)
    except KeyError:
        return by  # a field of the records (source, rating...), checked once they are read
    if tier.kind != "exclusive":
        raise SettingError("by", f"tier {by!r} is a multi tier; grouping needs an exclusive "
                         "tier, whose codes split the comments")
    return by


MISSING_GROUP = "(missing)"


UNDATED_GROUP = "(not a date)"
DATE_PERIODS = {"year": 4, "month": 7, "day": 10}
"""`--by FIELD:month` groups by the first characters of an ISO 8601 date (2024-03-09...)."""
ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def field_group(data: dict[str, Any], name: str) -> str:
    """The group of a record under `--by FIELD`: the field's value as text; under
    `--by FIELD:month` (or `:year`, `:day`) the period of the ISO date in it."""
    field_name, _, period = name.rpartition(":") if name.rsplit(":", 1)[-1] in DATE_PERIODS \
        else (name, "", "")
    value = data.get(field_name)
    if value is None or value == "":
        return MISSING_GROUP
    if not period:
        return clean_text(str(value))
    text = str(value).strip()
    width = DATE_PERIODS[period]
    match = ISO_DATE.match(text)
    return text[:width] if match and len(match.group()) >= width else UNDATED_GROUP


def _other_tiers(book: Codebook, by: str | None) -> list[Tier]:
    return [t for t in book.tiers if t.id != by]


def _leaf_pairs(book: Codebook, tier: Tier) -> list[tuple[str, str]]:
    return list(combinations([c.id for c in book.leaf_codes(tier.id)], 2))


def _count(report: Report, record: CodedRecord,
           leaf_pairs: dict[str, list[tuple[str, str]]]) -> None:
    report.n += 1
    codes = record.labels.codes
    assigned = [c for tier in report.codebook.tiers for c in _as_set(codes[tier.id])]
    report.codes.update(assigned)
    if report.by:
        group = codes[report.by] if report.by in codes else field_group(record.data, report.by)
        report.groups[group] += 1
        report.by_group.update((group, c) for c in assigned)
    for tier_id, counter in report.pairs.items():
        present = codes[tier_id]
        counter.update(pair for pair in leaf_pairs[tier_id]
                       if pair[0] in present and pair[1] in present)
    report.flags.update(record.labels.flags or ())
    model = record.coding.get("model")
    label = system_label(model if isinstance(model, dict) else None, report.codebook.ref)
    report.coded_by[label] += 1
    report.models.setdefault(label, model if isinstance(model, dict) else None)
    report.review.update(clean_text(str(r)) for r in record.coding.get("review") or ())


def _as_set(value: str | frozenset[str]) -> frozenset[str]:
    return frozenset([value]) if isinstance(value, str) else value


class _ExemplarPicker:
    """Keeps, per code, the best few quotes seen so far: highest score, then a text of
    useful length, then the shortest, then file order, so the choice is deterministic."""

    def __init__(self, redact: bool, keep: int = EXEMPLARS_PER_CODE) -> None:
        self.redact = redact
        self.keep = keep
        self.best: dict[str, list[tuple[tuple[float, bool, int, int], Exemplar]]] = {}

    def offer(self, book: Codebook, record: CodedRecord, text_field: str, id_field: str,
              source: str) -> None:
        scores = record.coding.get("scores") or {}
        text: str | None = None
        for tier in book.tiers:
            for code in _as_set(record.labels.codes[tier.id]):
                score = float(scores.get(code, 0.0))
                if text is None:
                    text = _record_text(record, text_field, source)
                key = (-score, len(text) < SHORT_TEXT, len(text), record.line)
                kept = self.best.setdefault(code, [])
                if len(kept) == self.keep and key >= kept[-1][0]:
                    continue
                quote = self._excerpt(text, record.coding.get("risks") or ())
                item_id = clean_text(str(record.data.get(id_field, f"line {record.line}")))
                bisect.insort(kept, (key, Exemplar(item_id, record.line, score, quote)),
                              key=lambda pair: pair[0])
                del kept[self.keep:]

    def _excerpt(self, text: str, risks: Any) -> str:
        if self.redact:
            text = redact_text(text, _matching_risks(text, risks))
        return excerpt(text)

    def result(self, book: Codebook) -> dict[str, list[Exemplar]]:
        return {code: [e for _, e in self.best[code]] for code in book.codes if code in self.best}


def _record_text(record: CodedRecord, text_field: str, source: str) -> str:
    text = record.data.get(text_field)
    if not isinstance(text, str):
        raise InputError(f"{source}, line {record.line}, field '{text_field}': missing or not "
                         "text", setting="text_field")
    return text


def _matching_risks(text: str, risks: Any) -> list[dict[str, Any]]:
    """Risk spans whose offsets still point at their text, so that a text changed after
    annotate (or coded by an older version) is never cut in the wrong places."""
    return [r for r in risks if isinstance(r.get("start"), int)
            and isinstance(r.get("end"), int) and text[r["start"]:r["end"]] == r.get("text")]


def clean_text(text: str) -> str:
    """Text that any output can encode: lone surrogates (JSON allows "\\ud800") and control
    characters become U+FFFD instead of failing a UTF-8 write or breaking HTML."""
    return _UNSAFE.sub("\ufffd", text)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word boundary with an ellipsis."""
    flat = " ".join(clean_text(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


# --- tables shared by every output format ------------------------------------------------


@dataclass(frozen=True)
class PlainTable:
    """A titled table of strings; `numeric` marks right-aligned columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    caption: str = ""


def code_name(book: Codebook, code: str) -> str:
    """A code id, marked as a child when it has a parent, so hierarchies read in a table."""
    return f"↳ {code}" if book.codes[code].parent else code


def report_tables(report: Report) -> list[PlainTable]:
    """Every table of the report, in reading order."""
    book = report.codebook
    tables = [_tier_table(report, tier) for tier in book.tiers]
    if report.by:
        tables.append(_group_table(report))
    if report.corrected:
        tables.append(_corrected_table(report))
    tables += [_pairs_table(report, tier) for tier in report.pairs]
    tables.append(PlainTable(
        "Privacy-risk flags", ("flag", "comments", "share"),
        tuple((f, str(report.flags[f]), percent(report.flags[f] / report.n))
              for f in report.flag_ids()),
        (False, True, True)))
    tables.append(PlainTable(
        "Review reasons", ("reason", "comments"),
        tuple((r, str(k)) for r, k in report.review.most_common()) or (("(none)", "0"),),
        (False, True)))
    tables.append(_exemplar_table(report))
    return tables


def _tier_table(report: Report, tier: Tier) -> PlainTable:
    book = report.codebook
    rule = "one code per comment" if tier.kind == "exclusive" else "zero or more codes"
    rows = tuple((code_name(book, c), str(s.count), percent(s.share),
                  percent_range(s.low, s.high))
                 for c in tier.codes for s in [report.share(c)])
    return PlainTable(f"{tier.label} ({rule})", ("code", "comments", "share", "95% CI (Wilson)"),
                      rows, (False, True, True, True), f"n = {report.n} comments")


def _group_table(report: Report) -> PlainTable:
    book = report.codebook
    groups = report.group_names()
    columns = ("code",) + tuple(f"{g} (n={report.groups[g]})" for g in groups) + (
        f"all (n={report.n})",)
    rows = []
    for tier in _other_tiers(book, report.by):
        for c in tier.codes:
            cells = [f"{percent(s.share)} [{percent_range(s.low, s.high)}]" if s.n
                     else "n/a (no comments)"
                     for s in (report.group_share(g, c) for g in groups)]
            overall = report.share(c)
            rows.append((code_name(book, c), *cells,
                         f"{percent(overall.share)} [{percent_range(overall.low, overall.high)}]"))
    return PlainTable(f"Shares by {report.by}", columns, tuple(rows),
                      (False,) + (True,) * (len(columns) - 1),
                      "share of each group's comments [95% Wilson interval]")


def _corrected_table(report: Report) -> PlainTable:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else percent(value)

    rows = tuple(
        (code_name(report.codebook, code), percent(c.raw), cell(c.sensitivity),
         cell(c.specificity), cell(c.corrected),
         "n/a" if c.low is None else percent_range(c.low, c.high), c.note)
        for code in report.codebook.codes if (c := report.corrected.get(code)))
    return PlainTable(
        "Shares corrected for classifier error (Rogan-Gladen)",
        ("code", "raw share", "sensitivity", "specificity", "corrected", "95% CI (bootstrap)",
         "note"), rows, (False, True, True, True, True, True, False),
        f"sensitivity and specificity from {report.calibration}; the interval carries the "
        "uncertainty of the corpus and of the evaluation sample")


def _pairs_table(report: Report, tier_id: str) -> PlainTable:
    counts = report.pairs[tier_id]
    ranked = sorted((pair for pair in counts if counts[pair]), key=lambda p: -counts[p])
    rows = tuple((a, b, str(counts[a, b]), percent(counts[a, b] / report.n)) for a, b in ranked)
    return PlainTable(f"Co-occurring {tier_id} (leaf codes)", ("code", "with", "comments", "share"),
                      rows or (("(none)", "", "0", ""),), (False, False, True, True))


def _exemplar_table(report: Report) -> PlainTable:
    rows = tuple((code, e.id, f"{e.score:.2f}", e.text)
                 for code, items in report.exemplars.items() for e in items)
    return PlainTable("Exemplar quotes", ("code", "id", "score", "quote"), rows,
                      (False, False, True, False), "highest score first, then shorter texts")


# --- renderers ---------------------------------------------------------------------------


def render_rich(report: Report) -> RenderableType:
    """The report as rich tables for the terminal."""
    header = Text.assemble((f"{report.source}", "bold"), f"  {report.codebook.ref}  ",
                           (f"{report.n} comments", "bold cyan"))
    tables: list[RenderableType] = [header, *(Text(f"coded by {line}") for line in
                                             coded_by_lines(report))]
    tables += [Text.assemble(("warning: ", "bold yellow"), w) for w in report.warnings]
    for plain in report_tables(report):
        table = Table(title=plain.title, caption=plain.caption or None, title_justify="left")
        for name, numeric in zip(plain.columns, plain.numeric):
            table.add_column(name, justify="right" if numeric else "left",
                             overflow="fold", ratio=3 if name == "quote" else None)
        for row in plain.rows:
            table.add_row(*(Text(cell) for cell in row))
        tables.append(table)
    return Group(*tables)


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    out = [f"# Report: {report.source}", "",
           f"Codebook `{report.codebook.ref}`, {report.n} comments.", ""]
    out += [f"- Coded by {_md_cell(line)}" for line in coded_by_lines(report)] + [""]
    out += [f"> **Warning:** {_md_cell(w)}" + "\n" for w in report.warnings]
    for plain in report_tables(report):
        out += [f"## {plain.title}", ""]
        out.append("| " + " | ".join(plain.columns) + " |")
        out.append("|" + "|".join("---:" if n else "---" for n in plain.numeric) + "|")
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in plain.rows]
        out += ([""] + [f"_{plain.caption}_"] if plain.caption else []) + [""]
    return "\n".join(out)


def coded_by_lines(report: Report) -> list[str]:
    """One line per system that coded the records: what it is, how many, its accuracy."""
    return [f"{label}: {n} comments" + (f"; {report.accuracy[label]}"
                                        if label in report.accuracy else "")
            for label, n in report.coded_by.most_common()]


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def write_report(report: Report, fmt: str, output: str | None, console: Console) -> None:
    """Print the report, or write it to `output` ('-' for stdout) in the given format."""
    write_rendered(fmt, output, console, as_table=lambda: render_rich(report),
                   as_json=report.to_json, as_markdown=lambda: render_markdown(report))
