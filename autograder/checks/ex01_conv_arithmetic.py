"""Checks for ex01_conv_arithmetic: output size, parameters, MACs and receptive field of a stack.

Reference: ``cnnlab.analysis`` (``conv_output_size``, ``conv_params``, ``conv_macs``, ``receptive_field``).
"""
from __future__ import annotations

from typing import Callable

from cnnlab import analysis

from ._common import CheckFailed, call, describe_call, expect_equal, rng


def _conv_case(r) -> dict:
    """A random valid convolution: sizes that give a non-empty output."""
    while True:
        k = r.choice([1, 2, 3, 5, 7, 11])
        d = r.choice([1, 1, 1, 2, 3])
        p = r.randint(0, k // 2 + 1)
        s = r.randint(1, 4)
        n = r.randint(1, 64)
        if n + 2 * p >= d * (k - 1) + 1:
            return dict(size=n, kernel_size=k, stride=s, padding=p, dilation=d)


def output_size(student_fn: Callable, n_cases: int = 200, seed: int | None = 0) -> None:
    """``student_fn(size, kernel_size, stride=1, padding=0, dilation=1)`` equals the reference."""
    r = rng(seed)
    cases = [((), _conv_case(r)) for _ in range(n_cases)]
    expect_equal(student_fn, analysis.conv_output_size, cases,
                 what="output = floor((N + 2P - D(K-1) - 1) / S) + 1")


def conv_params(student_fn: Callable, n_cases: int = 200, seed: int | None = 0) -> None:
    """``student_fn(in_channels, out_channels, kernel_size, bias=True)`` equals the reference."""
    r = rng(seed)
    cases = []
    for _ in range(n_cases):
        kwargs = dict(in_channels=r.randint(1, 512), out_channels=r.randint(1, 512),
                      kernel_size=r.choice([1, 3, 5, 7, 11]), bias=r.random() < 0.5)
        cases.append(((), kwargs))
    expect_equal(student_fn, analysis.conv_params, cases, what="C_out * C_in * K * K weights (+ C_out biases)")


def conv_macs(student_fn: Callable, n_cases: int = 200, seed: int | None = 0) -> None:
    """``student_fn(in_channels, out_channels, kernel_size, output_size)`` equals the reference."""
    r = rng(seed)
    cases = []
    for _ in range(n_cases):
        kwargs = dict(in_channels=r.randint(1, 512), out_channels=r.randint(1, 512),
                      kernel_size=r.choice([1, 3, 5, 7, 11]), output_size=r.randint(1, 112))
        cases.append(((), kwargs))
    expect_equal(student_fn, analysis.conv_macs, cases, what="C_out * H_out * W_out * C_in * K * K")


def receptive_field(student_fn: Callable, n_cases: int = 50, seed: int | None = 0) -> None:
    """``student_fn(layers, input_size)`` returns one ``(n, j, r, start)`` per layer, as the reference."""
    r = rng(seed)
    for _ in range(n_cases):
        size = r.randint(16, 256)
        layers, n = [], size
        for _ in range(r.randint(1, 6)):
            k, s = r.choice([(1, 1), (3, 1), (3, 2), (5, 1), (2, 2), (7, 2), (4, 2)])
            p = r.randint(0, k // 2)
            if n + 2 * p < k:
                break
            layers.append((k, s, p))
            n = (n + 2 * p - k) // s + 1
        if not layers:
            continue
        expected = [(row.n, row.jump, row.size, row.start) for row in analysis.receptive_field(layers, size)[1:]]
        got = call(student_fn, layers, size)
        text = describe_call("receptive_field", (layers, size))
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
                if abs(gv - ev) > 1e-9:
                    raise CheckFailed(f"{text}: after layer {i} {layers[i - 1]}, {label} = {gv!r}, expected {ev!r} "
                                      f"(all of layer {i}: got {g}, expected {e})")
