"""Checks for ex03_inception: the Inception module with dimension reductions, its cost, and a
factorised n×n convolution.

References:
- the module: ``cnnlab.models.googlenet.Inception`` built with conv (+ bias) -> ReLU blocks and true
  5×5 kernels, i.e. the module of Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
  (arXiv:1409.4842), Fig. 2b, without the batch normalisation torchvision adds;
- its cost: ``cnnlab.analysis.count_params`` and ``count_macs`` of that reference;
- the factorised convolution (Szegedy et al., "Rethinking the Inception Architecture for Computer
  Vision", CVPR 2016, arXiv:1512.00567): a full n×n convolution (``F.conv2d`` with
  ``padding="same"``) whose kernel is the product of the student's 1×n and n×1 kernels.

The student's module must have attributes ``branch1`` … ``branch4``; inside each branch, the
convolutions are matched with the reference's in the order ``modules()`` lists them, so nesting
(plain ``nn.Sequential`` or a helper block) does not matter.
"""
from __future__ import annotations

import contextlib
import random
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import analysis
from cnnlab.models.googlenet import Inception

from ._common import CheckFailed, call, call_as, describe_call, rng

BRANCHES = ("branch1", "branch2", "branch3", "branch4")
ARG_NAMES = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
INCEPTION_3A = (192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a), the paper's Table 1
# What each branch holds, for messages.
BRANCH_TEXT = {
    "branch1": "1×1 conv in_channels→ch1x1, ReLU",
    "branch2": "1×1 conv in_channels→ch3x3red, ReLU, 3×3 conv ch3x3red→ch3x3 (padding 1), ReLU",
    "branch3": "1×1 conv in_channels→ch5x5red, ReLU, 5×5 conv ch5x5red→ch5x5 (padding 2), ReLU",
    "branch4": "3×3 max pool (stride 1, padding 1), 1×1 conv in_channels→pool_proj, ReLU",
}


# --- the reference -----------------------------------------------------------------------------

