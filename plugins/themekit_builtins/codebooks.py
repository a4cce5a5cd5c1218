"""Registers the codebooks shipped in the project's `codebooks/` folder by their names."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import srsly

from themekit import hookimpl
from themekit.extensions import RegisteredCodebook


@hookimpl
def register_codebooks(register):
    for path in sorted(Path(str(files("themekit_codebooks"))).glob("*.yaml")):
        header = srsly.read_yaml(path)
        register(RegisteredCodebook(str(header["name"]), path, str(header.get("description", ""))))
