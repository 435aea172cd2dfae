"""When ``tf.function`` traces again: new Python values and new shapes.

A ``tf.function`` keeps one graph per input signature. A Python number is part
of the signature by *value*, so every new number traces a new graph; a tensor
is part of it by dtype and shape only. A new shape traces again too, unless an
``input_signature`` with a ``None`` dimension (or ``reduce_retracing=True``)
says the shape may vary. The Python body runs only while tracing, so a list it
appends to counts the traces.

>>> import tensorflow as tf
>>> scale, traces = traced_scale()
>>> for factor in (1.0, 2.0, 3.0):
...     _ = scale(tf.ones(3), factor)
>>> len(traces), scale.experimental_get_tracing_count()
(3, 3)
"""

import tensorflow as tf


# --8<-- [start:counter]
def traced_scale(**function_options):
    """A fresh tf.function computing `x * factor` and the list of traces it has made so far."""
    traces = []

    @tf.function(**function_options)
    def scale(x, factor):
        traces.append(factor)  # plain Python: runs while tracing, never when the graph runs
        return x * factor

    return scale, traces
# --8<-- [end:counter]


if __name__ == "__main__":
    # --8<-- [start:scalars]
    scale, traces = traced_scale()
    for factor in (1.0, 2.0, 3.0):  # Python floats
        scale(tf.ones(3), factor)
    print(f"Python scalars 1.0, 2.0, 3.0 -> {len(traces)} trace(s)")

    scale, traces = traced_scale()
    for factor in (1.0, 2.0, 3.0):  # the same values as tensors
        scale(tf.ones(3), tf.constant(factor))
    print(f"tensor scalars           -> {len(traces)} trace(s)")
    # --8<-- [end:scalars]

    # --8<-- [start:shapes]
    scale, traces = traced_scale()
    for n in (3, 4, 5, 6):  # a new length on every call
        scale(tf.ones(n), tf.constant(2.0))
    print(f"lengths 3, 4, 5, 6                     -> {len(traces)} trace(s)")

    signature = [tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.float32)]
    scale, traces = traced_scale(input_signature=signature)  # the fix: declare the length as unknown
    for n in (3, 4, 5, 6):
        scale(tf.ones(n), tf.constant(2.0))
    print(f"lengths 3, 4, 5, 6, input_signature    -> {len(traces)} trace(s)")
    # --8<-- [end:shapes]
