"""What a benchmark mode string means: how the step runs, in which memory layout and precision.

A mode is ``<execution>[-cl][-bf16|-tf32]``, for example ``compile-cl-bf16``:
``torch.compile`` on a channels-last model under bf16 autocast. Both workload
files and the engine read modes through :func:`parse`, so a mode means the
same thing to the code that runs it and to the page that labels it. This file
imports no framework (the build process reads it too).

>>> parse("compile-cl-bf16")
Tier(execution='compile', channels_last=True, precision='bf16')
>>> parse("function").precision
'fp32'
>>> parse("eager-fp16")
Traceback (most recent call last):
...
ValueError: unknown mode suffix 'fp16' in 'eager-fp16' (known: cl, bf16, tf32)
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

# Per framework, how a training step can be executed.
EXECUTIONS = {
    "torch": ("eager", "compile", "autotune", "cudagraphs"),
    "tf": ("eager", "function", "xla", "fit"),
}
# torch.compile's mode argument for each compiled execution (None: the default mode).
TORCH_COMPILE_MODES = {"compile": None, "autotune": "max-autotune-no-cudagraphs", "cudagraphs": "reduce-overhead"}
PRECISIONS = ("fp32", "bf16", "tf32")


class Tier(NamedTuple):
    execution: str
    channels_last: bool
    precision: str


def parse(mode: str) -> Tier:
    execution, *suffixes = mode.split("-")
    channels_last, precision = False, "fp32"
    for suffix in suffixes:
        if suffix == "cl":
            channels_last = True
        elif suffix in ("bf16", "tf32"):
            precision = suffix
        else:
            raise ValueError(f"unknown mode suffix {suffix!r} in {mode!r} (known: cl, bf16, tf32)")
    return Tier(execution, channels_last, precision)


def call(fn, mode: str, *args, **options):
    """Call a workload function with the mode and the options it takes; the others ignore them.

    A mode changes layout or precision only where a function asks for it (a
    model's ``build`` does, ``sync`` does not), and an option such as the
    Transformer's ``data`` reaches only the workload that has it.
    """
    accepted = inspect.signature(fn).parameters
    return fn(*args, **{name: value for name, value in {"mode": mode, **options}.items() if name in accepted})
