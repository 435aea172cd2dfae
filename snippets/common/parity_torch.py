"""Parity, PyTorch side: run a pair's PyTorch model on the fixed batch and write everything to an .npz.

Twice per pair: ``ROLES["proof"]`` in float64 on the CPU (the proof that the
mapping is right; skipped for a pair that says why it cannot), and
``ROLES["fp32"]`` in fp32 on the default device with the default backend,
as a user runs it (measured and reported).

The file holds the model's ``state_dict`` (``state/<name>``, in PyTorch's
layout and order), the fixed batch, the logits, the cross-entropy loss, every
parameter's gradient (``grad/<name>``) and the parameters after one Adam step
(``step/<name>``, with PyTorch's eps chosen so the step equals Keras' Adam with
the guide's epsilon; ``step_same_eps/<name>`` with the guide's epsilon passed
to both, which is not the same update). ``common.parity_tf`` reads it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "custom_layer.npz"
>>> data = np.load(export("custom_layer", path))
>>> data["logits"].shape, data["state/1.weight"].shape, data["grad/1.weight"].shape, str(data["dtype"])
((8, 10), (784, 64), (784, 64), 'float32')
>>> str(np.load(export("custom_layer", path, "float64"))["grad/1.weight"].dtype)
'float64'

Run it as ``python snippets/common/parity_torch.py OUT_DIR [PAIR ...]``: it writes
``OUT_DIR/<pair>.proof.npz`` and ``OUT_DIR/<pair>.fp32.npz``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common import parity

# role -> (dtype, device): the proof on the CPU, whatever the machine has; fp32 where a user runs it.
ROLES = {"proof": ("float64", "cpu"), "fp32": ("float32", None)}


def build(pair: parity.Pair) -> torch.nn.Module:
    for module_name, values in pair.settings.items():
        if module_name.endswith("_torch"):
            module = importlib.import_module(module_name)
            for name, value in values.items():
                setattr(module, name, value)
    module_name, function_name = pair.torch_model.split(":")
    torch.manual_seed(parity.SEED)  # the weights are copied, so any seed works; a fixed one repeats
    return getattr(importlib.import_module(module_name), function_name)()


def calibrate_batch_norm(model: torch.nn.Module, X: torch.Tensor) -> None:
    """Set every batch norm's statistics from one pass over ``X``, to be frozen afterwards.

    With the initial statistics (mean 0, variance 1) a deep random network's
    activations fade layer after layer and every output is nearly the same,
    which two models would "agree" on whatever their weights; calibrated
    statistics keep each layer's activations at unit scale.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: after one batch, that batch's statistics
    model.train()
    with torch.no_grad():
        model(X)


def _numpy(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}/{name}": t.detach().cpu().numpy().copy() for name, t in tensors.items()}


# --8<-- [start:parity]
def export(pair_name: str, path: str | Path, dtype: str = "float32", device: str | None = None) -> Path:
    pair = parity.PAIRS[pair_name]
    # fp32 means fp32: no TF32 matmuls or convolutions on an NVIDIA GPU.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    # Built as everywhere else (fp32, same seed), then cast: the float64 model holds the same weights.
    model = build(pair).to(device=device, dtype=getattr(torch, dtype))
    X, y = parity.fixed_batch(pair)
    if np.issubdtype(X.dtype, np.floating):  # images; token ids stay integers
        X = X.astype(dtype)
    if pair.frozen_batch_norm:
        calibrate_batch_norm(model, torch.from_numpy(X).to(device))
    model.eval() if pair.frozen_batch_norm else model.train()
    state = {name: t.detach().clone() for name, t in model.state_dict().items()}
    logits = model(torch.from_numpy(X).to(device))
    # Mean over every target, like Keras; classes last, as Keras has them, for (N, C) and (N, T, C) alike.
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).to(device).reshape(-1))
    loss.backward()
    params = dict(model.named_parameters())
    grads = {name: p.grad for name, p in params.items()}

    adam = parity.optimizer_for(pair, dtype)
    steps = {}
    for label, eps in (("step", parity.torch_epsilon_for_keras(adam["epsilon"], adam["beta_2"])),
                       ("step_same_eps", adam["epsilon"])):
        model.load_state_dict(state)  # both steps start from the exported weights and gradients
        for name, p in params.items():
            p.grad = grads[name].clone()
        hyper = dict(lr=adam["learning_rate"], betas=(adam["beta_1"], adam["beta_2"]), eps=eps)
        if "weight_decay" in adam:  # decoupled, like keras.optimizers.AdamW
            optimizer = torch.optim.AdamW(model.parameters(), weight_decay=adam["weight_decay"], **hyper)
        else:
            optimizer = torch.optim.Adam(model.parameters(), **hyper)
        optimizer.step()
        steps.update(_numpy(dict(model.named_parameters()), label))
# --8<-- [end:parity]

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        pair=pair.name, device=device, torch_version=torch.__version__,
        state_names=np.array(list(state)), param_names=np.array(list(params)),
        dtype=dtype, mkldnn=torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        input=X, target=y, logits=logits.detach().cpu().numpy(), loss=np.asarray(loss.item(), dtype),
        **_numpy(state, "state"), **_numpy(grads, "grad"), **steps,
    )
    return path


if __name__ == "__main__":
    # One process for every pair asked for: PyTorch is imported once.
    if len(sys.argv) < 2 or not set(sys.argv[2:]) <= set(parity.PAIRS):
        sys.exit(f"usage: parity_torch.py OUT_DIR [PAIR ...]  (pairs: {', '.join(parity.PAIRS)})")
    for name in sys.argv[2:] or parity.PAIRS:
        for role, (dtype, device) in ROLES.items():
            if role == "proof" and parity.PAIRS[name].float64_blocker:
                continue  # no float64 proof; the page says why
            print(export(name, Path(sys.argv[1]) / f"{name}.{role}.npz", dtype, device))
