"""The model card: what a trained model directory was made from and how well it did.

`themekit train` writes `themekit-model.json` beside the spaCy pipeline so that anyone
holding the directory can tell which codebook, base model, data (by sha256), seed and
thresholds produced it, and what it scored on its dev data, without retraining.
"""

from __future__ import annotations

import hashlib
import resource
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import srsly
from rich.table import Table

from themekit.errors import InputError

CARD_FILE = "themekit-model.json"


def file_fingerprint(path: str | Path, rows: int | None = None) -> dict[str, Any]:
    """Path, size, row count (when counted) and sha256 of a data file, so a card pins its
    exact input."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    out: dict[str, Any] = {"path": str(path), "sha256": digest.hexdigest(),
                           "bytes": path.stat().st_size}
    return out if rows is None else {**out, "rows": rows}


def model_identity(model_dir: str | Path) -> dict[str, str]:
    """What every coded record says about the model that coded it: its name (the card's,
    else the folder's), the codebook version it was trained for and a sha256 over its files
    (the card aside, which records timings), so `report` and `evaluate` can tell two
    systems apart."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name != CARD_FILE):
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    card = read_card(model_dir)
    return {"name": str(card.get("name") or model_dir.resolve().name),
            "codebook": str(card.get("codebook", "")), "sha256": digest.hexdigest()}


def system_label(model: dict[str, Any] | None, codebook: str) -> str:
    """What coded a record, in words: `model NAME (sha256 1a2b3c4d5e6f) and the rules of
    CODEBOOK`, `, int8` added for a quantized model; or the rules alone."""
    if model is None:
        return f"the rules of {codebook} alone (no model)"
    digest = f"sha256 {model['sha256'][:12]}" if model.get("sha256") else "unsaved"
    return (f"model {model.get('name', '?')} ({digest}{', int8' if model.get('int8') else ''}) "
            f"and the rules of {codebook}")


def card_accuracy(card: dict[str, Any]) -> str:
    """The macro-F1 per tier a card records for its model, in a line."""
    heads = card.get("mode") == "heads"
    metrics = card["cv_metrics" if heads else "dev_metrics"]["model_tuned_thresholds"]["tiers"]
    tiers = " · ".join(f"{tier} {_fmt(m['macro_f1'])}" for tier, m in metrics.items())
    how, examples = ("cross-validated", "tuned_on") if heads else ("dev", "dev")
    return f"{how} macro-F1 {tiers} ({card['examples'][examples]} examples; its model card)"


def write_card(model_dir: str | Path, card: dict[str, Any]) -> Path:
    target = Path(model_dir) / CARD_FILE
    srsly.write_json(target, card)
    return target


def read_card(path: str | Path) -> dict[str, Any]:
    """The card of a trained model, given its directory or the card file itself."""
    target = Path(path) / CARD_FILE if Path(path).is_dir() else Path(path)
    if not target.is_file():
        raise InputError(f"{path}: no {CARD_FILE}; is this a `themekit train` model?")
    try:
        card = srsly.read_json(target)
    except (OSError, ValueError) as exc:
        raise InputError(f"{target}: cannot read model card JSON: {exc}") from exc
    if not isinstance(card, dict):
        raise InputError(f"{target}: a model card must be a JSON object")
    return card


def render_card(card: dict[str, Any]) -> Table:
    """Macro-F1 per tier for each combine policy, beside the model alone, as a table: on
    the dev data for a fine-tuned model, out of fold for heads."""
    if card.get("mode") == "heads":
        metrics = card["cv_metrics"]
        title = (f"cross-validated macro-F1 ({card['examples']['tuned_on']} examples, "
                 f"{card['folds']} folds, {_setting(card['setting'])})")
        first = "model (tuned out of fold)"
    else:
        metrics = card["dev_metrics"]
        title = (f"dev macro-F1 ({card['examples']['dev']} examples, "
                 f"best epoch {card['best_epoch']} of {card['epochs']})")
        first = "model (tuned on dev)"
    systems = {first: metrics["model_tuned_thresholds"], **metrics["by_combine_policy_crossfit"]}
    table = Table("tier", *systems, title=title, title_justify="left",
                  caption="first column: the model alone, thresholds tuned on all these scores "
                  "(optimistic); the others: the themekit component under each combine policy, "
                  "each half coded with thresholds tuned on the other half")
    for tier in metrics["model_tuned_thresholds"]["tiers"]:
        table.add_row(tier, *(_fmt(s["tiers"][tier]["macro_f1"]) for s in systems.values()))
    table.add_row("[bold]mean[/]", *(f"[bold]{_fmt(s['macro_f1'])}[/]" for s in systems.values()))
    return table


def _setting(setting: dict[str, Any]) -> str:
    words = f", words C={setting['words']:g}" if setting.get("words") is not None else ""
    return (f"C={setting['regularization']:g}, "
            f"{'balanced' if setting['balanced'] else 'unweighted'}{words}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def training_run(started: float) -> dict[str, Any]:
    """What a card records of the run that trained the model (either mode): the package
    versions, the seconds since `started` (a `time.perf_counter()`) and the peak memory."""
    versions = {}
    for package in ("themekit", "spacy", "spacy-transformers", "transformers", "torch"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "unknown"
    return {"versions": versions,
            "training_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
