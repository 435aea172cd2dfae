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
import torch
from torch import nn

from common import tiers
from common.cnn_torch import build_model
from common.data import synthetic_batch
from common.runtime_torch import *  # noqa: F403  (the contract's shared names: runtime_torch.__all__)
from common.runtime_torch import DEVICE, configure, count_trainable_params, sync
from common.runtime_torch import make_train_step as runtime_train_step

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
def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' epsilon


def make_train_step(model: nn.Module, mode: str):
    """One full step of the CNN: Adam with Keras' epsilon, cross-entropy on logits."""
    optimizer = make_optimizer(model)
    loss_fn = nn.CrossEntropyLoss()  # takes logits: softmax fused into the loss
    return runtime_train_step(model, mode, loss_fn, optimizer)
# --8<-- [end:train_step]


if __name__ == "__main__":
    settings = configure(threads=1)
    model = build()
    print(f"device {settings['device']}, {settings['precision']}, "
          f"{count_trainable_params(model):,} trainable parameters")
    X, y = make_batch(32)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch:", " ".join(f"{loss:.3f}" for loss in losses))