def _conv_relu(in_channels: int, out_channels: int, **kwargs) -> nn.Sequential:
    """The paper's layer: a convolution with bias, then ReLU (no batch normalisation)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, **kwargs), nn.ReLU(inplace=True))


def reference_inception(in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                        pool_proj: int) -> nn.Module:
    """cnnlab's Inception module with conv + ReLU blocks and 5×5 kernels:
    (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)."""
    return Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                     conv_block=_conv_relu, kernel_size_5x5=5)


def reference_cost(in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                   pool_proj: int, size: int) -> tuple[int, int]:
    """(parameters with biases, MACs of one size×size image) of the reference module."""
    with torch.device("meta"):  # shapes only: no memory, no time
        module = reference_inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
    return analysis.count_params(module), analysis.count_macs(module, (1, in_channels, size, size))


# --- helpers -----------------------------------------------------------------------------------

def _config_text(config: tuple[int, ...]) -> str:
    return describe_call("InceptionBlock", config)


def _random_config(r: random.Random) -> tuple[int, ...]:
    return (r.randint(1, 48),) + tuple(r.randint(1, 24) for _ in range(6))


def _build_block(student_cls: Callable, config: tuple[int, ...]) -> nn.Module:
    block = call(student_cls, *config)
    text = _config_text(config)
    if not isinstance(block, nn.Module):
        raise CheckFailed(f"{text} returned a {type(block).__name__}, not an nn.Module")
    for name in BRANCHES:
        branch = getattr(block, name, None)
        if not isinstance(branch, nn.Module):
            raise CheckFailed(f"{text} has no submodule `{name}`: keep the four branches in attributes "
                              f"branch1 … branch4 ({name}: {BRANCH_TEXT[name]})")
    return block


def _forward(module: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    with torch.no_grad():
        out = call_as(f"{what} on an input of shape {tuple(x.shape)}", module, x)
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what} returned a {type(out).__name__}, not a tensor")
    return out


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def _inputs(r: random.Random, config: tuple[int, ...], h: int | None = None, w: int | None = None) -> torch.Tensor:
    generator = torch.Generator().manual_seed(r.randrange(2**31))
    n = r.randint(1, 3)
    h = h or r.randint(1, 17)
    w = w or r.randint(1, 17)
    return torch.randn(n, config[0], h, w, generator=generator)


# --- part 1: the module ------------------------------------------------------------------------

def _check_shape(student_cls: Callable, config: tuple[int, ...], x: torch.Tensor) -> None:
    block = _build_block(student_cls, config)
    text = _config_text(config)
    in_channels, ch1x1, _, ch3x3, _, ch5x5, pool_proj = config
    n, _, h, w = x.shape
    wanted = {"branch1": ch1x1, "branch2": ch3x3, "branch3": ch5x5, "branch4": pool_proj}
    for name in BRANCHES:
        got = _forward(getattr(block, name), x, f"{text}.{name}")
        if got.shape != (n, wanted[name], h, w):
            raise CheckFailed(f"{text}.{name} maps an input of shape {tuple(x.shape)} to {tuple(got.shape)}, "
                              f"expected {(n, wanted[name], h, w)} ({BRANCH_TEXT[name]}: the padding must keep "
                              "the height and width)")
    out = _forward(block, x, text)
    expected = (n, ch1x1 + ch3x3 + ch5x5 + pool_proj, h, w)
    if out.shape != expected:
        raise CheckFailed(f"{text} maps an input of shape {tuple(x.shape)} to {tuple(out.shape)}, expected "
                          f"{expected}: the four branches concatenated along the channels (dim 1), "
                          f"{ch1x1} + {ch3x3} + {ch5x5} + {pool_proj} = {expected[1]} channels")


def _check_params(student_cls: Callable, config: tuple[int, ...]) -> None:
    block = _build_block(student_cls, config)
    reference = reference_inception(*config)
    text = _config_text(config)
    got, expected = analysis.count_params(block), analysis.count_params(reference)
    if got == expected:
        return
    for name in BRANCHES:
        g, e = analysis.count_params(getattr(block, name)), analysis.count_params(getattr(reference, name))
        if g != e:
            biases = sum(c.out_channels for c in _convs(getattr(reference, name)))
            hint = " — the convolutions keep their biases (bias=True)" if e - g == biases else ""
            raise CheckFailed(f"{text}: {name} has {g:,} parameters, expected {e:,} "
                              f"({BRANCH_TEXT[name]}){hint}")
    raise CheckFailed(f"{text} has {got:,} parameters, expected {expected:,}; the branches are right, so the "
                      "extra parameters sit outside branch1 … branch4")


def _copy_weights(block: nn.Module, reference: nn.Module, text: str) -> None:
    """Copy the reference's conv weights into the student's block, branch by branch, in order."""
    for name in BRANCHES:
        mine, ref = _convs(getattr(block, name)), _convs(getattr(reference, name))
        if len(mine) != len(ref):
            raise CheckFailed(f"{text}.{name} has {len(mine)} convolution(s), expected {len(ref)} "
                              f"({BRANCH_TEXT[name]})")
        for i, (m, r) in enumerate(zip(mine, ref), start=1):
            where = f"{text}.{name}, convolution {i} of {len(ref)}"
            if m.weight.shape != r.weight.shape:
                raise CheckFailed(f"{where}: weight of shape {tuple(m.weight.shape)}, expected "
                                  f"{tuple(r.weight.shape)} ({BRANCH_TEXT[name]})")
            if (m.stride, m.padding, m.dilation, m.groups) != (r.stride, r.padding, r.dilation, r.groups):
                raise CheckFailed(f"{where}: stride {m.stride}, padding {m.padding}, dilation {m.dilation}, "
                                  f"groups {m.groups}; expected stride {r.stride}, padding {r.padding}, "
                                  f"dilation {r.dilation}, groups {r.groups}")
            if m.bias is None:
                raise CheckFailed(f"{where} has no bias; the paper's convolutions have biases (bias=True)")
            with torch.no_grad():
                m.weight.copy_(r.weight)
                m.bias.copy_(r.bias)


def _check_outputs(student_cls: Callable, config: tuple[int, ...], x: torch.Tensor) -> None:
    block = _build_block(student_cls, config)
    reference = reference_inception(*config)
    text = _config_text(config)
    _copy_weights(block, reference, text)
    for mode in ("train", "eval"):
        block.train(mode == "train")
        reference.train(mode == "train")
        for name in BRANCHES:
            got = _forward(getattr(block, name), x, f"{text}.{name}")
            expected = _forward(getattr(reference, name), x, f"reference {name}")
            if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
                detail = (f"shape {tuple(got.shape)} instead of {tuple(expected.shape)}" if got.shape != expected.shape
                          else f"largest difference {(got - expected).abs().max().item():.3g}")
                raise CheckFailed(f"{text}.{name} in {mode} mode, with the reference's weights copied in, gives "
                                  f"different outputs on an input of shape {tuple(x.shape)} ({detail}); expected "
                                  f"{BRANCH_TEXT[name]}")
        got = _forward(block, x, text)
        expected = _forward(reference, x, "reference")
        if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
            raise CheckFailed(f"{text} in {mode} mode: every branch is right but the module's output is not: "
                              "concatenate the outputs of branch1, branch2, branch3, branch4 in that order along "
                              "the channels (dim 1)")


def inception_shape(student_cls: Callable, n_cases: int = 5, seed: int | None = 0) -> None:
    """Inception (3a) on 28×28 gives 256 channels at 28×28, and random configurations keep H×W."""
    r = rng(seed)
    _check_shape(student_cls, INCEPTION_3A, _inputs(r, INCEPTION_3A, 28, 28))
    for _ in range(n_cases):
        config = _random_config(r)
        _check_shape(student_cls, config, _inputs(r, config))


def inception_params(student_cls: Callable, n_cases: int = 5, seed: int | None = 0) -> None:
    """Parameter count equals the reference's (with biases), for inception (3a) and random configurations."""
    r = rng(seed)
    _check_params(student_cls, INCEPTION_3A)
    for _ in range(n_cases):
        _check_params(student_cls, _random_config(r))


