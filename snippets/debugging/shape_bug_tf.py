"""A planted shape bug in TensorFlow, and the error a user sees eagerly and inside ``tf.function``.

The bug: the classifier head was built for 4x4x64 = 1024 features, but the
convolutions leave 5x5x64 = 1600. Keras checks a built layer's input against
the shape it was built for, so the error names the layer in both modes; inside
``tf.function`` it is raised while tracing, and the message grows a section
pointing at the traced user code. The snippet catches each error and prints its
type, message and the traceback frames in this file plus the frame that raised.

>>> import tensorflow as tf
>>> model = build_buggy_model()
>>> error = capture(lambda: model(tf.zeros((2, 28, 28, 1))))
>>> type(error).__name__, "1600" in str(error)
('ValueError', True)
"""

import os
import re
import sys
import textwrap
import traceback

import keras
import tensorflow as tf
from keras import layers


# --8<-- [start:model]
def build_buggy_model() -> keras.Model:
    head = layers.Dense(10)
    head.build((None, 4 * 4 * 64))  # BUG: the feature map is 5x5, not 4x4
    return keras.Sequential([
        layers.Conv2D(32, kernel_size=3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, kernel_size=3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(),
        head,
    ])
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
    X = tf.zeros((2, 28, 28, 1))
    error = capture(lambda: model(X))  # eager: Keras rejects the input of the head
    describe(error)
    # --8<-- [end:eager]

    # --8<-- [start:graph]
    compiled = tf.function(model)  # trace a graph on the first call
    error = capture(lambda: compiled(X))  # fails while tracing, at the same layer
    describe(error, max_lines=30)  # shown whole: this is what a user reads
    # --8<-- [end:graph]
