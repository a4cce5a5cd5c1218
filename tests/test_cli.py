"""Properties every file-writing command shares."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from tests.conftest import REPO
from themekit.cli import main


@pytest.mark.parametrize("args, said", [
    (["sample", "{a}", "-n", "2", "-o", "{a}"], "the output would replace the corpus"),
    (["sample", "{a}", "-n", "2", "-o", "{b}", "--exclude", "{b}"],
     "the output would replace the --exclude file 1"),
    (["agreement", "{a}", "{b}", "--disagreements", "{b}"],
     "the --disagreements sheet would replace the sheet 2"),
    (["agreement", "{a}", "{b}", "--json", "{a}"], "the --json file would replace the sheet 1"),
    (["export", "{a}", "-o", "{a}"], "the output would replace the coded file"),
    (["report", "{a}", "--html", "{a}"], "the --html file would replace the coded file"),
    (["report", "{a}", "-o", "{b}", "--html", "{b}"], "the --html file would replace the report"),
    (["evaluate", "{a}", "{b}", "--json", "{b}"], "the --json file would replace the gold file"),
    (["codebook", "export", "{a}", "-o", "{a}"], "the output would replace the codebook"),
])
def test_no_command_writes_over_a_file_it_reads(tmp_path, args, said):
    paths = {"a": tmp_path / "a.jsonl", "b": tmp_path / "b.jsonl"}
    for path in paths.values():
        shutil.copy(REPO / "examples" / "comments.jsonl", path)
    before = {name: path.read_bytes() for name, path in paths.items()}
    result = CliRunner().invoke(main, [arg.format(**paths) for arg in args])
    assert result.exit_code == 1
    assert said in " ".join(result.output.split())
    assert {name: path.read_bytes() for name, path in paths.items()} == before


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", [path for path, _ in _commands(main)], ids=" ".join)
def test_every_command_and_group_help_shows_examples(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert all(f"themekit {' '.join(path)}" in line
               for line in result.output.split("Example", 1)[1].splitlines()[1:2])


def test_no_command_writes_over_a_codebook(tmp_path):
    mine = tmp_path / "mine.yaml"
    shutil.copy(REPO / "codebooks" / "llm-mental-health.yaml", mine)
    shipped = REPO / "codebooks" / "llm-mental-health.yaml"
    before = {mine: mine.read_bytes(), shipped: shipped.read_bytes()}
    comments = str(REPO / "examples" / "comments.jsonl")
    for args, said in [
        (["annotate", comments, "-o", str(mine), "-c", str(mine)],
         "the output would replace the codebook"),
        (["sample", comments, "-n", "2", "-o", str(mine), "-c", str(mine)],
         "the output would replace the codebook"),
        (["codebook", "export", "llm-mental-health", "-o", str(shipped)],
         "the output would replace the codebook llm-mental-health"),
        (["report", comments, "-o", str(shipped)],
         "the report would replace the codebook llm-mental-health"),
    ]:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, args
        assert said in " ".join(result.output.split()), result.output
    assert {path: path.read_bytes() for path in before} == before


@pytest.mark.parametrize("args, said", [
    (["annotate", "{a}", "-o", "-", "--errors", "-"],
     "the output and the errors file would both go to stdout"),
    (["agreement", "{a}", "{b}", "--json", "-"],
     "the table and the --json file would both go to stdout"),
    (["evaluate", "{a}", "{b}", "--json", "-"],
     "the table and the --json file would both go to stdout"),
    (["report", "{a}", "--format", "markdown", "--html", "-"],
     "the report and the --html file would both go to stdout"),
])
def test_two_outputs_to_stdout_are_refused(tmp_path, args, said):
    paths = {"a": tmp_path / "a.jsonl", "b": tmp_path / "b.jsonl"}
    for path in paths.values():
        shutil.copy(REPO / "examples" / "comments.jsonl", path)
    result = CliRunner().invoke(main, [arg.format(**paths) for arg in args])
    assert result.exit_code == 1
    assert said in " ".join(result.output.split())


def test_the_progress_bar_shows_the_rate_and_the_time_left():
    from types import SimpleNamespace

    from rich.progress import TimeRemainingColumn

    from themekit.cli import RateColumn, _progress

    columns = _progress().columns
    assert any(isinstance(c, RateColumn) for c in columns)
    assert any(isinstance(c, TimeRemainingColumn) for c in columns)
    assert str(RateColumn().render(SimpleNamespace(speed=1234.4))) == "1,234/s"
    assert str(RateColumn().render(SimpleNamespace(speed=None))) == ""  # no estimate yet


@pytest.mark.parametrize("bug", [ValueError("operands could not be broadcast together"),
                                 KeyError("codes")])
def test_a_bug_is_reported_as_a_bug_with_its_traceback(tmp_path, monkeypatch, bug):
    """An exception that is not a ThemekitError (a ValueError from inside numpy or spaCy
    included) is a bug: the command says so and keeps the exception, rather than printing
    it as a one-line mistake of the user's."""
    import themekit.analysis.report

    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(themekit.analysis.report, "build_report", broken)
    coded = tmp_path / "coded.jsonl"
    coded.write_text("{}\n")
    result = CliRunner().invoke(main, ["report", str(coded)])
    assert result.exception is bug  # not swallowed into SystemExit(1)
    assert "bug in themekit or one of its plugins: please report it" in result.output
    assert f"error: {bug}" not in result.output


def test_a_user_error_is_one_line_and_a_bad_setting_names_its_flag(tmp_path):
    missing = tmp_path / "nowhere.jsonl"
    result = CliRunner().invoke(main, ["report", str(missing)])
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    coded = tmp_path / "coded.jsonl"
    coded.write_text('{"id": "1", "text": "hi", "themekit": {"codebook": "llm-mental-health@1", "codes": '
                     '{"experience": "personal_use", "attitude": "neutral", "themes": []}}}\n')
    result = CliRunner().invoke(main, ["report", str(coded), "--by", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for '--by': nope: neither a tier" in result.output
