"""Where PyTorch's step time goes: an op-level profile from PyTorch's own profiler, and the kernels it dispatches to.

``profile_steps`` runs the benchmark workload's training step under
``torch.profiler`` (after unprofiled warm-up) and returns every op's *self*
time, so the ops add up without double counting; the engine reduces both
frameworks' ops to the same buckets (``scripts/engine/bench/op_buckets.py``).
``dispatch_probe`` starts a fresh interpreter with MKL's and oneDNN's verbose
logs on and reports which library and instruction set fp32 matmul, fp32
convolution and bf16 matmul really run on. The TensorFlow twin is
``op_profile_tf.py``: same section names, same variable names.

>>> profile = profile_steps("eager", batch_size=4, width=1, warmup=1, steps=2, threads=1)
>>> profile["steps"], profile["wall_ns"] > 0
(2, True)
>>> names = {op["name"] for op in profile["ops"]}
>>> {"aten::mkldnn_convolution", "aten::convolution_backward"} <= names  # forward and backward conv kernels
True
>>> sum(op["self_ns"] for op in profile["ops"]) <= profile["wall_ns"]  # self times do not double count
True
"""

from __future__ import annotations

import re
import sys
import time

# --8<-- [start:profile]
import torch
from torch.profiler import ProfilerActivity, profile

from common import tiers  # reads a mode; tiers.call passes it to the workload functions that take one
from speed.profile_helpers import (
    format_dispatch,
    format_profile,
    log_cases,
    parse_probe,
    run_probe,
)


def profile_steps(mode: str, batch_size: int, width: int, warmup: int, steps: int, threads: int) -> dict:
    """Profile `steps` full training steps of the benchmark workload with torch.profiler."""
    from speed import cnn_workload_torch as work  # the same code the Speed page times

    tiers.call(work.configure, mode, threads)
    # The mode's execution: "compile-cl-bf16" runs torch.compile (common/tiers.py).
    execution = tiers.parse(mode).execution
    if execution != "eager":
        # Inductor's generated C++ loops record no profiler event of their own
        # unless asked; without this their time hides in the compiled graph's call.
        import torch._inductor.config

        torch._inductor.config.cpp.enable_kernel_profile = True
    model = tiers.call(work.build, mode, width)
    X, y = tiers.call(work.make_batch, mode, batch_size)
    train_step = work.make_train_step(model, mode)
    for _ in range(warmup):  # compile, allocator growth and kernel selection happen here, unprofiled
        work.sync(train_step(X, y))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter_ns()
        for _ in range(steps):
            work.sync(train_step(X, y))
        wall_ns = time.perf_counter_ns() - start
    return {"framework": "torch", "mode": mode, "batch_size": batch_size, "steps": steps,
            "wall_ns": wall_ns, "ops": ops_by_scope(prof.events())}


def ops_by_scope(events) -> list[dict]:
    """Self time per (op name, outermost enclosing event): one op's self time is counted once.

    The outermost event says what an op was doing: an ``aten::add_`` under
    ``Optimizer.step#Adam.step`` is the optimizer's, one under
    ``autograd::engine::evaluate_function: ConvolutionBackward0`` is conv
    backward's. ``key_averages()`` gives the same self times per name, without that.
    """
    totals: dict[tuple[str, str], dict] = {}
    for event in events:
        root = event
        while root.cpu_parent is not None:
            root = root.cpu_parent
        op = totals.setdefault((event.name, root.name),
                               {"name": event.name, "scope": root.name, "self_ns": 0, "count": 0})
        op["self_ns"] += round(event.self_cpu_time_total * 1000)  # the profiler reports microseconds
        op["count"] += 1
    return sorted(totals.values(), key=lambda op: -op["self_ns"])
# --8<-- [end:profile]


# --8<-- [start:dispatch]
# Set before the libraries load (they read them once): every MKL call and oneDNN primitive logs a line.
VERBOSE_ENV = {"MKL_VERBOSE": "1", "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"}


def dispatch_probe() -> dict:
    """Which library and instruction set fp32 matmul, fp32 conv and bf16 matmul run on, from their own logs."""
    return parse_probe(run_probe(__file__, VERBOSE_ENV), framework="torch")


def _probe() -> None:
    """The probe's child: one small op of each kind, each after a marker line, with the build's own facts."""
    config = torch.__config__.show()
    print("## blas", re.search(r"BLAS_INFO=(\w+)", config).group(1) if "BLAS_INFO=" in config else "unknown")
    print("## cpu_capability", torch.backends.cpu.get_cpu_capability())  # ATen's own vectorized kernels
    print("## mkl_available", torch.backends.mkl.is_available())
    print("## mkldnn_available", torch.backends.mkldnn.is_available())
    a = torch.randn(512, 512)
    x = torch.randn(8, 32, 28, 28)  # NCHW, PyTorch's default layout
    kernel = torch.randn(64, 32, 3, 3)
    cases = {
        "matmul_fp32": lambda: a @ a,  # as the ceiling case calls it
        "conv_fp32": lambda: torch.nn.functional.conv2d(x, kernel),
    }
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        cases["matmul_bf16"] = lambda: a.bfloat16() @ a.bfloat16()
    log_cases(cases)
# --8<-- [end:dispatch]


if __name__ == "__main__":
    if "--probe" in sys.argv:
        _probe()
        raise SystemExit
    print(format_profile(profile_steps("eager", batch_size=32, width=1, warmup=2, steps=2, threads=1)))
    print("what the kernels' own logs say they ran on:\n" + format_dispatch(dispatch_probe()))
