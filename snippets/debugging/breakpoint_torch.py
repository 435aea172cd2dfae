"""Stopping inside a PyTorch model with a debugger.

``forward`` is plain Python, so a ``breakpoint()`` in it stops on every call
with real tensors in scope: ``p x.sum().item()`` prints a number. Under
``torch.compile`` it does not stop in ``forward``: TorchDynamo runs the
breakpoint while it is busy capturing, and the debugger opens in the next
Python frame that happens to run, inside TorchDynamo, where ``x`` does not
exist. ``torch.compiler.set_stance("force_eager")`` switches compilation off
without touching the code, and the breakpoint works again.

The build cannot type at a ``(Pdb)`` prompt, so a scripted debugger stands in:
a real ``pdb.Pdb`` reading its commands from a list instead of the keyboard.

>>> hits = install_scripted_debugger(["p tuple(x.shape)"], quiet=True)
>>> model = Doubler()
>>> for _ in range(2):
...     _ = model(torch.ones(2, 3))
>>> len(hits)
2
>>> sys.breakpointhook = sys.__breakpointhook__  # put the real debugger back
"""

import io
import os
import pdb
import sys

import torch
from torch import nn


# --8<-- [start:debugger]
class ScriptedPdb(pdb.Pdb):
    """pdb, fed from a list of commands and echoing them, as if someone typed them."""

    def __init__(self, commands: list[str], out, stops: list):
        super().__init__(stdin=io.StringIO("\n".join([*commands, "continue"]) + "\n"), stdout=out)
        self.use_rawinput = False
        self.stops = stops

    def interaction(self, frame, traceback):  # the debugger stopped here: record where
        self.stops.append(f"{short_paths(frame.f_code.co_filename)}:{frame.f_code.co_name}")
        super().interaction(frame, traceback)

    def precmd(self, line):
        self.message(line)  # pdb has already written the prompt
        return super().precmd(line)

    def message(self, msg):  # relative paths keep the transcript machine-independent
        super().message(short_paths(str(msg)))


def short_paths(text: str) -> str:
    for prefix in sorted({os.getcwd(), *sys.path}, key=len, reverse=True):
        if prefix.rstrip(os.sep):
            text = text.replace(prefix.rstrip(os.sep) + os.sep, "")
    return text


def install_scripted_debugger(commands: list[str], quiet: bool = False) -> list:
    """Make `breakpoint()` open a ScriptedPdb; return the list of places the debugger stopped."""
    hits = []

    def hook(*args, **kwargs):  # what breakpoint() calls; pdb's own hook does the same
        ScriptedPdb(commands, io.StringIO() if quiet else sys.stdout, hits).set_trace(sys._getframe(1))

    sys.breakpointhook = hook
    return hits
# --8<-- [end:debugger]


# --8<-- [start:model]
class Doubler(nn.Module):
    def forward(self, x):
        breakpoint()  # stop here and look around
        return x * 2
# --8<-- [end:model]


if __name__ == "__main__":
    commands = ["p tuple(x.shape)", "p x.sum().item()"]
    hits = install_scripted_debugger(commands)

    # --8<-- [start:eager]
    model = Doubler()
    for _ in range(2):
        model(torch.ones(2, 3))
    print(f"eager, 2 calls: stopped {len(hits)}x\n")
    # --8<-- [end:eager]

    # --8<-- [start:graph]
    hits.clear()
    compiled = torch.compile(model, backend="eager")
    for _ in range(2):
        compiled(torch.ones(2, 3))
    print(f"torch.compile, 2 calls: stopped {len(hits)}x, in {', '.join(hits)}\n")
    # --8<-- [end:graph]

    # --8<-- [start:switch]
    hits.clear()
    torch.compiler.set_stance("force_eager")  # debugging switch: ignore torch.compile
    for _ in range(2):
        compiled(torch.ones(2, 3))
    torch.compiler.set_stance("default")
    print(f"force_eager, 2 calls: stopped {len(hits)}x")
    # --8<-- [end:switch]
