"""The ResNet benchmark workload, TensorFlow side: a CIFAR-shaped ResNet, a batch, one training step.

Same contract as the CNN workload (``engine.bench.workload``); the twin is
``resnet_workload_torch.py``. SGD with momentum 0.9 on both sides (the same
update with a constant learning rate, written differently). Run directly, it
trains on the real digits padded to 32x32x3 for a short convergence check
(``common/convergence.py``).

>>> _ = configure(threads=1)
>>> model = build(size=1)
>>> count_trainable_params(model) == trainable_params(1)
True
>>> X, y = make_batch(4)
>>> tuple(model(X).shape)
(4, 10)
>>> train_step = make_train_step(model, "function")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(3)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
"""

from __future__ import annotations

# --8<-- [start:train_step]
import keras
import numpy as np
import tensorflow as tf

from common.resnet_tf import build_model
from common.runtime_tf import *  # noqa: F403  (the contract's shared names: runtime_tf.__all__)
from common.runtime_tf import configure, count_trainable_params, fit_on_repeated_batch, set_policy
from common.runtime_tf import make_train_step as runtime_train_step
from speed.resnet_workload import DEFAULT_SIZE, base_channels, trainable_params  # noqa: F401


def build(size: int = DEFAULT_SIZE, mode: str = "eager") -> keras.Model:
    keras.utils.set_random_seed(0)
    set_policy(mode)  # layers take their dtypes from the global policy when they are created
    return build_model(base_channels(size))


def to_device(x: np.ndarray, y: np.ndarray, mode: str) -> tuple[tf.Tensor, tf.Tensor]:
    """NHWC images and labels from NumPy as tensors (NHWC is TF's layout in every mode)."""
    return tf.constant(x), tf.constant(y)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(seed)  # random 32x32x3 images: throughput only (NHWC, TF's layout)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    return to_device(x, rng.integers(0, 10, batch_size), mode)


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def make_optimizer() -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def make_train_step(model: keras.Model, mode: str):
    return runtime_train_step(model, mode, LOSS, make_optimizer())
# --8<-- [end:train_step]


def make_fit(model: keras.Model, X, y):
    """Keras' own loop over the same batch, repeated: what `model.fit` costs per step."""
    return fit_on_repeated_batch(model, X, y, LOSS, make_optimizer())


if __name__ == "__main__":
    import sys

    from common.convergence import train_on_digits

    settings = configure(threads=1)
    print(f"device {settings['device']}, {count_trainable_params(build()):,} trainable parameters")
    accuracy = train_on_digits(sys.modules[__name__], mode="function")
    print(f"test accuracy on real digits after 2 epochs: {accuracy:.3f}")
