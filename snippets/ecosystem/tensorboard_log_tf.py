"""Log a short training run of the guide's CNN to TensorBoard, from TensorFlow.

``tf.summary.create_file_writer`` writes TensorBoard event files; TF 2 stores
each scalar as a rank-0 tensor tagged for the scalars plugin. The doctest
trains a few steps and checks the losses really land in an event file, read
back with TensorBoard's own reader:

>>> import tempfile
>>> log_dir = tempfile.mkdtemp()
>>> losses, accuracies = train_and_log(log_dir, epochs=1, max_steps=3)
>>> len(losses)
3
>>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
>>> from tensorboard.util import tensor_util
>>> reader = EventAccumulator(log_dir)
>>> _ = reader.Reload()
>>> [event.step for event in reader.Tensors("train/loss")]
[1, 2, 3]
>>> abs(float(tensor_util.make_ndarray(reader.Tensors("train/loss")[0].tensor_proto)) - losses[0]) < 1e-6
True

Run it: ``python snippets/ecosystem/tensorboard_log_tf.py``; then
``tensorboard --logdir snippet-output/tensorboard_log_tf/runs``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.cnn_tf import build_model
from common.data import load_dataset
from common.outputs import output_dir

# --8<-- [start:setup]
# Same hyper-parameters and the same batch order in both frameworks.
batch_size = 64
learning_rate = 1e-3
adam_epsilon = 1e-7  # Keras' default; PyTorch's own default is 1e-8
epochs = 3
seed = 0


def batch_order(n: int, epoch: int) -> list[np.ndarray]:
    """Shuffled index batches, identical in the PyTorch and TensorFlow runs."""
    order = np.random.default_rng(seed + epoch).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]
# --8<-- [end:setup]


def train_and_log(
    log_dir: str | Path, epochs: int = epochs, max_steps: int | None = None
) -> tuple[list[float], list[float]]:
    """Train the shared CNN, logging to ``log_dir``; return per-step losses and per-epoch test accuracies."""
    keras.utils.set_random_seed(seed)
    data = load_dataset()
    X = data.x_train[..., None]  # (N, 28, 28, 1): channels last
    y = data.y_train
    X_test = data.x_test[..., None]
    y_test = data.y_test
    model = build_model()  # TF places it on a GPU by itself when one is visible
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, epsilon=adam_epsilon)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(X_batch, y_batch):
        with tf.GradientTape() as tape:
            loss = loss_fn(y_batch, model(X_batch, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    def test_accuracy() -> float:
        predictions = np.argmax(model(X_test, training=False).numpy(), axis=1)
        return float(np.mean(predictions == y_test))

    losses: list[float] = []
    accuracies: list[float] = []
    # --8<-- [start:log]
    writer = tf.summary.create_file_writer(str(log_dir))
    step = 0
    with writer.as_default():
        for epoch in range(epochs):
            for idx in batch_order(len(X), epoch):
                loss = float(train_step(X[idx], y[idx]))
                step += 1
                tf.summary.scalar("train/loss", loss, step=step)
                losses.append(loss)
                if max_steps is not None and step >= max_steps:
                    break
            accuracies.append(test_accuracy())
            tf.summary.scalar("test/accuracy", accuracies[-1], step=step)
            last_layer = model.layers[-1]  # the Dense layer that produces the logits
            tf.summary.histogram("dense/kernel", last_layer.kernel, step=step)
    writer.close()  # flushes the event file to disk
    # --8<-- [end:log]
    return losses, accuracies


if __name__ == "__main__":
    log_dir = output_dir() / "runs" / "tf"
    shutil.rmtree(log_dir, ignore_errors=True)  # one run per folder, even when rerun by hand
    print(load_dataset().summary())
    print(f"device: {'gpu' if tf.config.list_physical_devices('GPU') else 'cpu'}; tensorflow {tf.__version__}")
    losses, accuracies = train_and_log(log_dir)
    print(f"logged {len(losses)} training steps over {epochs} epochs (batch {batch_size})")
    print(f"train/loss: first step {losses[0]:.4f}, last step {losses[-1]:.4f}")
    print("test/accuracy after each epoch: " + ", ".join(f"{a:.3f}" for a in accuracies))
    event_files = sorted(log_dir.glob("events.out.tfevents.*"))
    print(f"event files written: {len(event_files)} ({sum(f.stat().st_size for f in event_files):,} bytes)")
