"""How every PyTorch benchmark workload runs a step: threads, precision, compilation, sync.

The workloads (``snippets/speed/*_workload_torch.py``) define a model, a batch,
a loss and an optimizer; this file turns them into one training step in the
tier a mode names (``common/tiers.py``), so the CNN, the ResNet and the
Transformer are timed through the same code. The TensorFlow twin is
``runtime_tf.py``: same function names, same work.

>>> configure(threads=1, mode="eager-cl-bf16")["memory_format"]
'channels_last'
>>> model = torch.nn.Linear(4, 3)
>>> step = make_train_step(model, "eager", torch.nn.CrossEntropyLoss(),
...                        torch.optim.SGD(model.parameters(), lr=0.5), clip_norm=1.0)
>>> X, y = torch.ones(8, 4), torch.zeros(8, dtype=torch.long)
>>> first = sync(step(X, y))
>>> sync(step(X, y)) < first  # the loss falls on a fixed batch
True
"""

from __future__ import annotations

# The contract's names that every PyTorch workload takes as they are, with
# `from common.runtime_torch import *` (engine.bench.workload lists the contract). Not make_train_step:
# each workload wraps it with its own loss and optimizer.
__all__ = ["DEVICE", "MODES", "configure", "count_trainable_params", "device_of", "make_predict",
           "memory_stats", "reset_memory_stats", "sync", "to_numpy", "global_state", "restore_state"]

# --8<-- [start:setup]
import numpy as np
import torch
from torch import nn

from common import tiers

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
# How a step can run; a mode adds "-cl" for channels_last, "-bf16" for autocast (common/tiers.py).
MODES = tiers.EXECUTIONS["torch"]


def configure(threads: int, mode: str = "eager") -> dict:
    """Pin threads and precision so both frameworks do the same arithmetic."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # can only be set once per process, before any parallel work
        pass
    # fp32 unless the mode says otherwise. TF32 is off on GPUs (TF turns it on by default, we
    # turn it off there too) except in the labelled -tf32 tier.
    tier = tiers.parse(mode)
    torch.backends.cuda.matmul.allow_tf32 = tier.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = tier.precision == "tf32"
    return {
        "precision": {"fp32": "float32", "bf16": "bfloat16 autocast, float32 weights",
                      "tf32": "float32 with TF32 matmuls"}[tier.precision],
        "memory_format": "channels_last" if tier.channels_last else "contiguous (NCHW)",
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "device": str(DEVICE),
        # The precision defaults as the step will see them (printed per table, docs/method.md#precision).
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
# --8<-- [end:setup]


# --8<-- [start:train_step]
def make_train_step(model: nn.Module, mode: str, loss_fn, optimizer: torch.optim.Optimizer,
                    clip_norm: float | None = None):
    """One full step: forward, loss, backward, (clipping,) optimizer update."""
    tier = tiers.parse(mode)
    forward = compiled(model, tier.execution)
    bf16 = tier.precision == "bf16"

    def train_step(X, y):
        optimizer.zero_grad(set_to_none=True)
        # Mixed precision: the forward pass in bf16, weights and the loss in fp32.
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=bf16):
            logits = forward(X)
        loss = loss_fn(logits.float(), y)
        loss.backward()
        if clip_norm is not None:  # the global norm over all gradients, as Keras' global_clipnorm
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        return loss

    return train_step


def compiled(model: nn.Module, execution: str):
    """The model as the execution runs it: as is (eager) or through torch.compile in a mode."""
    if execution == "eager":
        return model
    return torch.compile(model, mode=tiers.TORCH_COMPILE_MODES[execution])


def sync(loss: torch.Tensor) -> float:
    """Wait for the device: a timing boundary must not end while work is queued."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
    return float(loss.detach())
# --8<-- [end:train_step]


# --8<-- [start:predict]
def make_predict(model: nn.Module, mode: str):
    model.eval()
    forward = compiled(model, tiers.parse(mode).execution)

    def predict(X):
        with torch.inference_mode():
            return forward(X)

    return predict
# --8<-- [end:predict]


def memory_stats() -> dict:
    """Allocator peaks on CUDA (reset after warm-up by the harness); empty on CPU."""
    if DEVICE.type != "cuda":
        return {}
    return {
        "device_peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        "device_peak_reserved_bytes": torch.cuda.max_memory_reserved(),
    }


def reset_memory_stats() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def device_of(tensor: torch.Tensor) -> str:
    """Where a tensor really lives ("cpu", "cuda"): the device a row reports, checked against its label."""
    return tensor.device.type


def to_numpy(logits) -> np.ndarray:
    return logits.detach().float().cpu().numpy()


def count_trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)



def global_state() -> dict:
    """The process-wide settings a tier may change; a block records them around every tier."""
    return {"float32_matmul_precision": torch.get_float32_matmul_precision(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "autocast": torch.is_autocast_enabled(DEVICE.type), "grad_enabled": torch.is_grad_enabled()}


def restore_state(state: dict) -> None:
    """Put ``global_state()`` back and forget compiled graphs, so the next tier in a block compiles its own."""
    import gc
    import sys

    if "torch._dynamo" in sys.modules:  # only a compiled tier imported it
        torch._dynamo.reset()
    torch.set_float32_matmul_precision(state["float32_matmul_precision"])
    torch.backends.cuda.matmul.allow_tf32 = state["tf32_matmul"]
    torch.backends.cudnn.allow_tf32 = state["tf32_cudnn"]
    torch.set_grad_enabled(state["grad_enabled"])
    gc.collect()


if __name__ == "__main__":
    print(configure(threads=1))
