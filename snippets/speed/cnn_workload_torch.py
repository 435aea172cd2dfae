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
"""

from __future__ import annotations

# --8<-- [start:setup]
import numpy as np
import torch
from torch import nn

from common.cnn_torch import build_model, count_trainable_params
from common.data import synthetic_batch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
MODES = ("eager", "compile")


def configure(threads: int) -> dict:
    """Pin threads and precision so both frameworks do the same arithmetic."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # can only be set once per process, before any parallel work
        pass
    # fp32 everywhere; TF32 off on GPUs (TF turns it on by default, we turn it off there too).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return {
        "precision": "float32",
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "device": str(DEVICE),
    }
# --8<-- [end:setup]


# --8<-- [start:model]
def build(width: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return build_model(width).to(DEVICE)


def make_batch(batch_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = synthetic_batch(batch_size, seed)  # tensors already on the device: framework cost only
    X = torch.from_numpy(x).unsqueeze(1).to(DEVICE)  # NCHW, PyTorch's native layout
    return X, torch.from_numpy(y).to(DEVICE)
# --8<-- [end:model]


# --8<-- [start:train_step]
def make_train_step(model: nn.Module, mode: str):
    """One full step: forward, loss, backward, optimizer update."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' epsilon
    loss_fn = nn.CrossEntropyLoss()  # takes logits: softmax fused into the loss
    forward = torch.compile(model) if mode == "compile" else model

    def train_step(X, y):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(forward(X), y)
        loss.backward()
        optimizer.step()
        return loss

    return train_step


def sync(loss: torch.Tensor) -> float:
    """Wait for the device: a timing boundary must not end while work is queued."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
    return float(loss.detach())
# --8<-- [end:train_step]


# --8<-- [start:predict]
def make_predict(model: nn.Module, mode: str):
    model.eval()
    forward = torch.compile(model) if mode == "compile" else model

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
