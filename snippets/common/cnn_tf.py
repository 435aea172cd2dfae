"""The guide's MNIST CNN in TensorFlow/Keras: the model every TF example and benchmark uses.

Two 3x3 convolutions with max-pooling, then one dense layer to 10 logits;
``width`` scales the channel counts for the model-size sweep. Keras' default
initializers (Glorot-uniform kernels, zero biases) are the ones the PyTorch
twin sets explicitly.

>>> model = build_model()
>>> count_trainable_params(model)
34826
>>> import numpy as np
>>> tuple(model(np.zeros((2, 28, 28, 1), "float32")).shape)
(2, 10)
>>> count_trainable_params(build_model(width=2)) > count_trainable_params(model)
True

Run it directly to print the layer summary: ``python snippets/common/cnn_tf.py``.
"""

from __future__ import annotations

# --8<-- [start:model]
import keras
from keras import layers


def build_model(width: int = 1) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),  # channels last: TF's native layout
            layers.Conv2D(32 * width, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64 * width, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10),  # logits; the loss applies softmax
        ]
    )


def count_trainable_params(model: keras.Model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)
# --8<-- [end:model]


if __name__ == "__main__":
    model = build_model()
    model.summary()
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("output shape:", tuple(model(keras.ops.zeros((1, 28, 28, 1))).shape))
