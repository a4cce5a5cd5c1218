"""The plugin registry: built-in plugins plus the `themekit` entry-point group.

Built-ins register through the same hooks as third-party plugins. Set
THEMEKIT_LOAD_PLUGINS to a comma-separated list of entry-point names to load only those
third-party plugins (an empty value loads none); built-ins always load.

One `PluginRegistry`, `REGISTRY`, holds the plugin manager and what the plugins registered,
loaded on first use; `REGISTRY.reset()` forgets it all (tests, after registering a
throwaway plugin or changing THEMEKIT_LOAD_PLUGINS).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
import re
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy

from themekit.errors import PluginError
from themekit.plugins import hookspecs
from themekit.plugins.types import Detector, EvidenceSource, RegisteredCodebook, TierRuleType

ENTRY_POINT_GROUP = "themekit"
LOAD_PLUGINS_ENV = "THEMEKIT_LOAD_PLUGINS"
DEFAULT_PLUGINS = {f"default.{name}": f"themekit.plugins.default.{name}"
                   for name in ("codebooks", "patterns", "privacy", "tier_rules")}
"""The built-in plugins, by plugin name (as `themekit plugins` lists them) and module."""

T = TypeVar("T")


class PluginRegistry:
    """The plugin manager and everything the plugins registered, each hook's registrations
    collected once and kept with the plugin that made each one (for error messages)."""

    def __init__(self) -> None:
        self._manager: pluggy.PluginManager | None = None
        self._collected: dict[str, dict[str, Any]] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self._distributions: dict[str, tuple[str, str]] = {}

    @property
    def manager(self) -> pluggy.PluginManager:
        """The plugin manager, with the built-ins and the installed plugins loaded."""
        if self._manager is None:
            self._manager = self._load()
        return self._manager

    @property
    def loaded(self) -> bool:
        """Whether the plugins are loaded (loading imports spaCy: seconds)."""
        return self._manager is not None

    def reset(self) -> None:
        """Forget the loaded plugins and what they registered; the next use loads again.
        A plugin registered directly on `manager` is kept until `forget_registrations`."""
        self._manager = None
        self.forget_registrations()

    def forget_registrations(self) -> None:
        """Collect every hook's registrations anew on next use (after a plugin was
        registered on, or removed from, `manager`)."""
        self._collected.clear()
        self._owners.clear()

    @contextlib.contextmanager
    def registered(self, plugin: object, name: str) -> Iterator[None]:
        """`plugin` registered under `name` for the duration of a block (a plugin's test),
        unless a plugin of that name is loaded already (installed through its entry point)."""
        if self.manager.get_plugin(name) is not None:
            yield
            return
        self.manager.register(plugin, name=name)
        self.forget_registrations()
        try:
            yield
        finally:
            self.manager.unregister(name=name)
            self.forget_registrations()

    def collect(self, hook_name: str, key: Callable[[T], str]) -> dict[str, T]:
        """What the plugins register through one hook, by name (`key` gives the name)."""
        if hook_name not in self._collected:
            self._collected[hook_name] = self._call_hook(hook_name, key)
        return self._collected[hook_name]

    def owner(self, hook_name: str, name: str) -> str:
        """The plugin that registered `name` through `hook_name`, for error messages."""
        return self._owners.get((hook_name, name), "unknown")

    def distribution(self, plugin_name: str) -> tuple[str, str] | None:
        """The package and version an installed plugin came from (None for built-ins and
        plugins registered directly)."""
        self.manager
        return self._distributions.get(plugin_name)

    def _call_hook(self, hook_name: str, key: Callable[[T], str]) -> dict[str, T]:
        """Call one registration hook plugin by plugin, so an error names the plugin at
        fault. Plugins are called in the order they were registered (built-ins first), so a
        name registered twice is blamed on the later plugin."""
        found: dict[str, T] = {}
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            added: list[T] = []
            try:
                impl.function(added.append)
            except Exception as exc:
                raise PluginError(f"plugin '{impl.plugin_name}' raised in {hook_name}: "
                                  f"{exc}") from exc
            for item in added:
                name = key(item)
                if name in found:
                    raise PluginError(
                        f"plugin '{impl.plugin_name}' registers '{name}' in {hook_name}, which "
                        f"plugin '{self.owner(hook_name, name)}' already registered")
                found[name] = item
                self._owners[(hook_name, name)] = impl.plugin_name
        return found

    def _load(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager("themekit")
        pm.add_hookspecs(hookspecs)
        for name, module_name in DEFAULT_PLUGINS.items():
            pm.register(importlib.import_module(module_name), name=name)
        allowed = _allowed_plugins()
        installed = list(entry_points(group=ENTRY_POINT_GROUP))
        names = {ep.name for ep in installed}
        unknown = sorted((allowed or set()) - names)
        if unknown:  # a misspelled name would silently load nothing
            raise PluginError(f"{LOAD_PLUGINS_ENV} names {', '.join(map(repr, unknown))}, which "
                              f"no installed plugin provides (installed: "
                              f"{', '.join(sorted(names)) or 'none'})")
        for ep in installed:
            if (allowed is not None and ep.name not in allowed) or pm.get_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin '{ep.name}' ({ep.value}) failed to load: "
                                  f"{exc}") from exc
            try:
                pm.register(plugin, name=ep.name)
            except pluggy.PluginValidationError as exc:  # a hook with the wrong arguments
                # pluggy's message spans three lines and names the plugin again
                detail = " ".join(str(exc).split()).removeprefix(f"Plugin '{ep.name}' ")
                raise PluginError(f"plugin '{ep.name}' ({ep.value}): {detail}") from exc
            if ep.dist is not None:
                self._distributions[ep.name] = (ep.dist.name, ep.dist.version)
        try:
            pm.check_pending()  # a misspelled hook name would otherwise be silently ignored
        except pluggy.PluginValidationError as exc:
            raise PluginError(_unknown_hook(pm.get_name(exc.plugin), str(exc))) from exc
        return pm


REGISTRY = PluginRegistry()


def third_party_installed() -> bool:
    """Whether any plugin is installed through the `themekit` entry-point group (a quick
    look at package metadata, without loading any plugin)."""
    return bool(entry_points(group=ENTRY_POINT_GROUP))


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


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


_HOOK_OF_KIND = {"detector": "register_detectors", "evidence source": "register_evidence_sources",
                 "rule type": "register_tier_rules"}


def plugin_error(kind: str, name: str, exc: Exception, what: str) -> PluginError:
    """One line naming what a plugin registered, the plugin, and what went wrong in it:
    `detector 'x' (plugin 'p') failed on a document: KeyError: 'y'`."""
    return PluginError(f"{kind} '{name}' (plugin '{REGISTRY.owner(_HOOK_OF_KIND[kind], name)}') "
                       f"{what}: {type(exc).__name__}: {exc}")


def registered_codebooks() -> dict[str, RegisteredCodebook]:
    return REGISTRY.collect("register_codebooks", lambda c: c.name)


def registered_detectors() -> dict[str, Detector]:
    return REGISTRY.collect("register_detectors", lambda d: d.name)


def registered_tier_rules() -> dict[str, TierRuleType]:
    return REGISTRY.collect("register_tier_rules", lambda r: r.type)


def registered_evidence_sources() -> dict[str, EvidenceSource]:
    return REGISTRY.collect("register_evidence_sources", lambda s: s.name)


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

    pm = REGISTRY.manager
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        package, version = REGISTRY.distribution(name) or ("themekit", __version__)
        rows.append({
            "name": name,
            "builtin": name in DEFAULT_PLUGINS,
            "package": package,
            "version": version,
            "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
        })
    return rows
