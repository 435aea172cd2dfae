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
import os

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port  # reports whether oneDNN kernels are on

from common import tiers
from common.cnn_tf import build_model, count_trainable_params
from common.data import synthetic_batch

DEVICE = "cuda" if tf.config.list_physical_devices("GPU") else "cpu"
# How the step can run; a mode adds "-bf16" for Keras' mixed_bfloat16 policy (common/tiers.py).
MODES = tiers.EXECUTIONS["tf"]
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "tf32": "float32"}


def configure(threads: int, mode: str = "eager") -> dict:
    """Pin threads and precision so both frameworks do the same arithmetic."""
    for gpu in tf.config.list_physical_devices("GPU"):
        # Before any op: otherwise TF reserves nearly all device memory up front.
        tf.config.experimental.set_memory_growth(gpu, True)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # can only be set before TF initializes its runtime
        pass
    # fp32 unless the mode says otherwise; TF32 is on by default for TF on GPUs, so it is
    # turned off except in the labelled -tf32 tier.
    tier = tiers.parse(mode)
    tf.config.experimental.enable_tensor_float_32_execution(tier.precision == "tf32")
    keras.mixed_precision.set_global_policy(POLICIES[tier.precision])
    return {
        "precision": {"fp32": "float32", "bf16": "mixed_bfloat16 (bf16 compute, float32 weights)",
                      "tf32": "float32 with TF32 matmuls"}[tier.precision],
        # oneDNN's optimized CPU kernels: on by default in x86 Linux builds unless this says 0.
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (default: on)"),
        "onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "device": DEVICE,
    }
# --8<-- [end:setup]


# --8<-- [start:model]
def build(width: int = 1, mode: str = "eager") -> keras.Model:
    keras.utils.set_random_seed(0)
    # Layers take their dtypes from the global policy when they are created.
    keras.mixed_precision.set_global_policy(POLICIES[tiers.parse(mode).precision])
    return build_model(width)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[tf.Tensor, tf.Tensor]:
    x, y = synthetic_batch(batch_size, seed)  # tensors already on the device: framework cost only
    X = tf.constant(x[..., None])  # NHWC, TensorFlow's native layout
    return X, tf.constant(y)
# --8<-- [end:model]


# --8<-- [start:train_step]
def make_train_step(model: keras.Model, mode: str):
    """One full step: forward, loss, backward, optimizer update."""
    execution = tiers.parse(mode).execution
    optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # fused softmax

    def train_step(X, y):
        with tf.GradientTape() as tape:
            # Under mixed_bfloat16 the logits are bf16; the loss is computed in fp32.
            loss = loss_fn(y, tf.cast(model(X, training=True), tf.float32))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    if execution == "function":
        return tf.function(train_step)
    if execution == "xla":
        return tf.function(train_step, jit_compile=True)
    if execution == "eager":
        return train_step
    raise ValueError(f"unknown mode {mode!r}; Keras fit runs through make_fit")


def sync(loss) -> float:
    """Materialize the scalar: a timing boundary must not end while work is queued."""
    return float(np.asarray(loss))
# --8<-- [end:train_step]


LOOP_MODES = ("fit",)  # executions where Keras, not the harness, owns the loop


def make_fit(model: keras.Model, X, y):
    """Keras' own loop over the same batch, repeated: what `model.fit` costs per step."""
    return keras_fit(model, tf.data.Dataset.from_tensors((X, y)).repeat())


def keras_fit(model: keras.Model, dataset: tf.data.Dataset):
    # Same optimizer and loss as the other modes; everything else is compile's defaults.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def fit(steps: int, on_batch_begin, on_batch_end) -> None:
        """Train `steps` batches; the hooks bracket each one (the harness's clock is in them)."""

        class Bracket(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                on_batch_begin()

            def on_train_batch_end(self, batch, logs=None):
                on_batch_end(sync(logs["loss"]))  # materialized: the step has finished

        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[Bracket()])

    return fit


# --8<-- [start:predict]
def make_predict(model: keras.Model, mode: str):
    execution = tiers.parse(mode).execution
    if execution == "eager":
        return lambda X: model(X, training=False)
    return tf.function(lambda X: model(X, training=False), jit_compile=(execution == "xla"))
# --8<-- [end:predict]


def memory_stats() -> dict:
    """Allocator peak on the GPU (reset after warm-up by the harness); empty on CPU."""
    if DEVICE != "cuda":
        return {}
    return {"device_peak_allocated_bytes": tf.config.experimental.get_memory_info("GPU:0")["peak"]}


def reset_memory_stats() -> None:
    if DEVICE == "cuda":
        tf.config.experimental.reset_memory_stats("GPU:0")


def to_numpy(logits) -> np.ndarray:
    return np.asarray(logits)


if __name__ == "__main__":
    settings = configure(threads=1)
    model = build()
    print(f"device {settings['device']}, {settings['precision']}, "
          f"{count_trainable_params(model):,} trainable parameters")
    X, y = make_batch(32)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print("loss over 5 steps on one batch:", " ".join(f"{loss:.3f}" for loss in losses))
