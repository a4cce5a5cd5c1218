"""Statistics for coded corpora: shares with confidence intervals (see docs/statistics.md).

Every formula comes from scipy; this module only decides which method a report uses and
packages the result, so reports, JSON and HTML all show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Share:
    """`count` of `n` comments, with a Wilson score interval for the share."""

    count: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float | None:
        """None when there is nothing to share out (an empty group), not 0%."""
        return self.count / self.n if self.n else None

    def to_json(self) -> dict[str, float | int | None]:
        """An empty group has no share and so no interval: null, like the share."""
        return {"count": self.count, "n": self.n, "share": self.share,
                "ci_low": self.low if self.n else None, "ci_high": self.high if self.n else None}


def wilson_interval(count: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial share (scipy's `proportion_ci`).

    Chosen over the Wald interval because it stays inside [0, 1] and keeps close to its
    nominal coverage for rare codes and small groups (Newcombe 1998). With n = 0 there is
    nothing to estimate and the interval is the whole of [0, 1].
    """
    if n == 0:
        return 0.0, 1.0
    ci = binomtest(count, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def percent(value: float | None) -> str:
    """A share as a percentage that never rounds to a misleading edge: a small non-zero
    share reads "<0.1%", not "0.0%", one just under 1 reads ">99.9%", not "100.0%"."""
    if value is None:
        return "n/a"
    if 0 < value < 0.0005:
        return "<0.1%"
    if 0.9995 <= value < 1:
        return ">99.9%"
    return f"{100 * value:.1f}%"


def percent_range(low: float, high: float) -> str:
    """An interval's bounds, "12.7–14.0%", the same in every report format. Bounds round to
    one decimal: a bound of 0.0% is where an interval starts, not a share, so the edge rule
    of `percent` does not apply to it."""
    return f"{100 * low:.1f}–{100 * high:.1f}%"


def share(count: int, n: int, confidence: float = CONFIDENCE) -> Share:
    """A count out of n with its Wilson interval."""
    low, high = wilson_interval(count, n, confidence)
    return Share(count, n, low, high)


@dataclass(frozen=True)
class CorrectedShare:
    """A code's share corrected for classifier error (Rogan-Gladen), with an interval that
    carries the uncertainty of both the corpus sample and the evaluation sample.
    `corrected`, `low` and `high` are None when the correction is undefined (`note` says why)."""

    count: int
    n: int
    sensitivity: float | None
    specificity: float | None
    corrected: float | None
    low: float | None
    high: float | None
    note: str = ""

    @property
    def raw(self) -> float:
        return self.count / self.n if self.n else 0.0

    def to_json(self) -> dict[str, float | int | str | None]:
        return {"count": self.count, "n": self.n, "raw": self.raw,
                "sensitivity": self.sensitivity, "specificity": self.specificity,
                "corrected": self.corrected, "ci_low": self.low, "ci_high": self.high,
                "note": self.note}


def rogan_gladen(apparent: float, sensitivity: float, specificity: float) -> float | None:
    """Rogan & Gladen (1978): true share = (apparent + spec - 1) / (sens + spec - 1), clipped
    to [0, 1]; None when sens + spec <= 1 (the classifier is no better than chance)."""
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    return min(1.0, max(0.0, (apparent + specificity - 1) / youden))


def corrected_share(
    count: int,
    n: int,
    tp: int,
    fp: int,
    fn: int,
    tn: int,
    confidence: float = CONFIDENCE,
    draws: int = 20_000,
    seed: int = 0,
) -> CorrectedShare:
    """Rogan-Gladen share of `count`/`n`, with sensitivity and specificity from an evaluation's
    confusion counts, and a parametric-bootstrap percentile interval (docs/statistics.md).

    Each draw takes the apparent share, sensitivity and specificity from independent
    Beta(k + 1/2, n - k + 1/2) distributions (Jeffreys), so an estimate of exactly 0 or 1
    on a small gold sample still carries its uncertainty. Draws in which the classifier is
    no better than chance say nothing about the share and count as spanning all of [0, 1].
    """
    import numpy as np

    positives, negatives = tp + fn, tn + fp
    if n == 0 or positives == 0 or negatives == 0:
        missing = "comments" if n == 0 else "gold positives" if positives == 0 else "gold negatives"
        return CorrectedShare(count, n, tp / positives if positives else None,
                              tn / negatives if negatives else None, None, None, None,
                              f"no {missing}: sensitivity/specificity cannot be estimated"
                              if n else "no comments")
    sensitivity, specificity = tp / positives, tn / negatives
    point = rogan_gladen(count / n, sensitivity, specificity)
    if point is None:
        return CorrectedShare(count, n, sensitivity, specificity, None, None, None,
                              "sensitivity + specificity <= 1: no better than chance")
    rng = np.random.default_rng(seed)
    apparent = rng.beta(count + 0.5, n - count + 0.5, draws)
    sens = rng.beta(tp + 0.5, fn + 0.5, draws)
    spec = rng.beta(tn + 0.5, fp + 0.5, draws)
    youden = sens + spec - 1
    informative = youden > 0
    value = np.clip((apparent + spec - 1) / np.where(informative, youden, 1.0), 0.0, 1.0)
    tail = (1 - confidence) / 2
    low = float(np.quantile(np.where(informative, value, 0.0), tail))
    high = float(np.quantile(np.where(informative, value, 1.0), 1 - tail))
    note = "" if informative.all() else (
        f"{percent(float((~informative).mean()))} of bootstrap draws no better than chance")
    return CorrectedShare(count, n, sensitivity, specificity, point, low, high, note)
