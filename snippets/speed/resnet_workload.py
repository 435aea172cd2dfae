"""What the ResNet workload is, for the engine: sizes, parameters, FLOPs, data (no framework).

The engine reads this beside ``resnet_workload_torch.py`` / ``_tf.py`` (the
contract is ``engine.bench.workload``). The size is the stem's channel count
in units of 16: 2 (32 channels, ResNet-18's widths halved) is the default, 4
is ResNet-18 itself. FLOPs count convolutions and the classifier, 2 per
multiply-add, as ``torch.utils.flop_counter`` does (the tests check it);
backward is two forward passes per layer except the stem, whose input (the
image) needs no gradient. Batch norm, ReLU, the additions and SGD are left out.

>>> trainable_params(DEFAULT_SIZE)
2797610
>>> train_step_flops(32) < 3 * forward_flops(32)
True
"""

from __future__ import annotations

TITLE = "CIFAR-shaped ResNet (ResNet-18 layout: 4 stages of 2 basic blocks, batch norm)"
DATA = "synthetic 32x32x3 batches (random values, 10 classes): throughput only"
UNIT = "images"
DEFAULT_SIZE = 2
STAGES = (1, 2, 4, 8)


def base_channels(size: int) -> int:
    return 16 * size


def size_label(size: int) -> str:
    return f"stem width {base_channels(size)}"


def _convs(size: int) -> list[tuple[int, int, int, int]]:
    """(kernel, in channels, out channels, output side) of every convolution, stem first."""
    base = base_channels(size)
    convs, cin, side = [(3, 3, base, 32)], base, 32
    for i, multiple in enumerate(STAGES):
        cout = base * multiple
        for block in range(2):
            stride = 2 if (i > 0 and block == 0) else 1
            side //= stride
            convs.append((3, cin, cout, side))
            convs.append((3, cout, cout, side))
            if stride != 1 or cin != cout:
                convs.append((1, cin, cout, side))
            cin = cout
    return convs


def _macs(size: int) -> list[int]:
    layers = [k * k * cin * cout * side * side for k, cin, cout, side in _convs(size)]
    return layers + [base_channels(size) * STAGES[-1] * 10]  # the classifier


def forward_flops(batch_size: int, size: int = DEFAULT_SIZE) -> int:
    return 2 * batch_size * sum(_macs(size))


def train_step_flops(batch_size: int, size: int = DEFAULT_SIZE) -> int:
    macs = _macs(size)
    return 2 * batch_size * (2 * sum(macs) + sum(macs[1:]))  # forward + weight grads, input grads but the stem's


def trainable_params(size: int = DEFAULT_SIZE) -> int:
    convs = _convs(size)
    weights = sum(k * k * cin * cout for k, cin, cout, _ in convs)
    batch_norm = sum(2 * cout for _, _, cout, _ in convs)  # gamma and beta; moving statistics are not trained
    top = base_channels(size) * STAGES[-1]
    return weights + batch_norm + top * 10 + 10


def output_shape(batch_size: int, size: int = DEFAULT_SIZE) -> tuple[int, ...]:
    return (batch_size, 10)


def items_per_sample(size: int = DEFAULT_SIZE) -> int:
    return 1
