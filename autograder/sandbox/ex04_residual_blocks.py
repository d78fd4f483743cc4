"""Sandbox adapter of ex04_residual_blocks: builds the student's block, loads the judge's weights,
runs it in the judge's mode, and returns plain data. Runs on the untrusted side; decides nothing."""
from __future__ import annotations

from typing import Any

from autograder import codec

CLASS = {"basic": "BasicBlock", "bottleneck": "Bottleneck"}


def _block(ns: dict, case: dict) -> Any:
    cls = ns[CLASS[case["kind"]]]
    block = cls(case["inplanes"], case["planes"], case["stride"])
    result: dict = {"expansion": getattr(cls, "expansion", None),
                    "keys": {k: list(v.shape) for k, v in block.state_dict().items()}}
    if set(result["keys"]) != set(case["state"]):
        return result  # the judge explains the difference
    try:
        block.load_state_dict({k: codec.decode_tensor(v) for k, v in case["state"].items()})
        block.train(case["mode"] == "train")
        x = codec.decode_tensor(case["x"]).requires_grad_()
        out = block(x)
        result["output"] = out.detach()
        if case["mode"] == "train":
            (out * codec.decode_tensor(case["grad"])).sum().backward()
            result["running"] = {k: v for k, v in block.state_dict().items() if "running" in k}
            grads = {"x": x.grad, "conv1.weight": block.conv1.weight.grad}
            result["grads"] = {k: v for k, v in grads.items() if v is not None}
    except Exception as err:  # noqa: BLE001 - reported with the case by the judge
        result["error"] = f"{type(err).__name__}: {err}"
    return result


def basic_block(ns: dict, case: dict) -> Any:
    return _block(ns, case)


def bottleneck(ns: dict, case: dict) -> Any:
    return _block(ns, case)


def block_params(ns: dict, case: dict) -> Any:
    return ns["block_params"](case["kind"], case["inplanes"], case["planes"], case["stride"])


def design(ns: dict, case: dict) -> Any:
    return ns.get("DESIGN")
