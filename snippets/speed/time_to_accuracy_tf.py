"""Time to accuracy, TensorFlow side: train the guide's CNN on real digits until it reaches a target.

Time per step alone can hide a step that does not learn; this reports how
long (and how many steps) training takes to reach a stated test accuracy on
real handwritten digits. The PyTorch twin is ``time_to_accuracy_torch.py``.

>>> result = train_to_accuracy(mode="function", target=0.5, batch_size=64, max_epochs=3)
>>> result["reached"], result["steps"] > 0
(True, True)
"""

from __future__ import annotations

import time

import numpy as np

# --8<-- [start:train]
import tensorflow as tf

from common.data import load_digits_28
from speed.cnn_workload_tf import build, configure, make_train_step, sync


def accuracy(model, X, y) -> float:
    predictions = tf.argmax(model(X, training=False), axis=1)
    return float(tf.reduce_mean(tf.cast(predictions == y, tf.float32)))


def train_to_accuracy(mode: str, target: float, batch_size: int, max_epochs: int) -> dict:
    data = load_digits_28()
    X_train = tf.constant(data.x_train[..., None])
    y_train = tf.constant(data.y_train)
    X_test = tf.constant(data.x_test[..., None])
    y_test = tf.constant(data.y_test)
    model = build()
    train_step = make_train_step(model, mode)
    order = np.random.default_rng(0)  # same shuffles as the PyTorch side
    steps, train_seconds, test_accuracy, epochs = 0, 0.0, 0.0, 0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter_ns()
        for batch in np.array_split(order.permutation(len(data.y_train)), len(data.y_train) // batch_size):
            index = tf.constant(batch)
            sync(train_step(tf.gather(X_train, index), tf.gather(y_train, index)))
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
    result = train_to_accuracy(mode="function", target=0.9, batch_size=64, max_epochs=10)
    print(f"{result['dataset']}: test accuracy {result['test_accuracy']:.3f} after "
          f"{result['epochs']} epochs ({result['steps']} steps); target {result['target']} "
          f"{'reached' if result['reached'] else 'NOT reached'}")
