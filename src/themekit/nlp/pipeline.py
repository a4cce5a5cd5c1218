"""Build the spaCy pipeline that codes documents: rules only, or a trained model directory.

Batching needs no help here: spacy-transformers already sorts each `nlp.pipe` batch by
length and cuts it into sub-batches of at most `max_batch_items` padded tokens, so
annotate's batch size is the sorting window (see docs/model.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

from themekit.codebook import COMBINE_POLICIES, Codebook
from themekit.errors import CodebookError, InputError, ModelError, SettingError
from themekit.model.card import system_label

TRANSFORMER = "transformer"


def build_pipeline(
    codebook: Codebook,
    model: str | Path | None = None,
    *,
    combine: str | None = None,
    quantize: bool = False,
    rules_only: bool = False,
) -> Language:
    """A blank English pipeline with the themekit component, or a trained model's pipeline.

    Without `model` the component codes with the codebook's default model when a plugin
    registered one with it (the built-in codebook's), else, or with `rules_only`, with
    rules alone. A trained model directory already ends in the themekit component with its
    own saved codebook; `codebook` must then agree with it by name. `combine` makes every
    code follow one policy (rules, model, either, model_unless_veto) instead of the
    codebook's own; `quantize` applies int8 dynamic quantization to the transformer.
    """
    if combine is not None and combine not in COMBINE_POLICIES:
        raise SettingError("combine", f"must be one of {', '.join(COMBINE_POLICIES)}, got {combine!r}")
    if model is None:
        nlp = spacy.blank("en")
        component = nlp.add_pipe("themekit", config={"codebook": codebook.source,
                                                      "combine": combine,
                                                      "rules_only": rules_only})
        if quantize:
            if component.default_model() is None:
                raise SettingError("quantize", f"needs a model: codebook {codebook.ref} has no "
                                   "default model; give one")
            component.quantize()
        return nlp
    if rules_only:
        raise SettingError("rules_only", "codes without a model; do not give one")
    model_dir = _model_dir(model)
    try:
        nlp = spacy.load(model_dir, config={"components": {"themekit": {"combine": combine}}})
    except CodebookError:  # a ValueError, but one that already says what is wrong
        raise
    except (OSError, ValueError) as exc:  # a part missing or damaged: spaCy names the file
        raise InputError(f"{model}: cannot load this model, is it a complete `themekit train` "
                         f"output? ({exc})") from exc
    saved = nlp.get_pipe("themekit").codebook
    if saved.name != codebook.name:
        raise ModelError(
            f"model {model} was trained for codebook '{saved.ref}', not '{codebook.ref}'"
        )
    silence_truncation_warning(nlp)
    if quantize:
        quantize_transformer(nlp)
        nlp.get_pipe("themekit").pipeline_model["int8"] = True
    return nlp


def describe_system(nlp: Language) -> str:
    """What codes with this pipeline, in a line: the model (name, codebook, hash) and the
    rules, or the rules alone."""
    component = nlp.get_pipe("themekit")
    if nlp.pipe_names[0] != "themekit":
        model = component.pipeline_model
    else:
        default = component.default_model()
        model = default.identity if default else None
    return system_label(model, component.codebook.ref)


def _model_dir(model: str | Path) -> Path:
    """A saved spaCy pipeline that ends in the themekit component, or an InputError saying
    what the folder is instead (spaCy's own errors name meta.json or config overrides)."""
    path = Path(model)
    config = path / "config.cfg"
    if not config.is_file():
        raise InputError(f"{model}: not a model directory (no config.cfg); train one with "
                         "`themekit train`")
    if "[components.themekit]" not in config.read_text(encoding="utf-8"):
        raise InputError(f"{model}: a spaCy pipeline without the themekit component; train "
                         "one with `themekit train`, or add the component before saving it")
    return path


def silence_truncation_warning(nlp: Language) -> None:
    """Long comments are cut to the tokenizer's `model_max_length` by design (spacy-
    transformers truncates after tokenizing); the tokenizer's "will result in indexing
    errors" warning about them is therefore wrong, and is marked as already shown."""
    if TRANSFORMER in nlp.pipe_names:
        warned = nlp.get_pipe(TRANSFORMER).model.tokenizer.deprecation_warnings
        warned["sequence-length-is-longer-than-the-specified-maximum"] = True


def quantize_transformer(nlp: Language) -> None:
    """Quantize the model's encoder in place for CPU inference: the fine-tuned transformer,
    or the frozen encoder of the codebook heads."""
    from themekit.model.heads import HEADS

    if TRANSFORMER in nlp.pipe_names:
        quantize_linear_layers(nlp.get_pipe(TRANSFORMER).model.transformer)
    elif HEADS in nlp.pipe_names:
        nlp.get_pipe(HEADS).quantize()
    else:
        raise ModelError("this pipeline has no transformer to quantize")


def quantize_linear_layers(module: Any) -> None:
    """Replace a torch module's Linear layers by dynamically int8-quantized ones, in place.

    CPU inference only (no training afterwards): weights are stored as int8 and activations
    quantized per batch. torch marks this eager-mode API deprecated in favour of torchao;
    it still ships and works in the pinned torch, so its warnings are silenced here.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8,
                                               inplace=True)
