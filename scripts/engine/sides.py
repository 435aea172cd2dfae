"""The sides the guide compares, declared once: every other module derives what it needs from here.

A side is a framework as the guide shows it: its tab label, the file suffix of
its snippets (``model_zoo_torch.py``), the module a process imports to use it,
the interpreter variable that can point at its own environment, the packages
whose versions its results record, how a training step can run in it and
which of those a newcomer's first loop uses, and the helper files the build
runs for it. Adding a side is one entry here plus that side's own files; the
order of ``SIDES`` is the order of tabs, table rows and legends everywhere.

This module imports no framework: the build process reads it.

>>> [side.id for side in SIDES]
['torch', 'tf']
>>> by_id("tf").label, by_suffix("model_zoo_tf.py").id
('TensorFlow', 'tf')
>>> sorted(["tf", "torch"], key=order)
['torch', 'tf']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import paths


@dataclass(frozen=True)
class Side:
    id: str  # in code, results and mode keys: "torch"
    label: str  # on pages and tabs: "PyTorch"
    module: str  # what a process imports to use it ("tensorflow")
    python_var: str  # the variable that names this side's interpreter (GPU=1 builds)
    packages: tuple[str, ...]  # the distributions whose versions its results record, its own first
    executions: dict[str, str]  # how a training step can run -> the label tables show for it
    out_of_the_box: tuple[str, ...]  # the executions a newcomer's first training loop runs
    precision_labels: dict[str, str] = field(default_factory=dict)  # non-fp32 precision -> label
    short: str = ""  # the label inside a row label where the long one is too long ("TF")
    required: bool = True  # every example must have this side's file (pairing is checked)
    gpu_install: str = ""  # what gives it a CUDA build, for the fix a GPU it cannot see names

    @property
    def suffix(self) -> str:
        """The ending of its snippet files' stems: ``_torch``."""
        return f"_{self.id}"

    def helper(self, kind: str):
        """One of its helper files in snippets/common/: ``helper("parity")`` is parity_torch.py."""
        return paths.HELPERS_DIR / f"{kind}{self.suffix}.py"


SIDES: tuple[Side, ...] = (
    Side(
        id="torch", label="PyTorch", module="torch", python_var="GUIDE_PYTHON_TORCH",
        packages=("torch",),
        executions={
            "eager": "PyTorch eager",
            "compile": "PyTorch torch.compile",
            "autotune": "PyTorch torch.compile max-autotune-no-cudagraphs",
            "cudagraphs": "PyTorch torch.compile reduce-overhead (CUDA graphs)",
        },
        out_of_the_box=("eager",),
        precision_labels={"bf16": "bf16 autocast", "tf32": "TF32"},
        gpu_install="torch's CUDA wheel (requirements-gpu-torch.txt, from the PyTorch CUDA index)",
    ),
    Side(
        id="tf", label="TensorFlow", module="tensorflow", python_var="GUIDE_PYTHON_TF",
        packages=("tensorflow", "tensorflow-cpu", "keras", "tensorboard"),
        executions={
            "eager": "TF eager (GradientTape, no tf.function)",
            "function": "TF tf.function",
            "xla": "TF tf.function(jit_compile=True) (XLA)",
            "fit": "Keras fit (compile defaults)",
        },
        out_of_the_box=("eager", "fit"),
        precision_labels={"bf16": "mixed_bfloat16", "tf32": "TF32"},
        short="TF",
        gpu_install="tensorflow[and-cuda] (requirements-gpu-tf.txt)",
    ),
)

IDS: tuple[str, ...] = tuple(side.id for side in SIDES)
LABELS: dict[str, str] = {side.id: side.label for side in SIDES}


def by_id(side_id: str) -> Side:
    for side in SIDES:
        if side.id == side_id:
            return side
    raise KeyError(f"no side {side_id!r} (known: {', '.join(IDS)})")


def by_suffix(filename: str) -> Side | None:
    """The side a snippet file belongs to, from its stem's ending; None for a file of no side."""
    stem = filename.rsplit("/", 1)[-1].removesuffix(".py")
    for side in sorted(SIDES, key=lambda s: -len(s.suffix)):  # "_keras_torch" before "_torch"
        if stem.endswith(side.suffix):
            return side
    return None


def order(side_id: str) -> int:
    """Sort key: a side's place in SIDES (an unknown id sorts last)."""
    return IDS.index(side_id) if side_id in IDS else len(IDS)


def others(side_id: str) -> tuple[str, ...]:
    """Every side but this one, in order."""
    return tuple(s for s in IDS if s != side_id)