def inception_outputs(student_cls: Callable, n_cases: int = 3, seed: int | None = 0) -> None:
    """With the reference's weights copied in, every branch and the module give the reference's outputs."""
    r = rng(seed)
    _check_outputs(student_cls, INCEPTION_3A, _inputs(r, INCEPTION_3A, 28, 28))
    for _ in range(n_cases):
        config = _random_config(r)
        _check_outputs(student_cls, config, _inputs(r, config))


def inception_block(student_cls: Callable, n_cases: int = 30, seed: int | None = None) -> None:
    """Everything at once on fresh random configurations and input sizes (the hidden tests)."""
    r = rng(seed)
    for _ in range(n_cases):
        config = _random_config(r)
        x = _inputs(r, config)
        _check_shape(student_cls, config, x)
        _check_params(student_cls, config)
        _check_outputs(student_cls, config, x)


# --- part 2: the cost --------------------------------------------------------------------------

def inception_cost(student_fn: Callable, n_cases: int = 20, seed: int | None = 0) -> None:
    """``student_fn(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, size)`` returns
    (parameters with biases, MACs of one size×size image), as the reference module counts them."""
    r = rng(seed)
    cases = [INCEPTION_3A + (28,)]
    cases += [_random_config(r) + (r.randint(1, 64),) for _ in range(n_cases)]
    for case in cases:
        text = describe_call(getattr(student_fn, "__name__", "inception_cost"), case)
        got = call(student_fn, *case)
        try:
            params, macs = got
        except (TypeError, ValueError):
            raise CheckFailed(f"{text} returned {got!r}: expected a pair (params, macs)") from None
        expected_params, expected_macs = reference_cost(*case)
        if type(params) is bool or params != expected_params:
            raise CheckFailed(f"{text}: params = {params!r}, expected {expected_params:,} (weights and biases of "
                              "the six convolutions; pooling has none)")
        if type(macs) is bool or macs != expected_macs:
            raise CheckFailed(f"{text}: MACs = {macs!r}, expected {expected_macs:,} (each convolution: C_out · size "
                              "· size · C_in · K · K; biases, ReLU and pooling are not counted)")


