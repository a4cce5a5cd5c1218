"""Readers and writers: JSONL/CSV/Parquet records with line numbers, error records, atomic
output.

Every input record comes out of `read_records` as either a `Record` or a `BadRecord`, so a
caller can account for each one. Writers write plain JSONL to a temporary file beside the
target and move it into place only when the run completes, compressed or converted as the
target's name asks (`.gz`, `.zst`, `.parquet`): an interrupted run never leaves a truncated
file that looks finished.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from themekit.errors import InputError, SettingError

Format = Literal["jsonl", "csv", "parquet"]
FORMATS = ("jsonl", "csv", "parquet")
CSV_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)
"""Python's csv module refuses cells over 131,072 characters by default; a comment's length
is the pipeline's business (nlp.max_length), so the limit is lifted to what C allows."""
SPREADSHEET_FORMULA = re.compile("'*[=+\\-@\t\r]")
"""A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, or a comment starting
`- it helps`, shown as #NAME? and saved back so)."""
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
STDIO = "-"


@dataclass(frozen=True)
class Record:
    line: int
    data: dict[str, Any]
    text: str


@dataclass(frozen=True)
class BadRecord:
    source: str
    line: int
    field: str | None
    reason: str
    raw: str
    record_id: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, "line": self.line, "id": self.record_id,
                "field": self.field, "reason": self.reason, "raw": self.raw}

    def describe(self) -> str:
        where = f"{self.source}, line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.reason}"


COMPRESSED = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
"""Magic bytes of the compressions read transparently: `comments.jsonl.gz`, `.csv.zst`."""
PARQUET_MAGIC = b"PAR1"
OTHER_BINARY = {b"PK\x03\x04": "a zip archive (or an .xlsx workbook)",
                b"BZh": "bzip2-compressed", b"\xfd7zXZ\x00": "xz-compressed",
                b"SQLite format 3": "an SQLite database", b"%PDF": "a PDF"}


def detect_format(path: str, given: str | None) -> Format:
    """The format given, else by the name (.csv, .parquet), else by the first bytes (a
    Parquet file by another name), else JSONL."""
    if given:
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r}; use {', '.join(FORMATS)}")
        return given  # type: ignore[return-value]
    name = re.sub(r"\.(gz|zst)$", "", str(path).lower())
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") or _starts_with(path, PARQUET_MAGIC):
        return "parquet"
    return "jsonl"


def _starts_with(path: str, magic: bytes) -> bool:
    if path == STDIO or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        return handle.read(len(magic)) == magic


def open_input(path: str) -> IO[bytes]:
    """The bytes of an input file (or stdin for "-"), decompressed when its first bytes say
    gzip or zstd, whatever its name; other binary formats are refused in one line instead of
    being read as thousands of bad records."""
    raw: IO[bytes] = sys.stdin.buffer if path == STDIO else open(path, "rb")
    head = raw.peek(16)[:16] if hasattr(raw, "peek") else b""
    name = "<stdin>" if path == STDIO else path
    try:
        kind = next((k for magic, k in COMPRESSED.items() if head.startswith(magic)), None)
        if kind == "gzip":
            import gzip

            if path == STDIO:
                return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
            raw.close()
            return gzip.open(path, "rb")  # type: ignore[return-value]
        if kind == "zstd":
            zstandard = _zstandard(f"{name}: zstd-compressed, which", "; or decompress it")
            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))
        other = next((k for magic, k in OTHER_BINARY.items() if head.startswith(magic)), None)
        if head.startswith(PARQUET_MAGIC):
            other = "Parquet" + (", which cannot be read from a stream" if path == STDIO
                                 else " (read as Parquet only when named .parquet or not "
                                      "given another format)")
        if other:
            raise InputError(f"{name}: {other}, not JSONL or CSV (optionally .gz or .zst)")
    except BaseException:
        if path != STDIO:
            raw.close()
        raise
    return raw


