"""Analytic FLOP count of one training step of the guide's CNN (docs/method.md#ceiling).

Only convolutions and the dense layer are counted, 2 FLOPs per multiply-add,
the same convention as ``torch.utils.flop_counter`` (which the tests use to
cross-check this count). Backward costs two forward passes per layer (input
gradient + weight gradient), except the first layer, whose input needs no
gradient. Element-wise work (ReLU, pooling, Adam) is left out: it is small
and memory-bound, so counting it would flatter the utilization figure.
"""

from __future__ import annotations


def _layers(width: int) -> list[int]:
    """Multiply-adds per sample of each weighted layer, in order."""
    conv1 = 26 * 26 * (32 * width) * (3 * 3 * 1)
    conv2 = 11 * 11 * (64 * width) * (3 * 3 * 32 * width)
    dense = (5 * 5 * 64 * width) * 10
    return [conv1, conv2, dense]


def forward_flops(batch_size: int, width: int = 1) -> int:
    return 2 * batch_size * sum(_layers(width))


def train_step_flops(batch_size: int, width: int = 1) -> int:
    layers = _layers(width)
    forward = 2 * batch_size * sum(layers)
    weight_grads = 2 * batch_size * sum(layers)
    input_grads = 2 * batch_size * sum(layers[1:])  # the image itself needs no gradient
    return forward + weight_grads + input_grads


def trainable_params(width: int = 1) -> int:
    """The parameter count both frameworks' models must have (asserted in every run)."""
    conv1 = 3 * 3 * 1 * 32 * width + 32 * width
    conv2 = 3 * 3 * 32 * width * 64 * width + 64 * width
    dense = 5 * 5 * 64 * width * 10 + 10
    return conv1 + conv2 + dense
