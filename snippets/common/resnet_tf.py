"""A CIFAR-shaped ResNet in Keras (ResNet-18 layout, scalable widths), twin of ``resnet_torch.py``.

Same blocks, widths and initializers as the PyTorch twin, in TensorFlow's
native NHWC layout. A stride-2 3x3 convolution pads one pixel on every side
explicitly: Keras' ``padding="same"`` would pad only after (bottom/right) for an
even input, and the two twins would then compute different functions.

>>> model = build_model(base=8)
>>> import numpy as np
>>> tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape)
(2, 10)
"""

from __future__ import annotations

# --8<-- [start:model]
import keras
from keras import layers as L

STAGES = (1, 2, 4, 8)  # channel multiples of ``base``; the first stage keeps 32x32, the others halve it


def _he():
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def _conv(x, filters: int, kernel: int, stride: int = 1, name: str | None = None):
    if kernel == 3 and stride == 2:  # symmetric padding, as PyTorch's padding=1
        x = L.ZeroPadding2D(1)(x)
        return L.Conv2D(filters, 3, strides=2, padding="valid", use_bias=False, kernel_initializer=_he(),
                        name=name)(x)
    return L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, kernel_initializer=_he(),
                    name=name)(x)


def _bn(x, name: str | None = None):
    return L.BatchNormalization(epsilon=1e-5, momentum=0.9, name=name)(x)


def basic_block(x, cout: int, stride: int, name: str):
    h = L.ReLU()(_bn(_conv(x, cout, 3, stride, f"{name}_conv1"), f"{name}_bn1"))
    h = _bn(_conv(h, cout, 3, name=f"{name}_conv2"), f"{name}_bn2")
    shortcut = x
    if stride != 1 or x.shape[-1] != cout:
        shortcut = _bn(_conv(x, cout, 1, stride, f"{name}_shortcut_conv"), f"{name}_shortcut_bn")
    return L.ReLU()(L.Add()([h, shortcut]))


def build_model(base: int = 32, classes: int = 10) -> keras.Model:
    # Layers are named, so a weight's path says which PyTorch module it mirrors (common/parity.py).
    images = keras.Input(shape=(32, 32, 3))  # channels last: TF's native layout
    x = L.ReLU()(_bn(_conv(images, base, 3, name="stem_conv"), "stem_bn"))
    for i, multiple in enumerate(STAGES):
        x = basic_block(x, base * multiple, stride=1 if i == 0 else 2, name=f"block{2 * i}")
        x = basic_block(x, base * multiple, stride=1, name=f"block{2 * i + 1}")
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(images, L.Dense(classes, name="classifier")(x))  # Glorot-uniform, zero bias
# --8<-- [end:model]


def count_trainable_params(model: keras.Model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)


if __name__ == "__main__":
    model = build_model()
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("output shape:", tuple(model(keras.ops.zeros((1, 32, 32, 3))).shape))
