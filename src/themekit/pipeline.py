"""Build the spaCy pipeline that codes documents: rules only, or a trained model directory."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from themekit.codebook import Codebook


def build_pipeline(codebook: Codebook, model: str | Path | None = None) -> Language:
    """A blank English pipeline with the themekit component, or a trained model's pipeline.

    A trained model directory already ends in the themekit component with its own saved
    codebook; `codebook` must then agree with it by name.
    """
    if model is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("themekit", config={"codebook": codebook.source})
        return nlp
    nlp = spacy.load(model)
    saved = nlp.get_pipe("themekit").codebook
    if saved.name != codebook.name:
        raise ValueError(
            f"model {model} was trained for codebook '{saved.ref}', not '{codebook.ref}'"
        )
    return nlp
