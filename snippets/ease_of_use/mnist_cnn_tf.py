"""Train the guide's CNN on handwritten digits with Keras ``compile`` and ``fit``.

Keras is TensorFlow's high-level API: the loop, batching and metrics live
inside ``fit``; you declare the optimizer, loss and metrics instead of coding
them.

>>> model, history = train(epochs=1, limit=256)  # doctest: +ELLIPSIS
epoch 1: loss ..., accuracy ...
>>> len(history), history[0]["loss"] > 0
(1, True)
>>> 0.0 <= evaluate(model, limit=64) <= 1.0
True
"""

from __future__ import annotations

import keras

# --8<-- [start:data]
import numpy as np
import tensorflow as tf

from common.cnn_tf import build_model, count_trainable_params
from common.data import load_dataset

keras.utils.set_random_seed(0)
device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"  # TF places ops itself
dataset = load_dataset()
# TensorFlow wants channels last: (N, 28, 28, 1).
X_train = dataset.x_train[..., np.newaxis]
y_train = dataset.y_train
X_test = dataset.x_test[..., np.newaxis]
y_test = dataset.y_test
# --8<-- [end:data]

batch_size = 64
learning_rate = 1e-3


# --8<-- [start:train]
def train(epochs: int = 5, limit: int | None = None):
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, epsilon=1e-7),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    X, y = X_train[:limit], y_train[:limit]
    fit = model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    history = [
        {"loss": loss, "accuracy": accuracy}
        for loss, accuracy in zip(fit.history["loss"], fit.history["accuracy"], strict=True)
    ]
    for epoch, record in enumerate(history):
        print(f"epoch {epoch + 1}: loss {record['loss']:.4f}, accuracy {record['accuracy']:.3f}")
    return model, history
# --8<-- [end:train]


# --8<-- [start:evaluate]
def evaluate(model: keras.Model, limit: int | None = None) -> float:
    logits = model.predict(X_test[:limit], verbose=0)
    return float((logits.argmax(axis=1) == y_test[:limit]).mean())
# --8<-- [end:evaluate]


if __name__ == "__main__":
    print(dataset.summary())
    print(f"device: {device}")
    model, history = train()
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print(f"test accuracy: {evaluate(model):.3f}")
    assert history[-1]["loss"] < history[0]["loss"], "training loss did not fall"
