"""Cross-check the harness's step time against each framework's own timing tool.

``python -m engine.bench.crosscheck torch|tf [batch_size] [mode]`` times the
same workload step with ``torch.utils.benchmark.Timer`` (PyTorch) or
``timeit`` (TensorFlow) in this one process, and prints the median per-step
time in ms as JSON. ``scripts/regen.py crosscheck`` compares it with a
harness run of the same configuration. A check of the harness, not a result
shown on the site.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import timeit

from engine import environment


def measure(framework: str, batch_size: int, mode: str, steps: int = 50) -> dict:
    from engine.bench.cases import CASES  # the headline case's workload: the CNN it times

    work = importlib.import_module(CASES["headline"].module(framework))
    work.configure(environment.usable_cores())
    model = work.build(1)
    X, y = work.make_batch(batch_size)
    train_step = work.make_train_step(model, mode)
    for _ in range(15):  # same warm-up as the default profile
        work.sync(train_step(X, y))
    from engine.bench.child import _timed_loop  # the harness's own timing loop

    def harness_ms() -> float:
        return statistics.median(_timed_loop(lambda: train_step(X, y), work.sync, steps)) / 1e6

    before = harness_ms()
    reference = _reference(framework, work, train_step, X, y, steps)
    after = harness_ms()
    # Same process, same warm state: only the timing method differs.
    return {**reference, "harness_loop_ms": statistics.median([before, after]),
            "harness_loop_before_after_ms": [before, after]}


def _reference(framework, work, train_step, X, y, steps: int) -> dict:
    if framework == "torch":
        from torch.utils import benchmark

        timer = benchmark.Timer(stmt="sync(train_step(X, y))",
                                globals={"sync": work.sync, "train_step": train_step, "X": X, "y": y},
                                num_threads=environment.usable_cores())
        measurement = timer.timeit(steps)  # one block of `steps` runs
        blocks = timer.blocked_autorange(min_run_time=2.0)
        return {"tool": "torch.utils.benchmark.Timer (blocked_autorange)", "median_ms": blocks.median * 1e3,
                "timeit_mean_ms": measurement.mean * 1e3}
    times = timeit.repeat(lambda: work.sync(train_step(X, y)), number=1, repeat=steps)
    return {"tool": "timeit.repeat(number=1)", "median_ms": statistics.median(times) * 1e3}


if __name__ == "__main__":
    framework = sys.argv[1]
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    mode = sys.argv[3] if len(sys.argv) > 3 else ("eager" if framework == "torch" else "function")
    print(json.dumps(measure(framework, batch_size, mode)))
