"""A planted shape bug in PyTorch, and the error a user sees in eager and compiled mode.

The bug: the classifier head expects 4x4x64 = 1024 features, but the
convolutions leave 5x5x64 = 1600 (the kind of slip that happens when the input
size or a padding changes). The snippet catches the error and prints its type,
the start of its message and the traceback frames in this file plus the frame
that raised, which is what a reader would look at first.

>>> import torch
>>> model = build_buggy_model()
>>> error = capture(lambda: model(torch.zeros(2, 1, 28, 28)))
>>> type(error).__name__, "1600" in str(error)
('RuntimeError', True)
"""

import os
import re
import sys
import textwrap
import traceback

import torch
from torch import nn


# --8<-- [start:model]
def build_buggy_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 64, 10),  # BUG: the feature map is 5x5, not 4x4
    )
# --8<-- [end:model]


# --8<-- [start:describe]
def capture(fn):
    """Run `fn`, return the exception it raised (None if it did not raise)."""
    try:
        fn()
    except Exception as error:
        return error
    return None


def _short(text: str) -> str:
    """Paths relative to the repository or to site-packages, so output is machine-independent."""
    for prefix in sorted({os.getcwd(), *sys.path}, key=len, reverse=True):
        if prefix.rstrip("/"):
            text = text.replace(prefix.rstrip("/") + "/", "")
    return re.sub(r"\S*__autograph_generated_file\w*\.py", "<autograph-generated>.py", text)


def describe(error: BaseException, max_lines: int = 12) -> None:
    """Print the error type, its message (wrapped, trimmed) and the frames worth reading."""
    print(f"{type(error).__module__}.{type(error).__qualname__}")
    lines = []
    for line in str(error).splitlines():
        if line.strip() and set(line.strip()) != {"^"}:  # drop blanks and caret underlines
            lines += textwrap.wrap(_short(line.strip()), 100, subsequent_indent="    ")
    for line in lines[:max_lines]:
        print("  | " + line)
    if len(lines) > max_lines:
        print(f"  | ... {len(lines) - max_lines} more lines")
    frames = traceback.extract_tb(error.__traceback__)
    print(f"  traceback: {len(frames)} frames; the ones in this file, and the one that raised:")
    for frame in frames:
        if (frame.filename == __file__ and frame.name != "capture") or frame is frames[-1]:
            print(f"    {_short(frame.filename)}:{frame.lineno} in {frame.name}: {frame.line}")
# --8<-- [end:describe]


if __name__ == "__main__":
    # --8<-- [start:eager]
    model = build_buggy_model()
    X = torch.zeros(2, 1, 28, 28)
    error = capture(lambda: model(X))  # eager: fails on the line that multiplies
    describe(error)
    # --8<-- [end:eager]

    # --8<-- [start:graph]
    compiled = torch.compile(model, backend="eager")  # capture a graph, run it without codegen
    error = capture(lambda: compiled(X))  # fails while capturing, on the same operation
    describe(error, max_lines=30)  # shown whole: this is what a user reads
    # --8<-- [end:graph]
