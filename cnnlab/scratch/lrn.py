"""Local response normalisation (LRN), AlexNet's "brightness normalisation" across channels.

A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012, Section 3.3.
https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks

The activity ``a^i_{x,y}`` of channel ``i`` at pixel ``(x, y)`` is divided by a power of the summed
squares of its ``n`` neighbouring channels at the same pixel (the paper's Section 3.3 formula)::

    b^i = a^i / (k + alpha * sum_{j = max(0, i - n/2)}^{min(N - 1, i + n/2)} (a^j)^2) ** beta

with ``N`` channels, and in the paper ``k = 2, n = 5, alpha = 1e-4, beta = 0.75``. The clipped sum
limits are the same as padding the channel axis with zeros, which is how the code below does it.

Two conventions, one flag (``alpha_is_averaged``):

* ``False`` (default) -- the paper's formula: ``alpha`` multiplies the plain **sum**, and the window
  runs from ``i - n//2`` to ``i + n//2``. For odd ``n`` that is ``n`` channels; for even ``n`` the
  formula read literally covers ``n + 1`` channels (the paper only uses ``n = 5``).
* ``True`` -- PyTorch's ``nn.LocalResponseNorm``/``F.local_response_norm``: ``alpha`` multiplies the
  **average** over a window of exactly ``n`` channels, ``i - n//2`` to ``i + (n-1)//2`` (zero padded,
  and the zeros count in the average). So ``alpha`` is in effect divided by ``n``, and for even ``n``
  the window leans towards lower channel indices. With this flag the result equals PyTorch's.

To get the paper's layer from PyTorch's module write ``nn.LocalResponseNorm(5, alpha=5 * 1e-4,
beta=0.75, k=2.0)`` (odd ``n`` only).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import check_int

__all__ = ["ScratchLRN", "local_response_norm"]


def _check_args(size: int, alpha: float, beta: float, k: float) -> None:
    check_int(size, "size (the number n of neighbouring channels)", "local_response_norm")
    if alpha < 0 or beta < 0 or k < 0:
        raise ValueError(f"ScratchLRN: alpha, beta and k must be >= 0, got alpha={alpha}, beta={beta}, k={k}")


def local_response_norm(
    x: torch.Tensor,
    size: int = 5,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 2.0,
    alpha_is_averaged: bool = False,
) -> torch.Tensor:
    """Normalise each channel by its ``size`` neighbouring channels at the same position.

    ``x``: ``(N, C, *)`` (e.g. ``(N, C, H, W)``); returns a tensor of the same shape.
    ``alpha_is_averaged=False`` is the paper's formula; ``True`` is PyTorch's convention
    (``alpha / size`` and a window of exactly ``size`` channels) -- see the module docstring.
    """
    _check_args(size, alpha, beta, k)
    if x.dim() < 3:
        raise ValueError(f"local_response_norm: expects an input of shape (N, C, ...) with at least 3 dimensions, got {tuple(x.shape)}")
    if alpha_is_averaged:
        before, after = size // 2, (size - 1) // 2  # PyTorch: exactly `size` channels
        scale = alpha / size  # departs from the paper: alpha multiplies the mean, not the sum
    else:
        before, after = size // 2, size // 2  # the paper: j from i - n/2 to i + n/2
        scale = alpha
    window = before + after + 1
    squared = x * x  # (N, C, *)
    channels_last = squared.movedim(1, -1)  # (N, *, C)
    padded = F.pad(channels_last, (before, after))  # (N, *, C + before + after): zeros stand for the clipped limits
    windows = padded.unfold(-1, window, 1)  # (N, *, C, window): the neighbours j of each channel i
    summed = windows.sum(dim=-1)  # (N, *, C)
    summed = summed.movedim(-1, 1)  # (N, C, *)
    denominator = (k + scale * summed).pow(beta)
    return x / denominator


class ScratchLRN(nn.Module):
    """AlexNet's local response normalisation across channels (Krizhevsky et al., 2012).

    ``size`` is the paper's ``n``; defaults are the paper's ``n = 5, alpha = 1e-4, beta = 0.75,
    k = 2``. Input ``(N, C, *)``, output the same shape. ``alpha_is_averaged=True`` gives PyTorch's
    ``nn.LocalResponseNorm(size, alpha, beta, k)`` exactly; the default follows the paper.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0,
                 alpha_is_averaged: bool = False) -> None:
        super().__init__()
        _check_args(size, alpha, beta, k)
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.alpha_is_averaged = alpha_is_averaged

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, *) -> (N, C, *)``."""
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k, self.alpha_is_averaged)

    def extra_repr(self) -> str:
        return (f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}, "
                f"alpha_is_averaged={self.alpha_is_averaged}")
