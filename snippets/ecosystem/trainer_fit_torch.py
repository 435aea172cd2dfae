"""The guide's CNN trained by PyTorch Lightning's ``Trainer``: the loop written for you.

The model is the shared PyTorch CNN, unchanged; a ``LightningModule`` says what
one training batch, one validation batch and the optimizer are, and
``Trainer.fit`` runs the epochs, the validation passes and the logging
(TensorBoard, Lightning's default logger). Same data, batch size, optimizer
and epochs as Keras' ``fit`` in the twin. The doctest trains one short epoch
and checks the loss falls and lands in a TensorBoard event file:

>>> import tempfile
>>> run = train_and_log(tempfile.mkdtemp(), epochs=1, max_steps=12)
>>> run.losses[-1] < run.losses[0]
True
>>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
>>> reader = EventAccumulator(str(run.log_dir))
>>> _ = reader.Reload()
>>> len(reader.Scalars("train/loss"))
12
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from common.cnn_torch import build_model
from common.data import load_dataset
from common.outputs import output_dir

batch_size = 64
learning_rate = 1e-3
adam_epsilon = 1e-7  # Keras' default; PyTorch's own default is 1e-8
epochs = 3
seed = 0


# --8<-- [start:model]
class DigitsClassifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = build_model()  # the plain nn.Module, unchanged
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = self.loss_fn(self.model(X), y)
        self.log("train/loss", loss, on_step=True, on_epoch=False)
        return loss  # Lightning calls backward() and step() on it

    def validation_step(self, batch, batch_idx):
        X, y = batch
        accuracy = (self.model(X).argmax(dim=1) == y).float().mean()
        self.log("test/accuracy", accuracy, on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=learning_rate, eps=adam_epsilon)
# --8<-- [end:model]


@dataclass
class Run:
    losses: list[float]
    accuracies: list[float]
    seconds: float
    log_dir: Path


class _Record(pl.Callback):
    """Keeps each step's loss and each epoch's accuracy for the printout."""

    def __init__(self):
        self.losses: list[float] = []
        self.accuracies: list[float] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))

    def on_validation_epoch_end(self, trainer, module):
        if not trainer.sanity_checking:
            self.accuracies.append(float(trainer.callback_metrics["test/accuracy"]))


def train_and_log(log_root: str | Path, epochs: int = epochs, max_steps: int = -1) -> Run:
    pl.seed_everything(seed, verbose=False)
    data = load_dataset()
    train = TensorDataset(torch.from_numpy(data.x_train).unsqueeze(1), torch.from_numpy(data.y_train))
    test = TensorDataset(torch.from_numpy(data.x_test).unsqueeze(1), torch.from_numpy(data.y_test))
    record = _Record()
    # --8<-- [start:fit]
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=256)
    trainer = pl.Trainer(
        max_epochs=epochs,
        max_steps=max_steps,
        accelerator="auto",  # a GPU when there is one, else the CPU
        logger=TensorBoardLogger(log_root, name="lightning", version=0),
        log_every_n_steps=1,
        enable_checkpointing=False,  # on by default; this run keeps no checkpoints
        enable_progress_bar=False,  # a live terminal bar; noise in a log
        enable_model_summary=False,
        callbacks=[record],
    )
    started = time.perf_counter()
    trainer.fit(DigitsClassifier(), train_loader, test_loader)
    # --8<-- [end:fit]
    seconds = time.perf_counter() - started
    return Run(record.losses, record.accuracies, seconds, Path(trainer.logger.log_dir))


if __name__ == "__main__":
    # Lightning's own start-up notes (which accelerator, how many workers) are useful in a
    # terminal and noise in a page; the warning about DataLoader workers is one of them.
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    log_root = output_dir() / "runs"
    shutil.rmtree(log_root, ignore_errors=True)
    print(load_dataset().summary())
    print(f"pytorch-lightning {pl.__version__}, torch {torch.__version__}")
    run = train_and_log(log_root, epochs=epochs)
    print(f"Trainer.fit: {len(run.losses)} steps over {epochs} epochs (batch {batch_size}) in {run.seconds:.1f} s")
    print(f"train/loss: first step {run.losses[0]:.4f}, last step {run.losses[-1]:.4f}")
    print("test/accuracy after each epoch: " + ", ".join(f"{a:.3f}" for a in run.accuracies))
    events = sorted(run.log_dir.glob("events.out.tfevents.*"))
    print(f"TensorBoard run: {run.log_dir.relative_to(log_root)}/, {len(events)} event file(s)")
    assert np.mean(run.losses[-10:]) < np.mean(run.losses[:10]), "training loss did not fall"
