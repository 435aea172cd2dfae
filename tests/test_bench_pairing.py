"""Comparisons paired by round (docs/method.md#noise-pairing), on recorded-style samples.

Each test builds the samples of two configurations round by round, as the
harness stores them, with the machine's drift written in: a slow spell that
hits both sides of a round, a steady difference under a drifting host, and
two configurations that really are the same.
"""

from __future__ import annotations

import numpy as np

from engine.bench import stats
from engine.bench import summarize as S


def _process(median_ms: float, rng, steps: int = 15, jitter: float = 0.01) -> list[float]:
    return list(median_ms * (1 + rng.normal(0, jitter, steps)))


def _rounds(ratio: float, host: list[float], seed: int = 0, jitter: float = 0.01):
    """Per round, side a at ``ratio`` times side b, both scaled by that round's host factor."""
    rng = np.random.default_rng(seed)
    return [(_process(10.0 * ratio * h, rng, jitter=jitter), _process(10.0 * h, rng, jitter=jitter)) for h in host]


# Nine rounds on a host whose speed wanders by up to 40 %, with one slow spell (round 4) at 2.5x.
DRIFTING_HOST = [1.0, 1.3, 0.9, 1.4, 2.5, 1.0, 1.2, 0.95, 1.35]


def test_a_steady_difference_under_a_drifting_host_is_decided_only_when_paired():
    pairs = _rounds(0.9, DRIFTING_HOST)
    unpaired = stats.ratio_of_medians([a for a, _ in pairs], [b for _, b in pairs])
    paired = stats.paired_ratio(pairs)
    assert not unpaired.significant  # the host's drift swamps a 10 % difference across processes
    assert paired.significant and paired.paired and paired.processes == (9, 9)
    assert 0.88 < paired.low <= paired.ratio <= paired.high < 0.92
    assert "9 paired rounds" in paired.describe("A", "B") and "A is faster" in paired.describe("A", "B")


def test_a_slow_spell_inside_one_round_does_not_decide_the_comparison():
    # Only side a of round 4 lands in the slow spell: one round's ratio is 2.5x, the others are 1.0.
    rng = np.random.default_rng(3)
    pairs = [(_process(10.0 * (2.5 if r == 4 else 1.0), rng), _process(10.0, rng)) for r in range(9)]
    ratio = stats.paired_ratio(pairs)
    assert not ratio.significant  # the median round ratio is 1.0 and the signed-rank test sees one outlier
    assert 0.98 < ratio.ratio < 1.02


def test_two_equal_configurations_are_the_same_within_a_stated_margin():
    pairs = _rounds(1.0, DRIFTING_HOST, seed=4, jitter=0.005)
    ratio = stats.paired_ratio(pairs)
    assert not ratio.significant and ratio.equivalent and ratio.decided
    assert ratio.half_width <= stats.SAME_HALF_WIDTH and ratio.same_within < 0.05
    assert "the same within" in ratio.describe("A", "B")


def test_a_wide_interval_is_neither_a_difference_nor_the_same():
    rng = np.random.default_rng(5)
    pairs = [(_process(10.0 * f, rng), _process(10.0, rng)) for f in (0.7, 1.3, 0.8, 1.25, 0.75, 1.35, 1.0)]
    ratio = stats.paired_ratio(pairs)
    assert not ratio.significant and not ratio.equivalent and not ratio.decided
    assert "the same within" not in ratio.describe("A", "B")


def test_five_paired_rounds_cannot_decide_and_six_can():
    five, six = stats.paired_ratio(_rounds(0.8, DRIFTING_HOST[:5])), stats.paired_ratio(_rounds(0.8, DRIFTING_HOST[:6]))
    assert not five.enough_processes and not five.decided and "5 paired round(s)" in five.why_not
    assert five.p_value >= 0.0625 - 1e-9  # what makes five too few: every round one way still gives this
    assert six.significant and six.p_value < stats.SIGNIFICANCE


def _row(framework: str, per_round: dict[int, list[float]], measured_at: str = "2026-12-01T00:00:00+00:00"):
    return S.TrainRow(framework=framework, mode="eager", batch_size=128, width=1, runs=list(per_round.values()),
                      first_step_s=0.1, peak_rss_mib=None, rss_growth_mib=None, params=1, peak=None,
                      carried_over=False, rounds=tuple(per_round), measured_at=measured_at)


def test_compare_pairs_rows_of_one_regen_by_round_number():
    pairs = _rounds(0.9, DRIFTING_HOST)
    a = _row("torch", {r: p[0] for r, p in enumerate(pairs)})
    # The other side's rounds listed in another order: pairing goes by round number, not position.
    b = _row("tf", {r: pairs[r][1] for r in reversed(range(len(pairs)))})
    ratio = S.compare(a, b)
    assert ratio.paired and ratio.significant and 0.88 < ratio.ratio < 0.92


def test_compare_falls_back_to_process_medians_across_regens_and_for_carried_rows():
    pairs = _rounds(0.9, DRIFTING_HOST)
    a = _row("torch", {r: p[0] for r, p in enumerate(pairs)})
    b = _row("tf", {r: p[1] for r, p in enumerate(pairs)}, measured_at="2026-11-01T00:00:00+00:00")
    assert not S.compare(a, b).paired  # round 3 of one regen is not round 3 of another
    carried = S.TrainRow(**{**a.__dict__, "rounds": ()})
    assert not S.compare(carried, _row("tf", {r: p[1] for r, p in enumerate(pairs)})).paired


def test_train_rows_record_each_runs_round_and_drop_them_for_carried_runs():
    def run(repeat, carried=False):
        record = {"framework": "tf", "mode": "function", "batch_size": 128, "width": 1, "ok": True,
                  "repeat": repeat, "result": {"samples_ns": [10**7] * 3, "params": 1, "first_step_ns": 10**9}}
        return {**record, "carried_over": True} if carried else record

    manifest = {"timestamp": "2026-12-01T00:00:00+00:00"}
    [row] = S.train_rows({"case": "headline", "manifest": manifest, "runs": [run(2), run(0), run(1)]})
    assert row.rounds == (2, 0, 1) and row.measured_at == manifest["timestamp"]
    [carried] = S.train_rows({"case": "headline", "manifest": manifest, "runs": [run(0), run(1, carried=True)]})
    assert carried.rounds == ()


def test_adjacent_correlation_sees_a_shared_host_and_not_independent_noise():
    shared = stats.adjacent_correlation(_rounds(0.9, DRIFTING_HOST))
    rng = np.random.default_rng(6)
    independent = [(_process(10.0 * rng.uniform(0.7, 1.3), rng), _process(10.0 * rng.uniform(0.7, 1.3), rng))
                   for _ in range(40)]
    assert shared > 0.95 and abs(stats.adjacent_correlation(independent)) < 0.4
