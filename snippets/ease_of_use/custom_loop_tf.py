"""A hand-written TensorFlow training loop (``tf.GradientTape``) with a custom Keras metric.

The metric is worst-class accuracy: the accuracy of the digit the model gets
wrong most often, which a plain accuracy can hide. As a ``keras.metrics.Metric``
it keeps its per-class counts in weights, so ``update_state`` also works inside
a traced ``tf.function``. TensorFlow places work on a GPU by itself when one is
visible, so the loop has no device code.

>>> metric = WorstClassAccuracy(num_classes=3)
>>> metric.update_state(np.array([0, 0, 1, 2]), np.eye(3, dtype="float32")[[0, 1, 1, 2]])
>>> float(metric.result())
0.5
>>> metric.reset_state(); float(metric.result())
0.0
"""

import keras
import numpy as np
import tensorflow as tf

from common.cnn_tf import build_model
from common.data import NUM_CLASSES, load_dataset


# --8<-- [start:metric]
class WorstClassAccuracy(keras.metrics.Metric):
    """Accuracy of the class the model gets right least often."""

    def __init__(self, num_classes: int = NUM_CLASSES, name="worst_class_accuracy"):
        super().__init__(name=name)
        self.correct = self.add_variable(shape=(num_classes,), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(num_classes,), initializer="zeros", name="total")

    def update_state(self, y, logits):
        y = tf.cast(y, tf.int32)
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), y), tf.float32)
        size = self.total.shape[0]
        self.correct.assign_add(tf.math.bincount(y, weights=hits, minlength=size, maxlength=size))
        self.total.assign_add(tf.cast(tf.math.bincount(y, minlength=size, maxlength=size), tf.float32))

    def result(self):
        seen = self.total > 0
        ratios = tf.boolean_mask(self.correct, seen) / tf.boolean_mask(self.total, seen)
        return tf.reduce_min(ratios) if tf.reduce_any(seen) else tf.constant(0.0)

    def reset_state(self):
        self.correct.assign(tf.zeros_like(self.correct))
        self.total.assign(tf.zeros_like(self.total))
# --8<-- [end:metric]


# --8<-- [start:train_step]
@tf.function
def train_step(model, optimizer, loss_fn, X, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(X, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
# --8<-- [end:train_step]


if __name__ == "__main__":
    # --8<-- [start:loop]
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"  # chosen by TensorFlow itself
    keras.utils.set_random_seed(0)
    dataset = load_dataset()
    X_train, y_train = dataset.x_train[..., np.newaxis], dataset.y_train
    X_test, y_test = dataset.x_test[..., np.newaxis], dataset.y_test

    model = build_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metric = WorstClassAccuracy()
    epochs, batch_size = 3, 64

    print(dataset.summary(), "| device:", device)
    batches = tf.data.Dataset.from_tensor_slices((X_train, y_train))
    for epoch in range(epochs):
        losses = [
            train_step(model, optimizer, loss_fn, X, y)
            for X, y in batches.shuffle(len(X_train), seed=epoch).batch(batch_size)
        ]
        metric.reset_state()
        logits = model(X_test, training=False)
        metric.update_state(y_test, logits)
        accuracy = float(np.mean(np.argmax(logits, axis=1) == y_test))
        print(
            f"epoch {epoch + 1}: loss {float(tf.reduce_mean(losses)):.4f}, "
            f"test accuracy {accuracy:.3f}, worst-class accuracy {float(metric.result()):.3f}"
        )
    # --8<-- [end:loop]
