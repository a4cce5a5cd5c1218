"""Exports for other tools: a 0/1 code matrix (CSV), training data, and the codebook as
REFI-QDA (.qdc).

The matrix is what statistics packages want: one row per coded comment, one 0/1 column per
code (parents included, named by code id), one column per exclusive tier holding its code,
one 0/1 column per privacy flag the codebook detects. No text leaves in it.

Training data is what `themekit train` reads: the coded items of a sheet as id, text, one
field per tier (leaf codes), flags, and the coder under `meta`.

The .qdc file follows the REFI-QDA Codebook standard (urn:QDA-XML:codebook:1.0), which QDA
packages such as ATLAS.ti, MAXQDA, NVivo and QualCoder import: each tier becomes a top-level
code that cannot be coded, parent codes nest their children, definitions go into
Description. GUIDs are uuid5 of the codebook name and the code id, so exporting the same
codebook twice gives the same file and a re-import matches codes up.
"""

from __future__ import annotations

import csv
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from themekit.codebook import Code, Codebook, Tier
from themekit.errors import InputError
from themekit.io.records import AtomicWriter, guard_formula
from themekit.io.sheets import read_sheet

QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"
QDC_SCHEMA = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://themekit/codebook")
TIER_COLOURS = ("#1F77B4", "#D62728", "#2CA02C", "#9467BD", "#FF7F0E", "#8C564B", "#E377C2")
"""One colour per tier (in order, cycling), shared by the tier's codes."""


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    skipped: int
    """Items of a sheet that are not coded yet (left out, not written as zeros)."""
    columns: int | None = None


def matrix_columns(codebook: Codebook) -> list[str]:
    """id, every code, every exclusive tier, every flag (the codebook's validation keeps
    these names apart)."""
    return ["id", *codebook.codes, *(t.id for t in codebook.tiers if t.kind == "exclusive"),
            *codebook.detectors]


def export_matrix(coded: str | Path, codebook: Codebook, output: str,
                  id_field: str = "id") -> ExportSummary:
    """Write the 0/1 matrix of a coded file (annotate output, a gold file or a sheet)."""
    items = read_sheet(coded, codebook, id_field)
    columns = matrix_columns(codebook)
    exclusive = [t.id for t in codebook.tiers if t.kind == "exclusive"]
    rows = 0
    with AtomicWriter(output) as writer:
        out = csv.writer(writer.stream, lineterminator="\n")
        out.writerow(columns)
        for item in items:
            if not item.is_coded(codebook):
                continue
            assigned: set[str] = set()
            for tier in codebook.tiers:
                value = item.codes[tier.id]
                assigned |= codebook.with_ancestors([value] if isinstance(value, str) else value)
            out.writerow([guard_formula(item.id),
                          *(int(c in assigned) for c in codebook.codes),
                          *(item.codes[t] for t in exclusive),
                          *(int(f in item.flags) for f in codebook.detectors)])
            rows += 1
    return ExportSummary(rows, len(items) - rows, len(columns))


def export_training(coded: str | Path, codebook: Codebook, output: str,
                    id_field: str = "id") -> ExportSummary:
    """Write the coded items of a sheet (or gold/coded file) as `themekit train` input."""
    items = read_sheet(coded, codebook, id_field)
    coded_items = [item for item in items if item.is_coded(codebook)]
    for item in coded_items:
        if not item.text:
            raise InputError(f"{coded}, line {item.line}, field 'text': missing; training "
                             "needs the comment (give a sheet made by `themekit sample`)")
    with AtomicWriter(output) as writer:
        for item in coded_items:
            row = {"id": item.id, "text": item.text}
            for tier in codebook.tiers:
                value = item.codes[tier.id]
                row[tier.id] = list(value) if isinstance(value, tuple) else value
            row["flags"] = list(item.flags)
            if item.coder:
                row["meta"] = {"coder": item.coder}
            writer.write_json(row)
    return ExportSummary(len(coded_items), len(items) - len(coded_items))


def code_guid(codebook: Codebook, item_id: str) -> str:
    """A stable GUID for a code (or `tier:<id>`) of a codebook."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{codebook.name}/{item_id}"))


def codebook_qdc(codebook: Codebook) -> bytes:
    """The codebook as REFI-QDA Codebook XML (.qdc), UTF-8."""
    ET.register_namespace("", QDC_NAMESPACE)
    ET.register_namespace("xsi", XSI_NAMESPACE)
    root = ET.Element(_q("CodeBook"), {
        "origin": f"themekit ({codebook.ref})",
        f"{{{XSI_NAMESPACE}}}schemaLocation": f"{QDC_NAMESPACE} {QDC_SCHEMA}",
    })
    codes = ET.SubElement(root, _q("Codes"))
    for index, tier in enumerate(codebook.tiers):
        colour = TIER_COLOURS[index % len(TIER_COLOURS)]
        node = _code_element(codes, code_guid(codebook, f"tier:{tier.id}"), tier.label, False,
                             colour, _tier_description(codebook, tier))
        for code in codebook.codes_in(tier.id):
            if code.parent is None:
                _add_code(node, codebook, code, colour)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_qdc(codebook: Codebook, output: str) -> None:
    data = codebook_qdc(codebook)
    with AtomicWriter(output) as writer:
        writer.stream.write(data.decode("utf-8"))


def _add_code(parent: ET.Element, codebook: Codebook, code: Code, colour: str) -> None:
    children = codebook.children(code.id)
    description = f"{code.definition}\n\n(themekit code id: {code.id})"
    node = _code_element(parent, code_guid(codebook, code.id), code.label, not children,
                         colour, description)
    for child in children:
        _add_code(node, codebook, child, colour)


def _code_element(parent: ET.Element, guid: str, name: str, codable: bool, colour: str,
                  description: str) -> ET.Element:
    node = ET.SubElement(parent, _q("Code"), {
        "guid": guid, "name": name, "isCodable": "true" if codable else "false", "color": colour,
    })
    ET.SubElement(node, _q("Description")).text = description
    return node


def _tier_description(codebook: Codebook, tier: Tier) -> str:
    rule = ("exactly one code per comment" if tier.kind == "exclusive"
            else "zero or more codes per comment")
    text = f"{tier.description}\n\n" if tier.description else ""
    text += f"Tier '{tier.id}': {rule}."
    if any(codebook.children(c) for c in tier.codes):
        text += " Parent codes are not coded directly: a child code implies its parent."
    return text


def _q(tag: str) -> str:
    return f"{{{QDC_NAMESPACE}}}{tag}"
