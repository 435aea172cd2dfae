"""Time to accuracy, PyTorch side: train the guide's CNN on real digits until it reaches a target.

Time per step alone can hide a step that does not learn; this reports how
long (and how many steps) training takes to reach a stated test accuracy on
real handwritten digits. The TensorFlow twin is ``time_to_accuracy_tf.py``.

>>> result = train_to_accuracy(mode="eager", target=0.5, batch_size=64, max_epochs=3)
>>> result["reached"], result["steps"] > 0
(True, True)
"""

from __future__ import annotations

import time

import numpy as np

# --8<-- [start:train]
import torch

from common.data import load_digits_28
from speed.cnn_workload_torch import DEVICE, build, configure, make_train_step, sync


def accuracy(model, X, y) -> float:
    model.eval()
    with torch.inference_mode():
        correct = (model(X).argmax(dim=1) == y).float().mean()
    model.train()
    return float(correct)


def train_to_accuracy(mode: str, target: float, batch_size: int, max_epochs: int) -> dict:
    data = load_digits_28()
    X_train = torch.from_numpy(data.x_train).unsqueeze(1).to(DEVICE)
    y_train = torch.from_numpy(data.y_train).to(DEVICE)
    X_test = torch.from_numpy(data.x_test).unsqueeze(1).to(DEVICE)
    y_test = torch.from_numpy(data.y_test).to(DEVICE)
    model = build()
    train_step = make_train_step(model, mode)
    order = np.random.default_rng(0)  # same shuffles as the TensorFlow side
    steps, train_seconds, test_accuracy, epochs = 0, 0.0, 0.0, 0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter_ns()
        for batch in np.array_split(order.permutation(len(y_train)), len(y_train) // batch_size):
            index = torch.from_numpy(batch)
            sync(train_step(X_train[index], y_train[index]))
            steps += 1
        train_seconds += (time.perf_counter_ns() - start) / 1e9  # evaluation time not counted
        test_accuracy, epochs = accuracy(model, X_test, y_test), epoch
        if test_accuracy >= target:
            break
    return {"reached": test_accuracy >= target, "target": target, "test_accuracy": test_accuracy,
            "steps": steps, "epochs": epochs, "train_seconds": train_seconds,
            "dataset": data.description, "batch_size": batch_size}
# --8<-- [end:train]


if __name__ == "__main__":
    configure(threads=1)
    result = train_to_accuracy(mode="eager", target=0.9, batch_size=64, max_epochs=10)
    print(f"{result['dataset']}: test accuracy {result['test_accuracy']:.3f} after "
          f"{result['epochs']} epochs ({result['steps']} steps); target {result['target']} "
          f"{'reached' if result['reached'] else 'NOT reached'}")
