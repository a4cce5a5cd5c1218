"""`themekit evaluate`: score coded comments against hand-coded gold labels.

Exclusive tiers are scored as multiclass problems, multi tiers (and privacy flags) as one
binary problem per leaf code; every metric comes from sklearn.metrics. Per-code confusion
counts (tp, fp, fn, tn) are kept so a report can correct prevalence for classifier error.
The core, `evaluate`, takes (id, Labels) pairs, so several systems can be scored against
one gold file.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)

from themekit.codebook import Codebook, Tier
from themekit.errors import InputError
from themekit.io.coded import Labels, coded_codebook, parse_labels, read_coded
from themekit.io.records import AtomicWriter, read_jsonl
from themekit.model.card import system_label

FLAGS = "flags"


@dataclass(frozen=True)
class CodeScores:
    """Scores of one code as a binary problem; None where a ratio is 0/0 (no gold and no
    predicted positives for F1, no predictions for precision, no gold positives for recall)."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    tp: int
    fp: int
    fn: int
    tn: int
    leaf: bool = True
    kappa: float | None = None


@dataclass(frozen=True)
class TierScores:
    """A tier's scores. For multi tiers, accuracy is exact match of the set of leaf codes,
    macro-F1 and kappa are means over leaf codes (kappa over the codes where it is defined),
    and micro-F1 pools every leaf code's decisions, so rare codes weigh by their frequency
    (None for exclusive tiers, where it equals accuracy)."""

    kind: str
    n: int
    accuracy: float
    macro_f1: float | None
    kappa: float | None
    codes: dict[str, CodeScores]
    micro_f1: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "accuracy": self.accuracy,
                "macro_f1": self.macro_f1, "micro_f1": self.micro_f1, "kappa": self.kappa,
                "codes": {c: _code_json(s, self.kind) for c, s in self.codes.items()}}


def _code_json(scores: CodeScores, kind: str) -> dict[str, Any]:
    out = {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1,
           "support": scores.support, "tp": scores.tp, "fp": scores.fp, "fn": scores.fn,
           "tn": scores.tn}
    if kind == "multi":
        out.update(leaf=scores.leaf, kappa=scores.kappa)
    return out


@dataclass
class Evaluation:
    codebook: str
    n: int
    n_gold: int
    missing: list[str]
    tiers: dict[str, TierScores]
    flags: TierScores | None = None
    system: str = ""
    gold: str = ""
    coded_by: dict[str, int] = field(default_factory=dict)
    """Which system coded the scored records (a model and the rules, or rules alone), so
    that `report --calibration` can tell when it corrects another system's shares."""

    def to_json(self) -> dict[str, Any]:
        return {"codebook": self.codebook, "system": self.system, "gold": self.gold,
                "coded_by": self.coded_by,
                "n": self.n, "n_gold": self.n_gold, "missing": len(self.missing),
                "missing_ids": self.missing,
                "tiers": {t: s.to_json() for t, s in self.tiers.items()},
                "flags": self.flags.to_json() if self.flags else None}


def read_gold(path: str | Path, codebook: Codebook, id_field: str = "id") -> dict[str, Labels]:
    """Gold labels by id: tier fields at the top level, parents derived, flags optional."""
    gold: dict[str, Labels] = {}
    for line_no, data in read_jsonl(path):
        where = f"{path}, line {line_no}"
        item_id = data.get(id_field)
        if not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
            raise InputError(f"{where}, field '{id_field}': missing or not a string id")
        if str(item_id) in gold:
            raise InputError(f"{where}, field '{id_field}': duplicate id {item_id!r}")
        gold[str(item_id)] = parse_labels(codebook, data, data.get(FLAGS), where)
    if not gold:
        raise InputError(f"{path}: no gold records")
    return gold


