"""Statistics of the benchmark harness: median, IQR, and the comparison rule of docs/method.md#noise."""

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
    fast = [list(rng.normal(10, 0.3, 50)) for _ in range(9)]
    slow = [list(rng.normal(20, 0.6, 50)) for _ in range(9)]
    ratio = stats.ratio_of_medians(fast, slow)
    assert ratio.significant and ratio.p_value < 0.001
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


def _processes(medians, steps=20, spread=0.01, seed=0):
    """One list of step times per process, centred on each given process median."""
    rng = np.random.default_rng(seed)
    return [list(rng.normal(m, m * spread, steps)) for m in medians]


def test_a_difference_inside_the_noise_band_is_not_reported():
    # Fifteen processes a side, 3.5 % apart, each side's process medians spreading about 4 %
    # (relative IQR): the interval and the rank test both exclude "the same", the band does not.
    base = list(np.linspace(9.6, 10.4, 15))
    a = _processes(base, seed=1)
    b = _processes([x * 1.035 for x in base], seed=2)
    ratio = stats.ratio_of_medians(a, b)
    assert ratio.interval_excludes_one and ratio.p_value < 0.01
    assert ratio.band > abs(ratio.ratio - 1)
    assert not ratio.significant and "noise band" in ratio.why_not


def test_a_clear_difference_beyond_the_band_is_reported():
    a = _processes([10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 10.0, 10.1], seed=3)
    b = _processes([12.0, 12.1, 11.9, 12.05, 11.95, 12.02, 11.98, 12.0, 12.1], seed=4)
    ratio = stats.ratio_of_medians(a, b)
    assert ratio.significant and ratio.p_value < 0.01 and ratio.band < 0.02
    assert "A is faster" in ratio.describe("A", "B")


def test_three_processes_a_side_are_not_enough_to_decide():
    # Three processes a side cannot reach p < 0.05 in a two-sided rank test, however clear the steps.
    a, b = _processes([10.0, 10.0, 10.0], seed=5), _processes([11.0, 11.0, 11.0], seed=6)
    ratio = stats.ratio_of_medians(a, b)
    assert ratio.interval_excludes_one and ratio.p_value >= 0.05
    assert not ratio.significant and "not decided: 3 process(es)" in ratio.why_not
    assert "not decided" in ratio.describe("A", "B")


def test_four_clearly_separated_processes_a_side_decide():
    a, b = _processes([10.0, 10.1, 9.9, 10.0], seed=5), _processes([11.0, 11.1, 10.9, 11.0], seed=6)
    ratio = stats.ratio_of_medians(a, b)
    assert ratio.processes == (4, 4) and ratio.p_value < 0.05 and ratio.significant


def test_the_rank_test_can_veto_a_narrow_interval():
    ratio = stats.Ratio(0.9, 0.85, 0.95, p_value=0.2, band=0.01, processes=(9, 9))
    assert ratio.interval_excludes_one and ratio.beyond_noise
    assert not ratio.significant and "rank test p = 0.20" in ratio.why_not


def test_a_configuration_spreading_over_ten_percent_is_unstable():
    steady = _processes([10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.3, 10.1, 9.9])
    spread = _processes([9.0, 12.0, 9.5, 12.5, 10.0, 13.0, 9.2, 12.2, 10.5])
    assert not stats.is_unstable(steady) and stats.noise_band(steady) < 0.05
    assert stats.is_unstable(spread) and stats.noise_band(spread) > stats.UNSTABLE_RIQR


def _run(median_ms, repeat):
    return {"framework": "tf", "mode": "function", "batch_size": 128, "width": 1, "ok": True,
            "repeat": repeat, "noise_check": False, "peak_rss_bytes": 2**28,
            "result": {"samples_ns": [int(median_ms * 1e6 * f) for f in (0.99, 1.0, 1.01)], "params": 34826,
                       "first_step_ns": 10**9, "rss_baseline_bytes": 2**27}}


def test_repeat_check_splits_each_configuration_into_even_and_odd_rounds():
    from engine.bench import summarize

    steady = {"case": "headline", "runs": [_run(m, r) for r, m in enumerate([10.0, 10.1, 9.9, 10.0, 10.1, 9.9, 10.0, 10.05, 9.95])]}
    [check] = summarize.repeat_checks(summarize.train_rows(steady), steady)
    assert check["processes"] == (5, 4) and not check["disagrees"]
    # The machine got 30 % slower for the odd rounds only: the configuration disagrees with itself.
    drifted = {"case": "headline", "runs": [_run(10.0 * (1.3 if r % 2 else 1.0), r) for r in range(9)]}
    assert summarize.repeat_checks(summarize.train_rows(drifted), drifted)[0]["disagrees"]
