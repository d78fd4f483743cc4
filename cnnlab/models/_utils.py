"""Small helpers that several architecture files share."""
from __future__ import annotations

import torch


def scale_channels(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded, and at least 1: the width of a scaled-down layer."""
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    return max(1, int(round(channels * width_mult)))


def check_image_input(x: torch.Tensor, name: str, in_channels: int, min_size: tuple[int, int]) -> None:
    """Raise a ``ValueError`` naming the model unless ``x`` is a (N, in_channels, H, W) batch with
    ``H >= min_size[0]`` and ``W >= min_size[1]``. Cheap: it only reads ``x.shape``."""
    if x.dim() != 4:
        raise ValueError(f"{name} expects a batch of images of shape (N, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] != in_channels:
        raise ValueError(f"{name} expects {in_channels} input channels, got {x.shape[1]}")
    h, w = x.shape[-2:]
    if h < min_size[0] or w < min_size[1]:
        raise ValueError(f"{name} needs inputs of at least {min_size[0]}×{min_size[1]}, got {h}×{w}")
