"""Inter-coder agreement between coding sheets, per tier and per code, with bootstrap intervals.

Each sheet is one coder. An exclusive tier is one nominal variable (its code) and, per code,
one binary variable (that code or not); a multi tier gives one binary variable per code,
leaf codes as coded and parents derived from their children, plus the share of items whose
whole set of codes matches; each privacy flag is a binary variable too. Statistics come
from scikit-learn (Cohen's kappa, exactly two coders) and the `krippendorff` package (alpha,
nominal, any number of coders, missing codings allowed). Only coded items count (see
themekit.io.sheets); an item needs at least two coders to say anything about agreement, and
the items with fewer are counted as dropped.

Intervals are percentile bootstrap intervals over items: items are resampled with
replacement (seeded), each statistic is recomputed, and the 2.5th and 97.5th percentiles of
the replicates where it is defined are reported.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
from rich.table import Table
from sklearn.metrics import cohen_kappa_score

from themekit.errors import InputError, SettingError
from themekit.codebook import Codebook
from themekit.io.records import AtomicWriter
from themekit.io.sheets import (
    SheetItem,
    blank_item,
    read_sheet,
    read_texts,
    write_sheet,
)

FLAGS = "flags"
Value = Any  # a code, 0/1, or a frozenset of codes; None when the coder did not code the item


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None = None
    high: float | None = None

    def to_json(self) -> dict[str, float | None]:
        """Rounded to 4 places here only: the table rounds the same values to 3, once."""
        return {"value": _round(self.value), "ci95": [_round(self.low), _round(self.high)]}


@dataclass
class VariableAgreement:
    """Agreement on one variable: a tier (nominal or exact set) or one code (binary)."""

    tier: str
    code: str | None
    kind: str
    n_items: int
    n_dropped: int
    percent: Estimate
    kappa: Estimate
    alpha: Estimate

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("percent", "kappa", "alpha")}
        out.update(percent=self.percent.to_json(), kappa=self.kappa.to_json(),
                   alpha=self.alpha.to_json())
        return out


@dataclass
class AgreementResult:
    codebook: str
    coders: list[str]
    files: list[str]
    coded: dict[str, int]
    """coder -> coded items in that coder's sheet."""
    rows_read: dict[str, int]
    items: int
    """Items coded by at least one coder."""
    pairs: dict[str, int]
    """'a & b' -> items both coded."""
    bootstrap: int
    seed: int
    variables: list[VariableAgreement] = field(default_factory=list)
    disagreements: int = 0
    """Items on which the coders differ in at least one tier or in the flags."""

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "variables"}
        out["variables"] = [v.to_json() for v in self.variables]
        return out


def load_codings(
    paths: Sequence[str | Path], codebook: Codebook
) -> tuple[dict[str, dict[str, SheetItem]], dict[str, int]]:
    """coder label -> id -> coded item, one coder per sheet (label: the file name), and the
    number of rows each sheet holds, coded or not."""
    if len(paths) < 2:
        raise InputError("agreement needs at least two coding sheets")
    codings: dict[str, dict[str, SheetItem]] = {}
    rows: dict[str, int] = {}
    for label, path in zip(_labels([Path(p) for p in paths]), paths):
        items = read_sheet(path, codebook)
        rows[label] = len(items)
        codings[label] = {item.id: item for item in items if item.is_coded(codebook)}
        if not codings[label]:
            raise InputError(f"{path}: no coded items (an item is coded once every exclusive "
                             "tier has a code)")
    return codings, rows


