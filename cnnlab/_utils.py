"""Small helpers that the whole library shares (argument checks, notebook detection, eval mode).

Not part of the public API; each lives here once so that layers, models, analysis, training and
widgets say the same thing about the same mistake.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator, Sequence

import torch
from torch import nn

IntOrPair = int | Sequence[int]


def pair(value: IntOrPair, name: str = "value", layer: str = "layer") -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; a ``ValueError`` naming ``layer`` and ``name`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list, torch.Size)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")


def check_at_least(values: tuple[int, ...], low: int, name: str, layer: str) -> None:
    """Raise ``ValueError`` unless every entry of ``values`` is ``>= low``."""
    if any(v < low for v in values):
        shown = values[0] if len(set(values)) == 1 else values
        raise ValueError(f"{layer}: {name} must be >= {low}, got {shown}")


def check_int(value: object, name: str, where: str, low: int = 1) -> int:
    """``value`` if it is an int (not a bool) ``>= low``, else a ``ValueError`` naming ``where`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
    return value


def size_str(h: int, w: int) -> str:
    """``(5, 7) -> "5×7"``."""
    return f"{h}×{w}"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich displays and widgets can render), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Switch ``model`` to eval mode for the ``with`` block and restore its train/eval mode after
    (also when the block raises)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_channels_and_groups(in_channels: int, out_channels: int, groups: int, where: str) -> None:
    """Channel counts and ``groups`` are integers >= 1 and ``groups`` divides both channel counts;
    else a ``ValueError`` naming ``where``."""
    for label, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        check_int(value, label, where)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{where}: groups={groups} must divide both in_channels={in_channels} and "
                         f"out_channels={out_channels}")


def init_like_conv(weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """PyTorch's default initialisation of a convolution (``nn.Conv2d.reset_parameters``):
    Kaiming-uniform with ``a = sqrt(5)`` for the weight, uniform in ``±1/sqrt(fan_in)`` for the bias,
    where ``fan_in`` is the size of one slice ``weight[0]`` (as PyTorch computes it)."""
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(weight[0].numel())
        nn.init.uniform_(bias, -bound, bound)