def evaluate(
    codebook: Codebook,
    system: Iterable[tuple[str, Labels]],
    gold: Mapping[str, Labels],
) -> Evaluation:
    """Score a system's labels against gold labels on the ids both have."""
    predicted: dict[str, Labels] = {}
    for item_id, labels in system:
        if item_id in predicted:
            raise InputError(f"the coded records hold gold id {item_id!r} twice; keep one "
                             "coding per comment (which one to score is not for evaluate to "
                             "guess)")
        if item_id in gold:
            predicted[item_id] = labels
    ids = [i for i in gold if i in predicted]
    if not ids:
        raise InputError(f"none of the {len(gold)} gold ids were found among the coded "
                         "records; check the id field")
    tiers = {}
    for tier in codebook.tiers:
        pairs = [(gold[i].codes[tier.id], predicted[i].codes[tier.id]) for i in ids]
        if tier.kind == "exclusive":
            tiers[tier.id] = _score_exclusive(tier, pairs)
        else:
            leaves = {c.id for c in codebook.leaf_codes(tier.id)}
            tiers[tier.id] = _score_sets(tier.kind, list(tier.codes), leaves, pairs)
    flag_ids = [i for i in ids if gold[i].flags is not None]
    flags = None
    if flag_ids:
        pairs = [(gold[i].flags, predicted[i].flags or frozenset()) for i in flag_ids]
        flags = _score_sets("multi", list(codebook.detectors), set(codebook.detectors), pairs)
    return Evaluation(codebook=codebook.ref, n=len(ids), n_gold=len(gold),
                      missing=[i for i in gold if i not in predicted], tiers=tiers, flags=flags)


def _score_exclusive(tier: Tier, pairs: list[tuple[Any, Any]]) -> TierScores:
    labels = list(tier.codes)
    y_true = [g for g, _ in pairs]
    y_pred = [p for _, p in pairs]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=np.nan)
    matrices = multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    codes = {code: _code_scores(precision[i], recall[i], f1[i], support[i], matrices[i])
             for i, code in enumerate(labels)}
    return TierScores(
        kind="exclusive", n=len(pairs), accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=_number(f1_score(y_true, y_pred, labels=labels, average="macro",
                                  zero_division=np.nan)),
        kappa=_kappa(y_true, y_pred, labels), codes=codes)


def _score_sets(kind: str, labels: list[str], leaves: set[str],
                pairs: list[tuple[frozenset[str], frozenset[str]]]) -> TierScores:
    """One binary problem per code; tier figures over leaf codes only (parents follow)."""
    y_true = np.array([[c in g for c in labels] for g, _ in pairs], dtype=int)
    y_pred = np.array([[c in p for c in labels] for _, p in pairs], dtype=int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=np.nan)
    matrices = multilabel_confusion_matrix(y_true, y_pred)
    codes = {
        code: _code_scores(precision[i], recall[i], f1[i], support[i], matrices[i],
                           leaf=code in leaves,
                           kappa=_kappa(y_true[:, i], y_pred[:, i], [0, 1]))
        for i, code in enumerate(labels)
    }
    leaf_index = [i for i, c in enumerate(labels) if c in leaves]
    kappas = [codes[labels[i]].kappa for i in leaf_index if codes[labels[i]].kappa is not None]
    return TierScores(
        kind=kind, n=len(pairs),
        accuracy=float(accuracy_score(y_true[:, leaf_index], y_pred[:, leaf_index])),
        macro_f1=_number(f1_score(y_true[:, leaf_index], y_pred[:, leaf_index], average="macro",
                                  zero_division=np.nan)),
        micro_f1=_number(f1_score(y_true[:, leaf_index], y_pred[:, leaf_index], average="micro",
                                  zero_division=np.nan)),
        kappa=float(np.mean(kappas)) if kappas else None, codes=codes)


