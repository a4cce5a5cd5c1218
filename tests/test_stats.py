"""Shares and intervals, checked against published values."""

from __future__ import annotations

import pytest

from themekit.stats import share, wilson_interval


@pytest.mark.parametrize(
    ("count", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(count, n, low, high):
    got_low, got_high = wilson_interval(count, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_is_wider_at_higher_confidence():
    low95, high95 = wilson_interval(30, 100)
    low99, high99 = wilson_interval(30, 100, confidence=0.99)
    assert low99 < low95 < 0.3 < high95 < high99


def test_share_packages_count_and_interval():
    s = share(81, 263)
    assert s.share == pytest.approx(81 / 263)
    assert s.to_json() == {"count": 81, "n": 263, "share": pytest.approx(0.30798, abs=1e-5),
                           "ci_low": pytest.approx(0.2553, abs=5e-5),
                           "ci_high": pytest.approx(0.3662, abs=5e-5)}


def test_empty_sample_has_uninformative_interval():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert share(0, 0).share == 0.0
