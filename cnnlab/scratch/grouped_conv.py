"""Grouped convolution done the long way: AlexNet's split of the filters over two GPUs.

A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012, Section 3.2 and Fig. 2.

``nn.Conv2d(groups=g)`` does this in one call; written out, it is ``g`` ordinary convolutions on
``g`` slices of the channels, concatenated -- which is what two GPUs holding half the filters each did.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import IntOrPair, check_int

__all__ = ["grouped_conv_from_groups"]


def grouped_conv_from_groups(x: torch.Tensor, weight: torch.Tensor, groups: int, bias: torch.Tensor | None = None,
                             stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1) -> torch.Tensor:
    """A grouped convolution done the long way -- AlexNet's two-GPU split: cut the channels and the
    filters into ``groups`` parts, run ``groups`` separate ordinary convolutions, concatenate.

    ``x`` ``(N, C_in, H, W)``, ``weight`` ``(C_out, C_in/groups, k_h, k_w)``, ``bias`` ``(C_out,)`` or
    None; returns ``(N, C_out, H_out, W_out)``, equal to ``F.conv2d(x, weight, bias, stride, padding,
    dilation, groups)``.
    """
    check_int(groups, "groups", "grouped_conv_from_groups")
    if weight.shape[0] % groups:
        raise ValueError(f"grouped_conv_from_groups: groups={groups} must divide the {weight.shape[0]} filters")
    if x.dim() != 4 or x.shape[1] != groups * weight.shape[1]:
        raise ValueError(f"grouped_conv_from_groups: weight {tuple(weight.shape)} with groups={groups} expects "
                         f"(N, {groups * weight.shape[1]}, H, W) inputs, got {tuple(x.shape)}")
    input_groups = x.chunk(groups, dim=1)  # groups × (N, C_in/g, H, W): one "GPU" each
    filter_groups = weight.chunk(groups, dim=0)  # groups × (C_out/g, C_in/g, k_h, k_w)
    bias_groups = [None] * groups if bias is None else bias.chunk(groups, dim=0)  # groups × (C_out/g,)
    outputs = [F.conv2d(xg, wg, bg, stride, padding, dilation)  # groups × (N, C_out/g, H_out, W_out)
               for xg, wg, bg in zip(input_groups, filter_groups, bias_groups)]
    return torch.cat(outputs, dim=1)  # (N, C_out, H_out, W_out)
