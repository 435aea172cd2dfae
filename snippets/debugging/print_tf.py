"""``print`` versus ``tf.print`` inside a ``tf.function``.

Python's ``print`` is ordinary Python, so inside a ``tf.function`` it runs while
the function is traced, once, and shows a symbolic tensor with no value.
``tf.print`` is an operation in the graph, so it runs on every call and prints
the value. With ``tf.config.run_functions_eagerly(True)`` the Python body runs
on every call and both fire each time. ``tf.print`` writes to a file here so
the snippet can count its lines.

>>> import tempfile, os
>>> log = os.path.join(tempfile.mkdtemp(), "tf_print.log")
>>> printed, tf_printed = count_prints(make_step(log), calls=3, log_path=log)
>>> len(printed), len(tf_printed)
(1, 3)
"""

import contextlib
import io
from pathlib import Path

import tensorflow as tf


# --8<-- [start:step]
def make_step(log_path):
    @tf.function
    def step(x):
        y = x * 2
        print("print:    y =", y)  # Python: runs while tracing
        tf.print("tf.print: y =", y, output_stream=f"file://{log_path}")  # graph op: runs every call
        return y + 1

    return step
# --8<-- [end:step]


def count_prints(step, calls: int, log_path) -> tuple[list[str], list[str]]:
    """Call `step` `calls` times; return the lines `print` and `tf.print` produced."""
    Path(log_path).write_text("")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for i in range(calls):
            step(tf.constant(float(i)))
    return printed.getvalue().splitlines(), Path(log_path).read_text().splitlines()


if __name__ == "__main__":
    from common.outputs import output_dir

    log_path = output_dir() / "tf_print.log"

    # --8<-- [start:print]
    printed, tf_printed = count_prints(make_step(log_path), calls=3, log_path=log_path)
    print(f"tf.function, 3 calls: print fired {len(printed)}x, tf.print {len(tf_printed)}x")
    for line in printed + tf_printed:
        print("  " + line)
    # --8<-- [end:print]

    # --8<-- [start:eager]
    tf.config.run_functions_eagerly(True)  # debugging switch: run the Python body on every call
    printed, tf_printed = count_prints(make_step(log_path), calls=3, log_path=log_path)
    tf.config.run_functions_eagerly(False)
    print(f"run eagerly, 3 calls: print fired {len(printed)}x, tf.print {len(tf_printed)}x")
    for line in printed:
        print("  " + line)
    # --8<-- [end:eager]
