"""The plugin manager: built-in plugins plus the `themekit` entry-point group.

Built-ins register through the same hooks as third-party plugins. Set
THEMEKIT_LOAD_PLUGINS to a comma-separated list of entry-point names to load only those
third-party plugins (an empty value loads none); built-ins always load.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy

from themekit.plugins import hookspecs
from themekit.errors import PluginError
from themekit.plugins.types import Detector, EvidenceSource, RegisteredCodebook, TierRuleType

ENTRY_POINT_GROUP = "themekit"
LOAD_PLUGINS_ENV = "THEMEKIT_LOAD_PLUGINS"
DEFAULT_PLUGINS = {f"default.{name}": f"themekit.plugins.default.{name}"
                   for name in ("codebooks", "patterns", "privacy", "tier_rules")}
"""The built-in plugins, by plugin name (as `themekit plugins` lists them) and module."""

T = TypeVar("T")
_DISTRIBUTIONS: dict[str, tuple[str, str]] = {}
_OWNERS: dict[tuple[str, str], str] = {}  # (hook, registered name) -> plugin name


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("themekit")
    pm.add_hookspecs(hookspecs)
    for name, module_name in DEFAULT_PLUGINS.items():
        pm.register(importlib.import_module(module_name), name=name)
    allowed = _allowed_plugins()
    installed = list(entry_points(group=ENTRY_POINT_GROUP))
    names = {ep.name for ep in installed}
    unknown = sorted((allowed or set()) - names)
    if unknown:  # a misspelled name would silently load nothing
        raise PluginError(f"{LOAD_PLUGINS_ENV} names {', '.join(map(repr, unknown))}, which no "
                          f"installed plugin provides (installed: "
                          f"{', '.join(sorted(names)) or 'none'})")
    for ep in installed:
        if (allowed is not None and ep.name not in allowed) or pm.get_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"plugin '{ep.name}' ({ep.value}) failed to load: {exc}") from exc
        try:
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as exc:  # a hook with the wrong arguments
            # pluggy's message spans three lines and names the plugin again
            detail = " ".join(str(exc).split()).removeprefix(f"Plugin '{ep.name}' ")
            raise PluginError(f"plugin '{ep.name}' ({ep.value}): {detail}") from exc
        if ep.dist is not None:
            _DISTRIBUTIONS[ep.name] = (ep.dist.name, ep.dist.version)
    try:
        pm.check_pending()  # a misspelled hook name would otherwise be silently ignored
    except pluggy.PluginValidationError as exc:
        raise PluginError(_unknown_hook(pm.get_name(exc.plugin), str(exc))) from exc
    return pm


def _unknown_hook(plugin: str, message: str) -> str:
    """pluggy's "unknown hook 'x' in plugin <module ...>", as one line with the hook the
    plugin most likely meant."""
    found = re.search(r"unknown hook '(\w+)'", message)
    if found is None:
        return f"plugin '{plugin}': {' '.join(message.split())}"
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    close = difflib.get_close_matches(found[1], hooks, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known hooks: {', '.join(hooks)}"
    return f"plugin '{plugin}': unknown hook '{found[1]}'; {hint}"


def reset_plugin_caches() -> None:
    """Forget what plugins registered (tests call this after adding a throwaway plugin)."""
    for fn in (registered_codebooks, registered_detectors, registered_tier_rules,
               registered_evidence_sources):
        fn.cache_clear()


def _collect(hook_name: str, key: Callable[[T], str]) -> dict[str, T]:
    """Call one registration hook plugin by plugin, so an error names the plugin at fault.
    Plugins are called in the order they were registered (built-ins first), so a name
    registered twice is blamed on the later plugin."""
    pm = get_plugin_manager()
    found: dict[str, T] = {}
    owner: dict[str, str] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        added: list[T] = []
        try:
            impl.function(added.append)
        except Exception as exc:
            raise PluginError(f"plugin '{impl.plugin_name}' raised in {hook_name}: {exc}") from exc
        for item in added:
            name = key(item)
            if name in found:
                raise PluginError(
                    f"plugin '{impl.plugin_name}' registers '{name}' in {hook_name}, which plugin "
                    f"'{owner[name]}' already registered"
                )
            found[name] = item
            owner[name] = impl.plugin_name
    _OWNERS.update({(hook_name, name): plugin for name, plugin in owner.items()})
    return found


def plugin_of(hook_name: str, name: str) -> str:
    """The plugin that registered `name` through `hook_name`, for error messages."""
    return _OWNERS.get((hook_name, name), "unknown")


_HOOK_OF_KIND = {"detector": "register_detectors", "evidence source": "register_evidence_sources",
                 "rule type": "register_tier_rules"}


def plugin_error(kind: str, name: str, exc: Exception, what: str) -> PluginError:
    """One line naming what a plugin registered, the plugin, and what went wrong in it:
    `detector 'x' (plugin 'p') failed on a document: KeyError: 'y'`."""
    return PluginError(f"{kind} '{name}' (plugin '{plugin_of(_HOOK_OF_KIND[kind], name)}') "
                       f"{what}: {type(exc).__name__}: {exc}")


@cache
def registered_codebooks() -> dict[str, RegisteredCodebook]:
    return _collect("register_codebooks", lambda c: c.name)


@cache
def registered_detectors() -> dict[str, Detector]:
    return _collect("register_detectors", lambda d: d.name)


@cache
def registered_tier_rules() -> dict[str, TierRuleType]:
    return _collect("register_tier_rules", lambda r: r.type)


@cache
def registered_evidence_sources() -> dict[str, EvidenceSource]:
    return _collect("register_evidence_sources", lambda s: s.name)


def describe_registered() -> list[tuple[str, str, str]]:
    """Kind, name and description of everything the plugins registered: the names that
    codebooks (`detectors:`, `rules:`) and `--codebook` can use."""
    return [
        *(("codebook", c.name, c.description) for c in registered_codebooks().values()),
        *(("detector", d.name, d.description) for d in registered_detectors().values()),
        *(("tier rule", r.type, r.description) for r in registered_tier_rules().values()),
        *(("evidence source", e.name, e.description)
          for e in registered_evidence_sources().values()),
    ]


def describe_plugins() -> list[dict[str, Any]]:
    """Name, package, version and hooks of every loaded plugin, for `themekit plugins`."""
    from themekit import __version__

    pm = get_plugin_manager()
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        package, version = _DISTRIBUTIONS.get(name, ("themekit", __version__))
        rows.append({
            "name": name,
            "builtin": name in DEFAULT_PLUGINS,
            "package": package,
            "version": version,
            "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
        })
    return rows
