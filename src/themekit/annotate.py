"""The annotate job: stream records through the pipeline, write coded records and errors.

Memory stays flat: records are read lazily, coded with `nlp.pipe` in batches and written
as they come out. Every input line ends up in the output or in the errors file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language

from themekit.errors import InputError, SettingError, StrictModeError
from themekit.io.coded import CODED_KEY
from themekit.io.records import (STDIO, AtomicWriter, BadRecord, CheckpointWriter, Record,
                                 json_line, output_encoding, read_records, refuse_overwriting,
                                 require_output_support)
from themekit.nlp.redaction import redact_coding, redact_text


@dataclass
class AnnotateSummary:
    read: int = 0
    written: int = 0
    rejected: int = 0
    output: str = ""
    errors_file: str = ""
    first_errors: list[str] = field(default_factory=list)
    removed_stale_errors: bool = False
    without_id: int = 0
    repeated_ids: int = 0
    """Records whose id an earlier record already had: a report counting each as its own
    comment would give intervals too narrow."""
    first_repeated: list[str] = field(default_factory=list)
    resumed: int = 0
    """Records an interrupted run had already written, continued from its checkpoints."""

    def id_warnings(self, id_field: str) -> list[str]:
        """What the summary says about ids that cannot tell the records apart."""
        out = []
        if self.without_id:
            out.append(f"{self.without_id} record(s) without '{id_field}': an evaluation or "
                       "a later join cannot find them (see --id-field)")
        if self.repeated_ids:
            out.append(f"{self.repeated_ids} record(s) repeat an earlier record's id (first: "
                       f"{', '.join(map(repr, self.first_repeated))}); a report would count "
                       "each copy as another comment")
        return out

    @property
    def balanced(self) -> bool:
        return self.read == self.written + self.rejected


def default_errors_path(output: str) -> str:
    """`coded.jsonl` (or `coded.jsonl.gz`, `coded.parquet`) -> `coded.errors.jsonl`; for
    stdout, `themekit-errors.jsonl` here.

    Written only when a record is rejected and the run completes; a clean run removes an
    earlier run's file, so the errors file beside an output always describes it."""
    if output == STDIO:
        return "themekit-errors.jsonl"
    path = Path(output)
    stem = path.stem
    if output_encoding(output) in ("gzip", "zstd"):  # coded.jsonl.gz -> coded
        stem = Path(stem).stem
    return str(path.with_name(f"{stem}.errors.jsonl"))


def annotate_file(
    nlp: Language,
    input_path: str,
    output_path: str,
    *,
    errors_path: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    fmt: str | None = None,
    strict: bool = False,
    redact: bool = False,
    batch_size: int = 256,
    on_record: Callable[[], None] | None = None,
    protected: Mapping[str, str] | None = None,
    resume: bool = False,
    coder: Callable[[Iterator[Record]], Iterator[str]] | None = None,
) -> AnnotateSummary:
    """Code every record of `input_path` and write coded JSONL to `output_path` (gzip,
    zstd or Parquet when its name ends in .gz, .zst or .parquet).
    `protected` names other files the outputs must not replace (role to path: the
    codebook files). With `resume`, both files are written through checkpoints beside
    them that an interruption keeps, and a later run with `resume` continues from them,
    giving the same output as one uninterrupted run. `coder` codes the good records, in
    order, into output lines (`json_line` of `code_records`' records); by default with `nlp`
    in this process (`themekit.distributed` passes one that codes them on a Dask cluster)."""
    summary = AnnotateSummary(output=output_path,
                              errors_file=errors_path or default_errors_path(output_path))
    refuse_overwriting({"output": output_path, "errors file": summary.errors_file},
                       {"input": input_path, **(protected or {})})
    for path in (output_path, summary.errors_file):
        require_output_support(path)
    if resume:
        run = _run_settings(nlp, input_path, text_field, id_field, fmt, redact)
        _check_checkpoint(output_path, run)
        bad_writer: AtomicWriter | CheckpointWriter = CheckpointWriter(summary.errors_file)
        writer: AtomicWriter | CheckpointWriter = CheckpointWriter(output_path)
        Path(f"{writer.checkpoint}.json").write_text(json.dumps(run) + "\n", encoding="utf-8")
        summary.resumed = len(writer.done) + len(bad_writer.done)
    else:
        bad_writer = AtomicWriter(summary.errors_file)
        writer = AtomicWriter(output_path)
    try:
        records = read_records(input_path, text_field, fmt, id_field, max_length=nlp.max_length)
        if resume:
            done_bad = {json.loads(line)["line"] for line in bad_writer.done}
            records = _skip_written_bad(records, done_bad, summary, on_record)
        good = _checked_ids(_good_records(records, summary, bad_writer, strict, on_record),
                            summary, id_field)
        if resume:
            good = _skip_written_good(good, len(writer.done), summary, on_record)
        lines = coder(good) if coder else map(json_line, code_records(
            nlp, good, text_field=text_field, redact=redact, batch_size=batch_size))
        for line in lines:
            writer.write_line(line)
            summary.written += 1
            if on_record:
                on_record()
    except BaseException:
        # neither file is replaced, so the errors file beside the output still describes it
        # (--strict names its bad record in the exception); --resume keeps its checkpoints
        for out in (writer, bad_writer):
            out.pause() if isinstance(out, CheckpointWriter) else out.discard()
        raise
    writer.commit()
    if resume:
        Path(f"{output_path}.checkpoint.json").unlink(missing_ok=True)
    if summary.rejected:
        bad_writer.commit()
    else:
        bad_writer.discard()
    if not summary.rejected and summary.errors_file != STDIO \
            and os.path.isfile(summary.errors_file):  # never /dev/null
        # an earlier run's errors file would seem to describe this run's output
        with contextlib.suppress(FileNotFoundError):
            os.unlink(summary.errors_file)
            summary.removed_stale_errors = True
    return summary


