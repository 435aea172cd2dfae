"""Summary statistics for timing samples: medians, spreads, and the comparison rule.

The rules are the site's own, on docs/method.md: keep every sample, summarize
each process by its median, combine processes by the median of their medians
(#timing), and compare two configurations by the rule of #noise: a ratio of
medians with a bootstrap confidence interval, a rank test over the process
medians, and the configurations' own noise band. A difference is reported only
when all three agree; a configuration whose process medians spread more than
10 % (relative IQR) is marked unstable. Two rows measured in the same rounds are
compared round by round instead (``paired_ratio``, #noise-pairing): a slow
spell of the host that hits both sides of a round cancels in its ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
# docs/method.md#noise-rule: below four processes a side the rank test over process medians cannot
# reach p < 0.05 at all (3 v 3: p >= 0.10); at 4 v 4 it can, when one side's all beat the other's.
MIN_PROCESSES = 4
SIGNIFICANCE = 0.05  # the rank test's two-sided level (docs/method.md#noise)
UNSTABLE_RIQR = 0.10  # process medians spreading more than this (relative IQR) mark a row unstable
# docs/method.md#noise-pairing: paired over rounds, the signed-rank test cannot reach p < 0.05 with
# five rounds (two-sided exact p >= 0.0625); with six it can (p = 0.031, every round on one side).
MIN_PAIRED_ROUNDS = 6
# A difference that is not significant but whose interval's half-width is at most this is reported
# as "the same within X %" (decided); a wider one stays undecided (docs/method.md#noise-rule).
SAME_HALF_WIDTH = 0.05


def median(samples: Sequence[float]) -> float:
    return float(np.median(np.asarray(samples, dtype=float)))


def iqr(samples: Sequence[float]) -> tuple[float, float]:
    """The 25th and 75th percentiles."""
    q1, q3 = np.percentile(np.asarray(samples, dtype=float), [25, 75])
    return float(q1), float(q3)


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=float), q))


def median_of_medians(runs: Sequence[Sequence[float]]) -> float:
    return float(np.median([median(run) for run in runs]))


def process_medians(runs: Sequence[Sequence[float]]) -> list[float]:
    return [median(run) for run in runs]


def relative_iqr(values: Sequence[float]) -> float:
    """Interquartile range over the median: how far one process's figure strays from another's.

    >>> relative_iqr([10.0, 10.0, 10.0])
    0.0
    >>> round(relative_iqr([9.0, 10.0, 11.0]), 2)
    0.1
    """
    if len(values) < 2:
        return 0.0
    q1, q3 = iqr(values)
    return (q3 - q1) / median(values)


def noise_band(runs: Sequence[Sequence[float]]) -> float:
    """A configuration's noise band: the relative IQR of its process medians (0 with under 3)."""
    return relative_iqr(process_medians(runs)) if len(runs) >= 3 else 0.0


def is_unstable(runs: Sequence[Sequence[float]]) -> bool:
    return noise_band(runs) > UNSTABLE_RIQR


def rank_test_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided Mann-Whitney U p-value over process medians; None with fewer than 2 on a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy.stats import mannwhitneyu  # scipy comes with scikit-learn; imported only when used

    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _bootstrap_medians(runs: Sequence[Sequence[float]], rng: np.random.Generator) -> np.ndarray:
    """Hierarchical bootstrap of the median of per-process medians.

    Processes are resampled, then the steps inside each; with one process
    only the steps vary, which understates machine-to-machine drift (the
    page says so for the quick profile).
    """
    per_run_arr = _resampled_process_medians(runs, rng)
    chosen = rng.integers(0, len(runs), size=(BOOTSTRAP_RESAMPLES, len(runs)))
    return np.median(np.take_along_axis(per_run_arr, chosen, axis=1), axis=1)


def _resampled_process_medians(runs: Sequence[Sequence[float]], rng: np.random.Generator) -> np.ndarray:
    """Each process's median over its steps resampled with replacement: shape (resamples, processes)."""
    per_run = []
    for run in runs:
        values = np.asarray(run, dtype=float)
        picks = rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))
        per_run.append(np.median(values[picks], axis=1))
    return np.stack(per_run, axis=1)


