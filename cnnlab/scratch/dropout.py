"""Dropout, written out.

N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov, "Dropout: A Simple Way to
Prevent Neural Networks from Overfitting", JMLR 15, 2014.
https://jmlr.org/papers/v15/srivastava14a.html  (first in G. E. Hinton et al., "Improving neural
networks by preventing co-adaptation of feature detectors", 2012, arXiv:1207.0580; used in AlexNet's
first two fully connected layers with p = 0.5)

During training every element is zeroed with probability ``p``; each training step thus trains one
of the ``2^n`` "thinned" networks that share weights, and the full network at test time is their
(approximate) ensemble.

Departure from the paper: the paper keeps units unscaled in training and multiplies the weights by
the keep probability ``1 - p`` at test time. Like every modern framework we use **inverted
dropout**: the kept elements are multiplied by ``1 / (1 - p)`` during training, so the expected
value of every element is unchanged and evaluation is the identity.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ScratchDropout", "dropout"]


def _check_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"ScratchDropout: the drop probability p must be in [0, 1), got {p!r}")


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout on a tensor of any shape; returns the same shape.

    In training, each element is kept with probability ``1 - p`` and then scaled by
    ``1 / (1 - p)``, else set to 0; with ``training=False`` the input is returned unchanged.
    ``generator`` (a ``torch.Generator`` on ``x``'s device) makes the mask reproducible.
    """
    _check_p(p)
    if not training or p == 0.0:
        return x
    uniform = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)  # U[0, 1)
    keep = uniform >= p  # True with probability 1 - p
    scaled = x / (1.0 - p)  # inverted dropout: the expectation stays x
    return scaled * keep


class ScratchDropout(nn.Module):
    """Inverted dropout: zero with probability ``p`` and scale by ``1/(1-p)`` in training, identity in eval.

    Input of any shape, output the same shape. ``generator`` optionally fixes the random masks.
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(*) -> (*)``."""
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
