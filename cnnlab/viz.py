"""Plots for the lectures: image grids, learned filters and feature maps.

Every function takes tensors or modules as they come out of ``cnnlab`` (NCHW, any device) and
returns the matplotlib ``Figure`` so a notebook can show it or a test can inspect it.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import torch
from torch import nn

from ._utils import evaluating


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or min(n, 8)
    return math.ceil(n / ncols), ncols


def _to_image(t: torch.Tensor):
    """(C, H, W) tensor -> array for imshow: grey for one channel, RGB for three, scaled to [0, 1]."""
    t = t.detach().float().cpu()
    if t.shape[0] == 3:
        t = t.permute(1, 2, 0)
    elif t.shape[0] == 1:
        t = t[0]
    else:
        raise ValueError(f"cannot show an image with {t.shape[0]} channels (need 1 or 3)")
    lo, hi = t.min(), t.max()
    return ((t - lo) / (hi - lo + 1e-12)).numpy()


def show_images(images: torch.Tensor, labels: Sequence[int] | torch.Tensor | None = None,
                classes: Sequence[str] | None = None, ncols: int | None = None,
                title: str | None = None, size: float = 1.4) -> plt.Figure:
    """A grid of images ``(N, C, H, W)`` (C = 1 or 3), each scaled to its own range, with labels."""
    if images.dim() != 4:
        raise ValueError(f"show_images expects a batch (N, C, H, W), got shape {tuple(images.shape)}")
    n = images.shape[0]
    nrows, ncols = _grid(n, ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_to_image(images[i]), cmap="gray", interpolation="nearest")
        if labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_filters(layer: nn.Conv2d | torch.Tensor, ncols: int | None = None, size: float = 1.0,
                 title: str | None = None) -> plt.Figure:
    """The kernels of a convolution, one tile per output channel. Kernels with 3 input channels are
    drawn in colour (like AlexNet's first layer), others show the mean over input channels."""
    weight = layer.weight if isinstance(layer, nn.Conv2d) else layer
    if weight.dim() != 4:
        raise ValueError(f"plot_filters expects a conv weight (C_out, C_in, K, K), got shape {tuple(weight.shape)}")
    weight = weight.detach().cpu()
    tiles = weight if weight.shape[1] in (1, 3) else weight.mean(dim=1, keepdim=True)
    return show_images(tiles, ncols=ncols, size=size,
                       title=title or f"{weight.shape[0]} filters of {weight.shape[1]}×{weight.shape[2]}×{weight.shape[3]}")


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named sub-modules (names as in ``model.named_modules()``) for input ``x``."""
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"no layers named {unknown} in {type(model).__name__}; "
                         f"some names it has: {[n for n in modules if n][:12]}")
    out: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(lambda m, i, o, name=name: out.__setitem__(name, o.detach()))
               for name in layers]
    try:
        with evaluating(model):
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out


def plot_feature_maps(model: nn.Module, image: torch.Tensor, layers: Sequence[str], max_maps: int = 8,
                      size: float = 1.2) -> plt.Figure:
    """One row per layer: the input image's first ``max_maps`` feature maps at that layer.

    ``image`` is one image ``(C, H, W)`` or a batch of one; it must be on the model's device.
    """
    x = image.unsqueeze(0) if image.dim() == 3 else image
    maps = feature_maps(model, x, layers)
    fig, axes = plt.subplots(len(layers), max_maps + 1, figsize=(size * (max_maps + 1), size * len(layers) + 0.3),
                             squeeze=False)
    for row, name in zip(axes, layers):
        fmap = maps[name][0]
        row[0].imshow(_to_image(x[0]), cmap="gray")
        row[0].set_title("input", fontsize=8)
        for j, ax in enumerate(row[1:]):
            if j < fmap.shape[0]:
                ax.imshow(fmap[j].float().cpu().numpy(), cmap="viridis")
            if j == 0:
                ax.set_title(f"{name}: {fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[2]}", fontsize=8, loc="left")
        for ax in row:
            ax.axis("off")
    fig.tight_layout()
    return fig
