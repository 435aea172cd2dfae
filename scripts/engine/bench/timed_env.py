"""The environment every timed process starts with: the same for both frameworks.

Kept in its own file because it changes what is measured: the store hashes
this file together with the timing child, so editing it marks results stale.

Why the allocator settings: with glibc's defaults, a buffer above the malloc
mmap threshold (128 KiB at first, raised at run time as large blocks are
freed) is mapped fresh and returned to the kernel on every ``free``. A
training step that allocates and frees activation buffers of several MiB then
pays page faults for zeroed pages on every step, and whether a given process
lands on the fast or the slow side depends on how its heap happened to grow.
On the guide's 2-core builder that made PyTorch eager vary by up to 30 %
between processes running the same step. ``mmap_max=0`` serves large blocks
from the heap and a high ``trim_threshold`` keeps freed memory for reuse:
the effect of the jemalloc/tcmalloc swap that PyTorch's CPU tuning guide
recommends, with no extra library. The ``allocator`` case measures the same
steps under glibc's defaults, so the page shows what the setting changes.
"""

from __future__ import annotations

import os

from engine import paths

# --8<-- [start:allocator]
ALLOCATOR_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"
# --8<-- [end:allocator]


def child_env(device: str, threads: int, overrides: dict[str, str | None] | None = None) -> dict[str, str]:
    """Environment for a timed process; ``overrides`` sets a variable, or removes it with ``None``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(paths.SNIPPETS_DIR), str(paths.SCRIPTS_DIR)])
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)  # equal threads, from the cores really usable (docs/method.md)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TorchInductor otherwise compiles in a pool of worker processes that linger
    # beside the timed process and compete with it for the same cores.
    env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
    env["GLIBC_TUNABLES"] = ALLOCATOR_TUNABLES  # ignored where the C library is not glibc
    # TensorFlow otherwise reserves nearly the whole GPU at start-up; the workloads also set memory
    # growth in code, this covers every TF process the harness starts before any of its code runs.
    env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU table on a GPU machine stays a CPU table
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def recorded(device: str, threads: int, overrides: dict[str, str | None] | None = None) -> dict[str, str]:
    """The part of ``child_env`` that the harness chose (not inherited), for the result manifest."""
    env = child_env(device, threads, overrides)
    chosen = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCHINDUCTOR_COMPILE_THREADS", "GLIBC_TUNABLES",
              "TF_FORCE_GPU_ALLOW_GROWTH", "CUDA_VISIBLE_DEVICES")
    return {name: env[name] for name in chosen if name in env}
