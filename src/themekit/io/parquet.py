"""Parquet in and out, for corpora that live in data frames (pandas, polars, Arrow).

pyarrow is an optional extra (`pip install 'themekit[parquet]'`). Rows are read batch by
batch, so memory stays flat. A coded Parquet file keeps the input's columns, gives each
codebook tier a column of its codes (`themekit.<tier>`: a string for a one-code tier, a
list for a many-code tier), and keeps the whole `themekit` object as JSON text, so that
`report` and `evaluate` read it back exactly as they read coded JSONL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import json
from collections.abc import Iterator
from typing import IO, Any

from themekit.io.coded import CODED_KEY
from themekit.errors import InputError

READ_BATCH = 4096
WRITE_CHUNK = 20_000
"""Rows per row group written: large enough for column compression, small enough that a
chunk's Python objects stay a few hundred MB at most."""
TIER_COLUMN = f"{CODED_KEY}."
"""Prefix of the per-tier code columns, derived from the `themekit` object and dropped
when a coded Parquet file is read back."""


def require_pyarrow(path: str) -> None:
    """Fail before any work when `path` needs pyarrow and it is not installed."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError(f"{path}: Parquet needs pyarrow; install the parquet extra "
                         "(pip install 'themekit[parquet]')") from None


def parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    """Each row of a Parquet file as a JSON-ready dict (timestamps and dates as ISO text,
    decimals as numbers, bytes as base64), in file order."""
    with _unreadable_as_input_error(path):
        for batch in _parquet_file(path).iter_batches(batch_size=READ_BATCH):
            for row in batch.to_pylist():
                yield {key: _jsonable(value) for key, value in row.items()}


def parquet_row_count(path: str) -> int:
    with _unreadable_as_input_error(path):
        return _parquet_file(path).metadata.num_rows


def _parquet_file(path: str) -> Any:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path)


@contextlib.contextmanager
def _unreadable_as_input_error(path: str) -> Iterator[None]:
    require_pyarrow(path)
    import pyarrow

    try:
        yield
    except (pyarrow.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def coded_parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    """The rows of a coded Parquet file as annotate's JSONL records: the `themekit` column
    parsed back into its object, the derived per-tier columns dropped."""
    for row in parquet_rows(path):
        record = {key: value for key, value in row.items() if not key.startswith(TIER_COLUMN)}
        if isinstance(record.get(CODED_KEY), str):
            record[CODED_KEY] = json.loads(record[CODED_KEY])
        yield record


def write_parquet(jsonl: IO[bytes], out: IO[bytes]) -> None:
    """Write the records of a finished JSONL file as Parquet. The column types are settled
    over all records first (a field that is null in the first thousand rows and text later
    is a text column); a field whose values mix kinds (numbers in some records, text in
    others) is written as each value's JSON text, so no value is lost."""
    import pyarrow
    import pyarrow.parquet as pq

    schema = _settled_schema(_chunks(jsonl))
    as_json = {field.name for field in schema if field.metadata == _MIXED}
    with pq.ParquetWriter(out, schema) as writer:
        for chunk in _chunks(jsonl, as_json):
            writer.write_table(pyarrow.Table.from_pylist(chunk, schema=schema))


_MIXED = {b"themekit": b"mixed kinds, written as JSON text"}


def _settled_schema(chunks: Iterator[list[dict]]) -> Any:
    """One type per field over every chunk, in the order fields first appear; a field no
    type fits is a string column marked `_MIXED`."""
    import pyarrow

    types: dict[str, Any] = {}
    for chunk in chunks:
        names = dict.fromkeys(key for row in chunk for key in row)
        for name in names:
            if types.get(name) == "mixed":
                continue
            try:
                found = pyarrow.array([row.get(name) for row in chunk]).type
                if name in types:
                    found = pyarrow.unify_schemas(
                        [pyarrow.schema([(name, types[name])]), pyarrow.schema([(name, found)])],
                        promote_options="permissive").field(name).type
            except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, pyarrow.ArrowNotImplementedError):
                found = "mixed"
            types[name] = found
    return pyarrow.schema([
        pyarrow.field(name, pyarrow.string(), metadata=_MIXED) if kind == "mixed"
        else pyarrow.field(name, kind) for name, kind in types.items()])


def _chunks(jsonl: IO[bytes], as_json: set[str] = frozenset()) -> Iterator[list[dict]]:
    """The records as Parquet rows, WRITE_CHUNK at a time (read from the start each call)."""
    jsonl.seek(0)
    chunk: list[dict] = []
    for line in jsonl:
        chunk.append(_parquet_row(json.loads(line), as_json))
        if len(chunk) == WRITE_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parquet_row(record: dict[str, Any], as_json: set[str]) -> dict[str, Any]:
    row = {key: json.dumps(value, ensure_ascii=False) if key in as_json and value is not None
           else value for key, value in record.items() if key != CODED_KEY}
    coding = record.get(CODED_KEY)
    if isinstance(coding, dict):
        for tier, codes in coding.get("codes", {}).items():
            row[TIER_COLUMN + tier] = codes
        row[CODED_KEY] = json.dumps(coding, ensure_ascii=False)
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
