"""One training step as a function, then the loop that calls it: TensorFlow's GradientTape.

Leaving ``fit`` means writing the step yourself: record the forward pass on a
``tf.GradientTape``, ask it for gradients, apply them. ``@tf.function`` traces
the step into a graph once and reuses it.

>>> model = build_model()
>>> optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
>>> X, y = tf.zeros((8, 28, 28, 1)), tf.zeros((8,), dtype=tf.int64)
>>> first = float(train_step(model, optimizer, X, y))
>>> later = [float(train_step(model, optimizer, X, y)) for _ in range(20)][-1]
>>> later < first
True
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from common.cnn_tf import build_model
from common.data import load_dataset

loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


# --8<-- [start:train_step]
@tf.function  # traced to a graph on first call, reused after
def train_step(model, optimizer, X, y):
    with tf.GradientTape() as tape:  # records the forward pass
        loss = loss_fn(y, model(X, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
# --8<-- [end:train_step]


# --8<-- [start:loop]
def train(epochs: int = 3, batch_size: int = 64) -> list[float]:
    keras.utils.set_random_seed(0)
    dataset = load_dataset()
    X_train = dataset.x_train[..., np.newaxis]
    y_train = dataset.y_train
    model = build_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
    batches = tf.data.Dataset.from_tensor_slices((X_train, y_train))
    epoch_losses = []
    for epoch in range(epochs):
        losses = [
            float(train_step(model, optimizer, X, y))
            for X, y in batches.shuffle(len(X_train), seed=epoch).batch(batch_size)
        ]
        epoch_losses.append(sum(losses) / len(losses))
        print(f"epoch {epoch + 1}: mean batch loss {epoch_losses[-1]:.4f}")
    return epoch_losses
# --8<-- [end:loop]


if __name__ == "__main__":
    losses = train()
    assert losses[-1] < losses[0], "training loss did not fall"
