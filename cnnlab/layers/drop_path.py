"""Stochastic depth ("drop path"): in training, skip a residual branch for a whole sample.

G. Huang, Y. Sun, Z. Liu, D. Sedra, K. Q. Weinberger, "Deep Networks with Stochastic Depth",
ECCV 2016, arXiv:1603.09382. Used by EfficientNet and NASNet-style cells. Like inverted dropout,
kept branches are scaled by ``1 / (1 - p)`` so that evaluation is the identity
(torchvision's ``ops.stochastic_depth(mode="row")``).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["drop_path", "DropPath"]


def drop_path(x: torch.Tensor, p: float = 0.0, training: bool = False) -> torch.Tensor:
    """Zero each sample of the batch with probability ``p`` (in training), scale the rest by ``1/(1-p)``.
    ``(N, ...) -> (N, ...)``."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop_path: the drop probability p must be in [0, 1), got {p!r}")
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)  # (N, 1, 1, 1): one draw per sample
    return x * mask / keep


class DropPath(nn.Module):
    """Module form of :func:`drop_path`: put it on a residual branch, before the addition."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropPath: the drop probability p must be in [0, 1), got {p!r}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, ...) -> (N, ...)``."""
        return drop_path(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
