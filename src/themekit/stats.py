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
    def share(self) -> float:
        return self.count / self.n if self.n else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {"count": self.count, "n": self.n, "share": self.share,
                "ci_low": self.low, "ci_high": self.high}


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


def share(count: int, n: int, confidence: float = CONFIDENCE) -> Share:
    """A count out of n with its Wilson interval."""
    low, high = wilson_interval(count, n, confidence)
    return Share(count, n, low, high)
