"""Batch normalisation for convolutional layers, written out.

S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
Covariate Shift", ICML 2015. https://arxiv.org/abs/1502.03167

Algorithm 1 of the paper, for one channel and a mini-batch of values ``x_1 .. x_m``::

    mu      = 1/m * sum_i x_i                       # mini-batch mean
    sigma^2 = 1/m * sum_i (x_i - mu)^2              # mini-batch variance (biased: divides by m)
    x_hat_i = (x_i - mu) / sqrt(sigma^2 + eps)      # normalise
    y_i     = gamma * x_hat_i + beta                # scale and shift (learned)

For a convolutional layer (Sec. 3.2) every position of a feature map is normalised the same way, so
the statistics of channel ``c`` are taken over the batch *and* the spatial axes: ``m = N * H * W``
values, and ``gamma``, ``beta`` are one number per channel.

At inference (Algorithm 2, Sec. 3.1) the network must not depend on the other images in the batch,
so the mean and variance are replaced by population estimates. The paper averages the mini-batch
statistics over training, with the unbiased variance ``m / (m - 1) * sigma^2``. Like PyTorch we keep
an exponential moving average instead (``momentum`` is the weight of the newest batch)::

    running_mean <- (1 - momentum) * running_mean + momentum * mu
    running_var  <- (1 - momentum) * running_var  + momentum * m / (m - 1) * sigma^2

``momentum=None`` gives the paper's plain average over all batches seen so far (a cumulative moving
average, as ``nn.BatchNorm2d(momentum=None)`` does): the weight of batch ``t`` is ``1 / t``.
"""
from __future__ import annotations

import torch
from torch import nn

from .._utils import check_int

__all__ = ["ScratchBatchNorm2d", "batch_norm"]


def _check_momentum_eps(momentum: float | None, eps: float, where: str) -> None:
    if momentum is not None and (isinstance(momentum, bool) or not 0.0 <= momentum <= 1.0):
        raise ValueError(f"{where}: momentum must be a number in [0, 1] or None (cumulative average), got {momentum!r}")
    if isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"{where}: eps must be > 0 (it keeps the division defined), got {eps!r}")


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalisation of a ``(N, C, H, W)`` tensor, channel by channel; returns ``(N, C, H, W)``.

    ``running_mean``, ``running_var``: ``(C,)`` buffers, or ``None`` to keep none (then every call
    uses the batch statistics). ``weight`` (gamma) and ``bias`` (beta): ``(C,)`` or ``None`` for 1 and 0.
    ``training=True``: normalise with the batch's mean and biased variance over ``(N, H, W)`` and
    update the running buffers **in place** with the unbiased variance; ``training=False``: normalise
    with the running buffers. ``momentum`` is the weight of the new batch in the running average
    (the same convention as ``nn.BatchNorm2d``, the opposite of Keras's).
    """
    where = "batch_norm"
    if momentum is None:
        raise ValueError(f"{where}: momentum must be a number in [0, 1]; the cumulative average (momentum=None) "
                         "needs the count of batches that ScratchBatchNorm2d keeps")
    _check_momentum_eps(momentum, eps, where)
    if x.dim() != 4:
        raise ValueError(f"{where}: expects an input of shape (N, C, H, W), got {x.dim()} dimensions {tuple(x.shape)}")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"{where}: {name} must have shape ({channels},), one value per input channel, "
                             f"got {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{where}: give both running_mean and running_var, or neither")
    use_batch_stats = training or running_mean is None
    if use_batch_stats:
        m = x.numel() // channels  # values per channel: N * H * W
        if training and m < 2:
            raise ValueError(f"{where}: training needs more than one value per channel to estimate a variance, "
                             f"got input {tuple(x.shape)}")
        mean = x.mean(dim=(0, 2, 3))  # (C,)
        var = ((x - mean.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))  # (C,) biased: divides by m (Algorithm 1)
        if training and running_mean is not None:
            with torch.no_grad():  # the running averages are statistics, not part of the graph
                unbiased = var * m / (m - 1)
                running_mean.mul_(1 - momentum).add_(momentum * mean)
                running_var.mul_(1 - momentum).add_(momentum * unbiased)
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)  # (N, C, H, W)
    if weight is not None:
        x_hat = x_hat * weight.view(1, -1, 1, 1)
    if bias is not None:
        x_hat = x_hat + bias.view(1, -1, 1, 1)
    return x_hat


class ScratchBatchNorm2d(nn.Module):
    """Batch normalisation over ``(N, H, W)`` per channel (Ioffe & Szegedy, 2015), like ``nn.BatchNorm2d``.

    Input ``(N, C, H, W)`` with ``C = num_features``, output the same shape. Learned ``weight``
    (gamma, ones) and ``bias`` (beta, zeros); buffers ``running_mean`` (zeros), ``running_var`` (ones)
    and ``num_batches_tracked``, with ``nn.BatchNorm2d``'s names, so state dicts load both ways.
    ``momentum=None`` keeps a cumulative average of the batch statistics instead of an exponential one.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        check_int(num_features, "num_features (the number of channels C)", "ScratchBatchNorm2d")
        _check_momentum_eps(momentum, eps, "ScratchBatchNorm2d")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        if x.dim() != 4:
            raise ValueError(f"ScratchBatchNorm2d: expects an input of shape (N, C, H, W), "
                             f"got {x.dim()} dimensions {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"ScratchBatchNorm2d: expects {self.num_features} channels (num_features), "
                             f"got {x.shape[1]} in input {tuple(x.shape)}")
        momentum = self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative average: batch t gets weight 1/t
                momentum = 1.0 / float(self.num_batches_tracked)
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training, momentum if momentum is not None else 0.0, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
