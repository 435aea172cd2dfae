"""One training step as a function, then the loop that calls it: PyTorch.

This is the same loop as ``mnist_cnn_torch.py``, factored the way the
TensorFlow twin has to be written once you leave ``fit``: a ``train_step``
that takes a batch and returns its loss.

>>> model = build_model()
>>> optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
>>> X, y = torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.long)
>>> first = train_step(model, optimizer, X, y)
>>> later = [train_step(model, optimizer, X, y) for _ in range(20)][-1]
>>> later < first
True
"""

from __future__ import annotations

import torch
from torch import nn

from common.cnn_torch import build_model
from common.data import load_dataset

loss_fn = nn.CrossEntropyLoss()


# --8<-- [start:train_step]
def train_step(model, optimizer, X, y) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)  # forward pass, recorded by autograd as it runs
    loss.backward()  # gradients of every parameter
    optimizer.step()  # the update
    return loss.item()
# --8<-- [end:train_step]


# --8<-- [start:loop]
def train(epochs: int = 3, batch_size: int = 64) -> list[float]:
    torch.manual_seed(0)
    dataset = load_dataset()
    X_train = torch.from_numpy(dataset.x_train).unsqueeze(1)
    y_train = torch.from_numpy(dataset.y_train)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    epoch_losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X_train))
        losses = [
            train_step(model, optimizer, X_train[index], y_train[index])
            for index in order.split(batch_size)
        ]
        epoch_losses.append(sum(losses) / len(losses))
        print(f"epoch {epoch + 1}: mean batch loss {epoch_losses[-1]:.4f}")
    return epoch_losses
# --8<-- [end:loop]


if __name__ == "__main__":
    losses = train()
    assert losses[-1] < losses[0], "training loss did not fall"
