"""The second data tier, TensorFlow side: each step pulls its batch through ``tf.data``.

The headline benchmark hands every step a batch already in memory, which
times the framework alone. Here the same step is fed by TensorFlow's own input
pipeline over real digits, so the pipeline's cost is inside the step time.
The PyTorch twin is ``input_pipeline_torch.py``.

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
import tensorflow as tf

from common.data import load_digits_28
from common.runtime_tf import *  # noqa: F403  (the contract's shared names: runtime_tf.__all__)
from common.runtime_tf import configure, keras_fit, sync
from speed.cnn_workload_tf import LOSS, build, make_batch, make_optimizer  # the CNN workload's parts
from speed.cnn_workload_tf import make_train_step as make_device_step


def make_loader(batch_size: int) -> tf.data.Dataset:
    data = load_digits_28()
    dataset = tf.data.Dataset.from_tensor_slices((data.x_train[..., None], data.y_train))
    return (dataset.shuffle(len(data.y_train), seed=0)  # reshuffles every epoch
            .batch(batch_size, drop_remainder=True)
            .repeat()
            .prefetch(tf.data.AUTOTUNE))


def make_train_step(model, mode: str):
    device_step = make_device_step(model, mode)
    batches = None

    def train_step(X, y):
        """The batch passed in only sets the batch size; the data comes from the pipeline."""
        nonlocal batches
        if batches is None:
            batches = iter(make_loader(int(X.shape[0])))
        X_next, y_next = next(batches)
        return device_step(X_next, y_next)

    return train_step
# --8<-- [end:pipeline]


def make_fit(model, X, y):
    """Keras fit pulling its batches from the same pipeline (the harness's "fit" mode)."""
    return keras_fit(model, make_loader(int(X.shape[0])), LOSS, make_optimizer())


if __name__ == "__main__":
    configure(threads=1)
    model = build()
    X, y = make_batch(64)
    train_step = make_train_step(model, "function")
    losses = [sync(train_step(X, y)) for _ in range(30)]
    print(f"loss on real digits through tf.data: step 1 {losses[0]:.3f}, step 30 {losses[-1]:.3f}")
