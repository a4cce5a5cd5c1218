"""The interactive coder: the key state machine, the save loop, and a real terminal (tmux)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from themekit.codebook import load_codebook
from themekit.handcoding.coder import (
    apply_key,
    make_layout,
    render,
    run_coder,
    split_keys,
    start,
)
from themekit.errors import InputError, SettingError
from themekit.io.sheets import blank_item, read_sheet, write_sheet

TEXTS = ["first comment", "second comment", "third comment"]


@pytest.fixture(scope="module")
def mh():
    return load_codebook("llm-mental-health")


@pytest.fixture
def layout(mh):
    return make_layout(mh, "alice", title="sheet.jsonl")


@pytest.fixture
def sheet(tmp_path, mh) -> Path:
    path = tmp_path / "sheet.jsonl"
    write_sheet(path, [blank_item(f"c{i}", t, mh) for i, t in enumerate(TEXTS)], mh)
    return path


def press(state, layout, keys):
    saves = 0
    for key in keys:
        state, save = apply_key(state, key, layout)
        saves += save
    return state, saves


def test_layout_has_tiers_with_leaf_codes_then_flags(layout, mh):
    assert [s.id for s in layout.sections] == ["experience", "attitude", "themes", "flags"]
    assert "benefit" not in layout.sections[2].options  # parents follow from children
    assert layout.sections[3].options == mh.detectors
    with pytest.raises(SettingError, match="coder: needs a name"):
        make_layout(mh, "  ")


def test_exclusive_pick_moves_on_and_multi_toggles(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, _ = press(state, layout, ["2"])  # experience = no_personal_use
    assert state.draft["experience"] == "no_personal_use" and state.focus == 1
    state, _ = press(state, layout, ["3"])  # attitude = mixed, on to themes
    assert state.draft["attitude"] == "mixed" and state.focus == 2
    state, _ = press(state, layout, ["1", "4", "4"])  # toggle accessibility, privacy twice
    assert state.draft["themes"] == frozenset({"accessibility"}) and state.focus == 2
    state, _ = press(state, layout, ["\t", "6"])  # Tab to flags, risk.crisis
    assert state.draft["flags"] == frozenset({"risk.crisis"})
    state, _ = press(state, layout, ["\x1b[A", "\x1b[A", "\x1b[A", "1"])  # up to experience
    assert state.draft["experience"] == "personal_use"


def test_save_needs_every_exclusive_tier(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, saves = press(state, layout, ["1", "n"])
    assert saves == 0 and state.index == 0
    assert state.focus == 1 and "attitude" in state.message


def test_save_records_codes_and_coder_then_moves_on(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, saves = press(state, layout, ["1", "1", "2", "\t", "5", "n"])
    assert saves == 1 and state.index == 1 and state.focus == 0
    item = state.items[0]
    assert item.codes == {"experience": "personal_use", "attitude": "positive",
                          "themes": ("emotional_support",)}
    assert item.flags == ("sensitive.health_disclosure",) and item.coder == "alice"
    assert item.is_coded(mh) and "saved c0" in state.message


def test_back_skip_wrap_and_quit(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, _ = press(state, layout, ["b"])
    assert state.index == 0 and "first item" in state.message
    state, _ = press(state, layout, ["s"])  # leave c0 uncoded
    assert state.index == 1
    state, _ = press(state, layout, ["2", "4", "n"])  # code c1
    assert state.index == 2
    state, _ = press(state, layout, ["1"])  # unsaved change to c2, then back
    state, _ = press(state, layout, ["b"])
    assert state.index == 1 and "unsaved changes to c2 discarded" in state.message
    assert state.draft["experience"] == "no_personal_use"  # c1's saved codes come back
    state, _ = press(state, layout, ["s", "2", "4", "n"])  # code c2: wraps to skipped c0
    assert state.index == 0 and "left uncoded" in state.message
    state, _ = press(state, layout, ["x"])
    assert "does nothing" in state.message
    state, _ = press(state, layout, ["q"])
    assert state.finished and "2 of 3 items coded" in state.message


def test_coding_the_last_item_finishes(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, saves = press(state, layout, ["1", "1", "n"] * 3)
    assert saves == 3 and state.finished and "all 3 items coded" in state.message
    assert start(state.items, layout).finished  # nothing left to resume


def test_split_keys_keeps_escape_sequences_whole():
    assert split_keys("11n") == ["1", "1", "n"]
    assert split_keys("\x1b[B2\t") == ["\x1b[B", "2", "\t"]


def test_render_shows_text_codes_and_definitions(sheet, layout, mh):
    state = start(read_sheet(sheet, mh), layout)
    state, _ = press(state, layout, ["1", "1", "3"])
    console = Console(record=True, width=140, file=io.StringIO())
    console.print(render(state, layout))
    screen = console.export_text()
    assert "first comment" in screen and "item 1 of 3" in screen
    assert "[x] therapeutic_value" in screen  # toggled in the focused themes tier
    assert mh.codes["privacy"].definition[:40] in screen
    assert "■ personal_use" in screen
    assert "one-code tier: then moves to the next tier" in " ".join(screen.split())


def test_run_coder_saves_each_item_and_resumes(sheet, mh):
    keys = iter(["11n", "2", "4n", "q"])
    console = Console(file=io.StringIO(), width=120)
    state = run_coder(sheet, mh, "bob", console=console, read_key=lambda: next(keys))
    assert state.finished
    rows = [json.loads(line) for line in sheet.read_text().splitlines()]
    assert [(r["experience"], r["attitude"], r["coder"]) for r in rows] == [
        ("personal_use", "positive", "bob"), ("no_personal_use", "neutral", "bob"),
        (None, None, None)]
    keys = iter(["q"])
    resumed = run_coder(sheet, mh, "bob", console=console, read_key=lambda: next(keys))
    assert resumed.index == 2


def test_run_coder_treats_ctrl_c_as_quit(sheet, mh):
    def interrupt():
        raise KeyboardInterrupt

    state = run_coder(sheet, mh, "bob", console=Console(file=io.StringIO()),
                      read_key=interrupt)
    assert state.finished and "0 of 3 items coded" in state.message


def test_ctrl_c_typed_with_other_keys_quits(sheet, mh):
    keys = iter(["1\x03", "n"])
    state = run_coder(sheet, mh, "bob", console=Console(file=io.StringIO()),
                      read_key=lambda: next(keys))
    assert state.finished and "0 of 3 items coded" in state.message


def test_a_sheet_edited_elsewhere_while_open_is_not_overwritten(sheet, mh):
    edited = sheet.read_text().replace("third comment", "third comment, fixed by carol")

    def keys():
        yield "11"
        sheet.write_text(edited)  # another program saves the sheet meanwhile
        yield "n"

    pressed = keys()
    with pytest.raises(InputError, match="changed on disk while it was open here"):
        run_coder(sheet, mh, "bob", console=Console(file=io.StringIO()),
                  read_key=lambda: next(pressed))
    assert sheet.read_text() == edited


def test_a_sheet_moved_away_while_open_is_a_clear_error(sheet, mh):
    def keys():
        yield "11"
        sheet.rename(sheet.with_name("moved.jsonl"))
        yield "n"

    pressed = keys()
    with pytest.raises(InputError, match="changed on disk while it was open here"):
        run_coder(sheet, mh, "bob", console=Console(file=io.StringIO()),
                  read_key=lambda: next(pressed))
    assert not sheet.exists()


def test_code_command_needs_a_terminal(sheet):
    from click.testing import CliRunner

    from themekit.cli import main

    result = CliRunner().invoke(main, ["code", str(sheet), "--coder", "dan"])
    assert result.exit_code == 2 and "interactive" in result.output
    assert all(row["coder"] is None for row in map(json.loads, sheet.read_text().splitlines()))


# --- the real thing, in a terminal ------------------------------------------------------

def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _wait_for(screen, wanted: str, timeout: float = 180.0) -> str:
    """The screen once it shows `wanted` (start-up loads spaCy: slow on a busy machine)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen()
        if wanted in shown:
            return shown
        time.sleep(0.3)
    raise AssertionError(f"the terminal never showed {wanted!r}; it showed:\n{shown}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_code_command_in_a_real_terminal(sheet, mh):
    executable = Path(sys.executable).parent / "themekit"
    if not executable.exists():
        pytest.skip("the themekit console script is not installed beside this Python")
    session = f"themekit-test-{uuid.uuid4().hex[:8]}"
    command = f"'{executable}' code '{sheet}' --coder carol; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "50", command)
    try:
        def screen() -> str:
            return _tmux("capture-pane", "-p", "-t", session)

        assert "first comment" in _wait_for(screen, "item 1 of 3")
        _tmux("send-keys", "-t", session, "1", "1", "2")
        shown = _wait_for(screen, "[x] emotional_support")
        assert "■ personal_use" in shown and "■ positive" in shown
        _tmux("send-keys", "-t", session, "n")
        assert "second comment" in _wait_for(screen, "item 2 of 3")
        saved = json.loads(sheet.read_text().splitlines()[0])
        assert saved["experience"] == "personal_use" and saved["attitude"] == "positive"
        assert saved["themes"] == ["emotional_support"] and saved["coder"] == "carol"
        _tmux("send-keys", "-t", session, "q")
        assert "1 of 3 items coded" in _wait_for(screen, "stopped")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
