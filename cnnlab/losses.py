"""Loss functions the lectures take apart.

Label smoothing (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision",
Sec. 7): the one-hot target q(k|x) = δ(k, y) is replaced by

    q'(k|x) = (1 − ε) q(k|x) + ε u(k),   u(k) = 1/K  (uniform over the K classes),

and the loss is the cross-entropy H(q', p) = −Σ_k q'(k|x) log p(k|x). It equals
``F.cross_entropy(logits, y, label_smoothing=ε)`` (PyTorch ≥ 1.10), which the tests check.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_REDUCTIONS = ("mean", "sum", "none")


def _check(logits: torch.Tensor, target: torch.Tensor, epsilon: float, reduction: str = "mean") -> None:
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, K) scores, got shape {tuple(logits.shape)}")
    if target.ndim != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(f"target must be (N,) class indices for logits of shape {tuple(logits.shape)}, "
                         f"got shape {tuple(target.shape)}")
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(f"target must hold integer class indices, got {target.dtype}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= logits.shape[1]):
        raise ValueError(f"target holds class indices outside 0..{logits.shape[1] - 1}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def smoothed_targets(target: torch.Tensor, num_classes: int, epsilon: float = 0.1) -> torch.Tensor:
    """The smoothed distribution q': ``(N,)`` class indices -> ``(N, num_classes)`` rows summing to 1,
    with 1 − ε + ε/K at the true class and ε/K elsewhere."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    _check(torch.empty(target.shape[0] if target.ndim == 1 else 0, num_classes), target, epsilon)
    one_hot = F.one_hot(target.long(), num_classes).float()
    return (1.0 - epsilon) * one_hot + epsilon / num_classes


def label_smoothing_cross_entropy(logits: torch.Tensor, target: torch.Tensor, epsilon: float = 0.1,
                                  reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy against the smoothed targets q'.

    Args:
        logits: ``(N, K)`` unnormalised scores.
        target: ``(N,)`` integer class indices.
        epsilon: smoothing ε in [0, 1]; 0 gives the ordinary cross-entropy.
        reduction: "mean" (over N), "sum" or "none" (``(N,)``).
    """
    _check(logits, target, epsilon, reduction)
    # log_softmax, not log(softmax): exp of a large logit overflows, the shifted form does not
    log_p = F.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target.long()[:, None]).squeeze(1)  # −log p(y|x): the one-hot part
    uniform = -log_p.mean(dim=1)                                # −(1/K) Σ_k log p(k|x): the u(k) part
    loss = (1.0 - epsilon) * nll + epsilon * uniform
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class LabelSmoothingCrossEntropy(nn.Module):
    """:func:`label_smoothing_cross_entropy` as a module: ``(N, K), (N,) -> ()``."""

    def __init__(self, epsilon: float = 0.1, reduction: str = "mean") -> None:
        super().__init__()
        _check(torch.empty(0, 1), torch.empty(0, dtype=torch.long), epsilon, reduction)
        self.epsilon, self.reduction = epsilon, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return label_smoothing_cross_entropy(logits, target, self.epsilon, self.reduction)

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}, reduction={self.reduction!r}"
