"""A standard architecture from Keras' bundled model zoo: MobileNetV2, no download.

``keras.applications`` ships inside Keras itself, so a reference architecture
is one call away; ``weights=None`` gives random initial weights, while
``weights="imagenet"`` would download pretrained ones (not possible on the
machines that build this guide). The PyTorch twin builds the same network.

>>> model = build_zoo_model(num_classes=1000)
>>> count_trainable_params(model)  # the same count as the PyTorch twin
3504872
>>> import numpy as np
>>> tuple(model(np.zeros((2, 224, 224, 3), "float32")).shape)
(2, 1000)
"""

from __future__ import annotations

import keras

image_size = 224  # MobileNetV2's ImageNet resolution
num_classes = 1000


# --8<-- [start:model]
def build_zoo_model(num_classes: int = num_classes) -> keras.Model:
    return keras.applications.MobileNetV2(
        weights=None,  # random init; "imagenet" would download pretrained weights
        input_shape=(image_size, image_size, 3),
        classes=num_classes,
    )
# --8<-- [end:model]


def count_trainable_params(model: keras.Model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)


def count_frozen_values(model: keras.Model) -> int:
    """Non-trainable values: BatchNorm's running mean and variance."""
    return sum(int(w.numpy().size) for w in model.non_trainable_weights)


if __name__ == "__main__":
    # --8<-- [start:zoo]
    architectures = sorted(
        name for name in dir(keras.applications) if name[0].isupper()  # classes, not modules
    )
    print(f"keras {keras.__version__}: keras.applications offers {len(architectures)} architectures")
    print("  e.g. " + ", ".join(architectures[:6]) + ", ...")
    # --8<-- [end:zoo]
    model = build_zoo_model()
    print(f"MobileNetV2 from keras.applications: {len(model.layers)} layers")
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print(f"non-trainable values (BatchNorm statistics): {count_frozen_values(model):,}")
    X = keras.random.normal((2, image_size, image_size, 3), seed=0)
    print(f"output shape for a batch of 2 images: {tuple(model(X).shape)}")
