"""What the CNN workload is, for the engine: size, parameters, FLOPs, data (no framework imported).

The engine reads this beside ``cnn_workload_torch.py`` / ``cnn_workload_tf.py``
(the contract is ``engine.bench.workload``). FLOPs count convolutions and the
dense layer, 2 per multiply-add, as ``torch.utils.flop_counter`` does (the
tests check the count against it). Backward costs two forward passes per
layer (input gradient + weight gradient), except the first layer, whose input
needs no gradient. Element-wise work (ReLU, pooling, Adam) is left out: it is
small and memory-bound, so counting it would flatter the utilization figure.

>>> trainable_params(1)
34826
>>> train_step_flops(64) / forward_flops(64) < 3  # the image needs no gradient
True
"""

from __future__ import annotations

TITLE = "MNIST CNN (two 3x3 convolutions, one dense layer)"
DATA = "synthetic MNIST-shaped batches (28x28x1, random values): throughput only"
UNIT = "images"
DEFAULT_SIZE = 1


def size_label(size: int) -> str:
    return f"width x{size}"


def _layers(width: int) -> list[int]:
    """Multiply-adds per sample of each weighted layer, in order."""
    conv1 = 26 * 26 * (32 * width) * (3 * 3 * 1)
    conv2 = 11 * 11 * (64 * width) * (3 * 3 * 32 * width)
    dense = (5 * 5 * 64 * width) * 10
    return [conv1, conv2, dense]


def forward_flops(batch_size: int, size: int = 1) -> int:
    return 2 * batch_size * sum(_layers(size))


def train_step_flops(batch_size: int, size: int = 1) -> int:
    layers = _layers(size)
    forward = 2 * batch_size * sum(layers)
    weight_grads = 2 * batch_size * sum(layers)
    input_grads = 2 * batch_size * sum(layers[1:])  # the image itself needs no gradient
    return forward + weight_grads + input_grads


def trainable_params(size: int = 1) -> int:
    """The parameter count both frameworks' models must have (asserted in every run)."""
    conv1 = 3 * 3 * 1 * 32 * size + 32 * size
    conv2 = 3 * 3 * 32 * size * 64 * size + 64 * size
    dense = 5 * 5 * 64 * size * 10 + 10
    return conv1 + conv2 + dense


def output_shape(batch_size: int, size: int = 1) -> tuple[int, ...]:
    return (batch_size, 10)


def items_per_sample(size: int = 1) -> int:
    return 1
