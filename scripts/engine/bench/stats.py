"""Summary statistics for timing samples: median, IQR, and a ratio of medians with a CI.

Rule 5 of BENCHMARKING.md: keep every sample, summarize each process by its
median and IQR, combine processes by the median of their medians, and compare
two configurations as a ratio of medians with a bootstrap confidence interval.
An interval that contains 1.0 means "no significant difference".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
NOISE_THRESHOLD = 0.05  # rule 6: more than 5 % between two runs of one config is noisy


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


def _bootstrap_medians(runs: Sequence[Sequence[float]], rng: np.random.Generator) -> np.ndarray:
    """Hierarchical bootstrap of the median of per-process medians.

    Processes are resampled, then the steps inside each; with one process
    only the steps vary, which understates machine-to-machine drift (the
    page says so for the quick profile).
    """
    per_run = []
    for run in runs:
        values = np.asarray(run, dtype=float)
        picks = rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))
        per_run.append(np.median(values[picks], axis=1))
    per_run_arr = np.stack(per_run, axis=1)  # (resamples, runs)
    chosen = rng.integers(0, len(runs), size=(BOOTSTRAP_RESAMPLES, len(runs)))
    return np.median(np.take_along_axis(per_run_arr, chosen, axis=1), axis=1)


@dataclass(frozen=True)
class Ratio:
    """``a / b`` as a ratio of medians; below 1.0 means ``a`` took less time."""

    ratio: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not (self.low <= 1.0 <= self.high)

    def describe(self, name_a: str, name_b: str) -> str:
        interval = f"95% CI {self.low:.2f}–{self.high:.2f}"
        if not self.significant:
            return (f"no significant difference ({name_a} takes {self.ratio:.2f}x the time of {name_b}, "
                    f"{interval}, which includes 1.0)")
        faster = name_a if self.ratio < 1.0 else name_b
        return f"{name_a} takes {self.ratio:.2f}x the time of {name_b} ({interval}): {faster} is faster"


def ratio_of_medians(
    runs_a: Sequence[Sequence[float]], runs_b: Sequence[Sequence[float]], seed: int = 0
) -> Ratio:
    """Ratio of medians of medians with a percentile-bootstrap confidence interval.

    The seed is fixed so that the same results always render the same bytes.
    """
    if not runs_a or not runs_b or not all(len(r) for r in runs_a) or not all(len(r) for r in runs_b):
        raise ValueError("both sides need at least one run with samples")
    rng = np.random.default_rng(seed)
    boot = _bootstrap_medians(runs_a, rng) / _bootstrap_medians(runs_b, rng)
    alpha = (1.0 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return Ratio(median_of_medians(runs_a) / median_of_medians(runs_b), float(low), float(high))


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / min(a, b)


def is_noisy(first_median: float, second_median: float, threshold: float = NOISE_THRESHOLD) -> bool:
    return relative_difference(first_median, second_median) > threshold
