"""The Transformer benchmark workload, PyTorch side: a language model, a batch, one training step.

Same contract as the CNN workload (``engine.bench.workload``); the twin is
``transformer_workload_tf.py``. AdamW with the same hyper-parameters on both
sides (epsilon set explicitly) and gradient clipping to a global norm of 1 on
both.

>>> _ = configure(threads=1)
>>> model = build(size=1)
>>> count_trainable_params(model) == trainable_params(1)
True
>>> X, y = make_batch(2, size=1)
>>> tuple(model(X).shape)
(2, 128, 4096)
>>> train_step = make_train_step(model, "eager")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(3)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
"""

from __future__ import annotations

# --8<-- [start:train_step]
import torch
import torch.nn.functional as F
from torch import nn

from common.runtime_torch import *  # noqa: F403  (the contract's shared names: runtime_torch.__all__)
from common.runtime_torch import DEVICE, configure, count_trainable_params, sync
from common.runtime_torch import make_train_step as runtime_train_step
from common.text import synthetic_token_batch, text_batch
from common.transformer_torch import build_model
from speed.transformer_workload import DEFAULT_SIZE, SEQ_LEN, VOCAB_SIZE, model_kwargs, trainable_params  # noqa: F401


def build(size: int = DEFAULT_SIZE, mode: str = "eager") -> nn.Module:
    torch.manual_seed(0)
    return build_model(**model_kwargs(size)).to(DEVICE)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager", size: int = DEFAULT_SIZE,
               data: str = "text") -> tuple[torch.Tensor, torch.Tensor]:
    if data == "text":
        x, y = text_batch(batch_size, SEQ_LEN, seed)
    else:
        x, y = synthetic_token_batch(batch_size, SEQ_LEN, VOCAB_SIZE, seed)
    return torch.from_numpy(x).to(DEVICE), torch.from_numpy(y).to(DEVICE)


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every position of every sequence."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def make_train_step(model: nn.Module, mode: str):
    return runtime_train_step(model, mode, next_token_loss, make_optimizer(model), clip_norm=1.0)
# --8<-- [end:train_step]


if __name__ == "__main__":
    settings = configure(threads=1)
    model = build()
    print(f"device {settings['device']}, {settings['precision']}, "
          f"{count_trainable_params(model):,} trainable parameters")
    X, y = make_batch(4)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch of real text:", " ".join(f"{loss:.3f}" for loss in losses))
