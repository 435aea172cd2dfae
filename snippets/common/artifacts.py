"""Framework-free plumbing for the deployment round trips: a result row, timing, the table.

Each ``snippets/deployment`` example exports its model in several formats,
reloads each artifact and compares it with the eager model; the bookkeeping
around that is the same on both sides and lives here once.

>>> rows = [Row("demo.bin", 2048, 1.5, 0.25, 0.0, 1.0)]
>>> print_table(rows, eager_ms=0.2, repeats=5, name_width=12)
eager model, warm latency for 1 image: 0.200 ms (median of 5)
artifact      size KiB   load ms  1-image ms  max |diff|  top-1 agree
---------------------------------------------------------------------
demo.bin           2.0      1.50       0.250    0.00e+00       100.0%
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    artifact: str
    size_bytes: int
    load_ms: float
    latency_ms: float
    max_abs_diff: float
    top1_agreement: float


def load_and_time(load, run, X: np.ndarray, repeats: int, median_ms) -> tuple[np.ndarray, float, float]:
    """Load an artifact (median of 3 loads), time one-image calls, and run it on the whole batch.

    ``median_ms(fn, repeats)`` is the caller's timer, which knows how its
    framework waits for queued work.
    """
    loaded = None

    def load_once():
        nonlocal loaded
        loaded = load()

    load_ms = median_ms(load_once, repeats=3)
    one_image = X[:1]
    for _ in range(10):  # warm-up, excluded from timing
        run(loaded, one_image)
    latency_ms = median_ms(lambda: run(loaded, one_image), repeats)
    return run(loaded, X), load_ms, latency_ms


def print_table(rows: list[Row], eager_ms: float, repeats: int, name_width: int) -> None:
    print(f"eager model, warm latency for 1 image: {eager_ms:.3f} ms (median of {repeats})")
    header = (
        f"{'artifact':<{name_width}}{'size KiB':>10}{'load ms':>10}{'1-image ms':>12}"
        f"{'max |diff|':>12}{'top-1 agree':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.artifact:<{name_width}}{row.size_bytes / 1024:>10.1f}{row.load_ms:>10.2f}"
            f"{row.latency_ms:>12.3f}{row.max_abs_diff:>12.2e}{row.top1_agreement:>13.1%}"
        )
