"""`themekit annotate`: every input line is accounted for, output is atomic, input is hostile."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy
from click.testing import CliRunner

from themekit.annotate import annotate_file
from themekit.cli import main
from themekit.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def run(*args, input=None, model=False):
    """`themekit annotate`; rules only unless `model` (these tests are about records and
    files, which the model does not change, and rules only skips loading the encoder)."""
    rules_only = [] if model else ["--rules-only"]
    return CliRunner().invoke(main, ["annotate", *map(str, args), *rules_only], input=input)


def interrupt_at(n):
    """An `on_record` callback that presses Ctrl-C at the n-th record."""
    seen = 0

    def count():
        nonlocal seen
        seen += 1
        if seen == n:
            raise KeyboardInterrupt

    return count


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_shipped_example_is_coded_completely(tmp_path):
    out = tmp_path / "coded.jsonl"
    result = run(REPO / "examples" / "comments.jsonl", "-o", out, model=True)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    n_input = len((REPO / "examples" / "comments.jsonl").read_text().splitlines())
    assert len(records) == n_input
    assert f"read {n_input} · written {n_input} · rejected 0" in result.output
    first = records[0]["themekit"]
    assert set(first) >= {"codes", "flags", "scores", "evidence", "review", "codebook",
                          "provenance", "risks", "model"}
    assert first["codebook"] == "llm-mental-health@1"
    assert {r["themekit"]["model"]["name"] for r in records} == {"llm-mental-health-heads"}
    assert not (tmp_path / "coded.errors.jsonl").exists()


def test_bad_records_go_to_the_errors_file_with_line_and_reason(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "I vent to it every night"}\n'
        b'{"id": "b", "text": \n'
        b'{"id": "c", "body": "wrong field"}\n'
        b'{"id": "d", "text": 42}\n'
        b'["not", "an", "object"]\n'
        b'{"id": "e", "text": "caf\xe9 latin-1"}\n'
        b'\n'
        b'{"id": "f", "text": ""}\n'
    )
    out = tmp_path / "out.jsonl"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(out)] == ["a", "f"]
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [(e["line"], e["field"]) for e in errors] == [
        (2, None), (3, "text"), (4, "text"), (5, None), (6, None), (7, None)]
    reasons = [e["reason"] for e in errors]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1].startswith("missing text field")
    assert reasons[2] == "text must be a string, got int"
    assert reasons[3] == "expected a JSON object, got list"
    assert reasons[4].startswith("not valid UTF-8")
    assert reasons[5] == "blank line"
    assert [e["id"] for e in errors[:3]] == [None, "c", "d"]
    assert all(e["file"] == str(src) for e in errors)
    assert "read 8 · written 2 · rejected 6" in result.output
    assert f"{src}, line 4, field 'text': text must be a string" in result.output


def test_a_model_option_that_is_no_themekit_model_is_a_clear_error(tmp_path):
    empty, plain, broken = tmp_path / "empty", tmp_path / "plain", tmp_path / "broken"
    empty.mkdir()
    spacy.blank("en").to_disk(plain)
    rules = spacy.blank("en")
    rules.add_pipe("themekit", config={"codebook": "llm-mental-health"})
    rules.to_disk(broken)
    (broken / "meta.json").unlink()
    for folder, said in [(empty, "not a model directory (no config.cfg)"),
                         (plain, "a spaCy pipeline without the themekit component"),
                         (broken, "cannot load this model, is it a complete `themekit train` "
                                  "output? ([E053] Could not read meta.json")]:
        result = run(REPO / "examples" / "comments.jsonl", "-o", tmp_path / "out.jsonl",
                     "--model", folder, model=True)
        assert result.exit_code == 1
        assert f"error: {folder}: {said}" in " ".join(result.output.split())
        assert not (tmp_path / "out.jsonl").exists()


def test_a_clean_rerun_removes_the_errors_file_of_the_run_before(tmp_path):
    src, out, errors = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "out.errors.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2}\n')
    assert run(src, "-o", out).exit_code == 0
    assert len(read_jsonl(errors)) == 1
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": "fixed"}\n')
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    assert not errors.exists()
    assert "removed" in result.output and "an earlier run's errors" in result.output


def test_a_line_cut_short_is_named_where_it_ends(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "cut mid-str\n{"id": 2, "text": "ok"}\n{"id": 3,\r\n'
                   '{"id": 4, "text": "tab\tinside"}\n')
    assert run(src, "-o", tmp_path / "out.jsonl").exit_code == 0
    reasons = [e["reason"] for e in read_jsonl(tmp_path / "out.errors.jsonl")]
    assert reasons == ["invalid JSON: Unterminated string starting at column 19",
                       "invalid JSON: Expecting property name enclosed in double quotes at "
                       "column 10",
                       "invalid JSON: Invalid control character at column 23"]


def test_records_python_cannot_parse_are_bad_records_not_a_crash(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "first"}\n'
                   '{"text": "big", "n": ' + "9" * 5000 + '}\n'
                   + "[" * 100_000 + "]" * 100_000 + "\n"
                   + '{"text": "nan", "score": NaN}\n'
                   + '{"text": "huge", "score": -1e400}\n'
                   + '{"text": "last"}\n')
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["first", "last"]
    reasons = [e["reason"] for e in read_jsonl(tmp_path / "out.errors.jsonl")]
    assert reasons[0].startswith("invalid JSON: Exceeds the limit")
    assert reasons[1] == "invalid JSON: nested too deeply"
    assert reasons[2] == "invalid JSON: NaN is not JSON (write null or a number)"
    # Python would read it as -Infinity, and the output would not be JSON
    assert reasons[3] == "invalid JSON: -1e400 is too large for a floating-point number"


def test_a_text_over_the_pipelines_limit_is_rejected_and_the_run_goes_on(tmp_path, nlp):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                           for i, t in enumerate(["short", "x" * (nlp.max_length + 1), "too"])))
    summary = annotate_file(nlp, str(src), str(tmp_path / "out.jsonl"))
    assert (summary.read, summary.written, summary.rejected) == (3, 2, 1)
    error = read_jsonl(tmp_path / "out.errors.jsonl")[0]
    assert (error["line"], error["id"], error["field"]) == (2, 1, "text")
    assert "over the pipeline's limit" in error["reason"]


def test_a_csv_cell_longer_than_pythons_default_limit_is_coded(tmp_path):
    src = tmp_path / "in.csv"
    long_text = "I vent to it every night. " * 8000  # 208,000 characters
    src.write_text(f"id,text\nlong,{long_text}\nshort,hi\n")
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    coded = read_jsonl(tmp_path / "out.jsonl")
    assert [(r["id"], len(r["text"])) for r in coded] == [("long", len(long_text)), ("short", 2)]


def test_files_with_a_byte_order_mark_are_read(tmp_path):
    jsonl, csv_file = tmp_path / "bom.jsonl", tmp_path / "bom.csv"
    jsonl.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "I vent to it"}\n')
    csv_file.write_bytes(b"\xef\xbb\xbftext,id\r\nI vent to it,a\r\n")
    for src in (jsonl, csv_file):
        out = tmp_path / f"{src.suffix[1:]}-out.jsonl"
        assert run(src, "-o", out).exit_code == 0
        assert [r["id"] for r in read_jsonl(out)] == ["a"]


def test_a_csv_row_that_is_not_utf8_is_rejected_and_the_rest_is_read(tmp_path):
    src = tmp_path / "in.csv"
    rows = [f"row {i},{i}".encode() for i in range(3000)]
    rows[1500] = "caf\u00e9 latin-1,1500".encode("latin-1")
    src.write_bytes(b"text,id\n" + b"\n".join(rows) + b"\n")
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert "read 3000 · written 2999 · rejected 1" in result.output
    error = read_jsonl(tmp_path / "out.errors.jsonl")[0]
    assert error["line"] == 1502 and error["reason"].startswith("not valid UTF-8")
    assert error["raw"] == "caf\ufffd latin-1,1500"  # the row as it came, bad bytes as U+FFFD


def test_a_malformed_csv_row_is_kept_whole_in_the_errors_file(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\na,"hello" world\nb,fine\nc,one,two\nd,"never closed\ne,lost\n')
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [(e["line"], e["raw"]) for e in errors] == [
        (2, 'a,"hello" world'), (4, "c,one,two"), (5, 'd,"never closed')]
    assert "is never closed" in errors[2]["reason"]
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["b"]


def test_a_stray_or_unclosed_quote_in_a_csv_is_named_not_merged(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('text,id\nfine one,1\n"a"b,2\nthird,3\n"unterminated,4\nfive,5\n')
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["1", "3"]
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [e["line"] for e in errors] == [3, 5]
    assert "quote opened on line 5 is never closed" in errors[1]["reason"]


def test_output_errors_and_input_must_be_different_files(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n')
    out = tmp_path / "out.jsonl"
    for args, said in [(["-o", out, "--errors", out], "the errors file would replace the output"),
                       (["-o", src], "the output would replace the input"),
                       (["-o", out, "--errors", src], "the errors file would replace the input")]:
        result = run(src, *args)
        assert result.exit_code == 1 and said in result.output
    assert src.read_text() == '{"text": "fine"}\n' and not out.exists()


def test_an_output_that_cannot_be_written_is_a_one_line_error(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n')
    result = run(src, "-o", src / "out.jsonl")  # a file where a folder should be
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "cannot write here" in result.output


def test_a_run_that_codes_nothing_fails_and_says_why(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"body": "I vent to it"}\n{"body": "me too"}\n')
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert "read 2 · written 0 · rejected 2" in result.output
    assert "every record was rejected" in result.output and "'text'" in result.output
    assert run(src, "-o", tmp_path / "out.jsonl", "--text-field", "body").exit_code == 0
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert run(empty, "-o", tmp_path / "none.jsonl").exit_code == 0  # nothing to code is fine


def test_batch_size_must_be_positive(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n')
    result = run(src, "-o", tmp_path / "out.jsonl", "--batch-size", "0")
    assert result.exit_code == 2 and "--batch-size" in result.output


def test_cut_emoji_surrogate_is_coded_and_kept_as_it_came(tmp_path):
    """Scraped text often ends in half an emoji: a lone surrogate escape, valid JSON that
    is not valid UTF-8. It must not stop the run or lose the record."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "I vent to it every night \\ud83d"}\n'
                   '{"id": "b", "text": "my replika listens 😂"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    assert "read 2 · written 2 · rejected 0" in result.output
    first, second = read_jsonl(out)
    assert first["text"] == "I vent to it every night \ud83d"  # written back as it came
    assert first["themekit"]["codes"]["experience"] == "personal_use"
    assert first["themekit"]["evidence"][0]["text"] == "I vent to it"
    assert "😂" in out.read_text(encoding="utf-8")  # other records stay plain UTF-8
    assert second["text"] == "my replika listens 😂"


