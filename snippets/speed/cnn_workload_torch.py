"""The benchmark workload, PyTorch side: the guide's CNN, a batch, one full training step.

This file defines *what* is timed; the harness in ``scripts/engine/bench``
decides *how* (fresh process, warm-up, sync, samples). The TensorFlow twin is
``cnn_workload_tf.py``: same section names, same variable names, same work.

>>> configure(threads=1)["precision"]
'float32'
>>> model = build(width=1)
>>> count_trainable_params(model)
34826
>>> X, y = make_batch(8)
>>> tuple(model(X).shape)
(8, 10)
>>> train_step = make_train_step(model, "eager")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(5)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
>>> model = build(width=1, mode="eager-cl-bf16")  # channels_last, bf16 autocast
>>> X, y = make_batch(8, mode="eager-cl-bf16")
>>> X.is_contiguous(memory_format=torch.channels_last)
True
>>> train_step = make_train_step(model, "eager-cl-bf16")
>>> first = sync(train_step(X, y))
>>> sync(train_step(X, y)) < first and next(model.parameters()).dtype == torch.float32  # fp32 master weights
True
"""

from __future__ import annotations

# --8<-- [start:setup]
import numpy as np
import torch
from torch import nn

from common import tiers
from common.cnn_torch import build_model, count_trainable_params
from common.data import synthetic_batch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
# How the step can run; a mode adds "-cl" for channels_last, "-bf16" for autocast (common/tiers.py).
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
    }
# --8<-- [end:setup]


# --8<-- [start:model]
def build(width: int = 1, mode: str = "eager") -> nn.Module:
    torch.manual_seed(0)
    model = build_model(width).to(DEVICE)
    if tiers.parse(mode).channels_last:  # PyTorch's tuning guide: channels_last for convnets
        model = model.to(memory_format=torch.channels_last)
    return model


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[torch.Tensor, torch.Tensor]:
    x, y = synthetic_batch(batch_size, seed)  # tensors already on the device: framework cost only
    X = torch.from_numpy(x).unsqueeze(1).to(DEVICE)  # NCHW, PyTorch's default layout
    if tiers.parse(mode).channels_last:
        X = X.contiguous(memory_format=torch.channels_last)  # NHWC in memory, as TF stores it
    return X, torch.from_numpy(y).to(DEVICE)
# --8<-- [end:model]


# --8<-- [start:train_step]
def make_train_step(model: nn.Module, mode: str):
    """One full step: forward, loss, backward, optimizer update."""
    tier = tiers.parse(mode)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' epsilon
    loss_fn = nn.CrossEntropyLoss()  # takes logits: softmax fused into the loss
    forward = compiled(model, tier.execution)
    bf16 = tier.precision == "bf16"

    def train_step(X, y):
        optimizer.zero_grad(set_to_none=True)
        # Mixed precision: the forward pass in bf16, weights and the loss in fp32.
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=bf16):
            logits = forward(X)
        loss = loss_fn(logits.float(), y)
        loss.backward()
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


def to_numpy(logits) -> np.ndarray:
    return logits.detach().cpu().numpy()


if __name__ == "__main__":
    settings = configure(threads=1)
    model = build()
    print(f"device {settings['device']}, {settings['precision']}, "
          f"{count_trainable_params(model):,} trainable parameters")
    X, y = make_batch(32)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch:", " ".join(f"{loss:.3f}" for loss in losses))
