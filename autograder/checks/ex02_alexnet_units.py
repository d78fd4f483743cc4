"""Checks for ex02_alexnet_units: local response normalisation, dropout and overlapping max pooling.

References (A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012, Sections 3.3, 3.4 and 4.2):
- LRN: ``cnnlab.scratch.local_response_norm`` with the paper's convention (``alpha`` multiplies the
  *sum* of the squares over channels ``i - size//2 … i + size//2``);
- dropout: inverted dropout, checked by its properties (identity in eval mode, about ``p`` of the
  elements zeroed in training, the kept ones multiplied by exactly ``1 / (1 - p)``, fresh and
  independent masks, the input left alone); the statistical bounds are 20 standard deviations wide,
  so a correct function never fails them;
- max pooling: ``torch.nn.functional.max_pool2d``, which the student's code must not call.
"""
from __future__ import annotations

import math
import types
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from cnnlab.scratch import local_response_norm as reference_lrn

from ._common import CheckFailed, call_as, rng

# The paper's constants: n = 5, alpha = 1e-4, beta = 0.75, k = 2.
PAPER = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
# Names that would do the pooling for the student.
POOLING_BUILTINS = {"max_pool2d", "max_pool2d_with_indices", "MaxPool2d", "max_pool1d", "max_pool3d",
                    "adaptive_max_pool2d", "AdaptiveMaxPool2d", "fractional_max_pool2d", "FractionalMaxPool2d"}


