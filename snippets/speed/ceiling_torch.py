"""The machine's ceiling as PyTorch sees it: best-of matmul and convolution throughput, copy bandwidth.

Every training row on the Speed page is compared against PyTorch's own
ceiling and against the best of this and its TensorFlow twin
(``ceiling_tf.py``), measured in the same regen.

>>> configure(threads=1)["precision"]
'float32'
>>> result = measure(matmul_size=64, copy_mb=1, repeats=2, conv_shape=(2, 8, 16, 16))
>>> result["matmul_float32_flops"] > 0 and result["copy_bytes_per_s"] > 0 and result["conv_float32_flops"] > 0
True
>>> sorted(result["conv_float32_by_layout"])
['channels_last', 'contiguous']
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


def conv_flops(shape: tuple[int, int, int, int], dtype: torch.dtype, repeats: int,
               channels_last: bool) -> float:
    """A large 3x3 convolution, forward and both gradients (input and weight), as training runs it."""
    n, c, h, w = shape
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(n, c, h, w, device=DEVICE).to(dtype).contiguous(memory_format=fmt).requires_grad_()
    weight = torch.randn(c, c, 3, 3, device=DEVICE).to(dtype).contiguous(memory_format=fmt).requires_grad_()
    grad = torch.randn(n, c, h - 2, w - 2, device=DEVICE).to(dtype).contiguous(memory_format=fmt)

    def step():
        x.grad = weight.grad = None  # fresh gradients, not an accumulation on top of the last ones
        torch.nn.functional.conv2d(x, weight).backward(grad)

    multiply_adds = n * (h - 2) * (w - 2) * c * c * 9
    return 3 * 2 * multiply_adds / _best_seconds(step, repeats)  # forward + 2 gradients, 2 FLOPs each


def copy_bytes_per_s(megabytes: int, repeats: int) -> float:
    src = torch.ones(megabytes * 2**20 // 4, device=DEVICE)
    dst = torch.empty_like(src)
    return 2 * src.nbytes / _best_seconds(lambda: dst.copy_(src), repeats)  # read + write


CONV_SHAPE = (32, 64, 56, 56)  # N, C, H, W: large enough that the kernel, not the call, dominates


def measure(matmul_size: int, copy_mb: int, repeats: int, bf16: bool = False,
            conv_shape: tuple[int, int, int, int] = CONV_SHAPE) -> dict:
    """Best-of throughputs; ``bf16`` adds the bf16 paths (where the hardware has them)."""
    result = {
        "matmul_size": matmul_size,
        "conv_shape": list(conv_shape),
        "matmul_float32_flops": matmul_flops(matmul_size, torch.float32, repeats),
        "copy_bytes_per_s": copy_bytes_per_s(copy_mb, repeats),
    }
    dtypes = {"float32": torch.float32, **({"bfloat16": torch.bfloat16} if bf16 or DEVICE.type == "cuda" else {})}
    for name, dtype in dtypes.items():
        # PyTorch's convolution runs in either layout; its ceiling is the better of the two.
        by_layout = {layout: conv_flops(conv_shape, dtype, repeats, layout == "channels_last")
                     for layout in ("contiguous", "channels_last")}
        result[f"conv_{name}_by_layout"] = by_layout
        result[f"conv_{name}_flops"] = max(by_layout.values())
    if "bfloat16" in dtypes:
        result["matmul_bfloat16_flops"] = matmul_flops(matmul_size, torch.bfloat16, repeats)
    if DEVICE.type == "cuda":  # the GPU's TF32 path, measured separately and labelled
        torch.backends.cuda.matmul.allow_tf32 = True
        result["matmul_tf32_flops"] = matmul_flops(matmul_size, torch.float32, repeats)
        torch.backends.cuda.matmul.allow_tf32 = False
    return result
# --8<-- [end:ceiling]


if __name__ == "__main__":
    configure(threads=1)
    result = measure(matmul_size=256, copy_mb=8, repeats=3, conv_shape=(4, 32, 28, 28))
    print(f"small demo on {DEVICE}: fp32 matmul {result['matmul_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"fp32 convolution (forward and backward) {result['conv_float32_flops'] / 1e9:.1f} GFLOP/s, "
          f"copy {result['copy_bytes_per_s'] / 1e9:.1f} GB/s (one thread; the benchmark uses all cores)")
