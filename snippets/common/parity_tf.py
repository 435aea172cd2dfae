"""Parity, TensorFlow side: load the PyTorch side's .npz, copy its weights into the Keras twin, compare.

``compare`` maps the PyTorch ``state_dict`` with the pair's mapping
(``common.parity``), sets it on the Keras model, runs the same batch (in
NHWC), and checks four stages against PyTorch's values: outputs, loss,
gradients (mapped with the same function) and the weights after one Adam step
with the guide's hyper-parameters. ``mapping=`` replaces the pair's mapping,
which is how the tests prove a wrong one fails.

The Keras twin is built in the dtype the PyTorch side ran in (float64 for the
proof, with ``float64_policy``), on the CPU when PyTorch ran there, and each
stage is held to ``parity.TOLERANCES`` for that dtype.

A mapping may also return ``{Keras weight path: array}``, put in order by ``by_path``:

>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="head")])
>>> [a.shape for a in by_path(model, {"head/bias": np.zeros(2), "head/kernel": np.zeros((3, 2))})]
[(3, 2), (2,)]
>>> result = {"pair": "cnn", "passed": True, "stages": []}
>>> summary_line(result)
'cnn: same weights, same function'

Run it as ``python snippets/common/parity_tf.py DIR ROLE[,ROLE] [--label LABEL] [PAIR ...]``: it reads
``DIR/<pair>.<ROLE>.npz`` and writes ``DIR/<pair>.<LABEL>.json`` (LABEL defaults to ROLE).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from common import parity


@contextlib.contextmanager
def float64_policy():
    """Keras builds, computes and optimizes in float64 inside this block; float32 again after it.

    ``floatx`` covers inputs, losses and the optimizers' learning rate, the dtype policy every layer;
    the Speed page's workloads set their precision tier's policy themselves (``common.runtime_tf``),
    so their fp32 tier is read as float64 here. TensorFlow's exact GELU divides by a sqrt(2) it
    casts through float32 (``tf.nn.gelu``), an error of 2**-24 in every GELU's argument; here it
    is the same erf form with a float64 constant, so the proof measures the mapping, not that cast.
    """
    from common import runtime_tf

    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        with mock.patch.dict(runtime_tf.POLICIES, {"fp32": "float64"}), \
                mock.patch.object(keras.activations, "gelu", _gelu_in_dtype):
            yield
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")


_gelu = keras.activations.gelu


def _gelu_in_dtype(x, approximate=False):
    if approximate:
        return _gelu(x, approximate=True)
    return 0.5 * x * (1.0 + tf.math.erf(x / tf.constant(np.sqrt(2.0), dtype=x.dtype)))


def build(pair: parity.Pair) -> keras.Model:
    for module_name, values in pair.settings.items():
        if module_name.endswith("_tf"):
            module = importlib.import_module(module_name)
            for name, value in values.items():
                setattr(module, name, value)
    module_name, function_name = pair.tf_model.split(":")
    model = getattr(importlib.import_module(module_name), function_name)()
    X, _ = parity.fixed_batch(pair)
    model(pair.to_tf_input(X[:1]))  # build lazily created weights (custom layers) at the right shape
    return model


def _state(data, names, prefix: str, fill: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """PyTorch tensors by state_dict name; names absent under ``prefix`` (buffers) come from ``fill``."""
    return {name: data[f"{prefix}/{name}"] if f"{prefix}/{name}" in data else fill[name] for name in names}


# --8<-- [start:parity]
def compare(npz_path: str | Path, mapping=None) -> dict:
    data = np.load(npz_path)
    dtype = str(data["dtype"])
    # The PyTorch side's dtype, and its device: on the CPU (the proof) TensorFlow runs there too.
    precision = float64_policy() if dtype == "float64" else contextlib.nullcontext()
    device = tf.device("/CPU:0") if str(data["device"]) == "cpu" else contextlib.nullcontext()
    with precision, device:
        return _compare(data, mapping)


def _compare(data, mapping) -> dict:
    pair = parity.PAIRS[str(data["pair"])]
    mapping = mapping or pair.map_weights
    dtype = str(data["dtype"])
    tolerances = parity.TOLERANCES[dtype]
    tf.config.experimental.enable_tensor_float_32_execution(False)  # fp32 means fp32 on a GPU too
    model = build(pair)
    if {w.dtype for w in model.weights} != {dtype}:  # a proof in float64 must be float64 throughout
        raise TypeError(f"{pair.name}: Keras weights in {sorted({w.dtype for w in model.weights})}, not {dtype}"
                        " (a layer that cannot run in float64 says why in the pair's float64_blocker)")

    names = [str(n) for n in data["state_names"]]
    state = _state(data, names, "state")
    def keras_order(mapped) -> list[np.ndarray]:
        return mapped if isinstance(mapped, list) else by_path(model, mapped)

    model.set_weights(keras_order(mapping(state)))  # checks every shape against the Keras weight it replaces
    trainable = [i for i, w in enumerate(model.weights) if any(w is t for t in model.trainable_weights)]

    X = tf.constant(pair.to_tf_input(data["input"]))
    y = tf.constant(data["target"])
    from_logits = pair.tf_outputs == "logits"
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)  # in floatx: dtype
    with tf.GradientTape() as tape:
        outputs = model(X, training=not pair.frozen_batch_norm)
        loss = loss_fn(y, outputs)
    # An embedding's gradient comes back as IndexedSlices (the rows the batch used): made dense to compare.
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, [model.weights[i] for i in trainable])]

    def mapped(prefix: str) -> list[np.ndarray]:  # PyTorch tensors under `prefix`, in Keras' layout
        every = keras_order(mapping(_state(data, names, prefix, fill={n: np.zeros_like(v) for n, v in state.items()})))
        return [every[i] for i in trainable]

    def one_adam_step(gradients) -> list[np.ndarray]:  # from the copied weights, with a fresh optimizer
        model.set_weights(keras_order(mapping(state)))
        variables = [model.weights[i] for i in trainable]
        kind = keras.optimizers.AdamW if "weight_decay" in pair.optimizer else keras.optimizers.Adam
        optimizer = kind(**parity.optimizer_for(pair, dtype))  # epsilon explicit: 1e-7, the guide's
        optimizer.apply_gradients(zip([tf.constant(g) for g in gradients], variables, strict=True))
        return [v.numpy() for v in variables]

    torch_outputs = data["logits"] if from_logits else parity.softmax(data["logits"])
    torch_grads = mapped("grad")
    # The step is checked from PyTorch's gradients, so it tests the optimizer alone (the gradients
    # were checked just before): Adam divides each gradient by its own size, so an entry whose
    # gradient is at fp32 noise level moves by up to lr either way from either side's own gradients.
    after = one_adam_step(torch_grads)
    if outputs.dtype != dtype or loss.dtype != dtype:
        raise TypeError(f"{pair.name}: outputs in {outputs.dtype}, loss in {loss.dtype}, not {dtype}")
    checks = [
        parity.check("outputs", outputs.numpy(), torch_outputs, tolerances["outputs"]),
        parity.check("loss", loss.numpy(), data["loss"], tolerances["loss"]),
        parity.check_all("gradients", grads, torch_grads, tolerances["gradients"]),
        parity.check_all("weights after one step", after, mapped("step"), tolerances["weights after one step"]),
    ]
    weights = tolerances["weights after one step"]
    same_eps = parity.check_all("weights after one step", after, mapped("step_same_eps"), weights)
    own_grads = parity.check_all("weights after one step", one_adam_step(grads), mapped("step"), weights)
# --8<-- [end:parity]

    return {
        "pair": pair.name,
        "title": pair.title,
        "note": pair.note,
        "dtype": dtype,
        "passed": all(c.passed for c in checks),
        "stages": [
            {"stage": c.stage, "max_abs_diff": c.max_abs_diff, "worst_ratio": c.worst_ratio, "scale": c.scale,
             "tensors": c.tensors, "passed": c.passed, "relative_l2": c.relative_l2, "entries": c.entries,
             "beyond": c.beyond, "fraction_beyond": c.fraction_beyond,
             "rtol": tolerances[c.stage].rtol, "atol": tolerances[c.stage].atol, "why": tolerances[c.stage].why}
            for c in checks
        ],
        # The backends that ran: oneDNN as TensorFlow reports it (TF_ENABLE_ONEDNN_OPTS, or its default).
        "backends": {"tf_onednn": onednn_enabled(), "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                     "torch_mkldnn": bool(data["mkldnn"])},
        "same_epsilon_step_max_abs_diff": same_eps.max_abs_diff,
        "own_gradients_step_max_abs_diff": own_grads.max_abs_diff,
        "parameters": int(sum(int(np.prod(model.weights[i].shape)) for i in trainable)),
        "batch": list(pair.input_shape),
        "outputs": pair.tf_outputs,
        "frozen_batch_norm": pair.frozen_batch_norm,
        "devices": {"torch": str(data["device"]),
                    "tf": "GPU" if str(data["device"]) != "cpu" and tf.config.list_physical_devices("GPU") else "CPU"},
        "versions": {"torch": str(data["torch_version"]), "tensorflow": tf.__version__, "keras": keras.__version__},
        "adam": parity.optimizer_for(pair, dtype),
        "torch_eps": parity.torch_epsilon_for_keras(pair.optimizer["epsilon"], pair.optimizer["beta_2"]),
    }


def onednn_enabled() -> bool | None:
    """Whether this TensorFlow runs its oneDNN kernels (None where this build cannot say)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def by_path(model: keras.Model, mapped: dict[str, np.ndarray]) -> list[np.ndarray]:
    """A mapping's {Keras weight path (or a tail of it): array} in the order of ``model.weights``."""
    ordered, used = [], set()
    for w in model.weights:
        keys = [k for k in mapped if w.path == k or w.path.endswith("/" + k)]
        if len(keys) != 1:
            raise ValueError(f"Keras weight {w.path}: {'no' if not keys else 'several'} mapped tensors {keys}")
        ordered.append(mapped[keys[0]])
        used.add(keys[0])
    if set(mapped) - used:
        raise ValueError(f"mapped tensors no Keras weight takes: {sorted(set(mapped) - used)}")
    return ordered


