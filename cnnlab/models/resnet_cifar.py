"""The CIFAR-10 ResNets and their plain counterparts.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
Sec. 4.2. https://arxiv.org/abs/1512.03385

The network of the paper's CIFAR-10 experiments: a 3×3 convolution with 16 filters, then three
stages of ``n`` basic blocks (two 3×3 convolutions each) with 16, 32 and 64 filters on 32×32,
16×16 and 8×8 maps (the first convolution of stages 2 and 3 has stride 2), global average pooling
and a fully connected layer: 6n + 2 weight layers, n = 3, 5, 7, 9, 18 for ResNet-20, 32, 44, 56,
110 (0.27M to 1.7M parameters, the paper's Table 6). The *plain* nets are the same stacks without
the shortcuts; the paper's Fig. 6 shows the deeper plain nets training *worse* (degradation), while
deeper residual nets train better.

Shortcuts are identities; where a stage doubles the width and halves the map, the paper's
**option A** keeps them parameter-free: subsample by 2 and pad the new channels with zeros
(:class:`ZeroPadShortcut`, the layout of the authors' later Torch code, fb.resnet.torch: the input's
channels first, then the zeros). ``shortcut="B"`` uses 1×1 projections (conv + BN) there instead.

Blocks are ``resnet.BasicBlock`` (torchvision's keys), so the knobs of the ImageNet ResNet pass
through: ``norm_layer``, ``act_layer``, ``conv_layer`` (every convolution of the blocks; the stem
stays ``nn.Conv2d``) and ``attn_layer``. ``width_mult`` (for small CPU experiments; not in the paper)
scales the widths 16/32/64 and rounds them to multiples of 4 (``layers.scale_width(c, w, 4)``:
0.25 gives 4/8/16, 0.5 gives 8/16/32), so that the stage widths still double.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier
from ._registry import register_model
from .resnet import BasicBlock

__all__ = [
    "CifarResNet", "ZeroPadShortcut",
    "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
    "plain20", "plain32", "plain44", "plain56", "plain110",
]

# stage widths on 32×32, 16×16 and 8×8 maps (the paper's Sec. 4.2)
STAGE_WIDTHS = (16, 32, 64)
SHORTCUTS = ("A", "B")


class ZeroPadShortcut(nn.Module):
    """The paper's option-A shortcut, without parameters: ``(N, in_channels, H, W) ->
    (N, out_channels, ceil(H/stride), ceil(W/stride))``.

    Keeps every ``stride``-th row and column (as a 1×1 pooling with that stride would) and appends
    ``out_channels - in_channels`` channels of zeros after the input's channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ZeroPadShortcut: out_channels ({out_channels}) must be >= in_channels ({in_channels})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]  # (N, in_channels, H/stride, W/stride)
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back)
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class CifarResNet(ImageClassifier):
    """The CIFAR ResNet of He et al. 2016 (Sec. 4.2): ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    ``conv1 bn1 relu`` (3×3, 16 filters), ``layer1..layer3`` of ``n = (depth - 2) / 6`` basic blocks
    with 16, 32, 64 channels, ``avgpool``, ``fc``. ``residual=False`` gives the plain net (no
    shortcuts at all); ``shortcut`` is ``"A"`` (zero padding, the paper's CIFAR choice) or ``"B"``
    (1×1 projections) where the shape changes.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, *, depth: int = 20, residual: bool = True,
                 shortcut: str = "A", width_mult: float = 1.0,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, act_layer: Callable[..., nn.Module] = nn.ReLU,
                 conv_layer: Callable[..., nn.Module] = nn.Conv2d,
                 attn_layer: Optional[Callable[[int], nn.Module]] = None) -> None:
        # three stages, two of them stride 2: 1 -> 1 -> 1, so any size runs; 32×32 by design
        super().__init__(num_classes, in_channels, input_size=(32, 32))
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110, ...), got {depth!r}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero padding) or 'B' (projection), got {shortcut!r}")
        n = (depth - 2) // 6
        norm_layer = norm_layer or nn.BatchNorm2d
        widths = [scale_width(c, width_mult, 4) for c in STAGE_WIDTHS]
        self.depth, self.residual = depth, residual

        self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1, bias=False)  # (N, 16, 32, 32)
        self.bn1 = norm_layer(widths[0])
        self.relu = make_activation(act_layer)
        stages, inplanes = [], widths[0]
        for i, planes in enumerate(widths):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                downsample = None
                if residual and (stride != 1 or inplanes != planes):
                    downsample = (ZeroPadShortcut(inplanes, planes, stride) if shortcut == "A" else
                                  nn.Sequential(conv_layer(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                                                norm_layer(planes)))
                blocks.append(BasicBlock(inplanes, planes, stride, downsample, norm_layer=norm_layer,
                                         act_layer=act_layer, conv_layer=conv_layer, attn_layer=attn_layer,
                                         residual=residual))
                inplanes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.num_features = inplanes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)

        for m in self.modules():  # He et al. 2015 initialisation, as the paper (torchvision's fan_out)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, 32, 32) -> (N, 64, 8, 8)`` (at full width)."""
        x = self.relu(self.bn1(self.conv1(x)))  # (N, 16, 32, 32)
        x = self.layer1(x)  # (N, 16, 32, 32)
        x = self.layer2(x)  # (N, 32, 16, 16)
        x = self.layer3(x)  # (N, 64, 8, 8)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(N, 64, h, w) -> (N, num_classes)``: global average pooling, fc."""
        x = torch.flatten(self.avgpool(x), 1)  # (N, 64)
        return x if pre_logits else self.fc(x)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def resnet20(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """ResNet-20 for CIFAR-10 (He et al., 2016, Sec. 4.2): 3 stages of 3 basic blocks, option-A shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=20, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def resnet32(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """ResNet-32 for CIFAR-10 (He et al., 2016, Sec. 4.2): 3 stages of 5 basic blocks, option-A shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=32, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def resnet44(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """ResNet-44 for CIFAR-10 (He et al., 2016, Sec. 4.2): 3 stages of 7 basic blocks, option-A shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=44, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def resnet56(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """ResNet-56 for CIFAR-10 (He et al., 2016, Sec. 4.2): 3 stages of 9 basic blocks, option-A shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=56, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar", "paper"))
def resnet110(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """ResNet-110 for CIFAR-10 (He et al., 2016, Sec. 4.2): 3 stages of 18 basic blocks, option-A shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=110, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar",))
def plain20(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Plain-20 for CIFAR-10 (He et al., 2016, Sec. 4.2): ResNet-20 without shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=20, residual=False, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar",))
def plain32(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Plain-32 for CIFAR-10 (He et al., 2016, Sec. 4.2): ResNet-32 without shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=32, residual=False, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar",))
def plain44(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Plain-44 for CIFAR-10 (He et al., 2016, Sec. 4.2): ResNet-44 without shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=44, residual=False, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar",))
def plain56(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Plain-56 for CIFAR-10 (He et al., 2016, Sec. 4.2): ResNet-56 without shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=56, residual=False, **kwargs)


@register_model(input_size=(3, 32, 32), tags=("cifar",))
def plain110(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """Plain-110 for CIFAR-10 (He et al., 2016, Sec. 4.2): ResNet-110 without shortcuts."""
    return CifarResNet(num_classes, in_channels, depth=110, residual=False, **kwargs)
