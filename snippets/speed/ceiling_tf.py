"""The machine's ceiling as TensorFlow sees it: best-of fp32 matmul throughput and copy bandwidth.

Every training row on the Speed page is compared against the best of this
and its PyTorch twin (``ceiling_torch.py``), measured in the same regen.

>>> configure(threads=1)["precision"]
'float32'
>>> result = measure(matmul_size=64, copy_mb=1, repeats=2)
>>> result["matmul_float32_flops"] > 0 and result["copy_bytes_per_s"] > 0
True
"""

from __future__ import annotations

import time

import numpy as np

# --8<-- [start:ceiling]
import tensorflow as tf

DEVICE = "cuda" if tf.config.list_physical_devices("GPU") else "cpu"


def configure(threads: int) -> dict:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # only before the runtime starts
        pass
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return {"precision": "float32", "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "device": DEVICE}


def _best_seconds(fn, repeats: int) -> float:
    float(np.asarray(tf.reduce_sum(fn()[:1, :1])))  # warm-up, then sync by materializing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        out = fn()
        float(np.asarray(out[:1, :1][0, 0]))  # a scalar from the result: waits for the work
        best = min(best, (time.perf_counter_ns() - start) / 1e9)
    return best


def matmul_flops(n: int, dtype: tf.DType, repeats: int) -> float:
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    return 2 * n**3 / _best_seconds(lambda: tf.matmul(a, b), repeats)  # 2 FLOPs per multiply-add


def copy_bytes_per_s(megabytes: int, repeats: int) -> float:
    src = tf.ones((megabytes * 2**20 // 4 // 1024, 1024))
    # tf.identity may alias; adding zero forces a read and a write of every element.
    return 2 * megabytes * 2**20 / _best_seconds(lambda: src + 0.0, repeats)


def measure(matmul_size: int, copy_mb: int, repeats: int) -> dict:
    result = {
        "matmul_size": matmul_size,
        "matmul_float32_flops": matmul_flops(matmul_size, tf.float32, repeats),
        "copy_bytes_per_s": copy_bytes_per_s(copy_mb, repeats),
    }
    if DEVICE == "cuda":  # the GPU's faster paths, measured separately and labelled
        result["matmul_bfloat16_flops"] = matmul_flops(matmul_size, tf.bfloat16, repeats)
        tf.config.experimental.enable_tensor_float_32_execution(True)
        result["matmul_tf32_flops"] = matmul_flops(matmul_size, tf.float32, repeats)
        tf.config.experimental.enable_tensor_float_32_execution(False)
    return result
# --8<-- [end:ceiling]


if __name__ == "__main__":
    configure(threads=1)
    result = measure(matmul_size=256, copy_mb=8, repeats=3)
    print(f"small demo on {DEVICE}: fp32 matmul {result['matmul_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"copy {result['copy_bytes_per_s'] / 1e9:.1f} GB/s (one thread; the benchmark uses all cores)")