def median_interval(runs: Sequence[Sequence[float]], seed: int = 0) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of one configuration's median of medians.

    The same hierarchical bootstrap as the verdicts' ratio intervals (``ratio_of_medians``), so a
    chart's bars show the uncertainty the comparisons are decided on, not the steps' spread.

    >>> low, high = median_interval([[10.0, 10.2, 9.8]] * 4)
    >>> 9.8 <= low <= 10.0 <= high <= 10.2
    True
    """
    boot = _bootstrap_medians(runs, np.random.default_rng(seed))
    alpha = (1.0 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class Ratio:
    """``a / b`` as a ratio of medians; below 1.0 means ``a`` took less time.

    ``significant`` applies the rule of docs/method.md#noise: the bootstrap
    interval excludes 1.0, the rank test over process medians agrees (where
    both sides have at least two processes), and the difference is larger
    than the wider of the two configurations' noise bands.
    """

    ratio: float
    low: float
    high: float
    p_value: float | None = None
    band: float = 0.0
    processes: tuple[int, int] = (MIN_PROCESSES, MIN_PROCESSES)
    # True: from per-round paired log-ratios (``paired_ratio``), processes = (rounds, rounds)
    paired: bool = False

    @property
    def interval_excludes_one(self) -> bool:
        return not (self.low <= 1.0 <= self.high)

    @property
    def beyond_noise(self) -> bool:
        return abs(self.ratio - 1.0) > self.band

    @property
    def enough_processes(self) -> bool:
        return min(self.processes) >= (MIN_PAIRED_ROUNDS if self.paired else MIN_PROCESSES)

    @property
    def half_width(self) -> float:
        """Half the interval's width, relative to the ratio."""
        return (self.high - self.low) / 2 / self.ratio

    @property
    def same_within(self) -> float:
        """How far from 1.0 the interval reaches: the X of "the same within X %"."""
        return max(1.0 - self.low, self.high - 1.0, 0.0)

    @property
    def equivalent(self) -> bool:
        """Not a difference, and measured tightly enough to say so (docs/method.md#noise-rule)."""
        return self.enough_processes and not self.significant and self.half_width <= SAME_HALF_WIDTH

    @property
    def decided(self) -> bool:
        """Faster, slower, or the same within a stated margin: a verdict a reader can use."""
        return self.significant or self.equivalent

    @property
    def significant(self) -> bool:
        rank_ok = self.p_value is None or self.p_value < SIGNIFICANCE
        return self.enough_processes and self.interval_excludes_one and rank_ok and self.beyond_noise

    @property
    def why_not(self) -> str:
        """Which part of the rule a non-significant difference failed."""
        if not self.enough_processes:
            if self.paired:
                return (f"not decided: {min(self.processes)} paired round(s), the rule needs "
                        f"{MIN_PAIRED_ROUNDS}")
            return (f"not decided: {min(self.processes)} process(es) on one side, the rule needs "
                    f"{MIN_PROCESSES}")
        if not self.interval_excludes_one:
            return "the interval includes 1.0"
        if self.p_value is not None and self.p_value >= SIGNIFICANCE:
            if self.paired:  # three decimals: 0.055 is not 0.05
                return f"signed-rank test p = {self.p_value:.3f}"
            return f"rank test p = {self.p_value:.2f}"
        if not self.beyond_noise:
            return f"within the {100 * self.band:.1f} % noise band"
        return ""

    def describe(self, name_a: str, name_b: str) -> str:
        interval = f"95% CI {self.low:.2f}–{self.high:.2f}" + (
            f", {self.processes[0]} paired rounds" if self.paired else "")
        if not self.significant:
            same = f": the same within {100 * self.same_within:.1f} %" if self.equivalent else ""
            return (f"no significant difference{same} ({name_a} takes {self.ratio:.2f}x the time of {name_b}, "
                    f"{interval}; {self.why_not})")
        faster = name_a if self.ratio < 1.0 else name_b
        return f"{name_a} takes {self.ratio:.2f}x the time of {name_b} ({interval}): {faster} is faster"