def read_records(
    path: str, text_field: str = "text", fmt: str | None = None, id_field: str = "id",
    max_length: int | None = None,
) -> Iterator[Record | BadRecord]:
    """Yield every record of a JSONL, CSV or Parquet file (or stdin for "-"), good or bad,
    in order; a Parquet row's "line" is its row number. A text longer than `max_length` (a
    pipeline's `nlp.max_length`) is a bad record."""
    source = "<stdin>" if path == STDIO else path
    if path != STDIO and not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    fmt_ = detect_format(path, fmt)
    if fmt_ == "parquet":
        if path == STDIO:
            raise InputError("<stdin>: Parquet cannot be read from a stream (give the file's "
                             "path)")
        from themekit.io.parquet import require_pyarrow

        require_pyarrow(path)
    stream = open_input(path) if fmt_ != "parquet" else None
    read = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt_]
    try:
        for record in read(stream or path, source, text_field, id_field):
            if max_length is not None and isinstance(record, Record) \
                    and len(record.text) > max_length:
                record = BadRecord(source, record.line, text_field,
                                   f"text of {len(record.text):,} characters is over the "
                                   f"pipeline's limit of {max_length:,} (nlp.max_length)",
                                   json.dumps(record.data, ensure_ascii=False),
                                   record.data.get(id_field))
            yield record
    finally:
        if stream is not None and path != STDIO:
            stream.close()


def guard_formula(cell: str) -> str:
    """A CSV cell as themekit writes it for spreadsheets: one that would run as a formula gets
    a leading apostrophe. One already starting with apostrophes before such a character gets
    one more, so that `unguard_formula` gives every text back exactly."""
    return "'" + cell if SPREADSHEET_FORMULA.match(cell) else cell


def unguard_formula(cell: Any) -> Any:
    """A CSV cell as it was before `guard_formula`; every CSV reader applies it."""
    if isinstance(cell, str) and cell.startswith("'") and SPREADSHEET_FORMULA.match(cell):
        return cell[1:]
    return cell


def _decode_line(raw_bytes: bytes, line_no: int) -> str:
    """One line as text; a UTF-8 byte-order mark (as Excel and Notepad write) is dropped."""
    raw = raw_bytes.decode("utf-8")
    return raw.removeprefix("\ufeff") if line_no == 1 else raw


def _invalid_utf8(exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 ({exc.reason} at byte {exc.start})"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (write null or a number)")


def _finite_float(literal: str) -> float:
    """A number too large for a float (1e400) would become Infinity, which is not JSON."""
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"{literal} is too large for a floating-point number")
    return value


def _parse_json(raw: str) -> tuple[Any, str | None]:
    """The parsed line, or None and why not. Besides syntax errors, Python's parser refuses
    integers of over 4,300 digits and nesting deeper than its recursion limit; NaN, Infinity
    and numbers beyond a float's range, which it would accept, are refused, or the output
    would not be JSON either."""
    try:
        # without its line end, a line cut short is "unterminated" where it ends, not at
        # column 1 of a next line that does not exist
        return json.loads(raw.rstrip("\r\n"), parse_constant=_refuse_constant,
                          parse_float=_finite_float), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"


def _read_jsonl(
    stream: IO[bytes], source: str, text_field: str, id_field: str
) -> Iterator[Record | BadRecord]:
    for line_no, raw_bytes in enumerate(stream, start=1):
        try:
            raw = _decode_line(raw_bytes, line_no)
        except UnicodeDecodeError as exc:
            yield BadRecord(source, line_no, None, _invalid_utf8(exc),
                            raw_bytes.decode("utf-8", "replace").rstrip("\n"))
            continue
        if not raw.strip():
            yield BadRecord(source, line_no, None, "blank line", raw.rstrip("\n"))
            continue
        data, problem = _parse_json(raw)
        if problem:
            yield BadRecord(source, line_no, None, problem, raw.rstrip("\n"))
            continue
        yield _check_record(data, source, line_no, text_field, id_field, raw)


