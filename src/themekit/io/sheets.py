"""Coding sheets: the file a human codes, shared by `sample`, `code`, `agreement` and `export`.

A sheet is JSONL (or CSV, by extension) with one item a line: `id`, `text`, one field per
codebook tier (an exclusive tier holds one code or null, a multi tier a list of leaf codes),
`flags` (a list of the codebook's detector ids) and `coder` (who coded it, or null). Parent
codes are not written: they follow from their children. Any other field is kept as it is.

The gold files in ../shared/data and the output of `themekit annotate` (codes under a
`themekit` object, which win over any top-level field named like a tier; the coder is
`themekit`) read as sheets too, so the same checks apply to every coded file.
An item counts as coded when every exclusive tier has a code (for a codebook without
exclusive tiers: when `coder` is set); only then do its multi tiers count, since an empty
list is also what an uncoded item holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from themekit.codebook import Codebook
from themekit.errors import InputError
from themekit.io.coded import CODED_KEY, check_known
from themekit.io.records import (CSV_FIELD_LIMIT, AtomicWriter, Record, guard_formula, read_jsonl,
                         read_records, unguard_formula)

LIST_SEPARATOR = ";"
"""How a CSV cell holds a list (a multi tier's codes, the flags): `benefit;privacy`."""

TierValue = str | None | tuple[str, ...]


@dataclass(frozen=True)
class SheetItem:
    """One row of a sheet: the comment and its codes, with the row's other fields kept."""

    line: int
    id: str
    text: str | None
    codes: dict[str, TierValue]
    flags: tuple[str, ...] = ()
    coder: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def is_coded(self, codebook: Codebook) -> bool:
        exclusive = [t.id for t in codebook.tiers if t.kind == "exclusive"]
        if not exclusive:
            return self.coder is not None
        return all(self.codes.get(t) is not None for t in exclusive)

    def to_row(self, codebook: Codebook) -> dict[str, Any]:
        """The row as written back: original fields, with id, text, codes, flags, coder."""
        row = dict(self.data)
        row.pop(CODED_KEY, None)
        row["id"] = self.id
        row["text"] = self.text
        for tier in codebook.tiers:
            value = self.codes.get(tier.id)
            row[tier.id] = list(value or ()) if tier.kind == "multi" else value
        row["flags"] = list(self.flags)
        row["coder"] = self.coder
        return row


def blank_item(record_id: str, text: str, codebook: Codebook, line: int = 0,
               data: dict[str, Any] | None = None) -> SheetItem:
    """A sheet item with nothing coded yet: exclusive tiers null, multi tiers empty; `data`
    holds the record's context fields, written beside them."""
    codes: dict[str, TierValue] = {
        t.id: (() if t.kind == "multi" else None) for t in codebook.tiers
    }
    return SheetItem(line=line, id=record_id, text=text, codes=codes, data=dict(data or {}))


def leaf_codes(codebook: Codebook, codes: Iterable[str]) -> tuple[str, ...]:
    """The leaf codes among `codes`, in codebook order (parents are implied, not coded)."""
    chosen = set(codes)
    return tuple(c for c in codebook.codes if c in chosen and not codebook.children(c))


def read_sheet(path: str | Path, codebook: Codebook, id_field: str = "id") -> list[SheetItem]:
    """Read and validate a sheet, failing on the first bad value with file, line and field.
    `id_field` names the field holding the id (annotate's --id-field)."""
    path = str(path)
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    rows = _read_csv(path) if _is_csv(path) else read_jsonl(path)
    items: list[SheetItem] = []
    seen: dict[str, int] = {}
    for line_no, data in rows:
        item = _parse_item(path, line_no, data, codebook, id_field)
        if item.id in seen:
            raise InputError(f"{path}, line {line_no}, field 'id': duplicate id {item.id!r} "
                             f"(also on line {seen[item.id]})")
        seen[item.id] = line_no
        items.append(item)
    if not items:
        raise InputError(f"{path}: the sheet is empty (no items)")
    return items


def write_sheet(path: str | Path, items: Iterable[SheetItem], codebook: Codebook) -> None:
    """Write a sheet atomically (temporary file, then rename): JSONL, or CSV by extension."""
    path = str(path)
    rows = [item.to_row(codebook) for item in items]
    with AtomicWriter(path) as writer:
        if not _is_csv(path):
            for row in rows:
                writer.write_json(row)
            return
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        writer.stream.write("\ufeff")  # the byte-order mark tells Excel the file is UTF-8
        out = csv.DictWriter(writer.stream, fieldnames=columns, lineterminator="\n")
        out.writeheader()
        for row in rows:
            out.writerow({k: _csv_cell(row.get(k)) for k in columns})


def read_ids(path: str | Path) -> set[str]:
    """Every `id` in a sheet, gold file or coded file (JSONL, or CSV by extension), or in a
    plain id list (`.txt`, one id a line): items to leave out of a sample."""
    ids: set[str] = set()
    path = str(path)
    if path.lower().endswith(".txt"):
        return _read_id_list(path)
    for line_no, data in _read_csv(path) if _is_csv(path) else read_jsonl(path):
        if "id" not in data:
            raise InputError(f"{path}, line {line_no}, field 'id': missing")
        ids.add(str(data["id"]))
    return ids


def _read_id_list(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return {line.strip() for line in handle if line.strip()}
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason}); an id list is one id a "
                         "line") from exc


