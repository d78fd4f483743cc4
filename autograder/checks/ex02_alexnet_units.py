"""Visible checks of ex02_alexnet_units (feedback in the student's notebook; the grade comes from the
judge): the backward pass of local response normalisation against autograd, dropout by its
properties, max pooling with indices against ``F.max_pool2d``, and a design's budget and accuracy.

A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012 (Sections 3.3, 3.4, 4.2). No reference is kept as an attribute here.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from . import _specnet
from ._common import CheckFailed, call_as, rng

__all__ = ["lrn_backward", "dropout_eval", "dropout_train", "max_pool2d", "design"]


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _worst(got: torch.Tensor, expected: torch.Tensor) -> str:
    diff = (got.double() - expected.double()).abs()
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    return f"at index {index}: got {got[index].item():.6g}, expected {expected[index].item():.6g}"


def _tensor(got, like: torch.Tensor, text: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{text} returned a {type(got).__name__}, expected a tensor")
    if got.shape != like.shape or got.dtype != like.dtype:
        raise CheckFailed(f"{text} returned a {got.dtype} tensor of shape {_shape_text(got.shape)}, expected "
                          f"{like.dtype} of shape {_shape_text(like.shape)}")
    return got


# --- LRN backward -------------------------------------------------------------------------------

def lrn_backward(student_fn: Callable, n_cases: int = 20, seed: int | None = 0, sizes=(1, 3, 5, 7)) -> None:
    """``student_fn(x, grad_output, size, alpha, beta, k)`` against autograd through the paper's LRN,
    for window sizes drawn from ``sizes``."""
    from cnnlab.scratch import local_response_norm as lrn

    r = rng(seed)
    g = torch.Generator().manual_seed(r.randrange(2**31))
    for i in range(n_cases):
        shape = (r.randint(1, 2), r.randint(1, 12), r.randint(1, 4), r.randint(1, 4)) if i else (1, 3, 1, 1)
        size = r.choice(sizes)
        alpha, beta, k = r.choice([1e-4, 1e-2, 0.1]), r.uniform(0.3, 1.5), r.uniform(0.5, 3)
        x = math.sqrt(k / alpha / size) * torch.randn(*shape, generator=g, dtype=torch.float64)
        grad_output = torch.randn(*shape, generator=g, dtype=torch.float64)
        leaf = x.clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(lrn(leaf, size, alpha, beta, k), leaf, grad_output)
        text = (f"lrn_backward(x, grad_output, size={size}, alpha={alpha:.3g}, beta={beta:.3g}, k={k:.3g}) "
                f"on x of shape {_shape_text(shape)}")
        got = _tensor(call_as(text, student_fn, x.clone(), grad_output.clone(), size=size, alpha=alpha, beta=beta,
                              k=k), expected, text)
        if not torch.allclose(got, expected, rtol=1e-6, atol=1e-9 * expected.abs().max().item() + 1e-12):
            raise CheckFailed(f"{text}: wrong gradient, {_worst(got, expected)} (autograd through the paper's "
                              "formula gives the expected values)")


# --- dropout ------------------------------------------------------------------------------------

def dropout_eval(student_fn: Callable) -> None:
    """training=False (or p = 0): the output equals the input, element-wise and channel-wise."""
    x = torch.rand(4, 8, 3, 3) + 0.5
    for p, training in ((0.5, False), (0.9, False), (0.0, True)):
        for channelwise in (False, True):
            text = f"dropout(x, p={p}, training={training}, channelwise={channelwise})"
            got = _tensor(call_as(text, student_fn, x.clone(), p, training, channelwise=channelwise), x, text)
            if not torch.equal(got, x):
                raise CheckFailed(f"{text} must return its input unchanged; {_worst(got, x)}")


def dropout_train(student_fn: Callable) -> None:
    """Training: about p of the units zeroed, the rest scaled by 1/(1-p), fresh masks, whole channels
    when channelwise=True."""
    x = torch.rand(16, 64, 8, 8) + 0.5  # no zeros: a zero in the output means "dropped"
    for p, channelwise in ((0.5, False), (0.2, False), (0.5, True)):
        text = f"dropout(x, p={p}, training=True, channelwise={channelwise}) on x of shape {_shape_text(x.shape)}"
        outs = [_tensor(call_as(text, student_fn, x.clone(), p, True, channelwise=channelwise), x, text)
                for _ in range(2)]
        for out in outs:
            kept = out != 0
            if not torch.allclose(out[kept], x[kept] / (1 - p)):
                raise CheckFailed(f"{text}: the kept elements must be x / (1 - p) = x * {1 / (1 - p):.3g}")
            per_channel = kept.flatten(2).float().mean(2)  # (N, C)
            whole = ((per_channel == 0) | (per_channel == 1)).all()
            if channelwise and not whole:
                raise CheckFailed(f"{text}: each channel of each sample must be kept or dropped as a whole")
            if not channelwise and whole:
                raise CheckFailed(f"{text}: whole channels were dropped; each element is dropped on its own here")
            units = per_channel if channelwise else kept.float()
            zeroed = 1 - units.mean().item()
            if abs(zeroed - p) > max(0.01, 20 * math.sqrt(p * (1 - p) / units.numel())):
                raise CheckFailed(f"{text}: {zeroed:.1%} of the units were zeroed, expected about {p:.0%}")
        if torch.equal(outs[0] != 0, outs[1] != 0):
            raise CheckFailed(f"{text}: two calls dropped the same units; draw a fresh mask at every call")


# --- max pooling --------------------------------------------------------------------------------

def max_pool2d(student_fn: Callable, n_cases: int = 30, seed: int | None = 0) -> None:
    """``student_fn(x, kernel_size, stride, padding) -> (out, indices)`` against ``F.max_pool2d``."""
    import torch.nn.functional as F

    r = rng(seed)
    g = torch.Generator().manual_seed(r.randrange(2**31))
    for _ in range(n_cases):
        k, s = r.randint(1, 5), r.randint(1, 4)
        p = r.randint(0, k // 2)
        shape = (r.randint(1, 2), r.randint(1, 3), r.randint(max(1, k - 2 * p), 14), r.randint(max(1, k - 2 * p), 14))
        x = torch.randn(*shape, generator=g)
        out, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        text = f"max_pool2d(x, kernel_size={k}, stride={s}, padding={p}) on x of shape {_shape_text(shape)}"
        got = call_as(text, student_fn, x.clone(), k, s, p)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"{text} must return a pair (output, indices)")
        got_out, got_idx = _tensor(got[0], out, text + " (output)"), _tensor(got[1], idx, text + " (indices)")
        if not torch.equal(got_out, out):
            raise CheckFailed(f"{text}: wrong maxima, {_worst(got_out, out)}")
        if not torch.equal(got_idx, idx):
            raise CheckFailed(f"{text}: wrong indices, {_worst(got_idx, idx)} (the position h * W + w of each "
                              "maximum in its unpadded channel)")


# --- the design ---------------------------------------------------------------------------------

# The open-ended part: its vocabulary, budget and required held-out accuracy (the judge scores with it
# too). The master design reaches 56.8-63.4 % on the judge's split over training seeds 0-2 (57.2-58.6 % on
# the visible split); a deep narrow stack 42-51 %, a linear classifier 13-15 %.
TASK = _specnet.DesignTask(allowed=("conv", "maxpool", "lrn", "dropout", "linear"), max_params=3_000,
                           max_macs=150_000, threshold=0.50)


def design(spec) -> None:
    """Build the spec, check the budget and train it with the grader's recipe on a split of
    the shapes of its own; prints the numbers. The grader scores the accuracy on another split."""
    try:
        result = TASK.try_design(spec, split_seed=0)
    except _specnet.SpecError as err:
        raise CheckFailed(f"DESIGN: {err}") from None
    print(f"{result.params:,} parameters, {result.macs:,} MACs; accuracy on this notebook's test split after the "
          f"grader's training: {result.accuracy:.1%} ({result.cpu_seconds:.1f} s of CPU)")