def summary_line(result: dict) -> str:
    if result["passed"]:
        return f"{result['pair']}: same weights, same function"
    failed = [s["stage"] for s in result["stages"] if not s["passed"]]
    return f"{result['pair']}: differs at {', '.join(failed)}"


if __name__ == "__main__":
    # One process for every pair asked for: TensorFlow is imported once.
    cli = argparse.ArgumentParser(description="Compare the Keras twins with the PyTorch side's .npz files.")
    cli.add_argument("dir", type=Path)
    cli.add_argument("roles", help="which .npz: <pair>.<role>.npz (proof, fp32, or both: proof,fp32)")
    cli.add_argument("--label", help="write <pair>.<label>.json (default: the role)")
    cli.add_argument("pairs", nargs="*", metavar="PAIR", help=f"default: all of {', '.join(parity.PAIRS)}")
    args = cli.parse_intermixed_args()
    if not set(args.pairs) <= set(parity.PAIRS):
        cli.error(f"unknown pair(s) {sorted(set(args.pairs) - set(parity.PAIRS))}")
    roles = args.roles.split(",")
    if args.label and len(roles) > 1:
        cli.error("--label names the output of one role")
    for name, role in ((name, role) for name in args.pairs or parity.PAIRS for role in roles):
        result = compare(args.dir / f"{name}.{role}.npz")
        (args.dir / f"{name}.{args.label or role}.json").write_text(
            json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"[{args.label or role}] {summary_line(result)}")
        for stage in result["stages"]:
            print(f"  {stage['stage']:<24} max |diff| = {stage['max_abs_diff']:.3g}"
                  f"  ({stage['worst_ratio']:.2g} of the tolerance)  {'ok' if stage['passed'] else 'FAILED'}")
