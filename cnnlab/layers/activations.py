"""Activations by name, so that a stage table can say ``"hswish"`` instead of importing a class.

The non-linearities themselves are PyTorch's (``nn.Hardswish`` is MobileNet v3's h-swish,
``x * ReLU6(x + 3) / 6``: A. Howard et al., "Searching for MobileNetV3", ICCV 2019,
arXiv:1905.02244; ``nn.SiLU`` is swish with beta = 1: P. Ramachandran, B. Zoph, Q. V. Le,
"Searching for Activation Functions", 2017, arXiv:1710.05941).
"""
from __future__ import annotations

import difflib
from typing import Callable

from torch import nn

__all__ = ["ACTIVATIONS", "get_act_layer"]

ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hswish": nn.Hardswish,
    "hard_swish": nn.Hardswish,
    "hsigmoid": nn.Hardsigmoid,
    "hard_sigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}


def get_act_layer(name: str | Callable[..., nn.Module] | None) -> Callable[..., nn.Module] | None:
    """The activation class for ``name`` (``"relu"``, ``"hswish"``, ``"swish"``, ...); a class or
    ``None`` passes through. An unknown name raises ``ValueError`` listing the known ones."""
    if name is None or callable(name):
        return name
    key = name.lower().replace("-", "_")
    if key not in ACTIVATIONS:
        close = difflib.get_close_matches(key, ACTIVATIONS, n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown activation {name!r}{hint} (known: {', '.join(sorted(ACTIVATIONS))})")
    return ACTIVATIONS[key]
