"""Shares and intervals, checked against published values."""

from __future__ import annotations

import pytest

from themekit.analysis.stats import corrected_share, percent, rogan_gladen, share, wilson_interval


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


def test_empty_sample_has_uninformative_interval_and_no_share():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert share(0, 0).share is None  # an empty group is not 0% of anything
    assert share(0, 0).to_json() == {"count": 0, "n": 0, "share": None, "ci_low": None,
                                     "ci_high": None}


@pytest.mark.parametrize(("value", "text"), [
    (None, "n/a"), (0.0, "0.0%"), (0.0004, "<0.1%"), (0.0005, "0.1%"), (0.5, "50.0%"),
    (2999 / 3000, ">99.9%"), (0.9994, "99.9%"), (1.0, "100.0%")])
def test_percent_never_rounds_to_a_misleading_edge(value, text):
    assert percent(value) == text


def test_rogan_gladen_point_estimate():
    # (0.30 + 0.95 - 1) / (0.90 + 0.95 - 1) = 0.25 / 0.85
    assert rogan_gladen(0.30, 0.90, 0.95) == pytest.approx(0.25 / 0.85)
    assert rogan_gladen(0.30, 1.0, 1.0) == pytest.approx(0.30)  # a perfect classifier
    assert rogan_gladen(0.01, 0.90, 0.95) == 0.0  # below the false-positive floor: clipped
    assert rogan_gladen(0.99, 0.90, 0.95) == 1.0
    assert rogan_gladen(0.30, 0.40, 0.60) is None  # no better than chance


def test_corrected_share_interval_carries_evaluation_uncertainty():
    # 300 of 1000 flagged; evaluation: sens 45/50 = 0.9, spec 95/100 = 0.95
    result = corrected_share(300, 1000, tp=45, fp=5, fn=5, tn=95)
    assert result.corrected == pytest.approx(rogan_gladen(0.3, 0.9, 0.95))
    assert (result.sensitivity, result.specificity) == (0.9, 0.95)
    assert result.low < result.corrected < result.high
    # the small evaluation sample makes the interval wider than the corpus-only interval,
    # mapped through the same correction
    naive_low, naive_high = (rogan_gladen(v, 0.9, 0.95) for v in wilson_interval(300, 1000))
    assert result.high - result.low > 1.5 * (naive_high - naive_low)
    assert result == corrected_share(300, 1000, tp=45, fp=5, fn=5, tn=95)  # fixed seed


def test_corrected_share_with_a_huge_evaluation_approaches_known_accuracy():
    result = corrected_share(300, 1000, tp=900_000, fp=50_000, fn=100_000, tn=950_000)
    naive_low, naive_high = (rogan_gladen(v, 0.9, 0.95) for v in wilson_interval(300, 1000))
    assert result.low == pytest.approx(naive_low, abs=0.01)
    assert result.high == pytest.approx(naive_high, abs=0.01)


def test_corrected_share_undefined_cases_say_why():
    blind = corrected_share(30, 100, tp=0, fp=0, fn=4, tn=96)
    assert blind.corrected is None and "no better than chance" in blind.note
    no_positives = corrected_share(30, 100, tp=0, fp=2, fn=0, tn=98)
    assert no_positives.corrected is None and "no gold positives" in no_positives.note
    shaky = corrected_share(30, 100, tp=1, fp=1, fn=1, tn=3)
    assert shaky.corrected is not None
    assert (shaky.low, shaky.high) == (0.0, 1.0) and "no better than chance" in shaky.note
