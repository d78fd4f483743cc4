"""Depthwise separable convolution: a depthwise k×k convolution (one filter per channel), then a
pointwise 1×1 convolution that mixes the channels.

A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", 2017, arXiv:1704.04861 (Fig. 3, Section 3.1); F. Chollet, "Xception: Deep Learning
with Depthwise Separable Convolutions", CVPR 2017, arXiv:1610.02357.

Cost relative to a full ``k×k`` convolution from ``M`` to ``N`` channels (Howard et al., Eq. 5):
``(M k² HW + M N HW) / (M N k² HW) = 1/N + 1/k²``.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._utils import IntOrPair
from .conv_norm_act import ConvNormAct

__all__ = ["DepthwiseSeparableConv"]


class DepthwiseSeparableConv(nn.Module):
    """MobileNet v1's unit: depthwise ``kernel_size`` conv + norm + act, then pointwise 1×1 conv + norm + act.

    Input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)``; ``stride`` is applied by the
    depthwise convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair = 3, stride: IntOrPair = 1,
                 dilation: IntOrPair = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 act_layer: Callable[..., nn.Module] | None = nn.ReLU) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, kernel_size, stride, groups=in_channels,
                                     dilation=dilation, norm_layer=norm_layer, act_layer=act_layer)
        self.pointwise = ConvNormAct(in_channels, out_channels, 1, norm_layer=norm_layer, act_layer=act_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``."""
        x = self.depthwise(x)  # (N, C_in, H_out, W_out): one spatial filter per channel
        x = self.pointwise(x)  # (N, C_out, H_out, W_out): 1×1 conv mixes the channels
        return x