def measure_agreement(
    paths: Sequence[str | Path],
    codebook: Codebook,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[AgreementResult, dict[str, dict[str, SheetItem]]]:
    """Agreement per tier and per code between the coders of `paths` (one sheet each)."""
    if n_bootstrap < 0:
        raise SettingError("bootstrap", "must be 0 (no intervals) or more")
    codings, rows_read = load_codings(paths, codebook)
    coders = list(codings)
    ids = list(dict.fromkeys(i for items in codings.values() for i in items))
    result = AgreementResult(
        codebook=codebook.ref,
        coders=coders,
        files=[str(p) for p in paths],
        coded={c: len(items) for c, items in codings.items()},
        rows_read=rows_read,
        items=len(ids),
        pairs={f"{a} & {b}": len(codings[a].keys() & codings[b].keys())
               for a, b in combinations(coders, 2)},
        bootstrap=n_bootstrap,
        seed=seed,
    )
    if not any(result.pairs.values()):
        raise InputError("no item was coded by two coders; check that the sheets share ids")
    for tier_id, code, kind, get in _variables(codebook):
        matrix = [[get(codings[c][i]) if i in codings[c] else None for i in ids] for c in coders]
        result.variables.append(_agreement(tier_id, code, kind, matrix, n_bootstrap, seed))
    result.disagreements = len(find_disagreements(codings, codebook))
    return result, codings


def find_disagreements(
    codings: dict[str, dict[str, SheetItem]], codebook: Codebook
) -> list[tuple[str, list[str]]]:
    """(id, tiers (and 'flags') the coders differ on), for items two or more coders coded."""
    ids = list(dict.fromkeys(i for items in codings.values() for i in items))
    out = []
    for item_id in ids:
        items = [coded[item_id] for coded in codings.values() if item_id in coded]
        if len(items) < 2:
            continue
        tiers = [t.id for t in codebook.tiers
                 if len({_tier_value(it, t.id) for it in items}) > 1]
        if len({it.flags for it in items}) > 1:
            tiers.append(FLAGS)
        if tiers:
            out.append((item_id, tiers))
    return out


def adjudication_sheet(
    codings: dict[str, dict[str, SheetItem]], codebook: Codebook
) -> list[dict[str, Any]]:
    """Rows for the items the coders differ on: a blank sheet row plus each coder's codes."""
    rows = []
    for item_id, tiers in find_disagreements(codings, codebook):
        items = {c: coded[item_id] for c, coded in codings.items() if item_id in coded}
        text = next((it.text for it in items.values() if it.text is not None), None)
        row: dict[str, Any] = {"id": item_id, "text": text}
        for tier in codebook.tiers:
            row[tier.id] = [] if tier.kind == "multi" else None
        row.update(flags=[], coder=None, disagree_on=tiers, coders={
            coder: {**{t.id: _json_value(it.codes[t.id]) for t in codebook.tiers},
                    "flags": list(it.flags)}
            for coder, it in items.items()
        })
        rows.append(row)
    return rows


def write_adjudication_sheet(
    path: str,
    codings: dict[str, dict[str, SheetItem]],
    codebook: Codebook,
    corpus: str | None = None,
) -> int:
    """Write the disagreements as a sheet ready for `themekit code`; returns how many.

    `corpus` fills in the comment text where no coder's sheet carried it (gold files
    often hold codes only)."""
    rows = adjudication_sheet(codings, codebook)
    missing = {row["id"] for row in rows if row["text"] is None}
    texts = read_texts(corpus, missing) if corpus and missing else {}
    items = [replace(blank_item(row["id"], row["text"] or texts.get(row["id"]), codebook),
                     data=row) for row in rows]
    write_sheet(path, items, codebook)
    return len(items)


def write_json(result: AgreementResult, path: str) -> None:
    with AtomicWriter(path) as writer:
        writer.stream.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")


def agreement_table(result: AgreementResult) -> Table:
    """The figures as a rich table: a row per tier, then a row per code (indented)."""
    title = (f"Agreement between {', '.join(result.coders)} ({result.codebook}); "
             f"95% bootstrap intervals over items ({result.bootstrap} resamples, "
             f"seed {result.seed})")
    table = Table(title=title, title_justify="left")
    table.add_column("tier / code", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("items", justify="right")
    table.add_column("dropped", justify="right")
    for column in ("agreement %", "Cohen's kappa", "Krippendorff's alpha"):
        table.add_column(column, no_wrap=True)
    for v in result.variables:
        name = f"[bold]{v.tier}[/]" if v.code is None else f"  {v.code}"
        table.add_row(name, v.kind, str(v.n_items), str(v.n_dropped),
                      _fmt(v.percent, percent=True), _fmt(v.kappa), _fmt(v.alpha))
    return table


Variable = tuple[str, str | None, str, Callable[[SheetItem], Value]]
"""(tier, code or None for the tier itself, kind, how to read the value off an item)."""


def _variables(codebook: Codebook) -> list[Variable]:
    out: list[Variable] = []
    for tier in codebook.tiers:
        if tier.kind == "exclusive":
            out.append((tier.id, None, "nominal", lambda it, t=tier.id: it.codes[t]))
            for code in tier.codes:
                out.append((tier.id, code, "binary",
                            lambda it, t=tier.id, c=code: int(it.codes[t] == c)))
        else:
            out.append((tier.id, None, "exact set", lambda it, t=tier.id: _tier_value(it, t)))
            for code in tier.codes:
                out.append((tier.id, code, "binary", lambda it, t=tier.id, c=code: int(
                    c in codebook.with_ancestors(it.codes[t] or ()))))
    if codebook.detectors:
        out.append((FLAGS, None, "exact set", lambda it: it.flags))
    for flag in codebook.detectors:
        out.append((FLAGS, flag, "binary", lambda it, f=flag: int(f in it.flags)))
    return out


def _tier_value(item: SheetItem, tier_id: str) -> Value:
    value = item.codes[tier_id]
    return frozenset(value) if isinstance(value, tuple) else value


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _agreement(tier: str, code: str | None, kind: str, matrix: list[list[Value]],
               n_bootstrap: int, seed: int) -> VariableAgreement:
    categories = {v: i for i, v in enumerate(sorted(
        {v for row in matrix for v in row if v is not None}, key=repr))}
    data = np.array([[np.nan if v is None else categories[v] for v in row] for row in matrix],
                    dtype=float)
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    data = data[:, pairable]
    n = data.shape[1]
    # items x categories: how many coders gave each value (what alpha is computed from)
    counts = np.stack([(data == v).sum(axis=0) for v in range(len(categories))], axis=1)
    agree = counts.max(axis=1, initial=0) == counts.sum(axis=1)
    with_alpha = kind != "exact set"
    two_coders = with_alpha and data.shape[0] == 2
    point = {"percent": float(agree.mean()) if n else float("nan")}
    if with_alpha:
        point["alpha"] = _alpha(counts)
    if two_coders:
        point["kappa"] = _kappa(data, len(categories))
    replicates: dict[str, np.ndarray] = {}
    if n and n_bootstrap:
        samples = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
        replicates["percent"] = agree[samples].mean(axis=1)
        if with_alpha:
            replicates["alpha"] = np.array([_alpha(counts[sample]) for sample in samples])
        if two_coders:
            replicates["kappa"] = kappa_replicates(data, samples, len(categories))

    def estimate(name: str) -> Estimate:
        if name not in point or np.isnan(point[name]):
            return Estimate(None)
        values = replicates.get(name, np.array([]))
        values = values[~np.isnan(values)]
        if not len(values):
            return Estimate(float(point[name]))
        low, high = np.percentile(values, [2.5, 97.5])
        return Estimate(float(point[name]), float(low), float(high))

    return VariableAgreement(tier, code, kind, n, len(pairable) - n, estimate("percent"),
                             estimate("kappa"), estimate("alpha"))


def _kappa(data: np.ndarray, n_categories: int) -> float:
    both = ~np.isnan(data).any(axis=0)
    if not both.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(data[0, both].astype(int), data[1, both].astype(int),
                                       labels=list(range(n_categories))))


def kappa_replicates(data: np.ndarray, samples: np.ndarray, n_categories: int) -> np.ndarray:
    """Cohen's kappa for every bootstrap resample at once (rows of `samples` index items).

    The same statistic as `cohen_kappa_score` (tests hold them equal), computed from one
    contingency table per resample, because a thousand calls to scikit-learn per code take
    a minute where this takes milliseconds. Undefined resamples (one category only) are NaN.
    """
    both = ~np.isnan(data).any(axis=0)
    cells = np.where(both, np.nan_to_num(data[0]) * n_categories + np.nan_to_num(data[1]), -1)
    drawn = cells[samples].astype(int)
    n_cells = n_categories * n_categories
    offsets = np.arange(len(samples))[:, None] * n_cells
    counts = np.bincount((drawn + offsets)[drawn >= 0], minlength=len(samples) * n_cells)
    tables = counts.reshape(len(samples), n_categories, n_categories).astype(float)
    totals = tables.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.trace(tables, axis1=1, axis2=2) / totals
        expected = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1) / totals**2
        kappa = (observed - expected) / (1 - expected)
    return np.where(np.isclose(expected, 1.0), np.nan, kappa)


def _alpha(counts: np.ndarray) -> float:
    """Nominal alpha from value counts per item; NaN when undefined (one value only)."""
    if counts.shape[1] < 2 or not len(counts):
        return float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _labels(paths: list[Path]) -> list[str]:
    """Coder labels: the file names, or the paths where two names are the same. The same
    file twice would be one coder agreeing with itself, so it is an error."""
    seen: dict[Path, Path] = {}
    for path in paths:
        first = seen.setdefault(path.resolve(), path)
        if first is not path:
            raise InputError(f"{path}: given twice (as {first}); each sheet is one coder")
    stems = [p.stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [str(p) for p in paths]


def _fmt(estimate: Estimate, percent: bool = False) -> str:
    if estimate.value is None:
        return "n/a"
    scale, unit, digits = (100, "%", 1) if percent else (1, "", 3)
    text = f"{estimate.value * scale:.{digits}f}{unit}"
    if estimate.low is not None:
        text += f" [{estimate.low * scale:.{digits}f}, {estimate.high * scale:.{digits}f}]"
    return text
