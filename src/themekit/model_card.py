"""The model card: what a trained model directory was made from and how well it did.

`themekit train` writes `themekit-model.json` beside the spaCy pipeline so that anyone
holding the directory can tell which codebook, base model, data (by sha256), seed and
thresholds produced it, and what it scored on its dev data, without retraining.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import srsly
from rich.table import Table

from themekit.io import InputError

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
    return f"C={setting['regularization']:g}, {'balanced' if setting['balanced'] else 'unweighted'}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
