"""Log a short training run of the guide's CNN to TensorBoard, from PyTorch.

``torch.utils.tensorboard.SummaryWriter`` writes the same event-file format
TensorFlow does; TensorBoard itself (the ``tensorboard`` package) only has to
be installed. The doctest trains a few steps and checks the losses really land
in an event file, read back with TensorBoard's own reader:

>>> import tempfile
>>> log_dir = tempfile.mkdtemp()
>>> losses, accuracies = train_and_log(log_dir, epochs=1, max_steps=3)
>>> len(losses)
3
>>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
>>> reader = EventAccumulator(log_dir)
>>> _ = reader.Reload()
>>> [event.step for event in reader.Scalars("train/loss")]
[1, 2, 3]
>>> abs(reader.Scalars("train/loss")[0].value - losses[0]) < 1e-6
True

Run it: ``python snippets/ecosystem/tensorboard_log_torch.py``; then
``tensorboard --logdir snippet-output/tensorboard_log_torch/runs``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from common.cnn_torch import build_model
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
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = load_dataset()
    X = torch.from_numpy(data.x_train).unsqueeze(1).to(device)  # (N, 1, 28, 28)
    y = torch.from_numpy(data.y_train).to(device)
    X_test = torch.from_numpy(data.x_test).unsqueeze(1).to(device)
    y_test = torch.from_numpy(data.y_test).to(device)
    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, eps=adam_epsilon)
    loss_fn = nn.CrossEntropyLoss()  # takes logits, like Keras' from_logits=True

    def train_step(X_batch, y_batch):
        model.train()
        optimizer.zero_grad()
        loss = loss_fn(model(X_batch), y_batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    def test_accuracy() -> float:
        model.eval()
        with torch.no_grad():
            return (model(X_test).argmax(dim=1) == y_test).float().mean().item()

    losses: list[float] = []
    accuracies: list[float] = []
    # --8<-- [start:log]
    writer = SummaryWriter(log_dir=str(log_dir))
    step = 0
    for epoch in range(epochs):
        for idx in batch_order(len(X), epoch):
            loss = train_step(X[idx], y[idx])
            step += 1
            writer.add_scalar("train/loss", loss, global_step=step)
            losses.append(loss)
            if max_steps is not None and step >= max_steps:
                break
        accuracies.append(test_accuracy())
        writer.add_scalar("test/accuracy", accuracies[-1], global_step=step)
        last_layer = model[-1]  # the Linear layer that produces the logits
        writer.add_histogram("dense/kernel", last_layer.weight.detach().cpu(), global_step=step)
    writer.close()  # flushes the event file to disk
    # --8<-- [end:log]
    return losses, accuracies


if __name__ == "__main__":
    log_dir = output_dir() / "runs" / "torch"
    shutil.rmtree(log_dir, ignore_errors=True)  # one run per folder, even when rerun by hand
    print(load_dataset().summary())
    print(f"device: {'cuda' if torch.cuda.is_available() else 'cpu'}; torch {torch.__version__}")
    losses, accuracies = train_and_log(log_dir)
    print(f"logged {len(losses)} training steps over {epochs} epochs (batch {batch_size})")
    print(f"train/loss: first step {losses[0]:.4f}, last step {losses[-1]:.4f}")
    print("test/accuracy after each epoch: " + ", ".join(f"{a:.3f}" for a in accuracies))
    event_files = sorted(log_dir.glob("events.out.tfevents.*"))
    # tensorboard.compat imports TensorFlow whenever it is installed, to use tf.io.gfile.
    print(f"TensorFlow imported into this PyTorch process by the writer: {'tensorflow' in sys.modules}")
    print(f"event files written: {len(event_files)} ({sum(f.stat().st_size for f in event_files):,} bytes)")
