"""``regen.py new PAGE NAME --bench``: a benchmark workload pair, its description and its case.

The files ``engine.scaffold`` adds for a benchmark, all in the page folder: a
pair that keeps the workload contract (``engine.bench.workload``) with a small
dense model on synthetic batches, the description ``<name>.py`` the engine
reads without a framework, and a ``Case`` named ``<name>`` appended to
``<page>_cases.py`` (created when the page has none). The case has no
renderer of its own, so its table is the generic one
(``docs/generated/bench/<name>.md``, ``engine.bench.generic``).

>>> sorted(p.name for p in files("mypage", "tiny", Path("snippets/mypage")))
['mypage_cases.py', 'tiny.py', 'tiny_tf.py', 'tiny_torch.py']
"""

from __future__ import annotations

from pathlib import Path

from engine import pages, scaffold, sides


class CaseNameTaken(ValueError):
    """A case of that name exists: case names are result file names."""


def table_include(name: str) -> str:
    return f'''The benchmark, measured by this build (`GUIDE_BENCH_PROFILE` picks the profile):

--8<-- "docs/generated/bench/{name}.md"
'''


def _description(page: str, name: str) -> str:
    return f'''"""What the ``{name}`` workload is, for the engine: size, parameters, FLOPs, data (no framework imported).

The engine reads this beside ``{name}_torch.py`` / ``{name}_tf.py`` (the
contract is ``engine.bench.workload``); every timed run checks the parameter
count and the output shape against it. FLOPs count the two dense layers, 2 per
multiply-add; backward costs two forward passes per layer, except the first
layer's input gradient, which nothing needs.

>>> trainable_params(1)
2410
>>> train_step_flops(8) > 2 * forward_flops(8)
True
"""

TITLE = "A two-layer dense network (replace with the model the page benchmarks)"
DATA = "synthetic batches (random features and labels): throughput only"
UNIT = "samples"
DEFAULT_SIZE = 1
FEATURES, HIDDEN, CLASSES = 64, 32, 10


def size_label(size: int) -> str:
    return f"width x{{size}}"


def _layers(size: int) -> list[int]:
    """Multiply-adds per sample of each weighted layer, in order."""
    return [FEATURES * HIDDEN * size, HIDDEN * size * CLASSES]


def forward_flops(batch_size: int, size: int = 1) -> int:
    return 2 * batch_size * sum(_layers(size))


def train_step_flops(batch_size: int, size: int = 1) -> int:
    layers = _layers(size)
    return 2 * batch_size * (2 * sum(layers) + sum(layers[1:]))  # forward, weight and input gradients


def trainable_params(size: int = 1) -> int:
    return FEATURES * HIDDEN * size + HIDDEN * size + HIDDEN * size * CLASSES + CLASSES


def output_shape(batch_size: int, size: int = 1) -> tuple[int, ...]:
    return (batch_size, CLASSES)


def items_per_sample(size: int = 1) -> int:
    return 1
'''


_TORCH = '''import numpy as np
import torch
from torch import nn

from common.runtime_torch import *  # noqa: F403  (the contract's shared names: runtime_torch.__all__)
from common.runtime_torch import DEVICE, configure, count_trainable_params, sync
from common.runtime_torch import make_train_step as runtime_train_step
from {page}.{name} import CLASSES, FEATURES, HIDDEN


def build(size: int = 1, mode: str = "eager") -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN * size), nn.ReLU(), nn.Linear(HIDDEN * size, CLASSES)).to(DEVICE)


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)  # on the device already: the timed step pays framework cost only
    X = rng.standard_normal((batch_size, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch_size)
    return torch.from_numpy(X).to(DEVICE), torch.from_numpy(y).to(DEVICE)


def make_train_step(model: nn.Module, mode: str):
    """One full step: Adam with Keras' epsilon, cross-entropy on logits."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    return runtime_train_step(model, mode, nn.CrossEntropyLoss(), optimizer)
'''

