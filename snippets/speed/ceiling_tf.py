"""The machine's ceiling as TensorFlow sees it: best-of matmul and convolution throughput, copy bandwidth.

Every training row on the Speed page is compared against TensorFlow's own
ceiling and against the best of this and its PyTorch twin
(``ceiling_torch.py``), measured in the same regen.

>>> configure(threads=1)["precision"]
'float32'
>>> result = measure(matmul_size=64, copy_mb=1, repeats=2, conv_shape=(2, 8, 16, 16))
>>> result["matmul_float32_flops"] > 0 and result["copy_bytes_per_s"] > 0 and result["conv_float32_flops"] > 0
True
>>> sorted(result["conv_float32_by_layout"])
['channels_last']
"""

from __future__ import annotations

import time

import numpy as np

# --8<-- [start:ceiling]
import tensorflow as tf

DEVICE = "cuda" if tf.config.list_physical_devices("GPU") else "cpu"


def configure(threads: int) -> dict:
    for gpu in tf.config.list_physical_devices("GPU"):
        # Before any op: otherwise TF reserves nearly all device memory up front.
        tf.config.experimental.set_memory_growth(gpu, True)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # only before the runtime starts
        pass
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return {"precision": "float32", "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "device": DEVICE}


def _best_seconds(fn, repeats: int) -> float:
    def scalar(out) -> float:  # materializing one element waits for the work (float32: numpy has no bf16)
        return float(np.asarray(tf.cast(out[0, 0], tf.float32)))

    scalar(fn())  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        scalar(fn())
        best = min(best, (time.perf_counter_ns() - start) / 1e9)
    return best


def matmul_flops(n: int, dtype: tf.DType, repeats: int) -> float:
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    return 2 * n**3 / _best_seconds(lambda: tf.matmul(a, b), repeats)  # 2 FLOPs per multiply-add


def conv_flops(shape: tuple[int, int, int, int], dtype: tf.DType, repeats: int) -> float:
    """A large 3x3 convolution, forward and both gradients (input and weight), as training runs it."""
    n, c, h, w = shape
    x = tf.cast(tf.random.normal((n, h, w, c)), dtype)  # NHWC, TensorFlow's layout on CPUs
    weight = tf.Variable(tf.cast(tf.random.normal((3, 3, c, c)), dtype))
    grad = tf.cast(tf.random.normal((n, h - 2, w - 2, c)), dtype)

    @tf.function  # one graph, so the figure is the kernels' and not Python's
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.nn.conv2d(x, weight, strides=1, padding="VALID")
        grad_x, grad_w = tape.gradient(out, [x, weight], output_gradients=grad)
        # Both gradients feed the (1, 1) result, so neither can be pruned from the graph.
        return tf.reshape(grad_x[0, 0, 0, 0] + grad_w[0, 0, 0, 0], (1, 1))

    multiply_adds = n * (h - 2) * (w - 2) * c * c * 9
    return 3 * 2 * multiply_adds / _best_seconds(step, repeats)  # forward + 2 gradients, 2 FLOPs each


def copy_bytes_per_s(megabytes: int, repeats: int) -> float:
    src = tf.ones((megabytes * 2**20 // 4 // 1024, 1024))
    # tf.identity may alias; adding zero forces a read and a write of every element.
    return 2 * megabytes * 2**20 / _best_seconds(lambda: src + 0.0, repeats)


CONV_SHAPE = (32, 64, 56, 56)  # N, C, H, W: large enough that the kernel, not the call, dominates


def measure(matmul_size: int, copy_mb: int, repeats: int, bf16: bool = False,
            conv_shape: tuple[int, int, int, int] = CONV_SHAPE) -> dict:
    """Best-of throughputs; ``bf16`` adds the bf16 paths (where the hardware has them)."""
    result = {
        "matmul_size": matmul_size,
        "conv_shape": list(conv_shape),
        "matmul_float32_flops": matmul_flops(matmul_size, tf.float32, repeats),
        "copy_bytes_per_s": copy_bytes_per_s(copy_mb, repeats),
    }
    dtypes = {"float32": tf.float32, **({"bfloat16": tf.bfloat16} if bf16 or DEVICE == "cuda" else {})}
    for name, dtype in dtypes.items():
        result[f"conv_{name}_by_layout"] = {"channels_last": conv_flops(conv_shape, dtype, repeats)}
        result[f"conv_{name}_flops"] = result[f"conv_{name}_by_layout"]["channels_last"]
    if "bfloat16" in dtypes:
        result["matmul_bfloat16_flops"] = matmul_flops(matmul_size, tf.bfloat16, repeats)
    if DEVICE == "cuda":  # the GPU's TF32 path, measured separately and labelled
        tf.config.experimental.enable_tensor_float_32_execution(True)
        result["matmul_tf32_flops"] = matmul_flops(matmul_size, tf.float32, repeats)
        tf.config.experimental.enable_tensor_float_32_execution(False)
    return result
# --8<-- [end:ceiling]


if __name__ == "__main__":
    configure(threads=1)
    result = measure(matmul_size=256, copy_mb=8, repeats=3, conv_shape=(4, 32, 28, 28))
    print(f"small demo on {DEVICE}: fp32 matmul {result['matmul_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"fp32 convolution (forward and backward) {result['conv_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"copy {result['copy_bytes_per_s'] / 1e9:.1f} GB/s (one thread; the benchmark uses all cores)")
