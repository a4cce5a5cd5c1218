"""Compressed and Parquet files in and out: the same records and codes as plain JSONL, and
every record still accounted for."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from themekit.cli import main
from themekit.io.records import read_jsonl
from tests.test_annotate import interrupt_at

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

RECORDS = [
    {"id": "1", "text": "I vent to ChatGPT every night and it honestly helps", "rating": 5,
     "note": None},
    {"id": "2", "text": "lol who asked", "rating": "five stars", "note": None},
    {"id": "3", "text": None, "rating": 1, "note": None},  # bad: no text to code
    {"id": "4", "text": "it is free and there at 3am, my therapist is not", "rating": 4,
     "note": "written late"},
]


def annotate(*args: object):
    return CliRunner().invoke(main, ["annotate", *map(str, args), "--rules-only"])


def write_input(tmp_path: Path) -> Path:
    src = tmp_path / "comments.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return src


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("suffix,decompress", [
    (".jsonl.gz", gzip.decompress),
    (".jsonl.zst", lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data)),
])
def test_compressed_output_holds_exactly_the_plain_output(tmp_path, suffix, decompress):
    src = write_input(tmp_path)
    assert annotate(src, "-o", tmp_path / "plain.jsonl").exit_code == 0
    result = annotate(src, "-o", tmp_path / f"coded{suffix}")
    assert result.exit_code == 0, result.output
    assert "read 4 · written 3 · rejected 1" in result.output
    packed = (tmp_path / f"coded{suffix}").read_bytes()
    assert decompress(packed) == (tmp_path / "plain.jsonl").read_bytes()
    # the errors file is named for the coded file, not `coded.jsonl.errors.jsonl`
    assert [e["line"] for e in lines(tmp_path / "coded.errors.jsonl")] == [3]
    # and every reader of coded files reads it as it reads the plain file
    assert [r for _, r in read_jsonl(tmp_path / f"coded{suffix}")] == \
        lines(tmp_path / "plain.jsonl")


def test_gzip_output_is_the_same_bytes_on_every_run(tmp_path):
    src = write_input(tmp_path)
    for name in ("a.jsonl.gz", "b.jsonl.gz"):
        assert annotate(src, "-o", tmp_path / name).exit_code == 0
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


def test_resume_into_compressed_output_gives_the_uninterrupted_output(tmp_path):
    from themekit.annotate import annotate_file
    import spacy

    src = write_input(tmp_path)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"rules_only": True})
    whole = tmp_path / "whole.jsonl.gz"
    annotate_file(nlp, str(src), str(whole))
    out = tmp_path / "resumed.jsonl.gz"

    with pytest.raises(KeyboardInterrupt):
        annotate_file(nlp, str(src), str(out), resume=True, on_record=interrupt_at(2))
    assert not out.exists() and Path(f"{out}.checkpoint").exists()
    summary = annotate_file(nlp, str(src), str(out), resume=True)
    assert summary.resumed >= 1 and summary.balanced
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(whole.read_bytes())
    assert not Path(f"{out}.checkpoint").exists()


def test_parquet_in_and_out(tmp_path):
    src = write_input(tmp_path)
    # a Parquet input as a data frame would save it: typed columns, one row per comment
    table = pa.table({"id": ["1", "2", "3", "4"],
                      "text": [r["text"] for r in RECORDS],
                      "rating": [5, 5, 1, 4]})
    pq.write_table(table, tmp_path / "comments.parquet")
    assert annotate(src, "-o", tmp_path / "plain.jsonl").exit_code == 0
    result = annotate(tmp_path / "comments.parquet", "-o", tmp_path / "coded.parquet")
    assert result.exit_code == 0, result.output
    assert "read 4 · written 3 · rejected 1" in result.output
    errors = lines(tmp_path / "coded.errors.jsonl")
    assert [(e["line"], e["field"]) for e in errors] == [(3, "text")]  # its row number

    coded = pq.read_table(tmp_path / "coded.parquet")
    assert coded.column_names == ["id", "text", "rating", "themekit.experience",
                                  "themekit.attitude", "themekit.themes", "themekit"]
    assert coded.schema.field("rating").type == pa.int64()
    assert coded.schema.field("themekit.themes").type == pa.list_(pa.string())
    plain = {r["id"]: r["themekit"] for r in lines(tmp_path / "plain.jsonl")}
    rows = coded.to_pylist()
    assert [row["id"] for row in rows] == ["1", "2", "4"]
    for row in rows:  # the same codes as from the JSONL input, and the whole object kept
        assert json.loads(row["themekit"]) == plain[row["id"]]
        assert row["themekit.experience"] == plain[row["id"]]["codes"]["experience"]
        assert row["themekit.themes"] == plain[row["id"]]["codes"]["themes"]
    # report and evaluate read a coded Parquet file back as the JSONL records
    back = [record for _, record in read_jsonl(tmp_path / "coded.parquet")]
    assert [r["themekit"] for r in back] == [plain[i] for i in ("1", "2", "4")]
    report = CliRunner().invoke(main, ["report", str(tmp_path / "coded.parquet"),
                                       "--format", "json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["n"] == 3


def test_parquet_columns_take_one_type_over_all_records(tmp_path, monkeypatch):
    """A field null in the first rows and text later is a text column; a field holding
    numbers in some records and text in others keeps every value, as JSON text."""
    import themekit.io.parquet

    monkeypatch.setattr(themekit.io.parquet, "WRITE_CHUNK", 2)  # the types differ by chunk
    src = write_input(tmp_path)
    assert annotate(src, "-o", tmp_path / "coded.parquet").exit_code == 0
    coded = pq.read_table(tmp_path / "coded.parquet")
    assert coded.schema.field("note").type == pa.string()
    assert coded.column("note").to_pylist() == [None, None, "written late"]
    assert coded.schema.field("rating").type == pa.string()
    assert coded.column("rating").to_pylist() == ["5", '"five stars"', "4"]


def test_parquet_needs_its_extra_and_says_so_before_any_work(tmp_path, monkeypatch):
    src = write_input(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = annotate(src, "-o", tmp_path / "coded.parquet")
    assert result.exit_code == 1
    assert "coded.parquet: Parquet needs pyarrow; install the parquet extra" in result.output
    assert not list(tmp_path.glob("coded*"))


def test_parquet_is_known_by_its_first_bytes_and_refused_from_stdin(tmp_path):
    pq.write_table(pa.table({"id": ["1"], "text": ["I talk to it daily"]}),
                   tmp_path / "export.dat")
    result = annotate(tmp_path / "export.dat", "-o", tmp_path / "coded.jsonl")
    assert result.exit_code == 0, result.output
    assert lines(tmp_path / "coded.jsonl")[0]["id"] == "1"
    with open(tmp_path / "export.dat", "rb") as stdin:  # a real pipe, which can be peeked
        piped = subprocess.run([Path(sys.executable).parent / "themekit", "annotate", "-", "-o",
                                str(tmp_path / "x.jsonl"), "--rules-only"],
                               stdin=stdin, capture_output=True, text=True)
    assert piped.returncode == 1
    assert "<stdin>: Parquet, which cannot be read from a stream" in piped.stderr
    assert not (tmp_path / "x.jsonl").exists()
