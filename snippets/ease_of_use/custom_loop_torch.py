"""A hand-written PyTorch training loop with a custom metric, on the device you have.

The metric is worst-class accuracy: the accuracy of the digit the model gets
wrong most often, which a plain accuracy can hide. It keeps per-class counts
and exposes the same three methods as a Keras metric (``update_state``,
``result``, ``reset_state``) so the two files read alike.

>>> metric = WorstClassAccuracy(num_classes=3)
>>> metric.update_state(torch.tensor([0, 0, 1, 2]), torch.eye(3)[[0, 1, 1, 2]])
>>> metric.result()
0.5
>>> metric.reset_state(); metric.result()
0.0
"""

import torch
from torch import nn

from common.cnn_torch import build_model
from common.data import NUM_CLASSES, load_dataset


# --8<-- [start:metric]
class WorstClassAccuracy:
    """Accuracy of the class the model gets right least often."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        self.correct = torch.zeros(num_classes)
        self.total = torch.zeros(num_classes)

    def update_state(self, y, logits):
        hits = (logits.argmax(dim=1) == y).float().cpu()
        self.correct += torch.bincount(y.cpu(), weights=hits, minlength=len(self.total))
        self.total += torch.bincount(y.cpu(), minlength=len(self.total))

    def result(self) -> float:
        seen = self.total > 0
        return float((self.correct[seen] / self.total[seen]).min()) if seen.any() else 0.0

    def reset_state(self):
        self.correct.zero_()
        self.total.zero_()
# --8<-- [end:metric]


# --8<-- [start:train_step]
def train_step(model, optimizer, loss_fn, X, y):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.detach()
# --8<-- [end:train_step]


if __name__ == "__main__":
    # --8<-- [start:loop]
    device = "cuda" if torch.cuda.is_available() else "cpu"  # the same code runs on a GPU if present
    torch.manual_seed(0)
    dataset = load_dataset()
    X_train = torch.from_numpy(dataset.x_train).unsqueeze(1).to(device)
    y_train = torch.from_numpy(dataset.y_train).to(device)
    X_test = torch.from_numpy(dataset.x_test).unsqueeze(1).to(device)
    y_test = torch.from_numpy(dataset.y_test).to(device)

    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    metric = WorstClassAccuracy()
    epochs, batch_size = 3, 64

    print(dataset.summary(), "| device:", device)
    for epoch in range(epochs):
        model.train()
        losses = [
            train_step(model, optimizer, loss_fn, X_train[index], y_train[index])
            for index in torch.randperm(len(X_train), device=device).split(batch_size)
        ]
        model.eval()
        metric.reset_state()
        with torch.no_grad():
            logits = model(X_test)
            metric.update_state(y_test, logits)
        accuracy = float((logits.argmax(dim=1) == y_test).float().mean())
        print(
            f"epoch {epoch + 1}: loss {torch.stack(losses).mean():.4f}, "
            f"test accuracy {accuracy:.3f}, worst-class accuracy {metric.result():.3f}"
        )
    # --8<-- [end:loop]
