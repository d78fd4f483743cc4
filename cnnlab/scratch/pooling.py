"""Max and average pooling written with ``Tensor.unfold``, for teaching; overlapping pooling.

Pooling as a layer: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to
Document Recognition", Proc. IEEE 1998 (sub-sampling), and max pooling in e.g. M. Ranzato et al.,
CVPR 2007. Overlapping pooling (stride < kernel size: AlexNet's 3×3 windows with stride 2):
A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012, Section 3.4.
https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks

``Tensor.unfold(dim, size, step)`` cuts every window out of the (padded) image as a view::

    (N, C, H, W) --unfold H--> (N, C, H_out, W, k_h) --unfold W--> (N, C, H_out, W_out, k_h, k_w)

and pooling is then a reduction over the last two axes. ``H_out = floor((H + 2P - K) / S) + 1``,
the same formula as for a convolution.

Conventions as in PyTorch: ``stride`` defaults to ``kernel_size``; max pooling pads with ``-inf``
(padding never wins); average pooling pads with zeros that **count** in the average
(``count_include_pad=True``); the padding may be at most half the kernel; the output size rounds
down (no ``ceil_mode``).
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from .._utils import IntOrPair, check_at_least, pair, size_str

__all__ = ["max_pool2d", "avg_pool2d", "ScratchMaxPool2d", "ScratchAvgPool2d"]



def _windows(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
             pad_value: float, layer: str) -> torch.Tensor:
    """All pooling windows of ``x`` ``(N, C, H, W)`` or ``(C, H, W)`` as ``(..., H_out, W_out, k_h, k_w)``."""
    kh, kw = pair(kernel_size, "kernel_size", layer)
    sh, sw = pair(kernel_size if stride is None else stride, "stride", layer)
    ph, pw = pair(padding, "padding", layer)
    check_at_least((kh, kw), 1, "kernel_size", layer)
    check_at_least((sh, sw), 1, "stride", layer)
    check_at_least((ph, pw), 0, "padding", layer)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"{layer}: padding {size_str(ph, pw)} must be at most half the kernel size {size_str(kh, kw)}")
    if x.dim() not in (3, 4):
        raise ValueError(f"{layer}: expects an input of shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{layer}: a {size_str(kh, kw)} window with padding {size_str(ph, pw)} needs an input of "
                         f"at least {size_str(max(kh - 2 * ph, 1), max(kw - 2 * pw, 1))} pixels, got {size_str(h, w)}")
    padded = F.pad(x, (pw, pw, ph, ph), value=pad_value)  # (..., H + 2P, W + 2P)
    rows = padded.unfold(-2, kh, sh)  # (..., H_out, W + 2P, k_h)
    windows = rows.unfold(-2, kw, sw)  # (..., H_out, W_out, k_h, k_w)
    return windows


def max_pool2d(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> torch.Tensor:
    """Largest value of each ``kernel_size`` window: ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Equals ``F.max_pool2d(x, kernel_size, stride, padding)``; ``stride`` defaults to ``kernel_size``.
    """
    windows = _windows(x, kernel_size, stride, padding, float("-inf"), "max_pool2d")  # (N, C, H_out, W_out, k_h, k_w)
    return windows.amax(dim=(-2, -1))


def avg_pool2d(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> torch.Tensor:
    """Mean of each ``kernel_size`` window (padding zeros included): ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Equals ``F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=True)``.
    """
    windows = _windows(x, kernel_size, stride, padding, 0.0, "avg_pool2d")  # (N, C, H_out, W_out, k_h, k_w)
    return windows.mean(dim=(-2, -1))


class ScratchMaxPool2d(nn.MaxPool2d):
    """Max pooling module (see :func:`max_pool2d`). ``ScratchMaxPool2d(3, stride=2)`` is AlexNet's overlapping pooling.

    A subclass of ``nn.MaxPool2d`` (so ``cnnlab.analysis.receptive_field`` and ``summary`` know it)
    whose ``forward`` is the written-out :func:`max_pool2d`; no dilation, ``ceil_mode`` or indices.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0) -> None:
        pair(kernel_size, "kernel_size", "ScratchMaxPool2d")
        super().__init__(kernel_size, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H_out, W_out)``."""
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class ScratchAvgPool2d(nn.AvgPool2d):
    """Average pooling module, padding zeros included in the mean (see :func:`avg_pool2d`).

    A subclass of ``nn.AvgPool2d`` (``count_include_pad=True``) whose ``forward`` is :func:`avg_pool2d`.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0) -> None:
        pair(kernel_size, "kernel_size", "ScratchAvgPool2d")
        super().__init__(kernel_size, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H_out, W_out)``."""
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
