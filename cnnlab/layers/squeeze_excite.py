"""Squeeze-and-excitation: reweight the channels of a feature map by a gate computed from its
global average.

J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507 (Fig. 2/3):
squeeze ``(N, C, H, W) -> (N, C)`` by global average pooling, excite through a bottleneck of
``C / r`` units (ReLU) back to ``C`` sigmoid gates, scale the input channel-wise.

The ``state_dict`` layout is torchvision's ``ops.SqueezeExcitation`` (``fc1``, ``fc2`` as 1×1
convolutions with bias), which MobileNet v3 and EfficientNet use, so their weights load.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._utils import check_int

__all__ = ["SqueezeExcite"]


class SqueezeExcite(nn.Module):
    """``(N, C, H, W) -> (N, C, H, W)``: ``x * gate(fc2(act(fc1(mean_hw(x)))))``.

    Give the bottleneck width either directly (``squeeze_channels``) or as the paper's reduction
    ratio ``r`` (``reduction``, default 16: ``squeeze_channels = max(1, C // r)``). MobileNet v3 uses
    ``act_layer=nn.ReLU, gate_layer=nn.Hardsigmoid``; EfficientNet ``nn.SiLU`` and ``nn.Sigmoid``.
    """

    def __init__(self, in_channels: int, squeeze_channels: int | None = None, reduction: int = 16,
                 act_layer: Callable[..., nn.Module] = nn.ReLU,
                 gate_layer: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        check_int(in_channels, "in_channels", "SqueezeExcite")
        if squeeze_channels is None:
            squeeze_channels = max(1, in_channels // check_int(reduction, "reduction", "SqueezeExcite"))
        check_int(squeeze_channels, "squeeze_channels", "SqueezeExcite")
        self.in_channels = in_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(in_channels, squeeze_channels, 1)
        self.activation = act_layer()
        self.fc2 = nn.Conv2d(squeeze_channels, in_channels, 1)
        self.scale_activation = gate_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SqueezeExcite expects (N, {self.in_channels}, H, W) inputs, got {tuple(x.shape)}")
        scale = self.avgpool(x)  # (N, C, 1, 1): squeeze
        scale = self.fc1(scale)  # (N, C/r, 1, 1)
        scale = self.activation(scale)
        scale = self.fc2(scale)  # (N, C, 1, 1)
        scale = self.scale_activation(scale)  # gates in (0, 1): excitation
        return x * scale
