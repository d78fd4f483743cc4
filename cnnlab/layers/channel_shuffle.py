"""Channel shuffle: let the groups of a grouped convolution see each other's channels.

X. Zhang, X. Zhou, M. Lin, J. Sun, "ShuffleNet: An Extremely Efficient Convolutional Neural Network
for Mobile Devices", CVPR 2018, arXiv:1707.01083 (Fig. 1): reshape the channels to ``(g, C/g)``,
transpose to ``(C/g, g)``, flatten. After it, each group of the next grouped convolution gets
channels from every group of the previous one.
"""
from __future__ import annotations

import torch
from torch import nn

from .._utils import check_int

__all__ = ["channel_shuffle", "ChannelShuffle"]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """``(N, C, H, W) -> (N, C, H, W)`` with channel ``i * (C/g) + j`` moved to ``j * g + i``."""
    check_int(groups, "groups", "channel_shuffle")
    if x.dim() != 4:
        raise ValueError(f"channel_shuffle expects (N, C, H, W) inputs, got {tuple(x.shape)}")
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"channel_shuffle: groups={groups} must divide the {c} channels")
    x = x.view(n, groups, c // groups, h, w)  # (N, g, C/g, H, W)
    x = x.transpose(1, 2).contiguous()  # (N, C/g, g, H, W)
    return x.view(n, c, h, w)


class ChannelShuffle(nn.Module):
    """Module form of :func:`channel_shuffle` (``nn.ChannelShuffle`` does the same; this one checks
    its input and names the problem)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = check_int(groups, "groups", "ChannelShuffle")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
