"""Sandbox adapter of ex03_inception: builds the student's module, copies the judge's weights in,
runs it, and returns plain data. Runs on the untrusted side; decides nothing."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autograder import codec


def inception_block(ns: dict, case: dict) -> Any:
    block = ns["InceptionBlock"](*case["config"])
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    shapes = [list(c.weight.shape) for c in convs]
    wanted = [w[0]["shape"] for w in case["weights"]]
    biases = all(c.bias is not None for c in convs)
    if shapes == wanted and biases:
        with torch.no_grad():
            for conv, (w, b) in zip(convs, case["weights"]):
                conv.weight.copy_(codec.decode_tensor(w))
                conv.bias.copy_(codec.decode_tensor(b))
    block.eval()
    with torch.no_grad():
        out = block(codec.decode_tensor(case["x"]))
    return {"convs": shapes, "biases": biases, "params": sum(p.numel() for p in block.parameters()), "output": out}


def factorize(ns: dict, case: dict) -> Any:
    out = ns["factorize"](codec.decode_tensor(case["weight"]), case["mid_channels"])
    return list(out) if isinstance(out, tuple) else out


def design(ns: dict, case: dict) -> Any:
    return ns.get("DESIGN")
