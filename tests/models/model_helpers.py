"""Cheap ways to build models for tests.

Building a big model for real costs seconds (VGG-16 initialises 138M weights); most checks do not
need that. ``meta`` builds on the ``meta`` device (no memory, no initialisation; ``forward`` still
runs for shapes and MAC counts). ``filled`` gives real CPU tensors quickly: built on meta, moved to
empty CPU memory, then every parameter filled from one small random pattern (a copy, not millions
of random draws) with sane batch-norm statistics.
"""
from __future__ import annotations

import torch
import torchvision
from torch import nn

from cnnlab.models import get_model, model_info


def meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return get_model(name, **kwargs).eval()


def fill_(model: nn.Module, seed: int = 0, scale: float = 1.0) -> nn.Module:
    """Fill every parameter and buffer of ``model`` (already on a real device) with deterministic
    pseudo-random values: weights ~ N(0, 1/fan_in) from a tiled pattern, BN running variance in
    [0.5, 2], running mean in [-0.5, 0.5]."""
    g = torch.Generator().manual_seed(seed)
    pattern = torch.randn(1 << 16, generator=g)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point():
                t.zero_()
                continue
            flat, n = t.view(-1), t.numel()
            row = pattern.roll(int(torch.randint(0, 1 << 16, (1,), generator=g)))  # another phase per tensor
            rows, rest = divmod(n, row.numel())
            if rows:
                flat[:rows * row.numel()].view(rows, -1).copy_(row.expand(rows, -1))  # broadcast: no temporary
            flat[rows * row.numel():] = row[:rest]
            if name.endswith("running_var"):
                t.abs_().clamp_(0.5, 2.0)
            elif name.endswith("running_mean"):
                t.mul_(0.25).clamp_(-0.5, 0.5)
            elif t.dim() > 1:  # weights: keep activations O(1) through deep stacks
                t.mul_(scale / t[0].numel() ** 0.5)
            else:  # biases, BN affine
                t.mul_(0.1)
                if name.endswith(".weight"):  # BN gamma around 1
                    t.add_(1.0)
    return model


def filled(name: str, seed: int = 0, **kwargs) -> nn.Module:
    """``get_model(name, **kwargs)`` with real CPU tensors, fast (see the module docstring)."""
    return fill_(meta(name, **kwargs).to_empty(device="cpu"), seed).eval()


def tv_filled(name: str, seed: int = 0, **kwargs) -> nn.Module:
    """torchvision's ``name`` (weights=None) with real CPU tensors filled as ``filled`` does."""
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    return fill_(model.to_empty(device="cpu"), seed).eval()


def tv_meta_info(name: str) -> dict:
    """torchvision's metadata of its default weights (read from the enum; nothing is downloaded)."""
    return torchvision.models.get_model_weights(name).DEFAULT.meta


def reduced_size(name: str, model: nn.Module, target: int = 32) -> tuple[int, int, int]:
    """``(C, H, W)`` for a cheap real forward pass: ``target`` pixels, or the model's minimum if larger."""
    c, h, w = model_info(name).input_size
    low_h, low_w = getattr(model, "min_input_size", (h, w))
    return c, min(h, max(low_h, target)), min(w, max(low_w, target))


def timm_filled(name: str, seed: int = 0) -> nn.Module:
    """timm's ``name`` (``pretrained=False``: nothing is downloaded) with real CPU tensors filled as
    ``filled`` does."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    return fill_(model.to_empty(device="cpu"), seed).eval()