def test_strict_stops_at_first_bad_record_and_leaves_no_output(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n{oops\n{"text": "never reached"}\n')
    out = tmp_path / "out.jsonl"
    result = run(src, "-o", out, "--strict")
    assert result.exit_code == 1
    assert "line 2" in result.output
    assert not out.exists()
    assert not (tmp_path / "out.errors.jsonl").exists()  # it would describe no output
    assert not list(tmp_path.glob(".out.*"))


def test_a_failed_run_leaves_the_earlier_output_and_its_errors_as_a_pair(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"text": "fine"}\n{oops\n')
    assert run(src, "-o", out).exit_code == 0
    earlier = out.read_bytes(), (tmp_path / "out.errors.jsonl").read_bytes()
    src.write_text('{"text": "fine"}\n{"text": "ok"}\n{"id": 3}\n')
    assert run(src, "-o", out, "--strict").exit_code == 1
    assert (out.read_bytes(), (tmp_path / "out.errors.jsonl").read_bytes()) == earlier


def test_a_named_pipe_or_device_as_output_is_written_into_not_replaced(tmp_path):
    """`-o /dev/null` (as root) must not rename a file over the device; a pipe stands in."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = run(REPO / "examples" / "comments.jsonl", "-o", fifo, "--errors", os.devnull)
    assert result.exit_code == 0, result.output
    assert len(reader.communicate(timeout=60)[0].splitlines()) == 40
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # the clean run removed no errors file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_an_output_that_is_a_symlink_is_written_through(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "coded.jsonl").write_text("earlier\n")
    link = tmp_path / "coded.jsonl"
    link.symlink_to(shared / "coded.jsonl")
    assert run(REPO / "examples" / "comments.jsonl", "-o", link).exit_code == 0
    assert link.is_symlink()
    assert len(read_jsonl(shared / "coded.jsonl")) == 40
    assert sorted(p.name for p in shared.iterdir()) == ["coded.jsonl"]


def test_interrupted_run_keeps_the_previous_output(tmp_path, nlp):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": f"comment {i}"}) + "\n" for i in range(50)))
    out = tmp_path / "out.jsonl"
    out.write_text("previous complete run\n")
    with pytest.raises(KeyboardInterrupt):
        annotate_file(nlp, str(src), str(out), on_record=interrupt_at(10), batch_size=4)
    assert out.read_text() == "previous complete run\n"
    assert not list(tmp_path.glob(".out.jsonl.*"))


def test_outputs_get_the_mode_of_any_new_file(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n[1]\n')
    old = os.umask(0o027)
    try:
        assert run(src, "-o", tmp_path / "out.jsonl").exit_code == 0
    finally:
        os.umask(old)
    for name in ("out.jsonl", "out.errors.jsonl"):  # not mkstemp's private 0600
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640


@pytest.mark.parametrize("stop, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                        (signal.SIGINT, 130)])
def test_a_stopped_run_leaves_no_partial_files(tmp_path, stop, code):
    """A scheduler's `kill`, a closed terminal (SIGHUP) and Ctrl-C (SIGINT, exit 130 as shells
    expect) all clean up: no hidden .partial file is left behind."""
    themekit = Path(sys.executable).parent / "themekit"
    proc = subprocess.Popen([str(themekit), "annotate", "-", "-o", str(tmp_path / "out.jsonl"),
                             "--rules-only"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdin.write(b'{"text": "I vent to it"}\n')
    proc.stdin.flush()  # stdin stays open: annotate waits for more
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.jsonl.*.partial")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".out.jsonl.*.partial")), "annotate never started writing"
    proc.send_signal(stop)
    assert proc.wait(timeout=60) == code
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_output_named_like_a_spreadsheet_is_refused(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n')
    for name in ("out.csv", "OUT.TSV", "out.xlsx"):
        result = run(src, "-o", tmp_path / name)
        assert result.exit_code == 2
        assert "annotate writes JSONL" in result.output and "csv-matrix" in result.output
        assert not (tmp_path / name).exists()


def test_ctrl_c_exits_130_and_says_so(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("themekit.annotate.annotate_file", interrupted)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n')
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 130 and "interrupted" in result.output
    assert "Aborted" not in result.output


def test_csv_input_with_custom_fields(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('post_id,body\n1,"I talk to ChatGPT when I\'m anxious, it listens"\n2,"lol, ok"\n'
                   '3,"too","many","cells"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(src, "-o", out, "--text-field", "body", "--id-field", "post_id")
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["post_id"] for r in records] == ["1", "2"]
    assert records[0]["themekit"]["codes"]["experience"] == "personal_use"
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert errors[0]["line"] == 4 and errors[0]["reason"] == "more cells than header columns"


def test_stdin_to_stdout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = '{"id": 1, "text": "my replika gets me"}\n{"id": 2, "text": "who cares"}\n'
    result = CliRunner().invoke(main, ["annotate", "-", "-o", "-"], input=lines)
    assert result.exit_code == 0, result.output
    # stdout holds the coded records and nothing else: the summary goes to stderr
    coded = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in coded] == [1, 2]
    assert "read 2 · written 2 · rejected 0" in result.stderr
    assert not (tmp_path / "themekit-errors.jsonl").exists()


def test_errors_option_sets_where_bad_records_go(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "fine"}\n[1, 2]\n')
    result = run(src, "-o", tmp_path / "out.jsonl", "--errors", tmp_path / "bad" / "x.jsonl")
    assert result.exit_code == 0, result.output
    assert [e["line"] for e in read_jsonl(tmp_path / "bad" / "x.jsonl")] == [2]
    assert not (tmp_path / "out.errors.jsonl").exists()


def test_redact_replaces_personal_data_and_keeps_everything_else(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "r", "text": "dm @sam_k or mail sam@example.com, it helped me",
                               "source": "tiktok"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert run(src, "-o", out, "--redact").exit_code == 0
    record = read_jsonl(out)[0]
    assert record["text"] == "dm [@USER] or mail [EMAIL], it helped me"
    assert record["source"] == "tiktok"
    assert "sam@example.com" not in json.dumps(record)
    assert record["themekit"]["flags"] == ["pii.email", "pii.handle"]
    for span in record["themekit"]["risks"] + record["themekit"]["evidence"]:
        assert record["text"][span["start"]:span["end"]] == span["text"]


def test_missing_input_and_unknown_codebook_are_clear_errors(tmp_path):
    result = run(tmp_path / "nope.jsonl", "-o", tmp_path / "o.jsonl")
    assert result.exit_code == 2 and "does not exist" in result.output
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n')
    result = run(src, "-o", tmp_path / "o.jsonl", "--codebook", "ghost")
    assert result.exit_code == 1 and "ghost" in result.output and "registered" in result.output


def test_help_has_examples():
    result = CliRunner().invoke(main, ["annotate", "--help"])
    assert "Examples:" in result.output and "--redact" in result.output


def test_help_does_not_import_spacy():
    """`--help` answers at once: spaCy (and the torch that its registered factories pull in)
    loads only for commands that build a pipeline."""
    script = ("import sys; from click.testing import CliRunner; from themekit.cli import main; "
              "result = CliRunner().invoke(main, ['annotate', '--help']); "
              "print(result.exit_code, 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "False"]


def test_real_corpus_every_line_accounted_for(shared_data, tmp_path):
    src = shared_data / "comments-10k.jsonl"
    n_lines = sum(1 for _ in src.open("rb"))
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"rules_only": True})  # the records matter, not the codes
    out = tmp_path / "coded.jsonl"
    summary = annotate_file(nlp, str(src), str(out))
    assert summary.read == n_lines
    assert summary.written + summary.rejected == n_lines
    assert sum(1 for _ in out.open()) == summary.written
    personal = sum(r["themekit"]["codes"]["experience"] == "personal_use" for r in read_jsonl(out))
    assert 0 < personal < summary.written


def test_compressed_input_is_read_by_its_magic_bytes(tmp_path):
    import gzip

    import zstandard

    lines = b'{"id": "1", "text": "I vent to it every night"}\n{"id": "2", "text": "lol"}\n'
    csv_text = b'id,text\n1,I vent to it every night\n2,lol\n'
    inputs = {"c.jsonl.gz": gzip.compress(lines), "c.csv.gz": gzip.compress(csv_text),
              "c.jsonl.zst": zstandard.ZstdCompressor().compress(lines),
              "no-suffix": gzip.compress(lines)}  # known by its first bytes, not its name
    for name, data in inputs.items():
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"{name}.out.jsonl"
        result = run(tmp_path / name, "-o", out)
        assert result.exit_code == 0, (name, result.output)
        assert "read 2 · written 2 · rejected 0" in result.output, name
        assert [r["id"] for r in read_jsonl(out)] == ["1", "2"]
        assert read_jsonl(out)[0]["themekit"]["codes"]["experience"] == "personal_use"


def test_other_binary_input_is_refused_in_one_line(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "comments.xlsx", "w") as archive:
        archive.writestr("x.xml", "<x/>")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"\0" * 20)
    for name, said in (("comments.xlsx", "a zip archive (or an .xlsx workbook), not JSONL or CSV"),
                       ("broken.parquet", "not a readable Parquet file")):
        result = run(tmp_path / name, "-o", tmp_path / "out.jsonl")
        assert result.exit_code == 1
        assert f"{name}: {said}" in result.output
        assert not (tmp_path / "out.errors.jsonl").exists()


def test_the_summary_warns_of_missing_and_repeated_ids(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "text": "one"}, {"id": "a", "text": "two"}, {"text": "three"},
        {"id": 7, "text": "four"}, {"id": "7", "text": "five: a string, another id"},
        {"id": "a", "text": "six"}]), encoding="utf-8")
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert "read 6 · written 6 · rejected 0" in result.output  # nothing is dropped
    assert "1 record(s) without 'id'" in result.output
    assert "2 record(s) repeat an earlier record's id (first: 'a', 'a')" in result.output
    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"id": "a", "text": "one"}\n{"id": "b", "text": "two"}\n')
    assert "warning" not in run(clean, "-o", tmp_path / "c.jsonl").output


def test_a_killed_runs_partial_file_is_removed_by_the_next_run(tmp_path):
    """SIGKILL or a power cut leaves a hidden partial file: the next run writing the same
    output removes it, but never the file of a run still writing."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid now free
    killed = tmp_path / f".out.jsonl.{dead}.k3x9.partial"
    running = tmp_path / f".out.jsonl.{os.getpid()}.r7q2.partial"  # this process: alive
    old_style = tmp_path / ".out.jsonl.abc123.partial"  # no pid, untouched for two days
    fresh_old_style = tmp_path / ".out.jsonl.def456.partial"
    for path in (killed, running, old_style, fresh_old_style):
        path.write_text("half a record")
    os.utime(old_style, (time.time() - 2 * 86400,) * 2)
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n')
    assert run(src, "-o", tmp_path / "out.jsonl").exit_code == 0
    assert not killed.exists() and not old_style.exists()
    assert running.exists() and fresh_old_style.exists()
    assert read_jsonl(tmp_path / "out.jsonl")[0]["id"] == 1


def mixed_input(path, n=300):
    """Good records with bad lines among them, as a corpus has."""
    lines = []
    for i in range(n):
        lines.append(json.dumps({"id": f"r{i}", "text": f"I vent to it, night {i}"}) if i % 7
                     else '{"id": "broken", "text": ')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_resume_continues_an_interrupted_run_to_the_same_output(tmp_path, nlp):
    src = mixed_input(tmp_path / "in.jsonl")
    whole = tmp_path / "whole.jsonl"
    annotate_file(nlp, str(src), str(whole), batch_size=16)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        annotate_file(nlp, str(src), str(out), batch_size=16, on_record=interrupt_at(137),
                      resume=True)
    assert not out.exists()
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    assert 0 < len(checkpoint.read_text().splitlines()) < 137
    with open(checkpoint, "a", encoding="utf-8") as handle:
        handle.write('{"id": "r999", "text": "torn by a ki')  # a kill mid-line
    summary = annotate_file(nlp, str(src), str(out), batch_size=16, resume=True)
    assert summary.resumed > 0 and summary.balanced
    assert (summary.read, summary.rejected) == (300, 43)
    assert out.read_text() == whole.read_text()  # the same records, in the same order
    assert (tmp_path / "out.errors.jsonl").read_text() == \
        (tmp_path / "whole.errors.jsonl").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl", "out.errors.jsonl", "out.jsonl", "whole.errors.jsonl", "whole.jsonl"]


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, nlp):
    src = mixed_input(tmp_path / "in.jsonl", n=40)

    def stop():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        annotate_file(nlp, str(src), str(tmp_path / "out.jsonl"), on_record=stop, resume=True)
    with pytest.raises(InputError, match="made by a run with another redact"):
        annotate_file(nlp, str(src), str(tmp_path / "out.jsonl"), redact=True, resume=True)
    src.write_text(src.read_text() + '{"id": "new", "text": "added later"}\n')
    with pytest.raises(InputError, match="another bytes, mtime_ns"):
        annotate_file(nlp, str(src), str(tmp_path / "out.jsonl"), resume=True)


def test_resume_from_the_command_line_after_a_kill(tmp_path):
    """The CLI end to end: a run killed outright (SIGKILL) is continued by the same command."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": f"I vent to it {i} " * 20}) + "\n"
                           for i in range(20000)), encoding="utf-8")
    themekit = Path(sys.executable).parent / "themekit"
    command = [str(themekit), "annotate", str(src), "-o", str(tmp_path / "out.jsonl"),
               "--rules-only", "--resume", "--batch-size", "32"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, cwd=tmp_path)
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    deadline = time.monotonic() + 120
    while (not checkpoint.exists() or checkpoint.stat().st_size < 100_000) \
            and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=60)
    if not checkpoint.exists():
        pytest.skip("the run finished before it could be killed")
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resumed:" in done.stderr and "read 20000 · written 20000" in done.stderr
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").open()]
    assert ids == list(range(20000))
    assert not checkpoint.exists()