def read_texts(path: str, wanted: set[str]) -> dict[str, str]:
    """id -> text for the `wanted` ids of a corpus (JSONL or CSV), for sheets that lack text."""
    texts: dict[str, str] = {}
    for record in read_records(path):
        if isinstance(record, Record) and str(record.data.get("id")) in wanted:
            texts[str(record.data["id"])] = record.text
    return texts


def _is_csv(path: str) -> bool:
    return path.lower().endswith(".csv")


def _read_csv(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows with their line numbers; a sheet saved by Excel starts with a byte-order mark."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        csv.field_size_limit(CSV_FIELD_LIMIT)
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                yield reader.line_num, {k: _from_csv_cell(k, unguard_formula(v))
                                        for k, v in row.items()}
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}, line {_undecodable_line(path)}: not valid UTF-8 "
                             f"({exc.reason}); save the sheet as UTF-8") from exc


def _from_csv_cell(column: str, cell: Any) -> Any:
    """A cell holding a JSON object is one that `_csv_cell` wrote from an object (the
    `coders` of an adjudication sheet), so it is read back as one; the comment text stays
    text whatever it looks like."""
    if column != "text" and isinstance(cell, str) and cell.startswith("{"):
        try:
            value = json.loads(cell)
        except ValueError:
            return cell
        return value if isinstance(value, dict) else cell
    return cell


def _undecodable_line(path: str) -> int:
    """The first line of the file that is not UTF-8 (the reader decodes in blocks, so the
    error itself does not know which line it was)."""
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return line_no
    return 0


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return LIST_SEPARATOR.join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return guard_formula(str(value))


def _parse_item(path: str, line_no: int, data: dict[str, Any], codebook: Codebook,
                id_field: str = "id") -> SheetItem:
    where = f"{path}, line {line_no}"
    record_id = data.get(id_field)
    if record_id is None or record_id == "":
        raise InputError(f"{where}, field '{id_field}': missing")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise InputError(f"{where}, field 'text': expected a string, got {type(text).__name__}")
    # annotate's codes win over fields of the input that happen to share a tier's name (a
    # coder's own codes on a sheet that was then annotated, a scraped `attitude`)
    source, prefix, coder = data, "", data.get("coder")
    if CODED_KEY in data:
        source, prefix, coder = _coded_part(data, where, codebook), f"{CODED_KEY}.", CODED_KEY
    codes = {
        tier.id: _parse_tier(codebook, tier.id, source.get(tier.id), where, prefix + tier.id)
        for tier in codebook.tiers
    }
    flags = _parse_flags(codebook, source.get("flags"), where, prefix + "flags")
    if coder == "":
        coder = None
    if coder is not None and not isinstance(coder, str):
        raise InputError(f"{where}, field 'coder': expected a name or null")
    return SheetItem(line_no, str(record_id), text, codes, flags, coder, data)


def _coded_part(data: dict[str, Any], where: str, codebook: Codebook) -> dict[str, Any]:
    """Codes and flags of a record written by `themekit annotate`."""
    coding = data[CODED_KEY]
    if not isinstance(coding, dict) or not isinstance(coding.get("codes"), dict):
        raise InputError(f"{where}, field '{CODED_KEY}.codes': missing")
    ref = coding.get("codebook")
    if ref is not None and ref != codebook.ref:  # another version may define other codes
        raise InputError(f"{where}, field '{CODED_KEY}.codebook': coded with {ref}, not with "
                         f"{codebook.ref}; give the matching codebook", setting="codebook")
    return {**coding["codes"], "flags": coding.get("flags", [])}


def _split(value: Any) -> Any:
    """A CSV cell holding a list arrives as text: '' is empty, 'a;b' is two items."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
    return value


def _parse_tier(codebook: Codebook, tier_id: str, value: Any, where: str, field: str) -> TierValue:
    tier = codebook.tier(tier_id)
    if tier.kind == "exclusive":
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise InputError(f"{where}, field '{field}': expected one code or null, got "
                             f"{type(value).__name__}")
        check_known(value, tier.codes, where, field)
        return value
    value = _split([] if value is None else value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}, field '{field}': expected a list of codes")
    for code in value:
        check_known(code, tier.codes, where, field)
    leaves = leaf_codes(codebook, value)
    implied = codebook.with_ancestors(leaves)
    for code in value:
        if code not in implied:
            children = ", ".join(c.id for c in codebook.children(code))
            raise InputError(f"{where}, field '{field}': {code!r} is a parent code, implied by "
                             f"its children; code one of them instead ({children})")
    return leaves


def _parse_flags(codebook: Codebook, value: Any, where: str, field: str) -> tuple[str, ...]:
    value = _split([] if value is None else value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}, field '{field}': expected a list of flag ids")
    for flag in value:
        check_known(flag, codebook.detectors, where, field, kind="flag")
    return tuple(f for f in codebook.detectors if f in set(value))


def replace_codes(item: SheetItem, codes: dict[str, TierValue], flags: tuple[str, ...],
                  coder: str | None) -> SheetItem:
    """The item with new codes, flags and coder (other fields unchanged)."""
    return replace(item, codes=dict(codes), flags=tuple(flags), coder=coder)
