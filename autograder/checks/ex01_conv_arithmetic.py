"""Visible checks of ex01_conv_arithmetic (feedback in the student's notebook; the grade comes from
the judge). Each compares the student's function with ``cnnlab.analysis`` or PyTorch on fixed or
random cases and says which input went wrong, and how. No reference is kept as an attribute here.
"""
from __future__ import annotations

import math
import random
from typing import Callable

from ._common import CheckFailed, call, describe_call, rng

__all__ = ["output_size", "conv_cost", "receptive_field", "design"]


def _torch_output_size(size: int, kernel_size: int, stride: int, padding: int, dilation: int,
                       ceil_mode: bool) -> int:
    """What PyTorch's max pooling actually produces (ceil_mode) or the convolution rule otherwise."""
    import torch
    import torch.nn.functional as F

    x = torch.zeros(1, 1, size)
    if ceil_mode:
        return F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode=True).shape[-1]
    w = torch.zeros(1, 1, kernel_size)
    return F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


def _size_case(r: random.Random, ceil_mode: bool) -> dict:
    while True:
        k, d, s = r.choice([1, 2, 3, 4, 5, 7, 11]), r.choice([1, 1, 1, 2, 3]), r.randint(1, 4)
        p = r.randint(0, k // 2) if ceil_mode else r.randint(0, k - 1)
        n = r.randint(1, 64)
        if n + 2 * p >= d * (k - 1) + 1:
            return dict(size=n, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)


def output_size(student_fn: Callable, n_cases: int = 40, seed: int | None = 0) -> None:
    """``student_fn(size, kernel_size, stride, padding, dilation, ceil_mode)`` against what PyTorch builds."""
    r = rng(seed)
    for i in range(n_cases):
        case = _size_case(r, ceil_mode=bool(i % 2))
        expected = _torch_output_size(**case)
        got = call(student_fn, **case)
        if type(got) is not int or got != expected:
            layer = "F.max_pool1d(..., ceil_mode=True)" if case["ceil_mode"] else "F.conv1d"
            raise CheckFailed(f"{describe_call('output_size', (), case)} returned {got!r}, expected {expected} "
                              f"(what {layer} produces)")


def conv_cost(student_fn: Callable, n_cases: int = 30, seed: int | None = 0) -> None:
    """``student_fn(...) -> (params, macs)`` against an ``nn.Conv2d`` counted by ``cnnlab.analysis``."""
    import torch
    from torch import nn

    from cnnlab import analysis

    r = rng(seed)
    for _ in range(n_cases):
        g = r.choice([1, 1, 2, 4])
        c_in, c_out = g * r.randint(1, 8), g * r.randint(1, 8)
        kernel = r.choice([1, 3, 5, (1, 3), (3, 1), (5, 3)])
        size = r.choice([r.randint(5, 24), (r.randint(5, 24), r.randint(5, 24))])
        stride, padding = r.choice([1, 2, (1, 2)]), r.choice([0, 1, 2, (0, 1)])
        kwargs = dict(in_channels=c_in, out_channels=c_out, kernel_size=kernel, input_size=size, stride=stride,
                      padding=padding, dilation=r.choice([1, 1, 2]), groups=g, bias=r.random() < 0.5)
        conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, kwargs["dilation"], g, kwargs["bias"])
        h, w = (size, size) if isinstance(size, int) else size
        try:
            conv(torch.zeros(1, c_in, h, w))
        except RuntimeError:  # the kernel does not fit: not a case
            continue
        expected = (analysis.count_params(conv), analysis.count_macs(conv, (1, c_in, h, w)))
        got = call(student_fn, **kwargs)
        text = describe_call("conv_cost", (), kwargs)
        try:
            got = tuple(got)
        except TypeError:
            raise CheckFailed(f"{text} returned {got!r}; expected a pair (params, macs) = {expected}") from None
        if got != expected:
            raise CheckFailed(f"{text} returned {got}, expected (params, macs) = {expected} "
                              "(an nn.Conv2d with these settings, counted by cnnlab.analysis)")