def ratio_of_medians(
    runs_a: Sequence[Sequence[float]], runs_b: Sequence[Sequence[float]], seed: int = 0
) -> Ratio:
    """Ratio of medians of medians with a percentile-bootstrap CI, rank test and noise band.

    The seed is fixed so that the same results always render the same bytes.
    """
    if not runs_a or not runs_b or not all(len(r) for r in runs_a) or not all(len(r) for r in runs_b):
        raise ValueError("both sides need at least one run with samples")
    rng = np.random.default_rng(seed)
    boot = _bootstrap_medians(runs_a, rng) / _bootstrap_medians(runs_b, rng)
    alpha = (1.0 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return Ratio(median_of_medians(runs_a) / median_of_medians(runs_b), float(low), float(high),
                 p_value=rank_test_p(process_medians(runs_a), process_medians(runs_b)),
                 band=max(noise_band(runs_a), noise_band(runs_b)), processes=(len(runs_a), len(runs_b)))


def signed_rank_p(log_ratios: Sequence[float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of paired log-ratios; None with fewer than 2."""
    values = np.asarray(log_ratios, dtype=float)
    if len(values) < 2:
        return None
    if not np.any(values):
        return 1.0  # every round identical: no evidence of a difference
    from scipy.stats import wilcoxon

    return float(wilcoxon(values, alternative="two-sided").pvalue)


def paired_ratio(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], seed: int = 0) -> Ratio:
    """``a / b`` from rounds in which both were measured close in time (docs/method.md#noise-pairing).

    Each pair is one round's step samples of ``a`` and of ``b``. A round's
    log-ratio is the log of its two process medians' ratio; the ratio is the
    median of the rounds' ratios, its interval a bootstrap over rounds (steps
    resampled inside each process, as in ``ratio_of_medians``), the test a
    signed-rank test over the log-ratios, and the noise band the relative IQR
    of the rounds' ratios. A slow spell that hits both sides of a round
    cancels in its ratio instead of widening both sides' spreads.

    >>> r = paired_ratio([([10.0, 10.1], [20.0, 20.2])] * 6)
    >>> round(r.ratio, 3), r.significant, r.processes
    (0.5, True, (6, 6))
    """
    if not pairs or not all(len(a) and len(b) for a, b in pairs):
        raise ValueError("every round needs samples on both sides")
    rng = np.random.default_rng(seed)
    # Step-level resampling inside each process, then rounds resampled as units (both sides together).
    per_a = _resampled_process_medians([a for a, _ in pairs], rng)
    per_b = _resampled_process_medians([b for _, b in pairs], rng)
    chosen = rng.integers(0, len(pairs), size=(BOOTSTRAP_RESAMPLES, len(pairs)))
    boot = np.median(np.take_along_axis(per_a / per_b, chosen, axis=1), axis=1)
    alpha = (1.0 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    ratios = [median(a) / median(b) for a, b in pairs]
    return Ratio(median(ratios), float(low), float(high), p_value=signed_rank_p(np.log(ratios)),
                 band=relative_iqr(ratios) if len(ratios) >= 3 else 0.0,
                 processes=(len(pairs), len(pairs)), paired=True)


def adjacent_correlation(series: Sequence[tuple[Sequence[float], Sequence[float]]]) -> float | None:
    """Pearson correlation of two configurations' per-round deviations (log process median minus its mean).

    Positive: a round that was slow for one was slow for the other, which is
    what makes pairing by round worth it (docs/method.md#noise-pairing).
    """
    a = np.log([median(x) for x, _ in series])
    b = np.log([median(y) for _, y in series])
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a - a.mean(), b - b.mean())[0, 1])


@dataclass(frozen=True)
class OrderEffect:
    """Whether a tier's time depends on its place in a block (docs/method.md#noise-blocks).

    ``rho`` and ``p_value``: Spearman's rank correlation of position with each
    tier's block medians relative to that tier's own median (so tiers of
    different speeds pool); ``effect``: the fitted relative change of a tier's
    time from the first place to the last. Flagged only when the correlation is
    significant and the change is larger than the tiers' median noise band.
    """

    rho: float | None
    p_value: float | None
    effect: float
    band: float
    blocks: int

    @property
    def flagged(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE and abs(self.effect) > self.band


def order_effect(by_tier: dict[str, list[tuple[int, float]]], size: int, band: float) -> OrderEffect:
    """``by_tier``: each tier's (position, block median) pairs; ``size``: the tiers per block."""
    positions, deviations = [], []
    for placed in by_tier.values():
        if len(placed) < 2:
            continue
        centre = np.log(median([value for _, value in placed]))
        for position, value in placed:
            positions.append(position)
            deviations.append(float(np.log(value) - centre))
    blocks = max((len(v) for v in by_tier.values()), default=0)
    if len(set(positions)) < 3:
        return OrderEffect(None, None, 0.0, band, blocks)
    from scipy.stats import spearmanr

    rho, p = spearmanr(positions, deviations)
    slope = float(np.polyfit(positions, deviations, 1)[0])
    return OrderEffect(float(rho), float(p), float(np.expm1(slope * (size - 1))), band, blocks)


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / min(a, b)
