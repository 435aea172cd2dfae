"""A custom layer in PyTorch: subclass ``nn.Module``, create parameters, write ``forward``.

A PyTorch layer creates its weights in ``__init__``, so it needs the input size
up front (``in_features``); ``nn.LazyLinear`` and friends exist for when that
size is unknown.

>>> layer = SimpleDense(784, 64, activation=torch.relu)
>>> tuple(layer.weight.shape), tuple(layer(torch.ones(2, 784)).shape)
((784, 64), (2, 64))
>>> count_trainable_params(build_mlp())
50890
"""

import torch
from torch import nn

from common.cnn_torch import count_trainable_params


# --8<-- [start:layer]
class SimpleDense(nn.Module):
    """y = activation(x @ weight + bias), written out by hand."""

    def __init__(self, in_features: int, units: int, activation=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, units))  # registered: trained, saved
        self.bias = nn.Parameter(torch.zeros(units))
        nn.init.xavier_uniform_(self.weight)
        self.activation = activation

    def forward(self, x):
        y = x @ self.weight + self.bias
        return self.activation(y) if self.activation else y
# --8<-- [end:layer]


# --8<-- [start:use]
def build_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        SimpleDense(28 * 28, 64, activation=torch.relu),  # input size given by hand
        SimpleDense(64, 10),
    )
# --8<-- [end:use]


if __name__ == "__main__":
    # --8<-- [start:run]
    model = build_mlp()
    print("weights exist before the first call:", count_trainable_params(model) > 0)
    X = torch.zeros(8, 1, 28, 28)  # PyTorch images are channels-first
    print("output shape:", tuple(model(X).shape))
    print(f"trainable parameters: {count_trainable_params(model):,}")
    # --8<-- [end:run]

    # --8<-- [start:framework]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, running on {device}")
    # --8<-- [end:framework]
