"""Writing a result that renders as a table, JSON or Markdown (reports, pattern lints)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console, RenderableType

from themekit.errors import SettingError
from themekit.io.records import STDIO, AtomicWriter

FORMATS = ("table", "json", "markdown")


def write_rendered(
    fmt: str, output: str | None, console: Console, *,
    as_table: Callable[[], RenderableType], as_json: Callable[[], Any],
    as_markdown: Callable[[], str],
) -> None:
    """A table goes to the console (no `output`, or '-'), or to a file as plain text; JSON
    and Markdown go to stdout or, written atomically, to `output`."""
    if fmt not in FORMATS:
        raise SettingError("fmt", f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    to_console = output in (None, STDIO)
    if fmt == "table" and to_console:
        console.print(as_table())
        return
    if fmt == "json":
        text = json.dumps(as_json(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "markdown":
        text = as_markdown()
    else:
        plain = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        plain.print(as_table())
        text = plain.export_text()
    if to_console:
        console.file.write(text)
        return
    with AtomicWriter(output) as writer:
        writer.stream.write(text)
