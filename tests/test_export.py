"""Exports: the 0/1 code matrix and the REFI-QDA codebook, validated against Codebook.xsd."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from themekit.cli import main
from themekit.codebook import load_codebook
from themekit.io.export import QDC_NAMESPACE, code_guid, codebook_qdc, export_matrix

etree = pytest.importorskip("lxml.etree")

XSD = Path(__file__).parent / "data" / "refi-qda" / "Codebook.xsd"
NS = {"q": QDC_NAMESPACE}


@pytest.fixture(scope="module")
def mh():
    return load_codebook("llm-mental-health")


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


def coded_record(item_id: str, experience: str, attitude: str, themes: list[str],
                 flags: list[str]) -> dict:
    """A line as `themekit annotate` writes it (parents included in themes)."""
    return {"id": item_id, "text": "some words", "source": "tiktok", "themekit": {
        "codebook": "llm-mental-health@1",
        "codes": {"experience": experience, "attitude": attitude, "themes": themes},
        "flags": flags, "scores": {}, "provenance": {}, "evidence": [], "risks": [],
        "review": [], "dropped": {}}}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_matrix_from_annotate_output(tmp_path, mh):
    coded = tmp_path / "coded.jsonl"
    coded.write_text("".join(json.dumps(r) + "\n" for r in [
        coded_record("a", "personal_use", "positive", ["benefit", "accessibility"], ["pii.url"]),
        coded_record("b", "no_personal_use", "negative", ["concern", "privacy", "dependency"],
                     []),
    ]), encoding="utf-8")
    out = tmp_path / "matrix.csv"
    summary = export_matrix(coded, mh, str(out))
    rows = read_csv(out)
    header = list(rows[0])
    assert header[0] == "id"
    assert header[1:16] == list(mh.codes)  # every code, parents included, by id
    assert header[16:18] == ["experience", "attitude"]
    assert header[18:] == list(mh.detectors)
    assert (summary.rows, summary.skipped, summary.columns) == (2, 0, len(header))
    a, b = rows
    assert (a["personal_use"], a["no_personal_use"], a["positive"]) == ("1", "0", "1")
    assert (a["benefit"], a["accessibility"], a["concern"]) == ("1", "1", "0")
    assert (a["experience"], a["attitude"], a["pii.url"], a["pii.email"]) == (
        "personal_use", "positive", "1", "0")
    assert (b["concern"], b["privacy"], b["dependency"], b["benefit"]) == ("1", "1", "1", "0")
    assert "text" not in header


def test_annotates_codes_win_over_input_fields_named_like_tiers(tmp_path, mh):
    """A coder's sheet, annotated: the file holds her codes and the machine's."""
    record = coded_record("a", "no_personal_use", "neutral", [], [])
    record.update(post_id="p1", experience="personal_use", attitude="positive",
                  themes=["accessibility"], coder="alice")
    del record["id"]
    coded = tmp_path / "coded.jsonl"
    coded.write_text(json.dumps(record) + "\n", encoding="utf-8")
    out = tmp_path / "matrix.csv"
    result = CliRunner().invoke(main, ["export", str(coded), "-o", str(out),
                                       "--id-field", "post_id"])
    assert result.exit_code == 0, result.output
    [row] = read_csv(out)
    assert (row["id"], row["experience"], row["attitude"], row["accessibility"]) == (
        "p1", "no_personal_use", "neutral", "0")


def test_matrix_from_sheet_derives_parents_and_skips_uncoded(tmp_path, mh):
    sheet = tmp_path / "sheet.jsonl"
    sheet.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "x", "text": "t", "experience": "personal_use", "attitude": "mixed",
         "themes": ["emotional_support"], "flags": ["risk.crisis"], "coder": "ann"},
        {"id": "y", "text": "t", "experience": None, "attitude": None, "themes": [],
         "flags": [], "coder": None},
    ]), encoding="utf-8")
    out = tmp_path / "m.csv"
    summary = export_matrix(sheet, mh, str(out))
    rows = read_csv(out)
    assert (summary.rows, summary.skipped) == (1, 1)
    assert rows[0]["benefit"] == "1" and rows[0]["emotional_support"] == "1"
    assert rows[0]["risk.crisis"] == "1" and rows[0]["attitude"] == "mixed"


def test_matrix_guards_ids_a_spreadsheet_would_run_as_formulas(tmp_path, mh):
    from themekit.io.records import unguard_formula

    coded = tmp_path / "c.jsonl"
    coded.write_text("".join(json.dumps(coded_record(i, "personal_use", "positive", [], []))
                             + "\n" for i in ["=1+2", "@SUM(A1)", "plain"]), encoding="utf-8")
    export_matrix(coded, mh, str(tmp_path / "m.csv"))
    ids = [row["id"] for row in read_csv(tmp_path / "m.csv")]
    assert ids == ["'=1+2", "'@SUM(A1)", "plain"]
    assert [unguard_formula(i) for i in ids] == ["=1+2", "@SUM(A1)", "plain"]


@pytest.mark.parametrize("ref", ["other@2", "llm-mental-health@0"])
def test_matrix_rejects_a_record_from_another_codebook(tmp_path, mh, ref):
    record = coded_record("a", "personal_use", "positive", [], [])
    record["themekit"]["codebook"] = ref
    coded = tmp_path / "coded.jsonl"
    coded.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"line 1, field 'themekit.codebook': coded with {ref}"):
        export_matrix(coded, mh, str(tmp_path / "m.csv"))


def test_qdc_is_valid_against_the_refi_schema(mh, schema):
    document = etree.fromstring(codebook_qdc(mh))
    assert schema.validate(document), schema.error_log
    # the schema really checks: a broken GUID or boolean is refused
    broken = etree.fromstring(codebook_qdc(mh))
    broken.find(".//q:Code", NS).set("guid", "not-a-guid")
    assert not schema.validate(broken)
    broken = etree.fromstring(codebook_qdc(mh))
    broken.find(".//q:Code", NS).set("isCodable", "yes")
    assert not schema.validate(broken)


def test_qdc_structure_tiers_parents_and_definitions(mh):
    root = etree.fromstring(codebook_qdc(mh))
    assert root.tag == f"{{{QDC_NAMESPACE}}}CodeBook"
    tiers = root.findall("q:Codes/q:Code", NS)
    assert [t.get("name") for t in tiers] == [t.label for t in mh.tiers]
    assert all(t.get("isCodable") == "false" for t in tiers)
    themes = tiers[2]
    parents = themes.findall("q:Code", NS)
    assert [p.get("name") for p in parents] == ["Benefits", "Concerns"]
    assert all(p.get("isCodable") == "false" for p in parents)
    children = parents[0].findall("q:Code", NS)
    assert [c.get("guid") for c in children] == [
        code_guid(mh, c) for c in ("accessibility", "emotional_support", "therapeutic_value")]
    assert all(c.get("isCodable") == "true" for c in children)
    description = children[0].find("q:Description", NS).text
    assert mh.codes["accessibility"].definition in description
    guids = [c.get("guid") for c in root.iter(f"{{{QDC_NAMESPACE}}}Code")]
    assert len(guids) == len(set(guids)) == len(mh.tiers) + len(mh.codes)


def test_qdc_is_the_same_in_every_process(mh):
    """GUIDs must not depend on the process (Python salts `hash()` per process), or a QDA
    project would see new codes at every export."""
    script = ("import sys; from themekit.codebook import load_codebook; "
              "from themekit.io.export import codebook_qdc; "
              "sys.stdout.buffer.write(codebook_qdc(load_codebook('llm-mental-health')))")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    assert other.stdout == codebook_qdc(mh)


def test_cli_codebook_export_and_export(tmp_path, mh, schema):
    qdc = tmp_path / "cb.qdc"
    result = CliRunner().invoke(main, ["codebook", "export", "llm-mental-health", "--format",
                                       "qdc", "-o", str(qdc)])
    assert result.exit_code == 0, result.output
    assert schema.validate(etree.parse(str(qdc)))

    coded = tmp_path / "coded.jsonl"
    coded.write_text(json.dumps(coded_record("a", "personal_use", "neutral", [], [])) + "\n",
                     encoding="utf-8")
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(main, ["export", str(coded), "--format", "csv-matrix",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 rows" in result.output
    assert read_csv(out)[0]["neutral"] == "1"


def test_training_export_is_accepted_by_the_trainer(tmp_path, mh):
    from themekit.model.finetune import read_training_file

    sheet = tmp_path / "sheet.jsonl"
    sheet.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "x", "text": "it listens at 3am", "experience": "personal_use",
         "attitude": "positive", "themes": ["accessibility", "emotional_support"],
         "flags": [], "coder": "ann", "coders": {"a": {}}},
        {"id": "y", "text": "t", "experience": None, "attitude": None, "themes": [],
         "flags": [], "coder": None},
    ]), encoding="utf-8")
    out = tmp_path / "train.jsonl"
    result = CliRunner().invoke(main, ["export", str(sheet), "--format", "training",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 rows" in result.output and "1 uncoded" in result.output
    row = json.loads(out.read_text())
    assert row == {"id": "x", "text": "it listens at 3am", "experience": "personal_use",
                   "attitude": "positive", "themes": ["accessibility", "emotional_support"],
                   "flags": [], "meta": {"coder": "ann"}}
    read_training_file(out, mh)  # raises on any field the trainer does not take


def test_training_export_needs_text(tmp_path, mh):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "x", "experience": "personal_use", "attitude": "neutral",
                                "themes": [], "flags": []}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["export", str(gold), "--format", "training",
                                       "-o", str(tmp_path / "t.jsonl")])
    assert result.exit_code == 1 and "line 1, field 'text': missing" in result.output
