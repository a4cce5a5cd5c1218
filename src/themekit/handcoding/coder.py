"""The interactive coder behind `themekit code`: one comment at a time, keys only.

The coder is a state machine (`start`, `apply_key`: pure functions from a state and a key
to a new state) with a thin terminal loop around it (`run_coder`: draw, read a key, save).
Keys: a number (then letters) picks a code in the highlighted tier: in an exclusive tier it
sets the code and moves on to the next tier, in a multi tier (and in flags) it toggles the
code. Tab or the arrow keys move between tiers; n saves the item and goes to the next
uncoded one, b goes back, s skips, q quits. Every save rewrites the whole sheet atomically,
with the coder's name on the item, so a crash or Ctrl-C loses at most the item on screen;
the next run resumes at the first uncoded item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from themekit.codebook import Codebook
from themekit.errors import CodebookError, InputError, SettingError
from themekit.io.sheets import SheetItem, read_sheet, replace_codes, write_sheet

OPTION_KEYS = "123456789acdefghijklmoprtuvwxyz"
"""Keys that pick the 1st, 2nd, ... code of the highlighted tier (n, b, s, q are commands)."""
NEXT_SECTION = ("\t", "\x1b[B")  # Tab, arrow down
PREVIOUS_SECTION = ("\x1b[Z", "\x1b[A")  # Shift-Tab, arrow up
QUIT = ("q", "\x03", "\x04")  # Ctrl-C and Ctrl-D typed together with other keys arrive as text
FLAGS = "flags"

Choice = str | None | frozenset[str]


@dataclass(frozen=True)
class Section:
    """What the coder picks in one step: a tier's codes, or the privacy flags."""

    id: str
    label: str
    multi: bool
    options: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """What stays fixed during a session: the codebook, its sections and the coder."""

    codebook: Codebook
    sections: tuple[Section, ...]
    coder: str
    title: str = ""


@dataclass(frozen=True)
class CoderState:
    items: tuple[SheetItem, ...]
    index: int
    focus: int = 0
    draft: Mapping[str, Choice] = field(default_factory=dict)
    message: str = ""
    finished: bool = False


def make_layout(codebook: Codebook, coder: str, title: str = "") -> Layout:
    """Sections in codebook order (leaf codes only: parents follow), then the flags."""
    if not coder.strip():
        raise SettingError("coder", "needs a name: it is recorded on every item you code")
    sections = [
        Section(t.id, t.label, t.kind == "multi",
                tuple(c.id for c in codebook.leaf_codes(t.id)))
        for t in codebook.tiers
    ]
    if codebook.detectors:
        sections.append(Section(FLAGS, "Privacy and risk flags", True, codebook.detectors))
    for section in sections:
        if len(section.options) > len(OPTION_KEYS):
            raise CodebookError(codebook.ref, [f"tier '{section.id}' has {len(section.options)} codes; the "
                             f"interactive coder has keys for {len(OPTION_KEYS)}"])
    return Layout(codebook, tuple(sections), coder.strip(), title)


def start(items: list[SheetItem] | tuple[SheetItem, ...], layout: Layout) -> CoderState:
    """The state at the first uncoded item (finished at once when every item is coded)."""
    items = tuple(items)
    uncoded = [i for i, it in enumerate(items) if not it.is_coded(layout.codebook)]
    if not uncoded:
        return CoderState(items, 0, finished=True,
                          message=f"all {len(items)} items are already coded")
    index = uncoded[0]
    return CoderState(items, index, draft=_draft(items[index], layout),
                      message=f"resuming at item {index + 1}" if index else "")


def apply_key(state: CoderState, key: str, layout: Layout) -> tuple[CoderState, bool]:
    """The state after one key press, and whether the sheet must be saved now."""
    if state.finished:
        return state, False
    section = layout.sections[state.focus]
    if key in OPTION_KEYS[: len(section.options)]:
        return _choose(state, layout, section, section.options[OPTION_KEYS.index(key)]), False
    if key in NEXT_SECTION or key in PREVIOUS_SECTION:
        step = 1 if key in NEXT_SECTION else -1
        return replace(state, focus=(state.focus + step) % len(layout.sections), message=""), False
    if key == "n":
        return _commit(state, layout)
    if key == "s":
        return _advance(state, layout, f"skipped {state.items[state.index].id}"), False
    if key == "b":
        if state.index == 0:
            return replace(state, message="this is the first item"), False
        note = _discard_note(state, layout)
        index = state.index - 1
        return replace(state, index=index, focus=0, draft=_draft(state.items[index], layout),
                       message=f"back to item {index + 1}{note}"), False
    if key in QUIT:
        coded = sum(it.is_coded(layout.codebook) for it in state.items)
        return replace(state, finished=True, message=(
            f"stopped: {coded} of {len(state.items)} items coded{_discard_note(state, layout)}"
        )), False
    return replace(state, message=f"key {key!r} does nothing here (see the keys below)"), False


