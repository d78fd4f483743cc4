"""ResNet.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
https://arxiv.org/abs/1512.03385

A residual block learns ``F(x)`` and outputs ``relu(F(x) + x)``: when the best a block can do is
nothing, it only has to push ``F`` to zero, which stacks of plain layers find hard (the paper's
"degradation" of deep plain nets, Fig. 1 and 4). The shortcut is the identity, or a 1×1 projection
(with BatchNorm) where the shape changes (the paper's option B). Two blocks (Fig. 5): the *basic*
block, two 3×3 convolutions (ResNet-18/34), and the *bottleneck*, 1×1 reduce -> 3×3 -> 1×1 expand
by 4 (ResNet-50/101/152), which keeps the 3×3 convolution at a quarter of the block's width.

The layout is torchvision's (``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``, blocks with
``conv1 bn1 conv2 bn2 [conv3 bn3] downsample.0 downsample.1``), so torchvision's weights load with
``strict=True`` and give the same outputs. Departures from the paper, all torchvision's:

* ``Bottleneck`` strides in its 3×3 convolution ("ResNet v1.5"); the paper strides in the first
  1×1 (``stride_in_1x1=True`` gives the paper's block: same parameters, fewer MACs, since the 3×3
  then runs on the subsampled map).
* projection shortcuts only where the shape changes (the paper's option B, its choice for the
  ImageNet models), BatchNorm after every convolution, He initialisation with ``fan_out``.

The knobs later families need are here rather than in copies: ``groups`` and ``width_per_group``
(ResNeXt, Wide ResNet-50-2), ``attn_layer`` (SE-ResNet: applied after the last norm of a block and
stored as ``se``, timm's key), ``conv_layer`` (every convolution inside the blocks, and the
projection shortcuts: Ghost, Lego and Adder ResNets swap it; the stem stays ``nn.Conv2d``),
``norm_layer``, ``act_layer``, ``replace_stride_with_dilation`` and ``zero_init_residual``
(torchvision's). Stem options give the three ResNet-18 variants of Zhu et al., "ScratchDet:
Training Single-Shot Object Detectors from Scratch" (CVPR 2019, Fig. 3): ResNet-18-A (no first
max pool), ResNet-18-B (stride-1 first conv) and Root-ResNet-18 (three 3×3 convs instead of the 7×7,
on ResNet-18-B), which detect better from scratch (PASCAL VOC 2007 mAP 73.1, 75.3, 77.6 and 78.5 %
for ResNet-18, -A, -B and Root) because the small objects keep more resolution.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Type, Union

import torch
from torch import nn

from ..layers import make_activation, scale_width
from ._base import ImageClassifier
from ._registry import register_model

__all__ = ["BasicBlock", "Bottleneck"]  # ResNet and its factories follow in the next commit

ConvLayer = Callable[..., nn.Module]


def _conv3x3(conv_layer: ConvLayer, in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
             dilation: int = 1) -> nn.Module:
    """3×3 convolution, "same" padding, no bias (BatchNorm follows)."""
    return conv_layer(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                      bias=False, dilation=dilation)


def _conv1x1(conv_layer: ConvLayer, in_planes: int, out_planes: int, stride: int = 1) -> nn.Module:
    """1×1 convolution, no bias."""
    return conv_layer(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """The basic residual block (He et al. 2016, Fig. 2; left of Fig. 5), used by ResNet-18/34.

    ``(N, inplanes, H, W) -> (N, planes, H/stride, W/stride)``::

        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    with ``conv1`` a 3×3 convolution with ``stride`` and ``conv2`` a 3×3 convolution, and
    ``shortcut`` the identity or ``downsample`` (a module mapping ``(N, inplanes, H, W)`` to
    ``(N, planes, H/stride, W/stride)``: torchvision's 1×1 conv + BN, or the CIFAR nets' zero padding).
    The positional arguments are torchvision's; ``groups`` must be 1 and ``base_width`` 64 (as there).

    Keyword-only knobs: ``act_layer`` (the activation class), ``conv_layer`` (builds both
    convolutions, called as ``nn.Conv2d``), ``attn_layer`` (``attn_layer(planes) -> nn.Module``,
    applied after ``bn2`` and before the addition, stored as ``se``), ``residual=False`` (a *plain*
    block: no addition, the paper's plain baselines).
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, *,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, conv_layer: ConvLayer = nn.Conv2d,
                 attn_layer: Optional[Callable[[int], nn.Module]] = None, residual: bool = True) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock only supports groups=1 and base_width=64, got groups={groups}, "
                             f"base_width={base_width} (use Bottleneck for grouped or wider blocks)")
        if not residual and downsample is not None:
            raise ValueError("BasicBlock: a plain block (residual=False) has no shortcut, so downsample must be None")
        norm_layer = norm_layer or nn.BatchNorm2d
        # conv1 and downsample both subsample when stride != 1
        self.conv1 = _conv3x3(conv_layer, inplanes, planes, stride, dilation=dilation)
        self.bn1 = norm_layer(planes)
        self.relu = make_activation(act_layer)
        self.conv2 = _conv3x3(conv_layer, planes, planes, dilation=dilation)
        self.bn2 = norm_layer(planes)
        self.se = attn_layer(planes) if attn_layer is not None else None
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def zero_init_last(self) -> None:
        """Zero the last norm's scale: the block starts as the identity (Goyal et al. 2017)."""
        if getattr(self.bn2, "weight", None) is not None:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, inplanes, H, W) -> (N, planes, H/stride, W/stride)``."""
        identity = x
        out = self.conv1(x)  # (N, planes, H/stride, W/stride)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.se is not None:
            out = self.se(out)
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """The bottleneck residual block (He et al. 2016, right of Fig. 5), used by ResNet-50/101/152.

    ``(N, inplanes, H, W) -> (N, 4 * planes, H/stride, W/stride)``: 1×1 conv to ``width`` channels,
    3×3 conv (``groups``, ``dilation``), 1×1 conv to ``planes * expansion``, each followed by norm
    (and ReLU but the last), then the addition of the shortcut (identity or ``downsample``) and ReLU.
    ``width = int(planes * base_width / 64) * groups``: ``planes`` for ResNet, ``2 * planes`` for
    Wide ResNet-50-2 (``base_width=128``), ``groups * d`` for ResNeXt ``(groups)x(d)d``.

    Where the stride goes: torchvision (and so our default) strides in the 3×3 convolution
    ``conv2`` ("ResNet v1.5", better accuracy); the paper strides in the first 1×1 convolution,
    ``stride_in_1x1=True``, which computes the 3×3 on the smaller map (fewer MACs, same weights).

    Keyword-only knobs as in :class:`BasicBlock` (``attn_layer(planes * 4)`` after ``bn3``).
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None, *,
                 act_layer: Callable[..., nn.Module] = nn.ReLU, conv_layer: ConvLayer = nn.Conv2d,
                 attn_layer: Optional[Callable[[int], nn.Module]] = None, residual: bool = True,
                 stride_in_1x1: bool = False) -> None:
        super().__init__()
        if not residual and downsample is not None:
            raise ValueError("Bottleneck: a plain block (residual=False) has no shortcut, so downsample must be None")
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        if width < 1:
            raise ValueError(f"Bottleneck: planes={planes}, base_width={base_width}, groups={groups} give "
                             f"width {width}; it must be at least 1")
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = _conv1x1(conv_layer, inplanes, width, stride_1x1)  # reduce
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(conv_layer, width, width, stride_3x3, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(conv_layer, width, planes * self.expansion)  # expand
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = make_activation(act_layer)
        self.se = attn_layer(planes * self.expansion) if attn_layer is not None else None
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def zero_init_last(self) -> None:
        """Zero the last norm's scale: the block starts as the identity (Goyal et al. 2017)."""
        if getattr(self.bn3, "weight", None) is not None:
            nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, inplanes, H, W) -> (N, 4 * planes, H/stride, W/stride)``."""
        identity = x
        out = self.conv1(x)  # (N, width, H, W)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, width, H/stride, W/stride)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)  # (N, 4 * planes, H/stride, W/stride)
        out = self.bn3(out)
        if self.se is not None:
            out = self.se(out)
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)