# --- part 3: the factorised convolution --------------------------------------------------------

@contextlib.contextmanager
def _quiet_same_padding():
    """PyTorch warns that padding="same" with an even kernel copies the input. nbgrader scores a test
    cell that writes to stderr as failed, so this expected warning must not reach the notebook."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        yield


def _build_factorized(student_fn: Callable, in_channels: int, out_channels: int, n: int):
    """The student's module and its two convolutions (1×n, then n×1), after checking the structure."""
    text = describe_call(getattr(student_fn, "__name__", "factorized_conv"), (in_channels, out_channels, n))
    module = call(student_fn, in_channels, out_channels, n)
    if not isinstance(module, nn.Module):
        raise CheckFailed(f"{text} returned a {type(module).__name__}, not an nn.Module (an nn.Sequential)")
    convs = _convs(module)
    if len(convs) != 2:
        raise CheckFailed(f"{text} contains {len(convs)} nn.Conv2d layer(s), expected exactly two: 1×{n} then {n}×1")
    first, second = convs
    wanted = [("first", first, in_channels, out_channels, (1, n)), ("second", second, out_channels, out_channels, (n, 1))]
    for label, conv, c_in, c_out, kernel in wanted:
        got = (conv.in_channels, conv.out_channels, tuple(conv.kernel_size))
        if got != (c_in, c_out, kernel):
            raise CheckFailed(f"{text}: the {label} convolution maps {conv.in_channels} -> {conv.out_channels} channels "
                              f"with a {conv.kernel_size[0]}×{conv.kernel_size[1]} kernel; expected {c_in} -> {c_out} "
                              f"with {kernel[0]}×{kernel[1]}")
        if tuple(conv.stride) != (1, 1) or tuple(conv.dilation) != (1, 1) or conv.groups != 1:
            raise CheckFailed(f"{text}: the {label} convolution has stride {conv.stride}, dilation {conv.dilation}, "
                              f"groups {conv.groups}; expected stride 1, dilation 1, groups 1")
        if conv.bias is not None:
            raise CheckFailed(f"{text}: the {label} convolution has a bias; use bias=False (the factorisation is "
                              "exactly one n×n convolution only without biases)")
    return module, first, second, text


def _check_structure(student_fn: Callable, in_channels: int, out_channels: int, n: int, h: int, w: int) -> None:
    module, _, _, text = _build_factorized(student_fn, in_channels, out_channels, n)
    expected = n * in_channels * out_channels + n * out_channels * out_channels
    got = analysis.count_params(module)
    if got != expected:
        raise CheckFailed(f"{text} has {got:,} parameters, expected n·C_in·C_out + n·C_out·C_out = {expected:,}")
    x = torch.randn(2, in_channels, h, w)
    out = _forward(module, x, text)
    if out.shape != (2, out_channels, h, w):
        raise CheckFailed(f"{text} maps an input of shape {tuple(x.shape)} to {tuple(out.shape)}, expected "
                          f"{(2, out_channels, h, w)}: the padding must keep the size for every n (for even n: "
                          f"{(n - 1) // 2} zeros before and {n // 2} after, as padding='same' does)")


def _check_support(student_fn: Callable, n: int, size: int = 17) -> None:
    """The gradient of one output with respect to the input is non-zero on an n×n square, no more."""
    module, first, second, text = _build_factorized(student_fn, 2, 2, n)
    with torch.no_grad():  # positive weights: no accidental cancellation in the gradient
        first.weight.copy_(torch.rand_like(first.weight) + 0.1)
        second.weight.copy_(torch.rand_like(second.weight) + 0.1)
    x = torch.randn(1, 2, size, size, requires_grad=True)
    try:
        out = module(x)
        c = size // 2
        out[0, :, c, c].sum().backward()
    except Exception as err:  # noqa: BLE001
        raise CheckFailed(f"{text}: forward/backward on an input of shape {tuple(x.shape)} raised "
                          f"{type(err).__name__}: {err}") from err
    support = x.grad.abs().sum(dim=(0, 1)) > 0  # (H, W)
    rows = support.any(1).nonzero().flatten()
    cols = support.any(0).nonzero().flatten()
    height = int(rows.max() - rows.min() + 1) if len(rows) else 0
    width = int(cols.max() - cols.min() + 1) if len(cols) else 0
    if (height, width) != (n, n) or int(support.sum()) != n * n:
        raise CheckFailed(f"{text}: one output depends on a {height}×{width} region of the input "
                          f"({int(support.sum())} pixels), expected the full {n}×{n} square ({n * n} pixels)")


