"""How every TensorFlow benchmark workload runs a step: threads, precision, compilation, sync.

The workloads (``snippets/speed/*_workload_tf.py``) define a model, a batch, a
loss and an optimizer; this file turns them into one training step in the
tier a mode names (``common/tiers.py``): eager, ``tf.function``, XLA, or Keras'
own ``fit`` loop. The PyTorch twin is ``runtime_torch.py``: same function
names, same work.

>>> configure(threads=1, mode="function-bf16")["precision"]
'mixed_bfloat16 (bf16 compute, float32 weights)'
>>> _ = configure(threads=1)
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
>>> loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
>>> step = make_train_step(model, "function", loss_fn,
...                        keras.optimizers.SGD(learning_rate=0.5, global_clipnorm=1.0))
>>> X, y = tf.ones((8, 4)), tf.zeros((8,), tf.int64)
>>> first = sync(step(X, y))
>>> sync(step(X, y)) < first  # the loss falls on a fixed batch
True
"""

from __future__ import annotations

# The contract's names that every TensorFlow workload takes as they are, with
# `from common.runtime_tf import *` (engine.bench.workload lists the contract). Not make_train_step:
# each workload wraps it with its own loss and optimizer.
__all__ = ["DEVICE", "LOOP_MODES", "MODES", "configure", "count_trainable_params", "device_of",
           "make_predict", "memory_stats", "reset_memory_stats", "sync", "to_numpy", "global_state", "restore_state"]

# --8<-- [start:setup]
import os

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port  # reports whether oneDNN kernels are on

from common import tiers

DEVICE = "cuda" if tf.config.list_physical_devices("GPU") else "cpu"
# How a step can run; a mode adds "-bf16" for Keras' mixed_bfloat16 policy (common/tiers.py).
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
    set_policy(mode)
    return {
        "precision": {"fp32": "float32", "bf16": "mixed_bfloat16 (bf16 compute, float32 weights)",
                      "tf32": "float32 with TF32 matmuls"}[tier.precision],
        # oneDNN's optimized CPU kernels: on by default in x86 Linux builds unless this says 0.
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (default: on)"),
        "onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "device": DEVICE,
        # The precision default as the step will see it (printed per table, docs/method.md#precision).
        "tf32_matmul": tf.config.experimental.tensor_float_32_execution_enabled(),
    }


def set_policy(mode: str) -> None:
    """Layers take their dtypes from Keras' global policy when they are created."""
    keras.mixed_precision.set_global_policy(POLICIES[tiers.parse(mode).precision])
# --8<-- [end:setup]


# --8<-- [start:train_step]
def make_train_step(model: keras.Model, mode: str, loss_fn, optimizer: keras.optimizers.Optimizer):
    """One full step: forward, loss, backward, optimizer update (clipping is the optimizer's)."""
    execution = tiers.parse(mode).execution

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


def keras_fit(model: keras.Model, dataset: tf.data.Dataset, loss_fn, optimizer: keras.optimizers.Optimizer):
    """Keras' own loop: the same optimizer and loss as the other modes, everything else compile's defaults."""
    model.compile(optimizer=optimizer, loss=loss_fn)

    def fit(steps: int, on_batch_begin, on_batch_end) -> None:
        """Train `steps` batches; the hooks bracket each one (the harness's clock is in them)."""

        class Bracket(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                on_batch_begin()

            def on_train_batch_end(self, batch, logs=None):
                on_batch_end(sync(logs["loss"]))  # materialized: the step has finished

        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[Bracket()])

    return fit


def fit_on_repeated_batch(model: keras.Model, X, y, loss_fn, optimizer: keras.optimizers.Optimizer):
    """Keras' own loop over one batch, repeated: what `model.fit` costs per step (a workload's make_fit)."""
    return keras_fit(model, tf.data.Dataset.from_tensors((X, y)).repeat(), loss_fn, optimizer)


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


def device_of(tensor) -> str:
    """Where a tensor really lives ("cpu", "cuda"): the device a row reports, checked against its label."""
    return "cuda" if "GPU" in tensor.device.upper() else "cpu"


def to_numpy(logits) -> np.ndarray:
    return np.asarray(tf.cast(logits, tf.float32))


def count_trainable_params(model: keras.Model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)



def global_state() -> dict:
    """The process-wide settings a tier may change; a block records them around every tier."""
    return {"keras_policy": keras.mixed_precision.global_policy().name,
            "xla_auto_jit": tf.config.optimizer.get_jit(),
            "tf32": tf.config.experimental.tensor_float_32_execution_enabled()}


def restore_state(state: dict) -> None:
    """Put ``global_state()`` back and drop the tier's models, so the next tier in a block starts clean."""
    keras.backend.clear_session(free_memory=True)  # the tier's graphs, layers' name counters, memory
    keras.mixed_precision.set_global_policy(state["keras_policy"])
    tf.config.optimizer.set_jit(state["xla_auto_jit"] or False)
    tf.config.experimental.enable_tensor_float_32_execution(state["tf32"])


if __name__ == "__main__":
    print(configure(threads=1))