class _LinesTaken:
    """The lines of a text stream, remembering those the csv reader took for its last row:
    the raw text of a bad row, for the errors file."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.taken: list[str] = []

    def __iter__(self) -> _LinesTaken:
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        self.taken.append(line)
        return line

    def raw(self) -> str:
        """What was taken, the line end dropped and undecodable bytes shown as U+FFFD."""
        text = "".join(self.taken).removesuffix("\n").removesuffix("\r")
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read_csv(
    stream: IO[bytes], source: str, text_field: str, id_field: str
) -> Iterator[Record | BadRecord]:
    # undecodable bytes become lone surrogates (U+DC80-U+DCFF), so one bad row is rejected
    # and reading goes on; CSV has no escapes, so no other surrogate can occur
    lines = _LinesTaken(io.TextIOWrapper(stream, encoding="utf-8-sig",
                                         errors="surrogateescape", newline=""))
    csv.field_size_limit(CSV_FIELD_LIMIT)
    # strict: a stray quote is a bad row, not a cell silently merged with its neighbours
    reader = csv.DictReader(lines, strict=True)
    try:
        reader.fieldnames  # the header, read now so that line numbers count from it
    except csv.Error as exc:
        yield BadRecord(source, 1, None, f"malformed CSV header: {exc}", lines.raw())
        return
    while True:
        last_line = reader.line_num
        lines.taken.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason, raw = f"malformed CSV: {exc}", lines.raw()
            if "unexpected end of data" in str(exc):
                reason += (f" (a quote opened on line {last_line + 1} is never closed: the "
                           "rest of the file is one cell)")
                raw = raw.split("\n", 1)[0]  # the line where it opened, not the whole rest
            yield BadRecord(source, last_line + 1, None, reason, raw)
            continue
        line_no = reader.line_num
        if None in row:
            yield BadRecord(source, line_no, None, "more cells than header columns",
                            lines.raw())
            continue
        cells = [value for value in row.values() if isinstance(value, str)]
        if any(LONE_SURROGATE.search(value) for value in cells):
            yield BadRecord(source, line_no, None, "not valid UTF-8 (save the file as UTF-8)",
                            lines.raw())
            continue
        row = {key: unguard_formula(value) for key, value in row.items()}
        yield _check_record(row, source, line_no, text_field, id_field, lines.raw())


def _read_parquet(
    path: str, source: str, text_field: str, id_field: str
) -> Iterator[Record | BadRecord]:
    from themekit.io.parquet import parquet_rows

    for row_no, row in enumerate(parquet_rows(path), start=1):
        yield _check_record(row, source, row_no, text_field, id_field,
                            json.dumps(row, ensure_ascii=False))


def _check_record(
    data: Any, source: str, line_no: int, text_field: str, id_field: str, raw: str
) -> Record | BadRecord:
    if not isinstance(data, dict):
        return BadRecord(source, line_no, None,
                         f"expected a JSON object, got {type(data).__name__}", raw.rstrip("\n"))
    record_id = data.get(id_field)
    if text_field not in data:
        return BadRecord(source, line_no, text_field, "missing text field (set --text-field "
                         "to the field that holds the comment)", raw.rstrip("\n"), record_id)
    text = data[text_field]
    if not isinstance(text, str):
        return BadRecord(source, line_no, text_field,
                         f"text must be a string, got {type(text).__name__}", raw.rstrip("\n"),
                         record_id)
    return Record(line_no, data, _unicode_for_coding(text))


def _unicode_for_coding(text: str) -> str:
    """The text with each lone UTF-16 surrogate (half an emoji cut off by a scraper, valid as
    a JSON escape but not as Unicode, and fatal to spaCy's tokenizer) replaced by U+FFFD,
    one character for one so that offsets still fit the original."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text)
    return text


def is_special_file(path: str) -> bool:
    """A device, pipe or socket (/dev/null, /dev/stdout, a named pipe): written into, never
    replaced, and never the same file as another in `refuse_overwriting`."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def refuse_overwriting(written: dict[str, str | None], read: dict[str, str | None]) -> None:
    """Stop before any work when a file to be written is another file of the same run
    (`{"output": path}` against `{"input": path}`): the last one renamed into place would
    replace the other, and an input replaced by its own output is lost. Two outputs to
    stdout ("-") would be mixed into one stream. Roles name the files in the error; None
    is nothing, and "-" read (stdin) is never the same as a file."""
    seen: dict[Path, str] = {}
    for role, path in read.items():
        if path not in (None, STDIO) and not is_special_file(path):
            seen.setdefault(Path(path).resolve(), role)
    to_stdout: str | None = None
    for role, path in written.items():
        if path is None:
            continue
        if path == STDIO:
            if to_stdout:
                raise InputError(f"the {to_stdout} and the {role} would both go to stdout "
                                 f"('-'), mixed into one stream; send one to a file")
            to_stdout = role
            continue
        if is_special_file(path):
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise InputError(f"{path}: the {role} would replace the {seen[resolved]}; choose "
                             f"another path for the {role}")
        seen[resolved] = role


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def json_line(obj: dict[str, Any]) -> str:
    """One JSON record and a newline, UTF-8 as written: a lone surrogate ("\ud83d" from a cut
    emoji) is valid JSON but not UTF-8, so that record is written with escapes, as it came
    in (the line is all or nothing)."""
    line = json.dumps(obj, ensure_ascii=False) + "\n"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj) + "\n"
    return line


STALE_PARTIAL_SECONDS = 24 * 3600
"""A partial file with no writer's pid in its name (an older themekit's) counts as stale
when nothing has written to it for this long."""


def remove_stale_partials(target: Path) -> list[Path]:
    """Remove the partial files an earlier run writing `target` left behind when it was
    killed outright (SIGKILL, a power cut): those whose writer's process no longer runs.
    A run still writing the same output keeps its file."""
    removed = []
    for partial in target.parent.glob(f".{glob_escape(target.name)}.*.partial"):
        pid = partial.name[len(target.name) + 2:].split(".", 1)[0]
        stale = (not _process_alive(int(pid)) if pid.isdigit()
                 else _age_seconds(partial) > STALE_PARTIAL_SECONDS)
        if stale:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
                removed.append(partial)
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _age_seconds(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


OUTPUT_ENCODINGS = {".gz": "gzip", ".zst": "zstd", ".parquet": "parquet"}
"""How an output is stored, by the end of its name; anything else is plain JSONL."""


def output_encoding(path: str) -> str | None:
    return next((kind for suffix, kind in OUTPUT_ENCODINGS.items()
                 if path.lower().endswith(suffix)), None)


def require_output_support(path: str) -> None:
    """Fail before any work when writing `path` needs an extra that is not installed."""
    kind = output_encoding(path)
    if kind == "parquet":
        from themekit.io.parquet import require_pyarrow

        require_pyarrow(path)
    elif kind == "zstd":
        _zstandard(f"{path}: zstd output")


def _zstandard(what: str, alternative: str = "") -> Any:
    """The zstandard module, or an InputError saying that `what` needs the zstd extra
    (`alternative`, if given, ends the message)."""
    try:
        import zstandard
    except ImportError:
        raise InputError(f"{what} needs the zstd extra (pip install 'themekit[zstd]')"
                         + alternative) from None
    return zstandard


def publish(stream: IO[str], plain: str, target: str) -> None:
    """Move the finished plain JSONL written through `stream` to `plain` into place as
    `target`, compressed or converted as the target's name asks. The file is on disk before
    the rename (or a power cut can leave the name on an empty file), and gets the mode any
    new file would get (mkstemp's are private; 0644 under the usual umask)."""
    stream.flush()
    os.fsync(stream.fileno())
    stream.close()
    kind = output_encoding(target)
    if kind:
        encoded = _encode(plain, target, kind)
        os.unlink(plain)
        plain = encoded
    os.chmod(plain, 0o666 & ~current_umask())
    os.replace(plain, target)


def _encode(plain: str, target: str, kind: str) -> str:
    """A temporary file beside `target` holding `plain`'s records as `kind` stores them."""
    directory, name = os.path.split(target)
    fd, encoded = tempfile.mkstemp(dir=directory, prefix=f".{name}.{os.getpid()}.",
                                   suffix=".partial")
    try:
        with open(plain, "rb") as source, os.fdopen(fd, "wb") as out:
            if kind == "gzip":
                import gzip
                import shutil

                with gzip.GzipFile(fileobj=out, mode="wb", filename="", mtime=0) as gz:
                    shutil.copyfileobj(source, gz)
            elif kind == "zstd":
                import zstandard

                zstandard.ZstdCompressor().copy_stream(source, out)
            else:
                from themekit.io.parquet import write_parquet

                write_parquet(source, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(encoded)
        raise
    return encoded


class LineWriter:
    """Writes JSON records, or lines `json_line` made (in another process, say), to
    `stream`; the subclasses decide where the stream goes and when it becomes the output."""

    stream: IO[str]

    def write_json(self, obj: dict[str, Any]) -> None:
        self.stream.write(json_line(obj))

    def write_line(self, line: str) -> None:
        self.stream.write(line)


class AtomicWriter(LineWriter):
    """Write lines to `path` via a temporary file, renamed over `path` on `commit()`.

    For "-" it writes straight to stdout, and to a device or pipe (/dev/null, a named
    pipe) straight into it: renaming a file over /dev/null would replace the device.
    Without `commit()` (an error, Ctrl-C) the temporary file is removed and `path` is left
    as it was. A `path` that is a symbolic link is followed: the file it points to is
    replaced and the link stays a link.
    """

    def __init__(self, path: str) -> None:
        self.path = path if path == STDIO else os.path.realpath(path)
        self._tmp: str | None = None
        if path == STDIO:
            self.stream: IO[str] = sys.stdout
        elif is_special_file(path):
            try:
                self.stream = open(path, "w", encoding="utf-8", newline="\n")
            except OSError as exc:
                raise InputError(f"{path}: cannot write here ({exc.strerror})") from exc
        else:
            target = Path(self.path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                remove_stale_partials(target)
                fd, self._tmp = tempfile.mkstemp(dir=target.parent,
                                                 prefix=f".{target.name}.{os.getpid()}.",
                                                 suffix=".partial")
            except OSError as exc:  # a read-only place, a file where a folder should be
                raise InputError(f"{path}: cannot write here ({exc.strerror})") from exc
            self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def commit(self) -> None:
        if self._tmp is None:
            self._close_direct()
            return
        publish(self.stream, self._tmp, self.path)
        self._tmp = None

    def discard(self) -> None:
        if self._tmp is None:
            self._close_direct()
        else:
            self.stream.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None

    def _close_direct(self) -> None:
        """Done with stdout or a device: flush it, and close it unless it is stdout."""
        if self.stream.closed:
            return
        self.stream.flush()
        if self.stream is not sys.stdout:
            self.stream.close()

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class CheckpointWriter(LineWriter):
    """Write lines to `path` through a visible checkpoint beside it (`PATH.checkpoint`),
    for runs that can be resumed (`annotate --resume`).

    Opening it again continues the checkpoint an interrupted run left: a last line cut off
    by a kill is dropped, and `done` holds the complete lines already there. `commit()`
    renames the checkpoint over `path`; `pause()` (an interruption) keeps it to resume from;
    `discard()` removes it.
    """

    def __init__(self, path: str) -> None:
        if path == STDIO or is_special_file(path):
            raise SettingError("resume", f"needs an output file to keep a checkpoint beside, "
                                         f"not {path}")
        self.path = os.path.realpath(path)
        self.checkpoint = f"{self.path}.checkpoint"
        self.done: list[str] = []
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if os.path.exists(self.checkpoint):
                with open(self.checkpoint, "rb") as handle:
                    data = handle.read()
                complete = data[: data.rfind(b"\n") + 1]
                self.done = complete.decode("utf-8").splitlines()
                with open(self.checkpoint, "wb") as handle:  # without a torn last line
                    handle.write(complete)
            self.stream: IO[str] = open(self.checkpoint, "a", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise InputError(f"{path}: cannot write here ({exc.strerror})") from exc

    def commit(self) -> None:
        publish(self.stream, self.checkpoint, self.path)

    def pause(self) -> None:
        self.stream.flush()
        self.stream.close()

    def discard(self) -> None:
        self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.checkpoint)


def read_jsonl(
    path: str | Path, problems: list[str] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Read a JSONL file of objects (gold files, coded files, sheets, training data), plain,
    .gz or .zst; a coded Parquet file from annotate is read as the JSONL it was made from.

    A bad line raises InputError with its file and line number, or, when a `problems` list
    is given, is recorded there and skipped, so that every problem can be reported at once.
    """
    if detect_format(str(path), None) == "parquet":
        from themekit.io.parquet import coded_parquet_rows

        yield from enumerate(coded_parquet_rows(str(path)), start=1)
        return
    with open_input(str(path)) as handle:
        for line_no, raw_bytes in enumerate(handle, start=1):
            try:
                raw = _decode_line(raw_bytes, line_no)
            except UnicodeDecodeError as exc:
                data, problem = None, _invalid_utf8(exc)
            else:
                if not raw.strip():
                    continue
                data, problem = _parse_json(raw)
            if problem is None:
                if isinstance(data, dict):
                    yield line_no, data
                    continue
                problem = f"expected a JSON object, got {type(data).__name__}"
            problem = f"{path}, line {line_no}: {problem}"
            if problems is None:
                raise InputError(problem)
            problems.append(problem)
