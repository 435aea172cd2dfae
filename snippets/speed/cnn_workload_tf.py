"""The benchmark workload, TensorFlow side: the guide's CNN, a batch, one full training step.

This file defines *what* is timed; the harness in ``scripts/engine/bench``
decides *how* (fresh process, warm-up, sync, samples). The PyTorch twin is
``cnn_workload_torch.py``: same section names, same variable names, same work.

>>> configure(threads=1)["precision"]
'float32'
>>> model = build(width=1)
>>> count_trainable_params(model)
34826
>>> X, y = make_batch(8)
>>> tuple(model(X).shape)
(8, 10)
>>> train_step = make_train_step(model, "eager")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(5)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
>>> losses = []
>>> make_fit(build(width=1), X, y)(4, lambda: None, losses.append)
>>> len(losses), losses[-1] < losses[0]  # Keras fit, bracketed batch by batch
(4, True)
>>> model = build(width=1, mode="function-bf16")  # Keras' mixed_bfloat16 policy
>>> model.layers[0].compute_dtype, model.layers[0].kernel.dtype  # bf16 maths, fp32 master weights
('bfloat16', 'float32')
>>> train_step = make_train_step(model, "function-bf16")
>>> first = sync(train_step(X, y))
>>> sync(train_step(X, y)) < first
True
"""

from __future__ import annotations

# --8<-- [start:setup]
import keras
import tensorflow as tf

from common.cnn_tf import build_model
from common.data import synthetic_batch
from common.runtime_tf import *  # noqa: F403  (the contract's shared names: runtime_tf.__all__)
from common.runtime_tf import configure, count_trainable_params, fit_on_repeated_batch, set_policy, sync
from common.runtime_tf import make_train_step as runtime_train_step

# --8<-- [end:setup]


# --8<-- [start:model]
def build(width: int = 1, mode: str = "eager") -> keras.Model:
    keras.utils.set_random_seed(0)
    set_policy(mode)  # layers take their dtypes from the global policy when they are created
    return build_model(width)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[tf.Tensor, tf.Tensor]:
    x, y = synthetic_batch(batch_size, seed)  # tensors already on the device: framework cost only
    X = tf.constant(x[..., None])  # NHWC, TensorFlow's native layout
    return X, tf.constant(y)
# --8<-- [end:model]


# --8<-- [start:train_step]
def make_optimizer() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # fused softmax


def make_train_step(model: keras.Model, mode: str):
    """One full step of the CNN: Adam, cross-entropy on logits."""
    return runtime_train_step(model, mode, LOSS, make_optimizer())
# --8<-- [end:train_step]


def make_fit(model: keras.Model, X, y):
    """Keras' own loop over the same batch, repeated: what `model.fit` costs per step."""
    return fit_on_repeated_batch(model, X, y, LOSS, make_optimizer())


if __name__ == "__main__":
    settings = configure(threads=1)
    model = build()
    print(f"device {settings['device']}, {settings['precision']}, "
          f"{count_trainable_params(model):,} trainable parameters")
    X, y = make_batch(32)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch:", " ".join(f"{loss:.3f}" for loss in losses))
