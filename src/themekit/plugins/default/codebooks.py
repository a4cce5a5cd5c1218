"""Registers the codebooks shipped in the project's `codebooks/` folder by their names,
each with its default model: the `themekit train` output in `<codebook>/model/`, if any."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import srsly

from themekit import hookimpl
from themekit.plugins.types import RegisteredCodebook

MODEL_FOLDER = "model"


@hookimpl
def register_codebooks(register):
    for path in sorted(Path(str(files("themekit.codebook_files"))).glob("*.yaml")):
        header = srsly.read_yaml(path)
        model = path.with_suffix("") / MODEL_FOLDER
        register(RegisteredCodebook(str(header["name"]), path, str(header.get("description", "")),
                                    model=model if (model / "config.cfg").is_file() else None))
