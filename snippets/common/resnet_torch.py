"""A CIFAR-shaped ResNet in PyTorch (ResNet-18 layout, scalable widths), twin of ``resnet_tf.py``.

A 3x3 stem, four stages of two basic blocks (3x3 conv, batch norm, ReLU, 3x3
conv, batch norm, plus a shortcut that is a 1x1 conv and batch norm where the
shape changes), global average pooling and a linear layer to 10 logits, on
32x32x3 images. ``base`` is the stem's channel count (64 is ResNet-18's).
Convolutions draw He-normal weights (fan-out, as torchvision does), the
classifier Glorot-uniform; batch norm uses epsilon 1e-5 and momentum 0.1 (Keras:
0.9, the same running-average rate written the other way round).

>>> model = build_model(base=8)
>>> tuple(model(torch.zeros(2, 3, 32, 32)).shape)
(2, 10)
"""

from __future__ import annotations

# --8<-- [start:model]
import torch
from torch import nn

STAGES = (1, 2, 4, 8)  # channel multiples of ``base``; the first stage keeps 32x32, the others halve it


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


def build_model(base: int = 32, classes: int = 10) -> nn.Module:
    layers = [nn.Conv2d(3, base, 3, padding=1, bias=False), nn.BatchNorm2d(base, eps=1e-5, momentum=0.1),
              nn.ReLU()]
    cin = base
    for i, multiple in enumerate(STAGES):
        cout = base * multiple
        layers += [BasicBlock(cin, cout, stride=1 if i == 0 else 2), BasicBlock(cout, cout, stride=1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    model = nn.Sequential(*layers)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return model
# --8<-- [end:model]


def count_trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":
    model = build_model()
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("output shape:", tuple(model(torch.zeros(1, 3, 32, 32)).shape))
