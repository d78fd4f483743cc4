"""Sandbox adapter of ex02_alexnet_units: decodes the judge's inputs, calls the student's functions and
returns their outputs as plain data. Runs on the untrusted side; decides nothing."""
from __future__ import annotations

from typing import Any

import torch

from autograder import codec


def lrn_backward(ns: dict, case: dict) -> Any:
    x, g = codec.decode_tensor(case["x"]), codec.decode_tensor(case["grad_output"])
    return ns["lrn_backward"](x, g, size=case["size"], alpha=case["alpha"], beta=case["beta"], k=case["k"])


def dropout(ns: dict, case: dict) -> Any:
    # the same input as the judge builds (autograder/judges/ex02_alexnet_units.py: input_for)
    gen = torch.Generator().manual_seed(case["seed"])
    x = (torch.rand(*case["shape"], generator=gen, dtype=torch.float64) + 0.5).to(getattr(torch, case["dtype"]))
    fn = ns["dropout"]
    return [fn(x.clone(), case["p"], case["training"], channelwise=case["channelwise"]) for _ in range(2)]


def max_pool2d(ns: dict, case: dict) -> Any:
    x = codec.decode_tensor(case["x"])
    out = ns["max_pool2d"](x, case["kernel_size"], case["stride"], case["padding"])
    return list(out) if isinstance(out, tuple) else out


def design(ns: dict, case: dict) -> Any:
    return ns.get("DESIGN")
