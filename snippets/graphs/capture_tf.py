"""Graph capture in TensorFlow: ``tf.function`` traces the shared CNN into a graph.

Eager is the default in TensorFlow 2; wrapping a callable in ``tf.function``
asks for a graph. Tracing runs the Python code once with symbolic tensors and
records the operations into a ``FuncGraph``; later calls with a matching input
signature run that graph without touching the Python code again.

>>> from common.cnn_tf import build_model
>>> model = build_model()
>>> concrete = trace_model(model)
>>> ops = count_ops(concrete)
>>> ops["Conv2D"], ops["MatMul"], ops["MaxPool"]
(2, 1, 2)
>>> call_and_count_traces(model, calls=3)
1
"""

from collections import Counter

import tensorflow as tf


# --8<-- [start:helpers]
def trace_model(model) -> "tf.types.experimental.ConcreteFunction":
    forward = tf.function(model)
    return forward.get_concrete_function(tf.TensorSpec((None, 28, 28, 1), tf.float32))


def count_ops(concrete) -> Counter:
    """Operation counts of a traced graph, by op type."""
    return Counter(op.type for op in concrete.graph.get_operations())


def call_and_count_traces(model, calls: int) -> int:
    """Wrap `model` in a fresh tf.function, call it `calls` times, return how often it traced."""
    forward = tf.function(model)
    for _ in range(calls):
        forward(tf.zeros((8, 28, 28, 1)))
    return forward.experimental_get_tracing_count()
# --8<-- [end:helpers]


if __name__ == "__main__":
    from common.cnn_tf import build_model

    # --8<-- [start:export]
    model = build_model()
    concrete = trace_model(model)  # tf.function + an input signature: one graph, ahead of time
    for op in concrete.graph.get_operations():
        if op.type not in ("Const", "ReadVariableOp", "Placeholder", "NoOp", "Identity"):
            print(f"{op.type:>10}  {op.name}")
    ops = count_ops(concrete)
    print(f"\n{sum(ops.values())} operations, including variable reads and constants:")
    for op, n in sorted(ops.items()):
        print(f"  {n} x {op}")
    # --8<-- [end:export]

    # --8<-- [start:compile]
    traces = call_and_count_traces(model, calls=3)  # traced lazily, on the first call
    print(f"3 calls -> {traces} trace(s)")
    # --8<-- [end:compile]
