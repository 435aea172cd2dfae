"""The second data tier, PyTorch side: each step pulls its batch through a ``DataLoader``.

The headline benchmark hands every step a batch already in memory, which
times the framework alone. Here the same step is fed by PyTorch's own input
pipeline over real digits, so the loader's cost is inside the step time. The
TensorFlow twin is ``input_pipeline_tf.py``.

>>> configure(threads=1)["precision"]
'float32'
>>> model = build(width=1)
>>> X, y = make_batch(32)
>>> train_step = make_train_step(model, "eager")
>>> 0.0 < sync(train_step(X, y)) < 5.0
True
"""

from __future__ import annotations

# --8<-- [start:pipeline]
import torch
from torch.utils.data import DataLoader, TensorDataset

from common.data import load_digits_28
from common.runtime_torch import *  # noqa: F403  (the contract's shared names: runtime_torch.__all__)
from common.runtime_torch import DEVICE, configure, sync
from speed.cnn_workload_torch import build, make_batch  # the CNN workload's parts
from speed.cnn_workload_torch import make_train_step as make_device_step


def make_loader(batch_size: int) -> DataLoader:
    data = load_digits_28()
    dataset = TensorDataset(torch.from_numpy(data.x_train).unsqueeze(1), torch.from_numpy(data.y_train))
    # No worker processes: on a two-core machine they would compete with the step itself.
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0,
                      generator=torch.Generator().manual_seed(0))


def forever(loader: DataLoader):
    while True:
        yield from loader  # a fresh, reshuffled pass every epoch


def make_train_step(model, mode: str):
    device_step = make_device_step(model, mode)
    batches = None

    def train_step(X, y):
        """The batch passed in only sets the batch size; the data comes from the pipeline."""
        nonlocal batches
        if batches is None:
            batches = forever(make_loader(len(X)))
        X_next, y_next = next(batches)
        return device_step(X_next.to(DEVICE), y_next.to(DEVICE))

    return train_step
# --8<-- [end:pipeline]


if __name__ == "__main__":
    configure(threads=1)
    model = build()
    X, y = make_batch(64)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(30)]
    print(f"loss on real digits through a DataLoader: step 1 {losses[0]:.3f}, step 30 {losses[-1]:.3f}")
