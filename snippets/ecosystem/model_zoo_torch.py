"""A standard architecture from PyTorch's model zoo, TorchVision: MobileNetV2, no download.

PyTorch keeps its reference vision models in a separate package, TorchVision,
whose build must match the installed torch. ``weights=None`` gives random
initial weights. Where TorchVision cannot be imported (as on the machines that
build this guide), the same network is built by hand below, so the example runs
either way and the parameter count shows the two are the same architecture.

>>> model = build_zoo_model(num_classes=1000)
>>> count_trainable_params(model)  # the same count as the Keras twin
3504872
>>> import torch
>>> tuple(model.eval()(torch.zeros(2, 3, 224, 224)).shape)
(2, 1000)
>>> count_trainable_params(mobilenet_v2_by_hand(1000)) == count_trainable_params(model)
True
"""

from __future__ import annotations

import torch
from torch import nn

image_size = 224  # MobileNetV2's ImageNet resolution
num_classes = 1000


def conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [
        nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    return nn.Sequential(*layers, nn.ReLU6()) if relu else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand (1x1), depthwise (3x3), project (1x1, linear)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        layers = [conv_bn(c_in, hidden, kernel=1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, stride=stride, groups=hidden), conv_bn(hidden, c_out, kernel=1, relu=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


def mobilenet_v2_by_hand(num_classes: int = num_classes) -> nn.Module:
    """MobileNetV2 (Sandler et al., 2018) at width 1.0, as TorchVision and Keras define it."""
    # (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    layers, c_in = [conv_bn(3, 32, stride=2)], 32
    for t, c, n, s in settings:
        for i in range(n):
            layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
            c_in = c
    layers.append(conv_bn(c_in, 1280, kernel=1))
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, num_classes)
    )


# --8<-- [start:model]
def build_zoo_model(num_classes: int = num_classes) -> nn.Module:
    try:
        import torchvision  # a separate package, built against one torch version
    except (ImportError, RuntimeError, OSError):
        return mobilenet_v2_by_hand(num_classes)  # same architecture, defined in this file
    return torchvision.models.mobilenet_v2(
        weights=None,  # random init; MobileNet_V2_Weights.DEFAULT would download pretrained ones
        num_classes=num_classes,
    )
# --8<-- [end:model]


def count_trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_frozen_values(model: nn.Module) -> int:
    """Non-trainable float values: BatchNorm's running mean and variance."""
    return sum(b.numel() for b in model.buffers() if b.is_floating_point())


if __name__ == "__main__":
    # --8<-- [start:zoo]
    try:
        import torchvision

        architectures = torchvision.models.list_models()
        print(f"torchvision {torchvision.__version__}: torchvision.models offers {len(architectures)} architectures")
        print("  e.g. " + ", ".join(sorted(architectures)[:6]) + ", ...")
    except (ImportError, RuntimeError, OSError) as error:
        print(f"torch {torch.__version__}: torchvision is not usable here ({type(error).__name__}: {error})")
    # --8<-- [end:zoo]
    model = build_zoo_model().eval()
    source = type(model).__module__
    print(f"MobileNetV2 built by: {'torchvision' if source.startswith('torchvision') else 'mobilenet_v2_by_hand() in this file'}")
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print(f"non-trainable values (BatchNorm statistics): {count_frozen_values(model):,}")
    X = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        print(f"output shape for a batch of 2 images: {tuple(model(X).shape)}")
