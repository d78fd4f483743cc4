"""Learning-rate schedules written as plain functions of the step.

``warmup_cosine_lr`` is the schedule most ImageNet recipes since 2017 use: a linear warm-up
(Goyal et al. 2017, "Accurate, Large Minibatch SGD", Sec. 2.2: start small so that the first large
updates do not blow up a freshly initialised network) followed by half a cosine down to a floor
(Loshchilov & Hutter 2017, "SGDR", Eq. 5, without restarts).
"""
from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def _check(total_steps: int, warmup_steps: int) -> None:
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive int, got {total_steps!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be an int in [0, total_steps={total_steps}], got {warmup_steps!r}")


def warmup_cosine_lr(step: int, total_steps: int, *, base_lr: float, warmup_steps: int = 0,
                     min_lr: float = 0.0) -> float:
    """The learning rate at ``step`` (0-based) of a ``total_steps``-step run.

    * warm-up, steps ``0 … warmup_steps − 1``: linear from ``base_lr / warmup_steps`` to ``base_lr``
      (``base_lr * (step + 1) / warmup_steps``: never 0, which would waste a step);
    * then half a cosine from ``base_lr`` (step ``warmup_steps``) down to ``min_lr`` at the last step
      ``total_steps − 1``. With no steps left after the warm-up the rate stays at ``base_lr``.

    Steps past the end stay at ``min_lr``.
    """
    _check(total_steps, warmup_steps)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay_steps = total_steps - 1 - warmup_steps  # steps over which the cosine goes from 1 to 0
    if decay_steps <= 0:
        return base_lr
    progress = min((step - warmup_steps) / decay_steps, 1.0)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine(optimizer: Optimizer, total_steps: int, warmup_steps: int = 0,
                  min_lr: float = 0.0) -> LambdaLR:
    """A per-batch ``LambdaLR`` following :func:`warmup_cosine_lr` for every parameter group, each
    from its own initial learning rate (call ``scheduler.step()`` after every ``optimizer.step()``).
    ``min_lr`` is absolute, as in :func:`warmup_cosine_lr`."""
    _check(total_steps, warmup_steps)
    base_lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]

    def factor(base: float):
        if base <= 0:
            return lambda step: 1.0
        return lambda step: warmup_cosine_lr(step, total_steps, base_lr=base, warmup_steps=warmup_steps,
                                             min_lr=min_lr) / base

    return LambdaLR(optimizer, [factor(b) for b in base_lrs])
