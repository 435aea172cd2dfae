"""Stopping inside a Keras layer with a debugger, eagerly and inside ``tf.function``.

Called eagerly, a layer's ``call`` is plain Python: a ``breakpoint()`` in it
stops on every call and ``p x.numpy().sum()`` prints a number. Inside a
``tf.function`` the Python body runs only while tracing, so the debugger stops
once, on the first call, and ``x`` is a symbolic tensor with a shape but no
value. ``tf.config.run_functions_eagerly(True)`` makes every ``tf.function``
run its Python body on each call, which brings the breakpoint back.

The build cannot type at a ``(Pdb)`` prompt, so a scripted debugger stands in:
a real ``pdb.Pdb`` reading its commands from a list instead of the keyboard.

>>> hits = install_scripted_debugger(["p tuple(x.shape)"], quiet=True)
>>> compiled = tf.function(Doubler())
>>> for _ in range(2):
...     _ = compiled(tf.ones((2, 3)))
>>> len(hits)
1
>>> sys.breakpointhook = sys.__breakpointhook__  # put the real debugger back
"""

import io
import os
import pdb
import sys

import keras
import tensorflow as tf


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
class Doubler(keras.layers.Layer):
    def call(self, x):
        breakpoint()  # stop here and look around
        return x * 2
# --8<-- [end:model]


if __name__ == "__main__":
    commands = ["p tuple(x.shape)", "p x.numpy().sum()"]
    hits = install_scripted_debugger(commands)

    # --8<-- [start:eager]
    model = Doubler()
    for _ in range(2):
        model(tf.ones((2, 3)))
    print(f"eager, 2 calls: stopped {len(hits)}x\n")
    # --8<-- [end:eager]

    # --8<-- [start:graph]
    hits.clear()
    compiled = tf.function(model)
    for _ in range(2):
        compiled(tf.ones((2, 3)))
    print(f"tf.function, 2 calls: stopped {len(hits)}x, in {', '.join(hits)}\n")
    # --8<-- [end:graph]

    # --8<-- [start:switch]
    hits.clear()
    tf.config.run_functions_eagerly(True)  # debugging switch: run every tf.function's Python body
    for _ in range(2):
        compiled(tf.ones((2, 3)))
    tf.config.run_functions_eagerly(False)
    print(f"run_functions_eagerly, 2 calls: stopped {len(hits)}x")
    # --8<-- [end:switch]
