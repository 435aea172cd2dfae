"""The ResNet benchmark workload, PyTorch side: a CIFAR-shaped ResNet, a batch, one training step.

Same contract as the CNN workload (``engine.bench.workload``); the twin is
``resnet_workload_tf.py``. SGD with momentum 0.9 on both sides (the two
frameworks write the same update differently: PyTorch scales the velocity by
the learning rate when applying it, Keras when accumulating it; with a constant
learning rate they are the same update). Run directly, it trains on the real
digits padded to 32x32x3 for a short convergence check (``common/convergence.py``).

>>> _ = configure(threads=1)
>>> model = build(size=1, mode="eager-cl")
>>> count_trainable_params(model) == trainable_params(1)
True
>>> X, y = make_batch(4, mode="eager-cl")
>>> X.is_contiguous(memory_format=torch.channels_last), tuple(model(X).shape)
(True, (4, 10))
>>> train_step = make_train_step(model, "eager-cl")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(3)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
"""

from __future__ import annotations

# --8<-- [start:train_step]
import numpy as np
import torch
from torch import nn

from common import tiers
from common.resnet_torch import build_model
from common.runtime_torch import *  # noqa: F403  (the contract's shared names: runtime_torch.__all__)
from common.runtime_torch import DEVICE, configure, count_trainable_params
from common.runtime_torch import make_train_step as runtime_train_step
from speed.resnet_workload import DEFAULT_SIZE, base_channels, trainable_params  # noqa: F401


def build(size: int = DEFAULT_SIZE, mode: str = "eager") -> nn.Module:
    torch.manual_seed(0)
    model = build_model(base_channels(size)).to(DEVICE)
    if tiers.parse(mode).channels_last:  # PyTorch's tuning guide: channels_last for convnets
        model = model.to(memory_format=torch.channels_last)
    return model


def to_device(x: np.ndarray, y: np.ndarray, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """NHWC images and labels from NumPy as the mode's tensors on the device."""
    X = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(DEVICE)  # NHWC -> NCHW
    if tiers.parse(mode).channels_last:
        X = X.contiguous(memory_format=torch.channels_last)
    return X, torch.from_numpy(y).to(DEVICE)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)  # random 32x32x3 images: throughput only
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    return to_device(x, rng.integers(0, 10, batch_size), mode)


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def make_train_step(model: nn.Module, mode: str):
    return runtime_train_step(model, mode, nn.CrossEntropyLoss(), make_optimizer(model))
# --8<-- [end:train_step]


if __name__ == "__main__":
    import sys

    from common.convergence import train_on_digits

    settings = configure(threads=1)
    print(f"device {settings['device']}, {count_trainable_params(build()):,} trainable parameters")
    accuracy = train_on_digits(sys.modules[__name__], mode="eager-cl")
    print(f"test accuracy on real digits after 2 epochs: {accuracy:.3f}")