def _code_scores(precision: float, recall: float, f1: float, support: int, matrix: np.ndarray,
                 leaf: bool = True, kappa: float | None = None) -> CodeScores:
    # sklearn's matrix is float when no prediction of a multiclass tier is right
    (tn, fp), (fn, tp) = matrix.astype(int).tolist()
    return CodeScores(_number(precision), _number(recall), _number(f1), int(support),
                      tp=tp, fp=fp, fn=fn, tn=tn, leaf=leaf, kappa=kappa)


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _kappa(y_true: Any, y_pred: Any, labels: list[Any]) -> float | None:
    """Cohen's kappa, or None where it is undefined (both sides constant and equal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(y_true, y_pred, labels=labels, replace_undefined_by=np.nan)
    return _number(value)


def evaluate_files(
    coded_path: str | Path,
    gold_path: str | Path,
    id_field: str = "id",
    codebook: str | Path | None = None,
) -> Evaluation:
    """Evaluate a coded file (output of `themekit annotate`) against a gold file."""
    book = coded_codebook(coded_path, codebook)
    gold = read_gold(gold_path, book, id_field)
    coded_by: Counter[str] = Counter()

    def system() -> Iterator[tuple[str, Labels]]:
        for record in read_coded(coded_path, book):
            item_id = record.data.get(id_field)
            if item_id is None:
                continue
            if str(item_id) in gold:
                model = record.coding.get("model")
                coded_by[system_label(model if isinstance(model, dict) else None,
                                      book.ref)] += 1
            yield str(item_id), record.labels

    result = evaluate(book, system(), gold)
    result.system, result.gold = str(coded_path), str(gold_path)
    result.coded_by = dict(coded_by.most_common())
    return result


def write_json(result: Evaluation, path: str | Path) -> None:
    """All metrics as JSON (the input of `themekit report --calibration`)."""
    with AtomicWriter(str(path)) as writer:
        writer.stream.write(json.dumps(result.to_json(), indent=2) + "\n")


def render_rich(result: Evaluation) -> RenderableType:
    """Summary per tier, then precision/recall/F1 and confusion counts per code."""
    header = Text.assemble(
        (f"{result.system or 'system'}", "bold"), " vs ", (f"{result.gold or 'gold'}", "bold"),
        f"  {result.codebook}  ", (f"{result.n} matched", "bold cyan"),
        f" of {result.n_gold} gold ids",
        (f" ({len(result.missing)} not found in the coded file)", "yellow")
        if result.missing else "")
    summary = Table("tier", "n", "accuracy", "macro-F1", "micro-F1", "kappa", title="Per tier",
                    title_justify="left", caption="multi tiers: accuracy = exact match of leaf "
                    "codes; macro-F1 and kappa = mean over leaf codes where defined; micro-F1 "
                    "= F1 of all leaf-code decisions pooled")
    detail = Table(title="Per code (n/a: 0/0, undefined)", title_justify="left")
    detail.add_column("code", overflow="fold")
    for name in ("prec", "recall", "F1", "support", "tp fp fn tn", "kappa"):
        detail.add_column(name, justify="right", no_wrap=True)
    for name, scores in [*result.tiers.items(), *([(FLAGS, result.flags)] if result.flags else [])]:
        summary.add_row(name, str(scores.n), _fmt(scores.accuracy), _fmt(scores.macro_f1),
                        "" if scores.micro_f1 is None else _fmt(scores.micro_f1),
                        _fmt(scores.kappa))
        detail.add_row(Text(name, style="bold cyan"))
        for code, s in scores.codes.items():
            label = code if s.leaf else f"{code} (parent)"
            detail.add_row(label, _fmt(s.precision), _fmt(s.recall), _fmt(s.f1), str(s.support),
                           f"{s.tp} {s.fp} {s.fn} {s.tn}",
                           _fmt(s.kappa) if scores.kind == "multi" else "")
    for column in summary.columns[1:]:
        column.justify = "right"
    systems = [Text(f"coded by {label}: {n} of the matched records")
               for label, n in result.coded_by.items()]
    return Group(header, *systems, summary, detail)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def compare_files(
    coded_paths: Sequence[str | Path],
    gold_path: str | Path,
    id_field: str = "id",
    codebook: str | Path | None = None,
) -> list[Evaluation]:
    """Evaluate several coded files of the same comments against one gold file."""
    return [evaluate_files(path, gold_path, id_field, codebook) for path in coded_paths]


def render_comparison(results: Sequence[Evaluation]) -> RenderableType:
    """Side by side: macro-F1 and kappa per tier for several coded files on one gold file
    (e.g. rules only, model only and model + rules, from `annotate --combine`)."""
    caption = "n = gold ids found in each coded file"
    if len({r.n for r in results}) > 1:
        caption += ("\n[bold yellow]warning:[/] the files hold different gold ids, so their "
                    "figures are not comparable; code the same comments with each system")
    table = Table("tier", title=f"macro-F1 / kappa against {results[0].gold}",
                  title_justify="left", caption=caption)
    for result in results:
        table.add_column(f"{result.system}\n(n={result.n})", justify="right", overflow="fold")
    for tier in results[0].tiers:
        table.add_row(tier, *(f"{_fmt(r.tiers[tier].macro_f1)} / {_fmt(r.tiers[tier].kappa)}"
                              for r in results))
    if all(r.flags for r in results):
        table.add_row(FLAGS, *(f"{_fmt(r.flags.macro_f1)} / {_fmt(r.flags.kappa)}"
                               for r in results))
    return table


def write_comparison_json(results: Sequence[Evaluation], path: str | Path) -> None:
    """Every system's metrics, in the order given, as one JSON object."""
    with AtomicWriter(str(path)) as writer:
        writer.stream.write(json.dumps({"systems": [r.to_json() for r in results]}, indent=2)
                            + "\n")
