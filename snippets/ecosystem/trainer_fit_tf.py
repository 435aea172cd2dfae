"""The guide's CNN trained by Keras' ``fit``: TensorFlow's loop written for you.

The model is the shared Keras CNN, unchanged; ``compile`` says what the loss,
the optimizer and the metric are, and ``fit`` runs the epochs, the
validation passes and the logging (TensorBoard, through its callback). Same
data, batch size, optimizer and epochs as PyTorch Lightning's ``Trainer`` in
the twin. The doctest trains a few steps and checks the loss falls and lands
in a TensorBoard event file:

>>> import tempfile
>>> run = train_and_log(tempfile.mkdtemp(), epochs=1, max_steps=12)
>>> run.losses[-1] < run.losses[0]
True
>>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
>>> reader = EventAccumulator(str(run.log_dir / "train"))
>>> _ = reader.Reload()
>>> len(reader.Tensors("batch_loss")) > 0
True
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.cnn_tf import build_model
from common.data import load_dataset
from common.outputs import output_dir

batch_size = 64
learning_rate = 1e-3
adam_epsilon = 1e-7  # Keras' default; PyTorch's own default is 1e-8
epochs = 3
seed = 0


# --8<-- [start:model]
def compiled_model() -> keras.Model:
    model = build_model()  # the plain Keras model, unchanged
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, epsilon=adam_epsilon),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],  # fit() computes it on the validation data too
    )
    return model
# --8<-- [end:model]


@dataclass
class Run:
    losses: list[float]
    accuracies: list[float]
    seconds: float
    log_dir: Path


class _Record(keras.callbacks.Callback):
    """Keeps each step's loss for the printout (fit's History holds epoch means only)."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []
        self.previous_sum = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.previous_sum, self.seen = 0.0, 0

    def on_train_batch_end(self, batch, logs=None):
        # Keras reports the running mean over the epoch; undo it to get this batch's loss.
        self.seen += 1
        running_sum = logs["loss"] * self.seen
        self.losses.append(running_sum - self.previous_sum)
        self.previous_sum = running_sum


def train_and_log(log_root: str | Path, epochs: int = epochs, max_steps: int | None = None) -> Run:
    keras.utils.set_random_seed(seed)
    data = load_dataset()
    X, y = data.x_train[..., None], data.y_train
    X_test, y_test = data.x_test[..., None], data.y_test
    if max_steps is not None:
        X, y = X[: max_steps * batch_size], y[: max_steps * batch_size]
    log_dir = Path(log_root) / "keras"
    record = _Record()
    # --8<-- [start:fit]
    model = compiled_model()
    started = time.perf_counter()
    history = model.fit(
        X, y,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        validation_data=(X_test, y_test),
        callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), update_freq="batch"), record],
        verbose=0,
    )
    # --8<-- [end:fit]
    seconds = time.perf_counter() - started
    return Run(record.losses, history.history["val_accuracy"], seconds, log_dir)


if __name__ == "__main__":
    log_root = output_dir() / "runs"
    shutil.rmtree(log_root, ignore_errors=True)
    print(load_dataset().summary())
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}")
    run = train_and_log(log_root, epochs=epochs)
    print(f"model.fit: {len(run.losses)} steps over {epochs} epochs (batch {batch_size}) in {run.seconds:.1f} s")
    print(f"train/loss: first step {run.losses[0]:.4f}, last step {run.losses[-1]:.4f}")
    print("test/accuracy after each epoch: " + ", ".join(f"{a:.3f}" for a in run.accuracies))
    folders = sorted(p.parent.relative_to(log_root).as_posix() for p in run.log_dir.rglob("events.out.tfevents.*"))
    print(f"TensorBoard runs: {', '.join(f'{f}/' for f in folders)}")
    assert np.mean(run.losses[-10:]) < np.mean(run.losses[:10]), "training loss did not fall"
