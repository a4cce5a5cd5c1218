"""Shared fixtures: the real corpus beside the repo (optional) and throwaway plugins."""

from __future__ import annotations

import contextlib
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


@pytest.fixture(autouse=True, scope="session")
def built_in_plugins_only():
    """Tests see the built-in plugins alone, whatever else is installed here (a Presidio
    bridge, a colleague's plugin), unless a test registers one, as simonw/llm's do."""
    from themekit.plugins import LOAD_PLUGINS_ENV, REGISTRY

    before = os.environ.get(LOAD_PLUGINS_ENV)
    os.environ[LOAD_PLUGINS_ENV] = ""
    REGISTRY.reset()
    yield
    if before is None:
        del os.environ[LOAD_PLUGINS_ENV]
    else:
        os.environ[LOAD_PLUGINS_ENV] = before
    REGISTRY.reset()


@pytest.fixture
def register_plugin():
    """Register throwaway plugin objects for one test, then remove them again."""
    from themekit.plugins import REGISTRY

    with contextlib.ExitStack() as stack:
        yield lambda plugin, name: stack.enter_context(REGISTRY.registered(plugin, name))
