"""What a themekit plugin can provide: registration hooks in the style of simonw/llm.

Each hook receives a `register` callable; a plugin calls it once for every thing it adds.
Built-in plugins (src/themekit/plugins/default) use exactly these hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from themekit.plugins.types import Detector, EvidenceSource, RegisteredCodebook, TierRuleType

hookspec = pluggy.HookspecMarker("themekit")
hookimpl = pluggy.HookimplMarker("themekit")


@hookspec
def register_codebooks(register: Callable[[RegisteredCodebook], None]) -> None:
    """Make codebook files findable by name: `register(RegisteredCodebook(name, path))`."""


@hookspec
def register_detectors(register: Callable[[Detector], None]) -> None:
    """Add privacy-risk detectors that codebooks can list under `detectors:`."""


@hookspec
def register_tier_rules(register: Callable[[TierRuleType], None]) -> None:
    """Add rule types that codebooks can use under `rules:` (by their `type`)."""


@hookspec
def register_evidence_sources(register: Callable[[EvidenceSource], None]) -> None:
    """Add sources of rule evidence for codes (keyword patterns are one)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the `themekit` command line with `@cli.command()` (a plugin may not
    replace one of themekit's own)."""