def _generator(r) -> torch.Generator:
    """A torch generator seeded from the case generator ``r`` (fresh cases when ``r`` is unseeded)."""
    return torch.Generator().manual_seed(r.randrange(2**31))


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _check_tensor(got, expected: torch.Tensor, text: str) -> torch.Tensor:
    """``got`` must be a tensor of ``expected``'s shape and dtype."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{text} returned a {type(got).__name__}, expected a tensor")
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(f"{text} returned shape {_shape_text(got.shape)}, expected {_shape_text(expected.shape)}")
    if got.dtype != expected.dtype:
        raise CheckFailed(f"{text} returned dtype {got.dtype}, expected {expected.dtype} (the input's)")
    return got


def _check_untouched(x: torch.Tensor, before: torch.Tensor, text: str) -> None:
    if not torch.equal(x, before):
        raise CheckFailed(f"{text} changed its input x in place; compute a new tensor and leave x as it was")


def _worst(got: torch.Tensor, expected: torch.Tensor) -> str:
    """Where ``got`` and ``expected`` differ most, for messages."""
    diff = (got.double() - expected.double()).abs()
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    return f"at index {index}: got {got[index].item():.6g}, expected {expected[index].item():.6g}"


# --- Part 1: local response normalisation ------------------------------------------------------

def _lrn_input(shape: Sequence[int], scale: float, g: torch.Generator) -> torch.Tensor:
    # Activations large enough that alpha * sum of squares is comparable to k, so that every
    # convention mistake shows; negative values too, since only their squares should matter.
    return scale * torch.randn(*shape, generator=g)


def _lrn_hint(got: torch.Tensor, x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> str:
    """A guess at the convention mistake behind a wrong answer."""
    guesses = [
        # PyTorch's nn.LocalResponseNorm: alpha times the mean of the squares, window of exactly size channels
        (reference_lrn(x, size, alpha, beta, k, alpha_is_averaged=True),
         "alpha seems to multiply the mean of the squares (alpha / size, as nn.LocalResponseNorm does); "
         "the paper's formula multiplies their sum"),
        (reference_lrn(x, size, alpha * size, beta, k, alpha_is_averaged=True),
         f"your window seems to hold exactly size={size} channels, i - size//2 … i + (size-1)//2 (PyTorch's); "
         "the formula's window runs from i - size//2 to i + size//2, which is size + 1 channels for even size"),
        (reference_lrn(x, size, alpha / size, beta, k),
         "alpha seems to be divided by size; the paper's formula multiplies the plain sum by alpha"),
        (x / (k + alpha * x.pow(2).sum(1, keepdim=True)) ** beta,
         "the sum seems to run over all channels; it must only cover the neighbours i - size//2 … i + size//2"),
        (x / (k + alpha * x.pow(2)) ** beta,
         "the sum seems to hold only channel i itself; it must cover the neighbours i - size//2 … i + size//2"),
        (x / (k + alpha * _window_sum(x, size)),
         "beta seems to be missing: the whole bracket (k + alpha * sum) is raised to the power beta"),
    ]
    for candidate, hint in guesses:
        if torch.allclose(got.double(), candidate.double(), rtol=1e-4, atol=1e-6):
            return f" -- {hint}"
    return ""


def _window_sum(x: torch.Tensor, size: int) -> torch.Tensor:
    """The formula's sum of x_j^2 over j = i - size//2 … i + size//2 (clipped): (N, C, H, W) -> same."""
    squares = F.pad(x.pow(2).movedim(1, -1), (size // 2, size // 2))  # (N, H, W, C + 2*(size//2))
    return squares.unfold(-1, 2 * (size // 2) + 1, 1).sum(-1).movedim(-1, 1)


def _lrn_case(student_fn: Callable, shape: Sequence[int], size: int, alpha: float, beta: float, k: float,
              scale: float, g: torch.Generator, pass_defaults: bool = False) -> None:
    x = _lrn_input(shape, scale, g)
    before = x.clone()
    expected = reference_lrn(x, size, alpha, beta, k)
    if pass_defaults:
        text = f"local_response_norm(x) on x of shape {_shape_text(shape)} (the defaults: the paper's constants)"
        got = call_as(text, student_fn, x)
    else:
        text = (f"local_response_norm(x, size={size}, alpha={alpha:.3g}, beta={beta:.3g}, k={k:.3g}) on x of shape "
                f"{_shape_text(shape)}")
        got = call_as(text, student_fn, x, size=size, alpha=alpha, beta=beta, k=k)
    _check_untouched(x, before, text)
    got = _check_tensor(got, expected, text)
    if not torch.allclose(got, expected, rtol=1e-4, atol=1e-6):
        raise CheckFailed(f"{text}: wrong values, {_worst(got, expected)}{_lrn_hint(got, x, size, alpha, beta, k)}")


def local_response_norm_examples(student_fn: Callable) -> None:
    """Fixed cases with odd window sizes: the paper's constants on AlexNet-like maps, and small ones."""
    g = torch.Generator().manual_seed(2012)
    _lrn_case(student_fn, (2, 96, 4, 4), **PAPER, scale=30.0, g=g, pass_defaults=True)  # after conv1
    _lrn_case(student_fn, (1, 256, 3, 3), **PAPER, scale=30.0, g=g)  # after conv2
    _lrn_case(student_fn, (2, 4, 3, 5), size=3, alpha=0.01, beta=0.75, k=1.0, scale=3.0, g=g)  # the edges matter
    _lrn_case(student_fn, (1, 3, 2, 2), size=7, alpha=0.1, beta=0.5, k=1.0, scale=2.0, g=g)  # window > channels
    _lrn_case(student_fn, (1, 6, 1, 1), size=1, alpha=0.5, beta=1.0, k=1.0, scale=1.0, g=g)


def local_response_norm(student_fn: Callable, n_cases: int = 30, seed: int | None = 0) -> None:
    """Random shapes, odd and even window sizes, and random constants against the reference."""
    r = rng(seed)
    g = _generator(r)
    for _ in range(n_cases):
        shape = (r.randint(1, 3), r.randint(1, 20), r.randint(1, 6), r.randint(1, 6))
        size = r.randint(1, 8)
        alpha = r.choice([1e-4, 1e-3, 1e-2, 0.1]) * r.uniform(0.5, 2)
        beta = r.uniform(0.3, 1.5)
        k = r.uniform(0.5, 3)
        scale = math.sqrt(k / alpha / size) * r.uniform(0.5, 2)  # alpha * sum of squares ~ k
        _lrn_case(student_fn, shape, size, alpha, beta, k, scale, g)


# --- Part 2: dropout ---------------------------------------------------------------------------

def _dropout_call(student_fn: Callable, x: torch.Tensor, p: float, training: bool) -> tuple[torch.Tensor, str]:
    before = x.clone()
    text = f"dropout(x, p={p}, training={training}) on x of shape {_shape_text(x.shape)}"
    got = call_as(text, student_fn, x, p, training)
    _check_untouched(x, before, text)
    return _check_tensor(got, x, text), text


def dropout_eval(student_fn: Callable, seed: int | None = 0) -> None:
    """training=False: the output equals the input, for any p."""
    r = rng(seed)
    g = _generator(r)
    for p in (0.0, 0.1, 0.5, 0.9):
        x = torch.randn(r.randint(1, 64), r.randint(1, 64), generator=g)
        got, text = _dropout_call(student_fn, x, p, training=False)
        if not torch.equal(got, x):
            raise CheckFailed(f"{text}: in evaluation mode dropout must return its input unchanged; "
                              f"{_worst(got, x)}")


def _train_case(student_fn: Callable, x: torch.Tensor, p: float) -> None:
    """One training-mode call on a tensor without zeros: fraction zeroed, exact scaling, no dependence."""
    got, text = _dropout_call(student_fn, x, p, training=True)
    if p == 0:
        if not torch.equal(got, x):
            raise CheckFailed(f"{text}: with p=0 nothing is dropped and 1/(1-p) = 1, so the output must equal x; "
                              f"{_worst(got, x)}")
        return
    kept = got != 0
    n = x.numel()
    zeroed = 1 - kept.double().mean().item()
    # 20 standard deviations of the binomial fraction (and at least 0.01): a right answer never fails
    bound = max(0.01, 20 * math.sqrt(p * (1 - p) / n))
    if abs(zeroed - p) > bound:
        raise CheckFailed(f"{text}: {zeroed:.1%} of the elements were zeroed, expected about p = {p:.0%} "
                          f"(each element is dropped with probability p)")
    expected_kept = x[kept] / (1 - p)
    if not torch.allclose(got[kept], expected_kept, rtol=1e-5, atol=0):
        ratio = (got[kept] / x[kept]).double()
        mean_ratio = ratio.mean().item()
        hint = ""
        if abs(mean_ratio - 1) < 1e-3:
            hint = " -- the kept elements are not scaled: inverted dropout multiplies them by 1/(1-p)"
        elif abs(mean_ratio - (1 - p)) < 1e-3:
            hint = " -- the kept elements were multiplied by (1-p); inverted dropout divides by it"
        raise CheckFailed(f"{text}: the kept elements must be x / (1 - p) = x * {1 / (1 - p):.4g}, but on average "
                          f"they are x * {mean_ratio:.4g}{hint}")


def dropout_train(student_fn: Callable, seed: int | None = 0) -> None:
    """training=True with p = 0.5 (AlexNet's) and 0.2 on a million elements, and p = 0."""
    r = rng(seed)
    g = _generator(r)
    x = torch.rand(1000, 1000, generator=g) + 0.5  # no zeros, so a zero in the output means "dropped"
    _fresh_and_independent(student_fn, x, 0.5)
    for p in (0.5, 0.2, 0.0):
        _train_case(student_fn, x, p)


def _fresh_and_independent(student_fn: Callable, x: torch.Tensor, p: float) -> None:
    """Two calls draw different masks, and, on a 2-D ``x`` whose sides are at least 100 long, elements
    are dropped one by one rather than whole rows or columns together."""
    text = f"dropout(x, p={p}, training=True) on x of shape {_shape_text(x.shape)}"
    first = call_as(text, student_fn, x.clone(), p, True) != 0  # clones: in-place changes are caught elsewhere
    second = call_as(text, student_fn, x.clone(), p, True) != 0
    if torch.equal(first, second):
        raise CheckFailed(f"{text}: two calls dropped exactly the same elements; draw a fresh random mask each call")
    if x.dim() == 2 and min(x.shape) >= 100 and 0.05 <= p <= 0.95:
        # with independent draws a line of >= 100 elements is all kept or all dropped with
        # probability <= 0.95^100 < 1 %: more than half of them is no accident
        for dim, name in ((1, "rows"), (0, "columns")):
            share = first.double().mean(dim)  # kept fraction of each row / column
            if ((share == 0) | (share == 1)).double().mean() > 0.5:
                raise CheckFailed(f"{text}: whole {name} are dropped or kept together; each element needs its own "
                                  "random draw (a mask of x's full shape)")


def dropout(student_fn: Callable, n_cases: int = 10, seed: int | None = 0) -> None:
    """Random shapes (1 to 4 dimensions, float32 and float64) and drop probabilities."""
    r = rng(seed)
    g = _generator(r)
    for _ in range(n_cases):
        dims = r.randint(1, 4)
        shape = [r.randint(2, 12) for _ in range(dims - 1)]
        shape.append(max(2, 200_000 // max(1, math.prod(shape))))  # ~200k elements: tight statistics
        dtype = r.choice([torch.float32, torch.float64])
        x = (torch.rand(*shape, generator=g, dtype=dtype) + 0.5) * r.choice([1, -1])
        p = r.choice([0.0, round(r.uniform(0.05, 0.95), 2)])
        got, text = _dropout_call(student_fn, x, p, training=False)
        if not torch.equal(got, x):
            raise CheckFailed(f"{text}: in evaluation mode dropout must return its input unchanged")
        if p > 0:
            _fresh_and_independent(student_fn, x, p)
        _train_case(student_fn, x, p)
    p = round(r.uniform(0.2, 0.8), 2)
    _fresh_and_independent(student_fn, torch.rand(500, 400, generator=g) + 0.5, p)


# --- Part 3: overlapping max pooling -----------------------------------------------------------

def _names_used(code: types.CodeType) -> set[str]:
    """Every global and attribute name the code (and the functions, lambdas and comprehensions inside
    it) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def max_pool2d_does_not_call_builtins(student_fn: Callable) -> None:
    """The function must compute the maxima itself, not call PyTorch's max pooling."""
    code = getattr(student_fn, "__code__", None)
    if code is None:
        raise CheckFailed("max_pool2d must be a plain Python function (def max_pool2d(x, kernel_size, stride): ...)")
    used = _names_used(code) & POOLING_BUILTINS
    if used:
        raise CheckFailed(f"your max_pool2d uses {', '.join(sorted(used))}: compute the window maxima yourself "
                          "(loops over the output positions, or Tensor.unfold, and amax)")


def _pool_case(student_fn: Callable, shape: Sequence[int], kernel_size: int, stride: int,
               g: torch.Generator) -> None:
    x = torch.randn(*shape, generator=g)  # negative values too: a zero padding or init would show
    before = x.clone()
    expected = F.max_pool2d(x, kernel_size, stride)
    text = f"max_pool2d(x, kernel_size={kernel_size}, stride={stride}) on x of shape {_shape_text(shape)}"
    got = call_as(text, student_fn, x, kernel_size, stride)
    _check_untouched(x, before, text)
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{text} returned a {type(got).__name__}, expected a tensor")
    if tuple(got.shape) != tuple(expected.shape):
        h, w = shape[-2:]
        raise CheckFailed(f"{text} returned shape {_shape_text(got.shape)}, expected {_shape_text(expected.shape)}: "
                          f"H_out = floor(({h} - {kernel_size}) / {stride}) + 1 = {expected.shape[-2]}, "
                          f"W_out = floor(({w} - {kernel_size}) / {stride}) + 1 = {expected.shape[-1]}")
    got = _check_tensor(got, expected, text)
    if not torch.equal(got, expected):
        hint = ""
        wrong = got != expected
        if (got[wrong] == 0).all() and (expected[wrong] < 0).all():
            hint = (" -- where every value of a window is negative you return 0: start each maximum from the "
                    "window's own values (or -inf), not from 0")
        raise CheckFailed(f"{text}: wrong values, {_worst(got, expected)}{hint}")


def max_pool2d_cases(student_fn: Callable, cases: Sequence[tuple[Sequence[int], int, int]], seed: int = 0) -> None:
    """``(shape, kernel_size, stride)`` cases on random inputs, against ``F.max_pool2d``."""
    g = torch.Generator().manual_seed(seed)
    for shape, kernel_size, stride in cases:
        _pool_case(student_fn, shape, kernel_size, stride, g)


def max_pool2d(student_fn: Callable, n_cases: int = 40, seed: int | None = 0) -> None:
    """Random shapes (H and W drawn separately), kernels 1-5 and strides 1-4, against ``F.max_pool2d``."""
    max_pool2d_does_not_call_builtins(student_fn)
    r = rng(seed)
    g = _generator(r)
    for _ in range(n_cases):
        kernel_size = r.randint(1, 5)
        stride = r.randint(1, 4)
        shape = (r.randint(1, 3), r.randint(1, 4), r.randint(kernel_size, 20), r.randint(kernel_size, 20))
        _pool_case(student_fn, shape, kernel_size, stride, g)
