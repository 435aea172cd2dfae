"""The guide's MNIST CNN in PyTorch: the model every PyTorch example and benchmark uses.

Two 3x3 convolutions with max-pooling, then one linear layer to 10 logits;
``width`` scales the channel counts for the model-size sweep. Weights use
Glorot-uniform and zero biases, Keras' defaults, so both frameworks start from
the same initializer family.

>>> model = build_model()
>>> count_trainable_params(model)
34826
>>> import torch
>>> tuple(model(torch.zeros(2, 1, 28, 28)).shape)
(2, 10)
>>> count_trainable_params(build_model(width=2)) > count_trainable_params(model)
True

Run it directly to print the layer summary: ``python snippets/common/cnn_torch.py``.
"""

from __future__ import annotations

# --8<-- [start:model]
import torch
from torch import nn


def build_model(width: int = 1) -> nn.Module:
    model = nn.Sequential(
        nn.Conv2d(1, 32 * width, kernel_size=3),  # 28x28 -> 26x26
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> 13x13
        nn.Conv2d(32 * width, 64 * width, kernel_size=3),  # -> 11x11
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> 5x5
        nn.Flatten(),
        nn.Linear(5 * 5 * 64 * width, 10),  # logits; the loss applies softmax
    )
    # Match Keras' default initializers so neither side starts ahead.
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def count_trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
# --8<-- [end:model]


if __name__ == "__main__":
    model = build_model()
    print(model)
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("output shape:", tuple(model(torch.zeros(1, 1, 28, 28)).shape))
