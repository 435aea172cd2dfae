"""A custom layer in Keras: subclass ``keras.layers.Layer``, create weights in ``build``, write ``call``.

Keras creates a layer's weights lazily in ``build``, on the first call, from
the input shape it sees, so the layer only needs its output size.

>>> layer = SimpleDense(64, activation=keras.activations.relu)
>>> layer.built
False
>>> tuple(layer(np.ones((2, 784), "float32")).shape), tuple(layer.kernel.shape)
((2, 64), (784, 64))
>>> model = build_mlp()
>>> _ = model(np.zeros((1, 28, 28, 1), "float32"))
>>> count_trainable_params(model)
50890
"""

import keras
import numpy as np
from keras import layers

from common.cnn_tf import count_trainable_params


# --8<-- [start:layer]
class SimpleDense(keras.layers.Layer):
    """y = activation(x @ kernel + bias), written out by hand."""

    def __init__(self, units: int, activation=None):
        super().__init__()
        self.units = units
        self.activation = activation

    def build(self, input_shape):  # runs once, on the first call, with the real input shape
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, x):
        y = keras.ops.matmul(x, self.kernel) + self.bias
        return self.activation(y) if self.activation else y
# --8<-- [end:layer]


# --8<-- [start:use]
def build_mlp() -> keras.Model:
    return keras.Sequential([
        layers.Flatten(),
        SimpleDense(64, activation=keras.activations.relu),  # input size found in build()
        SimpleDense(10),
    ])
# --8<-- [end:use]


if __name__ == "__main__":
    # --8<-- [start:run]
    model = build_mlp()
    print("weights exist before the first call:", len(model.weights) > 0)
    X = np.zeros((8, 28, 28, 1), "float32")  # Keras images are channels-last
    print("output shape:", tuple(model(X).shape))
    print(f"trainable parameters: {count_trainable_params(model):,}")
    # --8<-- [end:run]

    # --8<-- [start:framework]
    import tensorflow as tf

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"keras {keras.__version__} on the {keras.config.backend()!r} backend, running on {device}")
    # --8<-- [end:framework]
