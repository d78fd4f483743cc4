"""Sandbox adapter of ex01_conv_arithmetic: calls the student's functions with the judge's cases and
returns what they return, as plain data. Runs on the untrusted side; decides nothing."""
from __future__ import annotations

from typing import Any


def _plain(value: Any) -> Any:
    """Tuples become lists, recursively (JSON has no tuples); everything else is left to the codec."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _pair(v):
    return tuple(v) if isinstance(v, list) else v


def output_size(ns: dict, case: dict) -> Any:
    return ns["output_size"](**case)


def conv_cost(ns: dict, case: dict) -> Any:
    args = {k: _pair(v) for k, v in case.items()}
    return _plain(ns["conv_cost"](**args))


def receptive_field(ns: dict, case: dict) -> Any:
    layers = [tuple(layer) for layer in case["layers"]]
    return _plain(ns["receptive_field"](layers, case["input_size"]))


def design(ns: dict, case: dict) -> Any:
    return {"design": _plain(ns.get("DESIGN")), "prediction": _plain(ns.get("PREDICTION"))}


prediction = design
