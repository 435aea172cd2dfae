"""Statistics of the benchmark harness: median, IQR, ratio CI, noise check."""

from __future__ import annotations

import numpy as np
import pytest

from engine.bench import stats


def test_median_and_iqr_of_known_samples():
    samples = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert stats.median(samples) == 5
    assert stats.iqr(samples) == (3.0, 7.0)
    assert stats.median_of_medians([[1, 2, 3], [10, 11, 12], [4, 5, 6]]) == 5


def test_clearly_different_distributions_are_significant():
    rng = np.random.default_rng(1)
    fast = [list(rng.normal(10, 0.3, 50)) for _ in range(3)]
    slow = [list(rng.normal(20, 0.6, 50)) for _ in range(3)]
    ratio = stats.ratio_of_medians(fast, slow)
    assert ratio.significant
    assert 0.45 < ratio.low <= ratio.ratio <= ratio.high < 0.55
    text = ratio.describe("A", "B")
    assert "A is faster" in text and "no significant" not in text


def test_same_distribution_gives_no_significant_difference():
    rng = np.random.default_rng(2)
    a = [list(rng.normal(10, 1.0, 40))]
    b = [list(rng.normal(10, 1.0, 40))]
    ratio = stats.ratio_of_medians(a, b)
    assert ratio.low < 1.0 < ratio.high
    assert not ratio.significant
    assert ratio.describe("A", "B").startswith("no significant difference")


def test_ratio_is_deterministic_for_rendering():
    a, b = [[1.0, 1.1, 0.9, 1.05]], [[2.0, 2.1, 1.9]]
    assert stats.ratio_of_medians(a, b) == stats.ratio_of_medians(a, b)


def test_ratio_rejects_empty_sides():
    with pytest.raises(ValueError):
        stats.ratio_of_medians([], [[1.0]])
    with pytest.raises(ValueError):
        stats.ratio_of_medians([[1.0]], [[]])


def test_noise_threshold_is_five_percent():
    assert not stats.is_noisy(100.0, 104.9)
    assert stats.is_noisy(100.0, 105.1)
    assert stats.is_noisy(105.1, 100.0)  # symmetric


def _run(median_ms, noise):
    return {"framework": "tf", "mode": "function", "batch_size": 128, "width": 1, "ok": True,
            "noise_check": noise, "result": {"samples_ns": [int(median_ms * 1e6)] * 3}}


def test_noise_check_compares_median_of_medians_on_both_sides():
    from engine.bench import summarize

    regular = [_run(m, False) for m in (10.0, 10.2, 13.0)]  # median 10.2
    steady = {"runs": regular + [_run(m, True) for m in (9.9, 10.4, 13.4)]}  # median 10.4
    [check] = summarize.noise_checks(steady)
    assert check["processes"] == (3, 3) and check["second_ms"] == 10.4 and not check["noisy"]
    assert check["ranges_ms"] == ((10.0, 13.0), (9.9, 13.4))  # the spread of process medians, each side
    drifted = {"runs": regular + [_run(m, True) for m in (11.0, 11.5, 9.0)]}  # median 11.0: 7.8 % apart
    assert summarize.noise_checks(drifted)[0]["noisy"]
