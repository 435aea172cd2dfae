"""The Transformer benchmark workload, TensorFlow side: a language model, a batch, one training step.

Same contract as the CNN workload (``engine.bench.workload``); the twin is
``transformer_workload_torch.py``. AdamW with the same hyper-parameters on both
sides (epsilon set explicitly) and gradient clipping to a global norm of 1 on
both (Keras: the optimizer's ``global_clipnorm``).

>>> _ = configure(threads=1)
>>> model = build(size=1)
>>> count_trainable_params(model) == trainable_params(1)
True
>>> X, y = make_batch(2, size=1)
>>> tuple(model(X).shape)
(2, 128, 4096)
>>> train_step = make_train_step(model, "function")
>>> first = sync(train_step(X, y))
>>> last = [sync(train_step(X, y)) for _ in range(3)][-1]
>>> last < first  # the correctness gate: the loss falls on a fixed batch
True
"""

from __future__ import annotations

# --8<-- [start:train_step]
import keras
import tensorflow as tf

from common.runtime_tf import *  # noqa: F403  (the contract's shared names: runtime_tf.__all__)
from common.runtime_tf import configure, count_trainable_params, fit_on_repeated_batch, set_policy, sync
from common.runtime_tf import make_train_step as runtime_train_step
from common.text import synthetic_token_batch, text_batch
from common.transformer_tf import build_model
from speed.transformer_workload import DEFAULT_SIZE, SEQ_LEN, VOCAB_SIZE, model_kwargs, trainable_params  # noqa: F401


def build(size: int = DEFAULT_SIZE, mode: str = "eager") -> keras.Model:
    keras.utils.set_random_seed(0)
    set_policy(mode)  # layers take their dtypes from the global policy when they are created
    return build_model(**model_kwargs(size))


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager", size: int = DEFAULT_SIZE,
               data: str = "text") -> tuple[tf.Tensor, tf.Tensor]:
    if data == "text":
        x, y = text_batch(batch_size, SEQ_LEN, seed)
    else:
        x, y = synthetic_token_batch(batch_size, SEQ_LEN, VOCAB_SIZE, seed)
    return tf.constant(x), tf.constant(y)


# Mean cross-entropy over every position of every sequence.
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def make_optimizer() -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(learning_rate=3e-4, beta_1=0.9, beta_2=0.95, epsilon=1e-8, weight_decay=0.1,
                                  global_clipnorm=1.0)


def make_train_step(model: keras.Model, mode: str):
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
    X, y = make_batch(4)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch of real text:", " ".join(f"{loss:.3f}" for loss in losses))