def render(state: CoderState, layout: Layout) -> RenderableType:
    """The screen for the current item: comment, other coders' codes, tiers, keys."""
    item = state.items[state.index]
    coded = sum(it.is_coded(layout.codebook) for it in state.items)
    header = Text()
    header.append(f"{layout.title}  " if layout.title else "", style="bold")
    header.append(f"item {state.index + 1} of {len(state.items)}  ·  id {item.id}  ·  "
                  f"{coded} coded  ·  coder {layout.coder}")
    if item.coder and item.is_coded(layout.codebook):
        header.append(f"  ·  saved by {item.coder}", style="green")
    parts: list[RenderableType] = [
        header,
        Panel(Text(item.text) if item.text is not None else Text("(no text in the sheet)",
                                                                   style="dim italic")),
    ]
    others = item.data.get("coders")
    if isinstance(others, dict) and others:
        parts.append(_others_table(others, layout))
    for number, section in enumerate(layout.sections):
        parts.append(_section_view(section, state.draft.get(section.id), number == state.focus,
                                   layout.codebook))
    keys = Text("keys: ", style="dim")
    keys.append("1-9 pick (one-code tier: then moves to the next tier) or toggle (several "
                "codes) · Tab/↓ ↑ change tier · n save+next · b back · s skip · q quit",
                style="dim")
    parts.append(keys)
    if state.message:
        parts.append(Text(state.message, style="yellow"))
    return Group(*parts)


def run_coder(
    path: str | Path,
    codebook: Codebook,
    coder: str,
    console: Console | None = None,
    read_key: Callable[[], str] = click.getchar,
) -> CoderState:
    """Code a sheet interactively, saving after every item; returns the final state."""
    items = read_sheet(path, codebook)
    as_read = _file_stamp(path)
    layout = make_layout(codebook, coder, title=Path(path).name)
    state = start(items, layout)
    console = console or Console()
    while not state.finished:
        console.clear()
        console.print(render(state, layout))
        try:
            keys = split_keys(read_key())
        except (KeyboardInterrupt, EOFError):
            keys = ["q"]
        for key in keys:
            state, save = apply_key(state, key, layout)
            if save:
                _refuse_if_changed(path, as_read)
                write_sheet(path, state.items, codebook)
                as_read = _file_stamp(path)
    console.print(state.message)
    return state


def _file_stamp(path: str | Path) -> tuple[int, int, int] | None:
    """What changes when anyone rewrites the sheet (a save renames a new file into place);
    None once it is gone."""
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _refuse_if_changed(path: str | Path, as_read: tuple[int, int, int] | None) -> None:
    """Saving rewrites the whole sheet, so edits made elsewhere since it was read (another
    coder, a spreadsheet) would be lost: stop instead, losing only this one item."""
    if _file_stamp(path) != as_read:
        raise InputError(f"{path} changed on disk while it was open here (edited, moved or "
                         "deleted elsewhere?); "
                         "the item just coded was not saved, so those edits are kept. Run "
                         "`themekit code` again to go on from them.")


def split_keys(chunk: str) -> list[str]:
    """Single keys from what one terminal read returned (fast typing arrives together);
    an escape sequence such as an arrow key stays one key."""
    keys: list[str] = []
    i = 0
    while i < len(chunk):
        if chunk.startswith("\x1b[", i) and i + 2 < len(chunk):
            keys.append(chunk[i: i + 3])
            i += 3
        else:
            keys.append(chunk[i])
            i += 1
    return keys


def _draft(item: SheetItem, layout: Layout) -> dict[str, Choice]:
    draft: dict[str, Choice] = {}
    for section in layout.sections:
        value = item.flags if section.id == FLAGS else item.codes.get(section.id)
        draft[section.id] = frozenset(value or ()) if section.multi else value
    return draft