def _rf_case(r: random.Random) -> tuple[list[tuple], int]:
    size, layers = r.randint(16, 256), []
    n = size
    for _ in range(r.randint(1, 6)):
        k, s = r.choice([(1, 1), (3, 1), (3, 2), (5, 1), (2, 2), (7, 2), (4, 2)])
        d = r.choice([1, 1, 2, 3]) if k > 1 else 1
        p = r.randint(0, d * (k - 1) // 2)
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            break
        layers.append((k, s, p) if d == 1 else (k, s, p, d))
        n = (n + 2 * p - span) // s + 1
    return layers or [(3, 1, 1)], size


def receptive_field(student_fn: Callable, n_cases: int = 30, seed: int | None = 0) -> None:
    """``student_fn(layers, input_size)`` returns one ``(n, j, r, start)`` per layer, as ``cnnlab.analysis``."""
    from cnnlab import analysis

    r = rng(seed)
    for _ in range(n_cases):
        layers, size = _rf_case(r)
        expected = [(row.n, row.jump, row.size, row.start) for row in analysis.receptive_field(layers, size)[1:]]
        text = describe_call("receptive_field", (layers, size))
        got = call(student_fn, layers, size)
        try:
            got = [tuple(row) for row in got]
        except TypeError:
            raise CheckFailed(f"{text} returned {got!r}: expected a list of (n, j, r, start) tuples") from None
        if len(got) != len(expected):
            raise CheckFailed(f"{text} returned {len(got)} rows, expected one per layer: {len(expected)}")
        for i, (g, e) in enumerate(zip(got, expected), start=1):
            if len(g) != 4:
                raise CheckFailed(f"{text}: row {i} is {g!r}; each row must be (n, j, r, start)")
            for label, gv, ev in zip(("n", "j", "r", "start"), g, e):
                if not isinstance(gv, (int, float)) or not math.isclose(gv, ev, abs_tol=1e-9):
                    raise CheckFailed(f"{text}: after layer {i} {layers[i - 1]}, {label} = {gv!r}, expected {ev!r} "
                                      f"(all of layer {i}: got {g}, expected {e})")


def design(layers: list, prediction: dict, input_shape=(3, 96, 96), out_shape=(64, 3, 3),
           max_params: int = 40_000, max_macs: int = 3_000_000) -> None:
    """Build the design, measure it and compare with the requirements; ``prediction`` must have its three ints."""
    import torch
    from torch import nn

    from cnnlab import analysis

    mods, c = [], input_shape[0]
    for i, layer in enumerate(layers, start=1):
        kind, *args = layer
        if kind == "conv":
            out, k, s, p, *rest = args
            d, g = (list(rest) + [1, 1])[:2]
            mods.append(nn.Conv2d(c, out, k, s, p, dilation=d, groups=g))
            c = out
        elif kind in ("maxpool", "avgpool"):
            k, s, p = (list(args) + [0])[:3]
            mods.append((nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(k, s, p))
        else:
            raise CheckFailed(f"layer {i} {tuple(layer)}: unknown kind {kind!r} ('conv', 'maxpool' or 'avgpool')")
    model = nn.Sequential(*mods)
    try:
        out = model(torch.zeros(1, *input_shape))
    except RuntimeError as err:
        raise CheckFailed(f"the design does not run on a {tuple(input_shape)} image: {err}") from None
    measured = dict(receptive_field=analysis.receptive_field(model, input_shape[1])[-1].size,
                    params=analysis.count_params(model), macs=analysis.count_macs(model, (1, *input_shape)))
    problems = []
    if tuple(out.shape[1:]) != tuple(out_shape):
        problems.append(f"the output is {tuple(out.shape[1:])}, required {tuple(out_shape)}")
    if measured["receptive_field"] < input_shape[1]:
        problems.append(f"the receptive field is {measured['receptive_field']}, required >= {input_shape[1]}")
    if measured["params"] > max_params:
        problems.append(f"{measured['params']:,} parameters is over the budget of {max_params:,}")
    if measured["macs"] > max_macs:
        problems.append(f"{measured['macs']:,} MACs is over the budget of {max_macs:,}")
    # the predictions are graded against the measurement when the exercise is graded; here we only
    # check that they are there, so that this check does not do the predicting for you
    for key in measured:
        if not isinstance(prediction, dict) or type(prediction.get(key)) is not int:
            problems.append(f"PREDICTION needs an int under {key!r}")
    if problems:
        raise CheckFailed("; ".join(problems))
