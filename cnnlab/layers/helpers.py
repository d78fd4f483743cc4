"""Width arithmetic shared by the scalable families (MobileNet, EfficientNet, GhostNet, ...)."""
from __future__ import annotations

__all__ = ["make_divisible", "scale_width"]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """Round a scaled channel count to a multiple of ``divisor`` (hardware-friendly widths).

    The rule of the TensorFlow MobileNet code that torchvision's ``_make_divisible`` (divisor 8) and
    timm's ``make_divisible`` (GhostNet: divisor 4) copy: round to the nearest multiple, at least
    ``min_value`` (default ``divisor``), and never more than 10 % below ``value`` (``round_limit``).

        >>> make_divisible(32 * 0.75), make_divisible(24 * 0.35), make_divisible(90, 8)
        (24, 8, 88)
    """
    if divisor < 1:
        raise ValueError(f"make_divisible: divisor must be >= 1, got {divisor}")
    if value <= 0:
        raise ValueError(f"make_divisible: the channel count must be positive, got {value}")
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < round_limit * value:  # rounding down must not lose more than 10 %
        new_value += divisor
    return new_value


def scale_width(channels: int, width_mult: float, divisor: int = 8) -> int:
    """The width of a layer of ``channels`` channels in a network scaled by ``width_mult``:
    ``make_divisible(channels * width_mult, divisor)``; ``width_mult=1`` keeps multiples of ``divisor``."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not width_mult > 0:
        raise ValueError(f"width_mult must be a positive number, got {width_mult!r}")
    if width_mult == 1:
        return channels
    return make_divisible(channels * width_mult, divisor)