def _composed_kernel(first: nn.Conv2d, second: nn.Conv2d) -> torch.Tensor:
    """The n×n kernel of the composition: K[o, i] = Σ_m second[o, m] (n×1) ⊗ first[m, i] (1×n)."""
    return torch.einsum("omh,miw->oihw", second.weight[:, :, :, 0], first.weight[:, :, 0, :])


def _check_equivalence(student_fn: Callable, in_channels: int, out_channels: int, n: int, h: int, w: int) -> None:
    module, first, second, text = _build_factorized(student_fn, in_channels, out_channels, n)
    x = torch.randn(2, in_channels, h, w)
    got = _forward(module, x, text)
    with torch.no_grad():
        kernel = _composed_kernel(first, second)  # (C_out, C_in, n, n)
        expected = F.conv2d(x, kernel, padding="same")
    if got.shape != expected.shape:
        raise CheckFailed(f"{text} maps an input of shape {tuple(x.shape)} to {tuple(got.shape)}, expected "
                          f"{tuple(expected.shape)} (the padding must keep the size: {(n - 1) // 2} zeros before, "
                          f"{n // 2} after)")
    if not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
        raise CheckFailed(f"{text} on an input of shape {tuple(x.shape)} differs from one {n}×{n} convolution "
                          "(padding='same') whose kernel is the product of your n×1 and 1×n kernels (largest "
                          f"difference {(got - expected).abs().max().item():.3g}); check the padding and that "
                          "nothing (bias, activation) sits between the two convolutions")


def factorized_structure(student_fn: Callable, ns=(3, 5, 7), n_cases: int = 3, seed: int | None = 0) -> None:
    """Two convolutions 1×n then n×1 without bias, n·C_in·C_out + n·C_out² parameters, size preserved."""
    r = rng(seed)
    with _quiet_same_padding():
        for n in ns:
            for _ in range(n_cases):
                _check_structure(student_fn, r.randint(1, 16), r.randint(1, 16), n, r.randint(1, 24),
                                 r.randint(1, 24))


def factorized_receptive_field(student_fn: Callable, ns=(3, 7)) -> None:
    """One output sees exactly an n×n patch of the input."""
    with _quiet_same_padding():
        for n in ns:
            _check_support(student_fn, n)


def factorized_rank1(student_fn: Callable, n: int = 3, seed: int | None = 0) -> None:
    """One channel in and out: equal to a full n×n convolution with the outer product of the two kernels."""
    r = rng(seed)
    torch.manual_seed(r.randrange(2**31))
    with _quiet_same_padding():
        _check_equivalence(student_fn, 1, 1, n, r.randint(n, 20), r.randint(n, 20))


def factorized_conv(student_fn: Callable, n_cases: int = 20, seed: int | None = None) -> None:
    """Everything at once for fresh channels, sizes and every n from 1 to 8, odd and even (the hidden tests)."""
    r = rng(seed)
    ns = list(range(1, 9)) + [r.randint(1, 8) for _ in range(max(0, n_cases - 8))]
    r.shuffle(ns)
    with _quiet_same_padding():
        for n in ns:
            c_in, c_out, h, w = r.randint(1, 8), r.randint(1, 8), r.randint(1, 20), r.randint(1, 20)
            _check_structure(student_fn, c_in, c_out, n, h, w)
            _check_equivalence(student_fn, c_in, c_out, n, h, w)
            _check_support(student_fn, n)
