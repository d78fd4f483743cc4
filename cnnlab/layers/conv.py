"""Convolution units: grouped, depthwise, pointwise and depthwise separable convolutions, dilation,
and the conv-norm-activation triple.

* Grouped convolution -- AlexNet's split of the filters over two GPUs: A. Krizhevsky, I. Sutskever,
  G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", NeurIPS 2012;
  as a design tool ("cardinality"): S. Xie, R. Girshick, P. Dollár, Z. Tu, K. He, "Aggregated
  Residual Transformations for Deep Neural Networks" (ResNeXt), CVPR 2017, arXiv:1611.05431.
* Depthwise separable convolution (a depthwise k×k conv, one filter per channel, then a pointwise
  1×1 conv): A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
  Vision Applications", 2017, arXiv:1704.04861; F. Chollet, "Xception: Deep Learning with
  Depthwise Separable Convolutions", CVPR 2017, arXiv:1610.02357.
* Dilated ("atrous") convolution: F. Yu, V. Koltun, "Multi-Scale Context Aggregation by Dilated
  Convolutions", ICLR 2016, arXiv:1511.07122.

A convolution with ``groups = g`` splits the ``C_in`` input channels into ``g`` groups of ``C_in/g``
and the ``C_out`` filters into ``g`` groups of ``C_out/g``; filter group ``i`` only sees channel
group ``i``. Parameters and MACs both shrink by ``g``::

    params = C_out * (C_in / g) * k_h * k_w (+ C_out biases)
    MACs   = C_out * H_out * W_out * (C_in / g) * k_h * k_w

``g = C_in = C_out`` is a depthwise convolution; a 1×1 convolution is a pointwise one. Dilation
``d`` spreads the ``k`` taps of a kernel ``d`` pixels apart, so it spans ``d(k-1) + 1`` pixels
(the extra span over an undilated kernel is ``(k - 1)(d - 1)``) with the same ``k×k`` weights.
"""
from __future__ import annotations

import torch
from torch import nn

from .._utils import IntOrPair, check_at_least, check_channels_and_groups, check_int, pair, size_str

__all__ = [
    "effective_kernel_size", "GroupConv2d", "grouped_conv", "depthwise_conv", "pointwise_conv",
]



def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Pixels spanned by a ``kernel_size`` kernel with taps ``dilation`` apart: ``d(k - 1) + 1``.

    That is ``k`` plus an extra ``(k - 1)(d - 1)``; e.g. a 3×3 kernel with ``d = 2``
    spans 5×5, so on a 7×7 input (no padding, stride 1) it gives a 3×3 output.
    """
    check_int(kernel_size, "kernel_size", "effective_kernel_size")
    check_int(dilation, "dilation", "effective_kernel_size")
    return dilation * (kernel_size - 1) + 1


def _same_padding(kernel_size: IntOrPair, dilation: IntOrPair) -> tuple[int, int]:
    """``d(k - 1) // 2`` per axis: keeps the size at stride 1 for odd kernels."""
    kh, kw = pair(kernel_size, "kernel_size")
    dh, dw = pair(dilation, "dilation")
    return (dh * (kh - 1) // 2, dw * (kw - 1) // 2)


class GroupConv2d(nn.Conv2d):
    """A 2-D convolution with ``groups`` that checks its input and says what is wrong.

    The same parameters (``weight`` ``(C_out, C_in/g, k_h, k_w)``, ``bias`` ``(C_out,)``), output and
    ``state_dict`` keys as ``nn.Conv2d``; ``cnnlab.analysis`` counts it as one. Differences:
    ``padding=None`` (the default) means ``dilation * (kernel_size - 1) // 2`` ("same" size at stride
    1 for odd kernels), and a clear ``ValueError`` naming the layer (``name``) and the sizes when
    ``groups`` does not divide the channels, when the input has the wrong number of channels, or
    when the kernel does not fit the (padded) input.

    Input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)`` with
    ``H_out = floor((H + 2P - d(k - 1) - 1) / S) + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair | None = None, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 name: str | None = None) -> None:
        name = type(self).__name__ if name is None else name
        check_channels_and_groups(in_channels, out_channels, groups, name)
        kernel = pair(kernel_size, "kernel_size", name)
        strides = pair(stride, "stride", name)
        dilations = pair(dilation, "dilation", name)
        check_at_least(kernel, 1, "kernel_size", name)
        check_at_least(strides, 1, "stride", name)
        check_at_least(dilations, 1, "dilation", name)
        paddings = _same_padding(kernel, dilations) if padding is None else pair(padding, "padding", name)
        check_at_least(paddings, 0, "padding", name)
        super().__init__(in_channels, out_channels, kernel, strides, paddings, dilations, groups, bias)
        self.name = name

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` if ``x`` is not ``(N, in_channels, H, W)`` with the kernel fitting inside."""
        if x.dim() != 4:
            raise ValueError(f"{self.name} expects an input of shape (N, C, H, W), got {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{self.name} expects {self.in_channels} input channels, got {x.shape[1]} "
                             f"(input of shape {tuple(x.shape)})")
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        ph, pw = self.padding
        span_h = effective_kernel_size(kh, dh)
        span_w = effective_kernel_size(kw, dw)
        h, w = x.shape[-2:]
        if h + 2 * ph < span_h or w + 2 * pw < span_w:
            dilation = dh if dh == dw else (dh, dw)
            padding = ph if ph == pw else (ph, pw)
            raise ValueError(
                f"{self.name}: a {size_str(kh, kw)} kernel with dilation {dilation} spans {size_str(span_h, span_w)} "
                f"pixels, so with padding {padding} it needs at least "
                f"{size_str(max(span_h - 2 * ph, 1), max(span_w - 2 * pw, 1))} input pixels, got {size_str(h, w)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``."""
        self.check_input(x)
        return super().forward(x)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, name={self.name!r}"


def grouped_conv(in_channels: int, out_channels: int, kernel_size: IntOrPair, groups: int, stride: IntOrPair = 1,
                 padding: IntOrPair | None = None, dilation: IntOrPair = 1, bias: bool = True) -> GroupConv2d:
    """A ``groups``-way grouped convolution ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)`` (``g`` times
    fewer weights and MACs than a full one). ``padding=None``: ``dilation * (kernel_size - 1) // 2``."""
    return GroupConv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                       name="grouped conv")


def depthwise_conv(channels: int, kernel_size: IntOrPair = 3, stride: IntOrPair = 1, padding: IntOrPair | None = None,
                   dilation: IntOrPair = 1, bias: bool = True) -> GroupConv2d:
    """One ``kernel_size`` filter per channel (``groups = channels``): ``(N, C, H, W) -> (N, C, H_out, W_out)``.
    ``padding=None``: ``dilation * (kernel_size - 1) // 2``."""
    return GroupConv2d(channels, channels, kernel_size, stride, padding, dilation, channels, bias,
                       name="depthwise conv")


def pointwise_conv(in_channels: int, out_channels: int, groups: int = 1, bias: bool = True) -> GroupConv2d:
    """A 1×1 convolution that mixes channels at each pixel: ``(N, C_in, H, W) -> (N, C_out, H, W)``.
    ``groups > 1`` gives ShuffleNet's pointwise group convolution."""
    return GroupConv2d(in_channels, out_channels, 1, 1, 0, 1, groups, bias, name="pointwise conv")
