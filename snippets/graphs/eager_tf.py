"""Eager execution in TensorFlow 2: operations run immediately, as in PyTorch.

TensorFlow 1 built a graph first and ran it in a ``Session``; TensorFlow 2 made
eager execution the default. Gradients are recorded on request, by a
``tf.GradientTape`` that watches the operations run inside it.

>>> import tensorflow as tf
>>> tf.executing_eagerly()
True
>>> x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
>>> y = x @ x + 1
>>> y.numpy().tolist()
[[8.0, 11.0], [16.0, 23.0]]
"""

import tensorflow as tf

if __name__ == "__main__":
    # --8<-- [start:eager]
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="x")
    y = x @ x + 1  # computed right here; no session, no graph to build first
    print(y)
    print("y is a value:", y.numpy().tolist())
    print("executing eagerly:", tf.executing_eagerly())
    # --8<-- [end:eager]

    # --8<-- [start:autograd]
    # The tape records the operations run inside the `with` block, then replays them backwards.
    with tf.GradientTape() as tape:
        y = x @ x + 1
        loss = tf.reduce_sum(y)
    print("recorded on the tape:", [v.name for v in tape.watched_variables()])
    print("dy/dx summed:", tape.gradient(loss, x).numpy().tolist())
    # --8<-- [end:autograd]
