"""Convolution -> normalisation -> activation, the unit almost every modern CNN is made of.

S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
Covariate Shift", ICML 2015, arXiv:1502.03167 (where the norm goes: after the convolution, before
the non-linearity, and the convolution loses its bias).

Two ``state_dict`` layouts, because torchvision uses both and its weights must load:

* indexed children ``0, 1, 2`` -- torchvision's ``Conv2dNormActivation`` (MobileNet, EfficientNet, ...);
* named children ``conv, bn`` (and a parameter-free ``act``) -- torchvision's ``BasicConv2d``
  (GoogLeNet, Inception v3): ``ConvNormAct(..., named=True)``.
"""
from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Callable

from torch import nn

from .._utils import IntOrPair, pair
from .conv import GroupConv2d

__all__ = ["ConvNormAct", "make_activation"]


def make_activation(act_layer: Callable[..., nn.Module], inplace: bool | None = True) -> nn.Module:
    """``act_layer(inplace=inplace)`` when it takes ``inplace`` (``nn.ReLU``), else ``act_layer()``
    (``nn.GELU``, ``nn.Sigmoid``)."""
    try:
        takes_inplace = "inplace" in inspect.signature(act_layer).parameters
    except (TypeError, ValueError):
        takes_inplace = False
    return act_layer(inplace=inplace) if inplace is not None and takes_inplace else act_layer()


def _conv_kind(in_channels: int, out_channels: int, kernel_size: IntOrPair, groups: int) -> str:
    """A name for error messages: "depthwise conv", "pointwise conv", "grouped conv" or "conv"."""
    if groups > 1 and groups == in_channels == out_channels:
        return "depthwise conv"
    if pair(kernel_size, "kernel_size") == (1, 1):
        return "pointwise conv" if groups == 1 else "pointwise grouped conv"
    return "grouped conv" if groups > 1 else "conv"


class ConvNormAct(nn.Sequential):
    """Convolution, then normalisation, then activation: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``.

    ``norm_layer`` or ``act_layer`` may be ``None`` to leave that part out. ``padding=None`` means
    ``dilation * (kernel_size - 1) // 2`` ("same" size at stride 1); ``bias=None`` means a bias only
    when there is no norm layer (a bias before BatchNorm is cancelled by its mean subtraction).
    ``named=False`` gives torchvision's ``Conv2dNormActivation`` keys (``0.weight``, ``1.running_mean``);
    ``named=True`` gives its ``BasicConv2d`` keys (``conv.weight``, ``bn.running_mean``).
    The convolution is a :class:`~cnnlab.layers.GroupConv2d`, so a wrong input gives a clear error.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair = 3, stride: IntOrPair = 1,
                 padding: IntOrPair | None = None, groups: int = 1, dilation: IntOrPair = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 act_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 inplace: bool | None = True, bias: bool | None = None, named: bool = False) -> None:
        bias = norm_layer is None if bias is None else bias
        name = f"ConvNormAct ({_conv_kind(in_channels, out_channels, kernel_size, groups)})"
        parts: list[tuple[str, nn.Module]] = [
            ("conv", GroupConv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                                 name=name))]
        if norm_layer is not None:
            parts.append(("bn", norm_layer(out_channels)))
        if act_layer is not None:
            parts.append(("act", make_activation(act_layer, inplace)))
        if named:
            super().__init__(OrderedDict(parts))
        else:
            super().__init__(*(module for _, module in parts))
        self.in_channels = in_channels
        self.out_channels = out_channels
