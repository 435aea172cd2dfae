"""Native Python control flow inside a TensorFlow model.

In eager mode the ``if`` and ``while`` below run as plain Python, exactly as in
PyTorch. Under ``tf.function``, AutoGraph rewrites a Python ``if`` or ``while``
whose condition is a tensor into graph operations (``tf.cond`` becomes an
``If``/``StatelessIf`` op, ``tf.while_loop`` a ``While``/``StatelessWhile`` op),
so one graph holds both branches and the loop.

AutoGraph only rewrites code it is asked to convert. Keras 3 does not convert a
layer's ``call``, so the same ``if`` inside a ``keras.layers.Layer`` fails when
traced; there the explicit ``keras.ops.cond`` / ``keras.ops.while_loop`` apply.

>>> import tensorflow as tf
>>> model = GatedBlock()
>>> tuple(model(tf.ones((2, 4))).shape)
(2, 4)
>>> ops = graph_ops(model)
>>> ops["StatelessIf"] + ops["If"], ops["StatelessWhile"] + ops["While"]
(1, 1)
"""

from collections import Counter

import keras
import tensorflow as tf


# --8<-- [start:model]
class GatedBlock(tf.Module):
    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(0)
        self.linear = keras.layers.Dense(4)

    def __call__(self, x):
        h = self.linear(x)
        if tf.reduce_sum(h) > 0:  # branch on a tensor's value
            h = tf.nn.relu(h)
        else:
            h = -h
        while tf.reduce_max(tf.abs(h)) > 1.0:  # loop count depends on the data
            h = h / 2
        return h
# --8<-- [end:model]


def graph_ops(model) -> Counter:
    """Op types in the graph tf.function traces from `model`."""
    concrete = tf.function(model).get_concrete_function(tf.TensorSpec((None, 4), tf.float32))
    return Counter(op.type for op in concrete.graph.get_operations())


class KerasGatedBlock(keras.layers.Layer):
    """The same forward pass as a Keras layer; only the base class differs."""

    def __init__(self):
        super().__init__()
        self.linear = keras.layers.Dense(4)

    call = GatedBlock.__call__


if __name__ == "__main__":
    # --8<-- [start:eager]
    model = GatedBlock()
    for scale in (1.0, -10.0):  # two inputs, two different paths through __call__
        x = tf.fill((1, 4), scale)
        y = model(x)
        print(f"x = {scale:+}: y = {[round(v, 3) for v in y[0].numpy().tolist()]}")
    # --8<-- [end:eager]

    # --8<-- [start:compile]
    ops = graph_ops(model)  # tf.function traces once; AutoGraph converts the if and the while
    print(f"graphs: 1, operations: {sum(ops.values())}")
    for op_type in ("If", "StatelessIf", "While", "StatelessWhile"):
        if ops[op_type]:
            print(f"  {ops[op_type]} x {op_type}")
    forward = tf.function(model)
    for scale in (1.0, -10.0):  # the one graph takes either path
        y = forward(tf.fill((1, 4), scale))
        print(f"x = {scale:+}: y = {[round(v, 3) for v in y[0].numpy().tolist()]}")
    print("traces:", forward.experimental_get_tracing_count())
    # --8<-- [end:compile]

    # --8<-- [start:strict]
    try:
        tf.function(KerasGatedBlock())(tf.ones((1, 4)))
    except Exception as error:  # Keras 3 leaves call() unconverted: a tensor cannot be a Python bool
        print(f"keras.layers.Layer under tf.function: {type(error).__name__}")
        message = str(error)
        start = message.find("Using a symbolic")
        print("  " + message[start : message.find("not allowed", start) + len("not allowed")])
    # --8<-- [end:strict]
