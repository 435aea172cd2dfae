"""Parity, TensorFlow side: load the PyTorch side's .npz, copy its weights into the Keras twin, compare.

``compare`` maps the PyTorch ``state_dict`` with the pair's mapping
(``common.parity``), sets it on the Keras model, runs the same batch (in
NHWC), and checks four stages against PyTorch's values: outputs, loss,
gradients (mapped with the same function) and the weights after one Adam step
with the guide's hyper-parameters. ``mapping=`` replaces the pair's mapping,
which is how the tests prove a wrong one fails.

A mapping may also return ``{Keras weight path: array}``, put in order by ``by_path``:

>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="head")])
>>> [a.shape for a in by_path(model, {"head/bias": np.zeros(2), "head/kernel": np.zeros((3, 2))})]
[(3, 2), (2,)]
>>> result = {"pair": "cnn", "passed": True, "stages": []}
>>> summary_line(result)
'cnn: same weights, same function'

Run it as ``python snippets/common/parity_tf.py DIR [PAIR ...]``: it reads ``DIR/<pair>.npz``
and writes ``DIR/<pair>.json``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common import parity


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
    pair = parity.PAIRS[str(data["pair"])]
    mapping = mapping or pair.map_weights
    tf.config.experimental.enable_tensor_float_32_execution(False)  # fp32 means fp32 on a GPU too
    model = build(pair)

    names = [str(n) for n in data["state_names"]]
    state = _state(data, names, "state")
    def keras_order(mapped) -> list[np.ndarray]:
        return mapped if isinstance(mapped, list) else by_path(model, mapped)

    model.set_weights(keras_order(mapping(state)))  # checks every shape against the Keras weight it replaces
    trainable = [i for i, w in enumerate(model.weights) if any(w is t for t in model.trainable_weights)]

    X = tf.constant(pair.to_tf_input(data["input"]))
    y = tf.constant(data["target"])
    from_logits = pair.tf_outputs == "logits"
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
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
        optimizer = kind(**pair.optimizer)  # epsilon explicit: 1e-7, the guide's
        optimizer.apply_gradients(zip([tf.constant(g) for g in gradients], variables, strict=True))
        return [v.numpy() for v in variables]

    torch_outputs = data["logits"] if from_logits else parity.softmax(data["logits"])
    torch_grads = mapped("grad")
    # The step is checked from PyTorch's gradients, so it tests the optimizer alone (the gradients
    # were checked just before): Adam divides each gradient by its own size, so an entry whose
    # gradient is at fp32 noise level moves by up to lr either way from either side's own gradients.
    after = one_adam_step(torch_grads)
    checks = [
        parity.check("outputs", outputs.numpy(), torch_outputs, parity.LOGITS),
        parity.check("loss", loss.numpy(), data["loss"], parity.LOSS),
        parity.check_all("gradients", grads, torch_grads, parity.GRADS),
        parity.check_all("weights after one step", after, mapped("step"), parity.WEIGHTS),
    ]
    same_eps = parity.check_all("weights after one step", after, mapped("step_same_eps"), parity.WEIGHTS)
    own_grads = parity.check_all("weights after one step", one_adam_step(grads), mapped("step"), parity.WEIGHTS)
# --8<-- [end:parity]

    return {
        "pair": pair.name,
        "title": pair.title,
        "note": pair.note,
        "passed": all(c.passed for c in checks),
        "stages": [
            {"stage": c.stage, "max_abs_diff": c.max_abs_diff, "worst_ratio": c.worst_ratio, "scale": c.scale,
             "tensors": c.tensors, "passed": c.passed,
             "rtol": parity.STAGES[c.stage].rtol, "atol": parity.STAGES[c.stage].atol,
             "why": parity.STAGES[c.stage].why}
            for c in checks
        ],
        "same_epsilon_step_max_abs_diff": same_eps.max_abs_diff,
        "own_gradients_step_max_abs_diff": own_grads.max_abs_diff,
        "parameters": int(sum(int(np.prod(model.weights[i].shape)) for i in trainable)),
        "batch": list(pair.input_shape),
        "outputs": pair.tf_outputs,
        "frozen_batch_norm": pair.frozen_batch_norm,
        "devices": {"torch": str(data["device"]), "tf": "GPU" if tf.config.list_physical_devices("GPU") else "CPU"},
        "versions": {"torch": str(data["torch_version"]), "tensorflow": tf.__version__, "keras": keras.__version__},
        "adam": pair.optimizer,
        "torch_eps": parity.torch_epsilon_for_keras(pair.optimizer["epsilon"], pair.optimizer["beta_2"]),
    }


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
    if len(sys.argv) < 2 or not set(sys.argv[2:]) <= set(parity.PAIRS):
        sys.exit(f"usage: parity_tf.py DIR [PAIR ...]  (pairs: {', '.join(parity.PAIRS)})")
    for name in sys.argv[2:] or parity.PAIRS:
        result = compare(Path(sys.argv[1]) / f"{name}.npz")
        (Path(sys.argv[1]) / f"{name}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n",
                                                       encoding="utf-8")
        print(summary_line(result))
        for stage in result["stages"]:
            print(f"  {stage['stage']:<24} max |diff| = {stage['max_abs_diff']:.3g}"
                  f"  ({stage['worst_ratio']:.2g} of the tolerance)  {'ok' if stage['passed'] else 'FAILED'}")
