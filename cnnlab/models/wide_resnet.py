"""Wide Residual Networks (CIFAR).

S. Zagoruyko, N. Komodakis, "Wide Residual Networks", BMVC 2016. https://arxiv.org/abs/1605.07146

A deeper ResNet buys a little accuracy with many more layers; WRN-d-k instead makes a shallower
ResNet ``k`` times wider. On CIFAR, WRN-28-10 (36.5M parameters) beats the 1001-layer pre-activation
ResNet, and WRN-16-8 (11.0M) the ResNet-110, while training several times faster on a GPU (the
wide 3×3 convolutions parallelise better than long chains of thin ones).

The network: a 3×3 convolution with 16 filters, three stages of ``n = (d - 4) / 6`` pre-activation
basic blocks B(3,3) with 16k, 32k and 64k channels on 32×32, 16×16 and 8×8 maps, a final BN-ReLU,
global average pooling and a fully connected layer; the paper writes the depth as d = 6n + 4
(WRN-28: n = 4, WRN-16: n = 2). A block is
BN-ReLU-conv3×3-BN-ReLU-(dropout)-conv3×3 plus the shortcut: the identity, or a 1×1 convolution
where the shape changes; dropout between the two convolutions is the paper's regulariser for wide
blocks (``dropout=``, 0.3 in its CIFAR experiments). Following the authors' code, a 1×1 shortcut
takes the block's activated input (after its first BN-ReLU), the identity the raw input.

The ImageNet Wide ResNets (``wide_resnet50_2``, ``wide_resnet101_2``: bottlenecks twice as wide)
are torchvision's and live in ``resnet.py``.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from ..layers import make_activation
from ._base import ImageClassifier
from ._registry import register_model

__all__ = ["WideResNet", "WideBasicBlock", "wrn28_10", "wrn16_4"]

# stage widths before widening, and the strides of the stages' first blocks
STAGE_WIDTHS = (16, 32, 64)
STAGE_STRIDES = (1, 2, 2)


class WideBasicBlock(nn.Module):
    """Pre-activation basic block B(3,3) of Zagoruyko & Komodakis 2016 (Fig. 1c/d):
    ``(N, in_planes, H, W) -> (N, planes, H/stride, W/stride)``::

        o = relu(bn1(x))
        out = conv2(dropout(relu(bn2(conv1(o))))) + (shortcut(o) if shortcut else x)

    ``conv1`` (3×3, ``stride``) and ``conv2`` (3×3) are built by ``conv_layer``; ``shortcut`` is a
    1×1 convolution (stride ``stride``, no norm) when the shape changes, else absent.
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0, *,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, act_layer: Callable[..., nn.Module] = nn.ReLU,
                 conv_layer: Callable[..., nn.Module] = nn.Conv2d) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self.bn1 = norm_layer(in_planes)
        self.relu1 = make_activation(act_layer)
        self.conv1 = conv_layer(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = norm_layer(planes)
        self.relu2 = make_activation(act_layer)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = conv_layer(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = conv_layer(in_planes, planes, kernel_size=1, stride=stride, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_planes, H, W) -> (N, planes, H/stride, W/stride)``."""
        o = self.relu1(self.bn1(x))  # pre-activation
        out = self.conv1(o)  # (N, planes, H/stride, W/stride)
        out = self.relu2(self.bn2(out))
        out = self.dropout(out)
        out = self.conv2(out)
        return out + (self.shortcut(o) if self.shortcut is not None else x)


class WideResNet(ImageClassifier):
    """WRN-``depth``-``widen_factor`` for 32×32 images: ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    ``conv1`` (3×3, 16), ``layer1..layer3`` of ``(depth - 4) / 6`` :class:`WideBasicBlock` with
    ``16k, 32k, 64k`` channels (k = ``widen_factor``), ``bn``, ``relu``, ``avgpool``, ``fc``.
    ``dropout`` is the rate between the two convolutions of every block.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, *, depth: int = 28, widen_factor: int = 10,
                 dropout: float = 0.0, norm_layer: Optional[Callable[[int], nn.Module]] = None,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, conv_layer: Callable[..., nn.Module] = nn.Conv2d) -> None:
        super().__init__(num_classes, in_channels, input_size=(32, 32))
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WideResNet: depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), got {depth!r}")
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f"WideResNet: widen_factor must be an integer >= 1, got {widen_factor!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"WideResNet: dropout must be in [0, 1), got {dropout!r}")
        n = (depth - 4) // 6
        norm_layer = norm_layer or nn.BatchNorm2d
        self.depth, self.widen_factor = depth, widen_factor

        self.conv1 = nn.Conv2d(in_channels, 16, kernel_size=3, padding=1, bias=False)  # (N, 16, 32, 32)
        stages, in_planes = [], 16
        for width, stride in zip(STAGE_WIDTHS, STAGE_STRIDES):
            planes = width * widen_factor
            blocks = []
            for j in range(n):
                blocks.append(WideBasicBlock(in_planes, planes, stride if j == 0 else 1, dropout,
                                             norm_layer=norm_layer, act_layer=act_layer, conv_layer=conv_layer))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn = norm_layer(in_planes)  # the last block's output is not normalised yet (pre-activation)
        self.relu = make_activation(act_layer)
        self.num_features = in_planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_planes, num_classes)

        for m in self.modules():  # He et al. 2015 initialisation, as the authors' code
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, 32, 32) -> (N, 64k, 8, 8)``, after the final BN-ReLU."""
        x = self.conv1(x)  # (N, 16, 32, 32)
        x = self.layer1(x)  # (N, 16k, 32, 32)
        x = self.layer2(x)  # (N, 32k, 16, 16)
        x = self.layer3(x)  # (N, 64k, 8, 8)
        return self.relu(self.bn(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, 64k, h, w) -> (N, num_classes)``: global average pooling, fc."""
        x = torch.flatten(self.avgpool(x), 1)  # (N, 64k)
        return x if pre_logits else self.fc(x)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def wrn28_10(num_classes: int = 10, in_channels: int = 3, **kwargs) -> WideResNet:
    """WRN-28-10 from "Wide Residual Networks" (Zagoruyko & Komodakis, 2016): 28 layers, 10× wide, 36.5M parameters."""
    return WideResNet(num_classes, in_channels, depth=28, widen_factor=10, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def wrn16_4(num_classes: int = 10, in_channels: int = 3, **kwargs) -> WideResNet:
    """WRN-16-4 from "Wide Residual Networks" (Zagoruyko & Komodakis, 2016): 16 layers, 4× wide, 2.7M parameters."""
    return WideResNet(num_classes, in_channels, depth=16, widen_factor=4, **kwargs)
