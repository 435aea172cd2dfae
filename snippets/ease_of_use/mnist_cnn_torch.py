"""Train the guide's CNN on handwritten digits with PyTorch's plain training loop.

PyTorch has no built-in ``fit``: the loop below *is* the idiomatic way, and
everything in it (batching, zeroing gradients, the update) is visible code.

>>> model, history = train(epochs=1, limit=256)  # doctest: +ELLIPSIS
epoch 1: loss ..., accuracy ...
>>> len(history), history[0]["loss"] > 0
(1, True)
>>> 0.0 <= evaluate(model, limit=64) <= 1.0
True
"""

from __future__ import annotations

# --8<-- [start:data]
import torch
from torch import nn

from common.cnn_torch import build_model, count_trainable_params
from common.data import load_dataset

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
dataset = load_dataset()
# PyTorch wants channels first: (N, 1, 28, 28).
X_train = torch.from_numpy(dataset.x_train).unsqueeze(1)
y_train = torch.from_numpy(dataset.y_train)
X_test = torch.from_numpy(dataset.x_test).unsqueeze(1)
y_test = torch.from_numpy(dataset.y_test)
# --8<-- [end:data]

batch_size = 64
learning_rate = 1e-3


# --8<-- [start:train]
def train(epochs: int = 5, limit: int | None = None):
    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    X, y = X_train[:limit], y_train[:limit]
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        total_loss, correct = 0.0, 0
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            X_batch, y_batch = X[index].to(device), y[index].to(device)
            optimizer.zero_grad()
            logits = model(X_batch)
            loss = loss_fn(logits, y_batch)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            correct += (logits.argmax(dim=1) == y_batch).sum().item()
        history.append({"loss": total_loss / len(X), "accuracy": correct / len(X)})
        print(f"epoch {epoch + 1}: loss {history[-1]['loss']:.4f}, accuracy {history[-1]['accuracy']:.3f}")
    return model, history
# --8<-- [end:train]


# --8<-- [start:evaluate]
@torch.no_grad()
def evaluate(model: nn.Module, limit: int | None = None) -> float:
    model.eval()
    logits = model(X_test[:limit].to(device))
    return (logits.argmax(dim=1).cpu() == y_test[:limit]).float().mean().item()
# --8<-- [end:evaluate]


if __name__ == "__main__":
    print(dataset.summary())
    print(f"device: {device}")
    model, history = train()
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print(f"test accuracy: {evaluate(model):.3f}")
    assert history[-1]["loss"] < history[0]["loss"], "training loss did not fall"
