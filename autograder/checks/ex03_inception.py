"""Visible checks of ex03_inception (feedback in the student's notebook; the grade comes from the
judge): the Inception module's convolutions, parameters and outputs with given weights, the optimal
factorisation of an n×n kernel, and a design's budget and accuracy.

C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (Figure 2b, Table 1); C. Szegedy et
al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016 (Section 3). No reference
is kept as an attribute here.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import _specnet
from ._common import CheckFailed, call_as, rng

__all__ = ["inception_block", "factorize", "design"]


def _conv_shapes(c_in, c1, c3r, c3, c5r, c5, cp) -> list[tuple]:
    return [(c1, c_in, 1, 1), (c3r, c_in, 1, 1), (c3, c3r, 3, 3), (c5r, c_in, 1, 1), (c5, c5r, 5, 5), (cp, c_in, 1, 1)]


def _expected(x: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """The module of Figure 2(b), conv + bias + ReLU, written with the functional operations."""
    (w1, b1), (w2r, b2r), (w2, b2), (w3r, b3r), (w3, b3), (wp, bp) = params
    branch1 = F.relu(F.conv2d(x, w1, b1))
    branch2 = F.relu(F.conv2d(F.relu(F.conv2d(x, w2r, b2r)), w2, b2, padding=1))
    branch3 = F.relu(F.conv2d(F.relu(F.conv2d(x, w3r, b3r)), w3, b3, padding=2))
    branch4 = F.relu(F.conv2d(F.max_pool2d(x, 3, 1, 1), wp, bp))
    return torch.cat([branch1, branch2, branch3, branch4], 1)


def inception_block(student_cls: Callable, n_cases: int = 5, seed: int | None = 0, configs=()) -> None:
    """Convolutions in the order of the branches, biases, parameter count, and outputs with random
    weights copied in, for ``configs`` (tuples of the 7 constructor arguments) and random ones."""
    r = rng(seed)
    g = torch.Generator().manual_seed(r.randrange(2**31))
    cases = list(configs) + [tuple(r.randint(1, 8) for _ in range(7)) for _ in range(n_cases)]
    for cfg in cases:
        text = f"InceptionBlock{cfg}"
        block = call_as(text, student_cls, *cfg)
        if not isinstance(block, nn.Module):
            raise CheckFailed(f"{text} is a {type(block).__name__}, not an nn.Module")
        convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
        got_shapes = [tuple(c.weight.shape) for c in convs]
        if got_shapes != _conv_shapes(*cfg):
            raise CheckFailed(f"{text}: its convolutions, in the order modules() lists them, have weight shapes "
                              f"{got_shapes}; expected {_conv_shapes(*cfg)} (branch 1, 2, 3, 4, each in the order "
                              "its layers are applied)")
        if any(c.bias is None for c in convs):
            raise CheckFailed(f"{text}: every convolution needs a bias, as in the 2014 paper")
        n_params = sum(p.numel() for p in block.parameters())
        want = sum(w[0] * w[1] * w[2] * w[3] + w[0] for w in _conv_shapes(*cfg))
        if n_params != want:
            raise CheckFailed(f"{text} has {n_params:,} parameters, expected {want:,} (six convolutions, nothing else)")
        params = [(torch.randn(c.weight.shape, generator=g) / c.weight[0].numel() ** 0.5,
                   0.1 * torch.randn(c.weight.shape[0], generator=g)) for c in convs]
        with torch.no_grad():
            for conv, (w, b) in zip(convs, params):
                conv.weight.copy_(w)
                conv.bias.copy_(b)
            x = torch.randn(2, cfg[0], r.randint(1, 9), r.randint(1, 9), generator=g)
            out = call_as(f"{text}(x) on x of shape {tuple(x.shape)}", block.eval(), x)
            expected = _expected(x, params)
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            raise CheckFailed(f"{text}(x) on x of shape {tuple(x.shape)} returned "
                              f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, "
                              f"expected shape {tuple(expected.shape)}")
        if not torch.allclose(out, expected, rtol=1e-4, atol=1e-5):
            channel = int((out - expected).abs().amax(dim=(0, 2, 3)).argmax())
            raise CheckFailed(f"{text}: with random weights copied in, output channel {channel} is wrong (largest "
                              f"difference {(out - expected).abs().max().item():.3g}); check that branch's layers, "
                              "padding and ReLUs")


def factorize(student_fn: Callable, n_cases: int = 10, seed: int | None = 0) -> None:
    """The composed kernel is as close to ``weight`` as any m-channel 1×n / n×1 pair can be."""
    r = rng(seed)
    g = torch.Generator().manual_seed(r.randrange(2**31))
    for i in range(n_cases):
        c_out, c_in, n = r.randint(1, 6), r.randint(1, 6), r.randint(2, 7)
        m = r.randint(1, min(c_out, c_in) * n)
        weight = torch.randn(c_out, c_in, n, n, generator=g, dtype=torch.float64)
        text = f"factorize(weight of shape {tuple(weight.shape)}, mid_channels={m})"
        got = call_as(text, student_fn, weight.clone(), m)
        if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(isinstance(t, torch.Tensor) for t in got):
            raise CheckFailed(f"{text} must return a pair of tensors (first, second)")
        first, second = got
        if tuple(first.shape) != (m, c_in, 1, n) or tuple(second.shape) != (c_out, m, n, 1):
            raise CheckFailed(f"{text} returned shapes {tuple(first.shape)} and {tuple(second.shape)}, expected "
                              f"{(m, c_in, 1, n)} and {(c_out, m, n, 1)}")
        composed = torch.einsum("omh,miw->oihw", second[:, :, :, 0].double(), first[:, :, 0, :].double())
        err = (composed - weight).norm().item()
        s = torch.linalg.svdvals(weight.permute(0, 2, 1, 3).reshape(c_out * n, c_in * n))
        best = s[m:].pow(2).sum().sqrt().item()
        if err > best * (1 + 1e-4) + 1e-6 * weight.norm().item():
            raise CheckFailed(f"{text}: the composed kernel is {err:.6g} away from the weight (Frobenius norm); "
                              f"the best possible with {m} middle channels is {best:.6g}")


# The open-ended part: its vocabulary, budget and required held-out accuracy (the judge scores with it
# too). The master design reaches 60.8-63.8 % on the judge's split over training seeds 0-2 (55.2-69.4 % on
# the visible split); one Inception module on the raw input + GAP 10-12 %.
TASK = _specnet.DesignTask(allowed=("conv", "maxpool", "avgpool", "inception", "factorized", "gap", "dropout"),
                           max_params=12_000, max_macs=400_000, threshold=0.50, required="inception")


def design(spec) -> None:
    """Build the spec, check the budget and train it with the grader's recipe on a split of the shapes
    of its own; prints the numbers. The grader scores the accuracy on another split."""
    try:
        result = TASK.try_design(spec, split_seed=0)
    except _specnet.SpecError as err:
        raise CheckFailed(f"DESIGN: {err}") from None
    print(f"{result.params:,} parameters, {result.macs:,} MACs; accuracy on this notebook's test split after the "
          f"grader's training: {result.accuracy:.1%} ({result.cpu_seconds:.1f} s of CPU)")