_TF = '''import keras
import numpy as np
import tensorflow as tf

from common.runtime_tf import *  # noqa: F403  (the contract's shared names: runtime_tf.__all__)
from common.runtime_tf import configure, count_trainable_params, set_policy, sync
from common.runtime_tf import make_train_step as runtime_train_step
from {page}.{name} import CLASSES, FEATURES, HIDDEN


def build(size: int = 1, mode: str = "eager") -> keras.Model:
    keras.utils.set_random_seed(0)
    set_policy(mode)  # layers take their dtypes from the global policy when they are created
    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(HIDDEN * size, activation="relu"),
                             keras.layers.Dense(CLASSES)])


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(seed)  # on the device already: the timed step pays framework cost only
    X = rng.standard_normal((batch_size, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch_size)
    return tf.constant(X), tf.constant(y)


def make_train_step(model: keras.Model, mode: str):
    """One full step: Adam, cross-entropy on logits."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return runtime_train_step(model, mode, loss, keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7))
'''


# Each scaffolded side's workload (engine.scaffold.scaffolded_sides: the required ones).
WORKLOAD_BODIES = {"torch": _TORCH, "tf": _TF}


def _workload(page: str, name: str, framework: str) -> str:
    label, suffix = sides.LABELS[framework], sides.by_id(framework).suffix
    body = WORKLOAD_BODIES[framework].format(page=page, name=name)
    twins, twin_files = scaffold.twins(name, framework)
    return f'''"""The ``{name}`` benchmark workload, {label} side (snippets/{page}/{name}{suffix}.py).

This file defines *what* is timed (the contract: ``engine.bench.workload``);
the harness decides *how*. ``{name}.py`` describes it, the case ``{name}`` in
``{page}_cases.py`` says which modes and sizes run. {twins}
{twin_files}: the same section names, the same work.

>>> settings = configure(threads=1)
>>> model = build(1)
>>> from {page} import {name} as described
>>> count_trainable_params(model) == described.trainable_params(1)
True
>>> X, y = make_batch(16)
>>> train_step = make_train_step(model, "eager")
>>> first = sync(train_step(X, y))
>>> [sync(train_step(X, y)) for _ in range(5)][-1] < first  # the loss falls on a fixed batch
True
"""

from __future__ import annotations

# --8<-- [start:model]
{body}# --8<-- [end:model]


if __name__ == "__main__":
    configure(threads=1)
    model = build()
    X, y = make_batch(32)
    train_step = make_train_step(model, "eager")
    losses = [sync(train_step(X, y)) for _ in range(5)]
    print(f"{{count_trainable_params(model):,}} trainable parameters; loss over 5 steps:",
          " ".join(f"{{loss:.3f}}" for loss in losses))  # the page shows what this prints at build
'''


CASES_HEADER = '''"""The {title} page's benchmark cases (the engine finds them here: ``engine.pages``).

Each case times a workload pair of this folder; the claims it tests are the
ones whose ``cases`` name it in the claims table (``claims.toml``).

>>> [case.name for case in CASES]
{names}
"""

from __future__ import annotations

from engine.bench.cases import Case

CASES: list[Case] = []  # in the order the build runs them
'''


def _case(name: str) -> str:
    title = name.replace("_", " ").capitalize()
    return f'''
CASES.append(Case(
    name="{name}",
    kind="train",
    title="{title}: training step time, PyTorch eager vs TensorFlow tf.function",
    workload="{name}",
    # profile -> (framework, mode, batch size, model size): common/tiers.py names the modes
    grid={{p: [("torch", "eager", 64, 1), ("tf", "function", 64, 1)] for p in ("quick", "default", "full")}},
    steps={{"quick": (5, 20), "default": (10, 50), "full": (20, 100)}},  # profile -> (warm-up, timed steps)
))
'''


def files(page: str, name: str, folder: Path) -> dict[Path, str]:
    """The workload pair, its description and the page's cases file with the new case appended."""
    from engine.bench.cases import CASES

    if name in CASES:
        raise CaseNameTaken(f"name {name!r}: a benchmark case of that name exists (snippets/{CASES[name].page}/), "
                            "and case names are result file names")
    cases_file = folder / pages.CASES_FILE.format(page=page)
    if cases_file.exists():
        cases = cases_file.read_text(encoding="utf-8").rstrip("\n") + "\n" + _case(name)
    else:
        title = page.replace("_", " ").capitalize()
        cases = CASES_HEADER.format(title=title, names=[name]) + _case(name)
    return {
        **{folder / f"{name}{side.suffix}.py": _workload(page, name, side.id) for side in scaffold.scaffolded_sides()},
        folder / f"{name}.py": _description(page, name),
        cases_file: cases,
    }
