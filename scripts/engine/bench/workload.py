"""The workload contract: what a benchmark workload pair must define for the harness to time it.

A workload is three files in a page folder, ``snippets/<page>/``: ``<name>.py`` describes it
to the engine without importing a framework (:class:`Description`), and
``<name>_torch.py`` / ``<name>_tf.py`` implement it (:class:`Workload`), one
framework each. The timed child (``child.py``) calls only the names below, so
a new pair plus a ``Case`` in the page's ``<page>_cases.py`` is a new benchmark;
nothing in the engine changes. Functions that take a ``mode`` receive it (layout and
precision live there, ``common/tiers.py``); options a case passes, such as the
Transformer's ``size`` and ``data``, reach only the functions that take them
(``common.tiers.call``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Description(Protocol):
    """``snippets/<page>/<name>.py``: the facts the engine needs, with no framework imported."""

    TITLE: str  # what the model is, for the page
    DATA: Any  # what the batches are (a string, or one string per ``data`` option)
    UNIT: str  # what a sample is counted in: "images" or "tokens"
    DEFAULT_SIZE: int  # the size the tier comparison runs at

    def size_label(self, size: int) -> str:
        """How the page names a size ("width x2", "4 layers, width 256, 4 heads")."""

    def trainable_params(self, size: int) -> int:
        """The parameter count both twins must build; every timed run asserts it."""

    def forward_flops(self, batch_size: int, size: int) -> int:
        """FLOPs of one forward pass (2 per multiply-add, as ``torch.utils.flop_counter``)."""

    def train_step_flops(self, batch_size: int, size: int) -> int:
        """FLOPs of one training step: forward, input and weight gradients (the tests check it)."""

    def output_shape(self, batch_size: int, size: int) -> tuple[int, ...]:
        """The shape of the model's output; every timed run asserts it."""

    def items_per_sample(self, size: int) -> int:
        """Units per sample (tokens per sequence; 1 for an image), for throughput."""


@runtime_checkable
class Workload(Protocol):
    """``snippets/<page>/<name>_<framework>.py``: one framework's implementation."""

    MODES: tuple[str, ...]  # the executions this framework has (common/tiers.py)
    DEVICE: Any

    def configure(self, threads: int, mode: str) -> dict:
        """Pin threads and precision before any work; return the settings the run records."""

    def build(self, size: int, mode: str) -> Any:
        """The model, seeded, on the device, in the mode's layout and precision policy."""

    def make_batch(self, batch_size: int, seed: int = 0, mode: str = "eager") -> tuple[Any, Any]:
        """Inputs and targets already on the device: the timed step pays framework cost only."""

    def count_trainable_params(self, model: Any) -> int:
        """Trainable parameters of ``model`` (compared with the description's count)."""

    def make_train_step(self, model: Any, mode: str) -> Callable[[Any, Any], Any]:
        """One full step (forward, loss, backward, update) returning the loss, in the mode's tier."""

    def make_predict(self, model: Any, mode: str) -> Callable[[Any], Any]:
        """Inference: inputs to outputs, in the mode's tier."""

    def sync(self, loss: Any) -> float:
        """Wait for the device and return the loss as a float: a timing boundary."""

    def device_of(self, tensor: Any) -> str:
        """Where a tensor really lives ("cpu" or "cuda"): what the row reports as its device."""

    def to_numpy(self, outputs: Any) -> Any:
        """Outputs as a float32 NumPy array (also a sync)."""

    def memory_stats(self) -> dict:
        """Device allocator peaks since the last reset ({} on a CPU)."""

    def reset_memory_stats(self) -> None:
        """Reset the device allocator peaks (the harness calls it after warm-up)."""


# Required of a workload its case measures in blocks (Case.block, docs/method.md#noise-blocks):
# ``global_state()`` returns the process-wide settings a tier may change, ``restore_state(state)``
# puts them back and drops the tier's compiled graphs; the child records both around every tier.
# Optional, TensorFlow side: ``LOOP_MODES`` (executions where Keras owns the loop) and
# ``make_fit(model, X, y)`` returning ``fit(n, begin, end)`` (see child._time_framework_loop).

REQUIRED = ("configure", "build", "make_batch", "count_trainable_params", "make_train_step", "make_predict",
            "sync", "device_of", "to_numpy", "memory_stats", "reset_memory_stats")
DESCRIPTION_NAMES = ("TITLE", "DATA", "UNIT", "DEFAULT_SIZE", "size_label", "trainable_params", "forward_flops",
                     "train_step_flops", "output_shape", "items_per_sample")


def missing(module: ModuleType, names: tuple[str, ...] = REQUIRED) -> list[str]:
    """The contract's names ``module`` does not define (empty when it keeps the contract)."""
    return [name for name in names if not hasattr(module, name)]


def describe(name: str, page: str) -> ModuleType:
    """The description module ``<page>.<name>``, checked against :class:`Description`."""
    module = importlib.import_module(f"{page}.{name}")
    if gaps := missing(module, DESCRIPTION_NAMES):
        raise TypeError(f"snippets/{page}/{name}.py does not describe a workload: missing {', '.join(gaps)}")
    return module
