"""The machine's ceiling as PyTorch sees it: best-of fp32 matmul throughput and copy bandwidth.

Every training row on the Speed page is compared against the best of this
and its TensorFlow twin (``ceiling_tf.py``), measured in the same regen.

>>> configure(threads=1)["precision"]
'float32'
>>> result = measure(matmul_size=64, copy_mb=1, repeats=2)
>>> result["matmul_float32_flops"] > 0 and result["copy_bytes_per_s"] > 0
True
"""

from __future__ import annotations

import time

# --8<-- [start:ceiling]
import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure(threads: int) -> dict:
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    return {"precision": "float32", "intra_op_threads": torch.get_num_threads(), "device": str(DEVICE)}


def _sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first call pays for allocation and kernel selection
    _sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        _sync()
        best = min(best, (time.perf_counter_ns() - start) / 1e9)
    return best


def matmul_flops(n: int, dtype: torch.dtype, repeats: int) -> float:
    a = torch.randn(n, n, device=DEVICE).to(dtype)
    b = torch.randn(n, n, device=DEVICE).to(dtype)
    return 2 * n**3 / _best_seconds(lambda: a @ b, repeats)  # 2 FLOPs per multiply-add


def copy_bytes_per_s(megabytes: int, repeats: int) -> float:
    src = torch.ones(megabytes * 2**20 // 4, device=DEVICE)
    dst = torch.empty_like(src)
    return 2 * src.nbytes / _best_seconds(lambda: dst.copy_(src), repeats)  # read + write


def measure(matmul_size: int, copy_mb: int, repeats: int) -> dict:
    result = {
        "matmul_size": matmul_size,
        "matmul_float32_flops": matmul_flops(matmul_size, torch.float32, repeats),
        "copy_bytes_per_s": copy_bytes_per_s(copy_mb, repeats),
    }
    if DEVICE.type == "cuda":  # the GPU's faster paths, measured separately and labelled
        result["matmul_bfloat16_flops"] = matmul_flops(matmul_size, torch.bfloat16, repeats)
        torch.backends.cuda.matmul.allow_tf32 = True
        result["matmul_tf32_flops"] = matmul_flops(matmul_size, torch.float32, repeats)
        torch.backends.cuda.matmul.allow_tf32 = False
    return result
# --8<-- [end:ceiling]


if __name__ == "__main__":
    configure(threads=1)
    result = measure(matmul_size=256, copy_mb=8, repeats=3)
    print(f"small demo on {DEVICE}: fp32 matmul {result['matmul_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"copy {result['copy_bytes_per_s'] / 1e9:.1f} GB/s (one thread; the benchmark uses all cores)")