def _choose(state: CoderState, layout: Layout, section: Section, code: str) -> CoderState:
    draft = dict(state.draft)
    if section.multi:
        chosen = set(draft.get(section.id) or ())
        chosen.symmetric_difference_update({code})
        draft[section.id] = frozenset(chosen)
        return replace(state, draft=draft, message="")
    draft[section.id] = code
    focus = min(state.focus + 1, len(layout.sections) - 1)
    return replace(state, draft=draft, focus=focus, message="")


def _commit(state: CoderState, layout: Layout) -> tuple[CoderState, bool]:
    for number, section in enumerate(layout.sections):
        if not section.multi and state.draft.get(section.id) is None:
            return replace(state, focus=number,
                           message=f"pick a code for '{section.id}' before saving"), False
    codes: dict[str, Any] = {}
    flags: tuple[str, ...] = ()
    for section in layout.sections:
        value = state.draft.get(section.id)
        picked = tuple(o for o in section.options if o in (value or ())) if section.multi \
            else value
        if section.id == FLAGS:
            flags = picked
        else:
            codes[section.id] = picked
    item = replace_codes(state.items[state.index], codes, flags, layout.coder)
    items = state.items[: state.index] + (item,) + state.items[state.index + 1:]
    saved = replace(state, items=items)
    return _advance(saved, layout, f"saved {item.id}"), True


def _advance(state: CoderState, layout: Layout, note: str) -> CoderState:
    """On to the next uncoded item after this one (wrapping round); finished when none."""
    count = len(state.items)
    for step in range(1, count):
        index = (state.index + step) % count
        if not state.items[index].is_coded(layout.codebook):
            wrapped = " (back to an item left uncoded)" if index < state.index else ""
            return replace(state, index=index, focus=0, draft=_draft(state.items[index], layout),
                           message=f"{note}{wrapped}")
    coded = sum(it.is_coded(layout.codebook) for it in state.items)
    left = count - coded
    end = (f"all {count} items coded" if not left
           else f"{coded} of {count} items coded, {left} left uncoded")
    return replace(state, finished=True, message=f"{note}; {end}")


def _discard_note(state: CoderState, layout: Layout) -> str:
    item = state.items[state.index]
    if dict(state.draft) != _draft(item, layout):
        return f" (unsaved changes to {item.id} discarded)"
    return ""


def _section_view(section: Section, value: Choice, focused: bool,
                  codebook: Codebook) -> RenderableType:
    rule = "any number" if section.multi else "exactly one"
    title = Text("▶ " if focused else "  ", style="bold cyan")
    title.append(f"{section.label} ({section.id}, {rule})",
                 style="bold cyan" if focused else "bold")
    chosen = set(value or ()) if section.multi else {value}
    if not focused:
        line = Text("    ")
        for key, option in zip(OPTION_KEYS, section.options):
            mark = "■" if option in chosen else "·"
            line.append(f"{key} {mark} {option}   ",
                        style="green bold" if option in chosen else "dim")
        return Group(title, line)
    table = Table.grid(padding=(0, 1))
    table.add_column(width=4)
    table.add_column(width=3)
    table.add_column(no_wrap=True)
    table.add_column()
    for key, option in zip(OPTION_KEYS, section.options):
        mark = ("[x]" if option in chosen else "[ ]") if section.multi else (
            "(•)" if option in chosen else "( )")
        code = codebook.codes.get(option)
        definition = Text(f"({code.parent}) " if code and code.parent else "", style="cyan")
        definition.append(code.definition if code else "", style="dim")
        style = "green bold" if option in chosen else "bold"
        table.add_row(f"  {key}", Text(mark, style=style), Text(option, style=style), definition)
    return Group(title, table)


def _others_table(others: dict[str, Any], layout: Layout) -> RenderableType:
    table = Table(title="codes given by the coders being adjudicated", title_justify="left")
    table.add_column("coder")
    for section in layout.sections:
        table.add_column(section.id)
    for name, codes in others.items():
        if not isinstance(codes, dict):
            continue
        cells = []
        for section in layout.sections:
            value = codes.get(section.id)
            cells.append((", ".join(value) if isinstance(value, list) else str(value or ""))
                         or "-")
        table.add_row(Text(str(name)), *(Text(c) for c in cells))
    return table