def code_records(nlp: Language, records: Iterable[Record], *, text_field: str = "text",
                 redact: bool = False, batch_size: int = 256) -> Iterator[dict[str, Any]]:
    """Each record as annotate writes it: its data with the `themekit` coding added, and
    with `redact` the text and the coding's offsets redacted. The one coding step of every
    annotate run, in one process or on a cluster's workers, so their outputs are the same."""
    for doc, record in nlp.pipe(((r.text, r) for r in records), as_tuples=True,
                                batch_size=batch_size):
        coding = doc._.themekit.to_json()
        data = dict(record.data)
        if redact:
            data[text_field] = redact_text(record.text, coding["risks"])
            coding = redact_coding(coding)  # offsets move to the redacted text
        data[CODED_KEY] = coding
        yield data


def _run_settings(nlp: Language, input_path: str, text_field: str, id_field: str,
                  fmt: str | None, redact: bool) -> dict[str, Any]:
    """What a checkpoint must have been made with to be continued: the same input file
    (path, size, modification time), fields, format, redaction and coding system."""
    from themekit.nlp.pipeline import describe_system

    if input_path == STDIO:
        raise SettingError("resume", "needs an input file: stdin cannot be read again")
    stat = os.stat(input_path)
    return {"input": os.path.realpath(input_path), "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "text_field": text_field, "id_field": id_field,
            "format": fmt, "redact": redact, "system": describe_system(nlp)}


def _check_checkpoint(output_path: str, run: dict[str, Any]) -> None:
    state = Path(f"{os.path.realpath(output_path)}.checkpoint.json")
    if not state.is_file():
        return
    saved = json.loads(state.read_text(encoding="utf-8"))
    changed = sorted(k for k in run if saved.get(k) != run[k])
    if changed:
        raise InputError(f"{output_path}.checkpoint: made by a run with another "
                         f"{', '.join(changed)}; continuing it would mix two runs' records. "
                         "Delete the .checkpoint files beside the output to start again")


def _skip_written_bad(records: Iterator[Record | BadRecord], done: set[int],
                      summary: AnnotateSummary,
                      on_record: Callable[[], None] | None) -> Iterator[Record | BadRecord]:
    """Bad records an interrupted run already wrote to the errors checkpoint, counted."""
    for record in records:
        if isinstance(record, BadRecord) and record.line in done:
            summary.read += 1
            summary.rejected += 1
            if on_record:
                on_record()
            continue
        yield record


def _skip_written_good(records: Iterator[Record], done: int, summary: AnnotateSummary,
                       on_record: Callable[[], None] | None) -> Iterator[Record]:
    """The first `done` good records, which the output checkpoint already holds coded (the
    output keeps the input's order), counted as written."""
    for record in records:
        if done:
            done -= 1
            summary.written += 1
            if on_record:
                on_record()
            continue
        yield record


def _checked_ids(records: Iterator[Record], summary: AnnotateSummary,
                 id_field: str) -> Iterator[Record]:
    """Counts records without an id and records that repeat one (the ids seen are kept, a
    few MB for a million records)."""
    seen: set[str] = set()
    for record in records:
        item_id = record.data.get(id_field)
        if item_id is None:
            summary.without_id += 1
        elif (key := json.dumps(item_id)) in seen:
            summary.repeated_ids += 1
            if len(summary.first_repeated) < 3:
                summary.first_repeated.append(str(item_id))
        else:
            seen.add(key)
        yield record


def _good_records(
    records: Iterator[Record | BadRecord],
    summary: AnnotateSummary,
    bad_writer: AtomicWriter,
    strict: bool,
    on_record: Callable[[], None] | None,
) -> Iterator[Record]:
    for record in records:
        summary.read += 1
        if isinstance(record, Record):
            yield record
            continue
        summary.rejected += 1
        if len(summary.first_errors) < 5:
            summary.first_errors.append(record.describe())
        bad_writer.write_json(record.to_json())
        if on_record:
            on_record()
        if strict:
            raise StrictModeError(f"stopped at the first bad record: {record.describe()}",
                                  setting="strict")
