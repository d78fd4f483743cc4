"""Small argument helpers shared by the layer files (not part of the public API)."""
from __future__ import annotations

from typing import Sequence


def pair(value: int | Sequence[int], name: str = "value", layer: str = "layer") -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; a ``ValueError`` naming ``layer`` and ``name`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")


def check_at_least(values: tuple[int, ...], low: int, name: str, layer: str) -> None:
    """Raise ``ValueError`` unless every entry of ``values`` is ``>= low``."""
    if any(v < low for v in values):
        shown = values[0] if len(set(values)) == 1 else values
        raise ValueError(f"{layer}: {name} must be >= {low}, got {shown}")


def size_str(h: int, w: int) -> str:
    """``(5, 7) -> "5×7"``."""
    return f"{h}×{w}"
