"""Shared fixtures: the real corpus beside the repo (optional) and throwaway plugins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import spacy

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: the real corpus is not part of the repository."""
    data = SHARED / "data"
    if not (data / "comments-10k.jsonl").is_file():
        pytest.skip("../shared/data is not present beside the repository")
    return data


@pytest.fixture(scope="session")
def nlp():
    """A rules-only pipeline with the default codebook (its shipped model stays unloaded)."""
    pipeline = spacy.blank("en")
    pipeline.add_pipe("themekit", config={"codebook": "llm-mental-health", "rules_only": True})
    return pipeline


@pytest.fixture
def register_plugin():
    """Register a throwaway plugin object for one test, then remove it again."""
    from themekit.plugins import get_plugin_manager, reset_plugin_caches

    pm = get_plugin_manager()
    names = []

    def register(plugin: object, name: str) -> None:
        pm.register(plugin, name=name)
        names.append(name)
        reset_plugin_caches()

    yield register
    for name in names:
        pm.unregister(name=name)
    reset_plugin_caches()
