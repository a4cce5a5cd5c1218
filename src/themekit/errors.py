"""What a user can fix, told apart from bugs.

Every problem a user can fix (an unreadable input, a broken codebook, a model folder that is
not one, a setting out of range, a plugin that fails) raises a `ThemekitError`; the command
line prints it as one line. Any other exception is a bug in themekit or a plugin and keeps
its traceback. Messages name files, lines, fields and settings in the library's own terms
(keyword arguments, not command-line flags): `SettingError` carries the setting's name, and
the command line names the flag instead.
"""

from __future__ import annotations


class ThemekitError(Exception):
    """A problem the user can fix; its message says what and where. `setting` names the
    keyword argument that fixes it (`codebook`, `text_field`), when one does; the command
    line points to its flag."""

    def __init__(self, *args: object, setting: str | None = None) -> None:
        super().__init__(*args)
        self.setting = setting


class InputError(ThemekitError, ValueError):
    """An input that cannot be read at all (missing file, unknown format, no usable
    records), or an output that cannot be written where it was asked for."""


class CodebookError(ThemekitError, ValueError):
    """A codebook that cannot be used; `problems` lists every issue found, not just the first."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.setting = None
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in codebook:\n{lines}")


class ModelError(ThemekitError, ValueError):
    """A model folder or encoder that cannot be used for this job."""


class PluginError(ThemekitError, RuntimeError):
    """A plugin failed to load or raised inside a hook; the message names the plugin."""


class SettingError(ThemekitError, ValueError):
    """A setting out of range or in conflict with another; `setting` is the keyword
    argument's name (`dev_split`), which the command line shows as its flag."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}", setting=setting)
        self.problem = problem


class StrictModeError(InputError):
    """Strict mode stopped at the first bad record; the message names it."""


class ClusterError(ThemekitError, RuntimeError):
    """A Dask cluster that cannot be used (the dask extra missing, a scheduler out of
    reach) or that could not finish a job (a partition whose workers kept dying)."""
