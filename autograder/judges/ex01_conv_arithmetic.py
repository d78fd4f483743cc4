"""Judge of ex01_conv_arithmetic (trusted: runs only in the judge process, never in the sandbox).

Parts: output size (with dilation and ceil_mode), parameters and MACs of a convolution (groups,
rectangular kernels), receptive field of a stack, and the open-ended design with its predictions.
The references are ``cnnlab.analysis`` and PyTorch's own output-size rule for pooling.
"""
from __future__ import annotations

import math
from typing import Any

from autograder.judge import Part, Test

# --- references -------------------------------------------------------------------------------


def _output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                 ceil_mode: bool = False) -> int:
    """PyTorch's rule (aten pooling_output_shape): with ceil_mode the last window must start inside
    the input or the left padding."""
    span = dilation * (kernel_size - 1) + 1
    out = (size + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv_cost(case: dict) -> list[int]:
    from cnnlab import analysis

    kh, kw = _pair(case["kernel_size"])
    (h, w), (sh, sw), (ph, pw) = _pair(case["input_size"]), _pair(case["stride"]), _pair(case["padding"])
    d = case["dilation"]
    oh = analysis.conv_output_size(h, kh, sh, ph, d)
    ow = analysis.conv_output_size(w, kw, sw, pw, d)
    params = analysis.conv_params(case["in_channels"], case["out_channels"], (kh, kw), case["groups"], case["bias"])
    macs = analysis.conv_macs(case["in_channels"], case["out_channels"], (kh, kw), (oh, ow), case["groups"])
    return [params, macs]


def _receptive_field(case: dict) -> list[list[float]]:
    from cnnlab import analysis

    rows = analysis.receptive_field([tuple(layer) for layer in case["layers"]], case["input_size"])[1:]
    return [[r.n, r.jump, r.size, r.start] for r in rows]


# --- cases --------------------------------------------------------------------------------------


def _size_case(rng, ceil_mode: bool) -> dict:
    while True:
        k = int(rng.choice([1, 2, 3, 4, 5, 7, 11]))
        d = int(rng.choice([1, 1, 1, 2, 3]))
        s = int(rng.integers(1, 5))
        p = int(rng.integers(0, k // 2 + 1)) if ceil_mode else int(rng.integers(0, k))
        n = int(rng.integers(1, 65))
        if n + 2 * p >= d * (k - 1) + 1:
            return dict(size=n, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)


def _size_cases_visible(rng) -> list[dict]:
    fixed = [(227, 11, 4, 0, 1, False), (56, 3, 1, 1, 1, False), (7, 3, 1, 0, 2, False), (55, 3, 2, 0, 1, True),
             (6, 3, 2, 1, 1, False), (5, 2, 2, 0, 1, True), (6, 3, 2, 1, 1, True), (13, 3, 2, 0, 1, True)]
    keys = ("size", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
    return [dict(zip(keys, c)) for c in fixed]


def _size_cases_hidden(rng) -> list[dict]:
    return [_size_case(rng, bool(i % 2)) for i in range(200)]


def _cost_case(rng) -> dict:
    while True:
        g = int(rng.choice([1, 1, 1, 2, 4, 8]))
        c_in, c_out = g * int(rng.integers(1, 33)), g * int(rng.integers(1, 33))
        if rng.random() < 0.15:  # depthwise
            c_in = c_out = g = int(rng.integers(1, 65))
        k = [int(rng.choice([1, 3, 5, 7])), int(rng.choice([1, 3, 5, 7]))]
        kernel = k[0] if rng.random() < 0.6 else k
        size = int(rng.integers(4, 80))
        input_size = size if rng.random() < 0.6 else [size, int(rng.integers(4, 80))]
        stride = int(rng.integers(1, 4)) if rng.random() < 0.7 else [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        padding = int(rng.integers(0, 4)) if rng.random() < 0.7 else [int(rng.integers(0, 4)), int(rng.integers(0, 4))]
        case = dict(in_channels=c_in, out_channels=c_out, kernel_size=kernel, input_size=input_size, stride=stride,
                    padding=padding, dilation=int(rng.choice([1, 1, 2])), groups=g, bias=bool(rng.random() < 0.5))
        try:
            _conv_cost(case)
        except ValueError:  # empty output: draw again
            continue
        return case


def _cost_cases_visible(rng) -> list[dict]:
    base = dict(stride=1, padding=0, dilation=1, groups=1, bias=True)
    return [
        # AlexNet (Krizhevsky et al. 2012) conv1: 227×227×3 -> 55×55×96
        {**base, "in_channels": 3, "out_channels": 96, "kernel_size": 11, "input_size": 227, "stride": 4},
        # AlexNet conv2 as two groups (the two GPUs): 5×5, 96 -> 256 on 27×27
        {**base, "in_channels": 96, "out_channels": 256, "kernel_size": 5, "input_size": 27, "padding": 2, "groups": 2},
        # a depthwise 3×3 and a 1×7 on a non-square map, without bias
        {**base, "in_channels": 32, "out_channels": 32, "kernel_size": 3, "input_size": [20, 30], "padding": 1,
         "groups": 32, "bias": False},
        {**base, "in_channels": 16, "out_channels": 24, "kernel_size": [1, 7], "input_size": [17, 17],
         "padding": [0, 3], "bias": False},
    ]


def _rf_case(rng) -> dict:
    size = int(rng.integers(16, 257))
    layers, n = [], size
    for _ in range(int(rng.integers(1, 7))):
        k, s = [(1, 1), (3, 1), (3, 2), (5, 1), (2, 2), (7, 2), (4, 2)][int(rng.integers(0, 7))]
        d = int(rng.choice([1, 1, 1, 2, 3])) if k > 1 else 1
        p = int(rng.integers(0, (d * (k - 1)) // 2 + 1))
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            break
        layers.append([k, s, p] if d == 1 and rng.random() < 0.5 else [k, s, p, d])
        n = (n + 2 * p - span) // s + 1
    if not layers:
        layers = [[3, 1, 1]]
    return dict(layers=layers, input_size=size)


def _rf_cases_visible(rng) -> list[dict]:
    return [dict(layers=[[3, 2, 1], [3, 2, 1]], input_size=5),
            dict(layers=[[3, 1, 1]] * 3, input_size=32),
            dict(layers=[[11, 4, 0], [3, 2, 0], [5, 1, 2], [3, 2, 0]], input_size=227),  # AlexNet's first layers
            dict(layers=[[3, 1, 1, 1], [3, 1, 2, 2], [3, 1, 4, 4]], input_size=64)]     # dilations 1, 2, 4


# --- comparisons -------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _call_text(name: str, case: dict) -> str:
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in case.items()) + ")"


def _compare_size(case: dict, got: Any, expected: int) -> tuple[bool, str]:
    if not _is_int(got):
        return False, f"{_call_text('output_size', case)} returned {got!r}; expected an int ({expected})"
    if got != expected:
        return False, f"{_call_text('output_size', case)} returned {got}, expected {expected}"
    return True, ""


def _compare_cost(case: dict, got: Any, expected: list[int]) -> tuple[bool, str]:
    text = _call_text("conv_cost", case)
    if not isinstance(got, list) or len(got) != 2 or not all(_is_int(v) for v in got):
        return False, f"{text} returned {got!r}; expected a pair of ints (params, macs) = {tuple(expected)}"
    for label, g, e in zip(("params", "MACs"), got, expected):
        if g != e:
            return False, f"{text}: {label} = {g:,}, expected {e:,}"
    return True, ""


def _compare_rf(case: dict, got: Any, expected: list[list[float]]) -> tuple[bool, str]:
    text = f"receptive_field({case['layers']!r}, {case['input_size']})"
    if not isinstance(got, list) or not all(isinstance(row, list) and len(row) == 4 for row in got):
        return False, f"{text} returned {got!r}; expected a list of (n, j, r, start) tuples, one per layer"
    if len(got) != len(expected):
        return False, f"{text} returned {len(got)} rows, expected one per layer: {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected), start=1):
        for label, gv, ev in zip(("n", "j", "r", "start"), g, e):
            if isinstance(gv, bool) or not isinstance(gv, (int, float)) or not math.isclose(gv, ev, abs_tol=1e-9):
                return False, (f"{text}: after layer {i} {tuple(case['layers'][i - 1])}, {label} = {gv!r}, "
                               f"expected {ev!r} (the whole row: got {tuple(g)}, expected {tuple(e)})")
    return True, ""


# --- the open-ended part: a design and its predicted numbers ----------------------------------

INPUT = (3, 96, 96)        # the image the design works on
OUT_CHANNELS = 64          # ... and what it must produce: 64 channels of 3×3
OUT_SIZE = 3
MAX_PARAMS = 40_000
MAX_MACS = 3_000_000


def _build(design: Any):
    """The design as an nn.Sequential of Conv2d / MaxPool2d / AvgPool2d, or a message saying why not."""
    from torch import nn

    if not isinstance(design, list) or not design or len(design) > 30:
        return None, f"DESIGN must be a list of 1 to 30 layers, got {design!r:.200}"
    mods, c = [], INPUT[0]
    for i, layer in enumerate(design, start=1):
        ok = isinstance(layer, list) and layer and layer[0] in ("conv", "maxpool", "avgpool") \
            and all(_is_int(v) for v in layer[1:])
        if ok and layer[0] == "conv" and 5 <= len(layer) <= 7:
            out, k, s, p, *rest = layer[1:]
            d, g = (rest + [1, 1])[:2]
            if min(out, k, s, d, g) < 1 or p < 0 or c % g or out % g or out > 1024 or k > 15:
                return None, f"layer {i} {tuple(layer)}: invalid convolution (channels {c} -> {out}, groups {g})"
            mods.append(nn.Conv2d(c, out, k, s, p, dilation=d, groups=g, bias=True))
            c = out
        elif ok and layer[0] != "conv" and len(layer) in (3, 4):
            k, s, p = (layer[1:] + [0])[:3]
            if k < 1 or s < 1 or not 0 <= p <= k // 2:
                return None, f"layer {i} {tuple(layer)}: invalid pooling (padding at most kernel // 2)"
            mods.append((nn.MaxPool2d if layer[0] == "maxpool" else nn.AvgPool2d)(k, s, p))
        else:
            return None, (f"layer {i} is {layer!r}: expected ('conv', out_channels, kernel, stride, padding"
                          "[, dilation[, groups]]) or ('maxpool' | 'avgpool', kernel, stride[, padding])")
    return nn.Sequential(*mods), ""


def measure(design: Any) -> dict | str:
    """What the judge measures on a design: output shape, receptive field, params, MACs (or a message)."""
    import torch
    from cnnlab import analysis

    model, why = _build(design)
    if model is None:
        return why
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, *INPUT))
        rf = analysis.receptive_field(model, INPUT[1])[-1].size
        macs = analysis.count_macs(model, (1, *INPUT))
    except Exception as err:  # noqa: BLE001 - an empty map, a kernel larger than the input, ...
        return f"the design does not run on a {INPUT[1]}×{INPUT[2]} image: {type(err).__name__}: {err}"
    return dict(output_shape=list(out.shape[1:]), receptive_field=rf, params=analysis.count_params(model), macs=macs)


def _design_cases(rng) -> list[dict]:
    return [dict(check=c) for c in ("output_shape", "receptive_field", "params", "macs")]


def _compare_design(case: dict, got: Any, expected: None) -> tuple[bool, str]:
    m = measure(got.get("design") if isinstance(got, dict) else None)
    if isinstance(m, str):
        return False, m
    check = case["check"]
    if check == "output_shape":
        want = [OUT_CHANNELS, OUT_SIZE, OUT_SIZE]
        return m["output_shape"] == want, f"your design outputs {tuple(m['output_shape'])}, required {tuple(want)}"
    if check == "receptive_field":
        return m["receptive_field"] >= INPUT[1], (f"each output sees {m['receptive_field']} pixels along an axis; "
                                                  f"required at least {INPUT[1]} (the whole image)")
    limit = MAX_PARAMS if check == "params" else MAX_MACS
    return m[check] <= limit, f"your design has {m[check]:,} {check.replace('macs', 'MACs')}, the budget is {limit:,}"


def _prediction_cases(rng) -> list[dict]:
    return [dict(check=c) for c in ("receptive_field", "params", "macs")]


def _compare_prediction(case: dict, got: Any, expected: None) -> tuple[bool, str]:
    m = measure(got.get("design") if isinstance(got, dict) else None)
    if isinstance(m, str):
        return False, f"no prediction can be checked: {m}"
    pred = got.get("prediction")
    key = case["check"]
    if not isinstance(pred, dict) or key not in pred:
        return False, f"PREDICTION must be a dict with the key {key!r}, got {pred!r:.200}"
    value = pred[key]
    ok = _is_int(value) and value == m[key]
    return ok, f"PREDICTION[{key!r}] = {value!r}, but the judge measured {m[key]:,} on your design"


PARTS = {
    "output_size": Part(answer_cells=("output_size",),
                        forbidden=("cnnlab", "analysis", "torch", "nn", "F", "conv_output_size"),
                        reference=lambda case: _output_size(**case), compare=_compare_size),
    "conv_cost": Part(answer_cells=("conv_cost",),
                      forbidden=("cnnlab", "analysis", "torch", "nn", "count_params", "count_macs", "conv_params",
                                 "conv_macs"),
                      reference=_conv_cost, compare=_compare_cost),
    "receptive_field": Part(answer_cells=("receptive_field",), forbidden=("cnnlab", "analysis", "torch", "nn"),
                            reference=_receptive_field, compare=_compare_rf),
    "design": Part(answer_cells=("design",), forbidden=("cnnlab", "analysis", "torch", "nn", "count_params",
                                                        "count_macs"),
                   reference=None, compare=_compare_design),
    "prediction": Part(answer_cells=("design",), forbidden=("cnnlab", "analysis", "torch", "nn", "count_params",
                                                            "count_macs"),
                       reference=None, compare=_compare_prediction),
}

TESTS = {
    "output_size_visible": Test(part="output_size", cases=_size_cases_visible, hidden=False),
    "output_size_hidden": Test(part="output_size", cases=_size_cases_hidden, hidden=True),
    "conv_cost_visible": Test(part="conv_cost", cases=_cost_cases_visible, hidden=False),
    "conv_cost_hidden": Test(part="conv_cost", cases=lambda rng: [_cost_case(rng) for _ in range(150)], hidden=True),
    "receptive_field_visible": Test(part="receptive_field", cases=_rf_cases_visible, hidden=False),
    "receptive_field_hidden": Test(part="receptive_field", cases=lambda rng: [_rf_case(rng) for _ in range(100)],
                                   hidden=True),
    "design_visible": Test(part="design", cases=_design_cases, hidden=False, partial=True),
    "prediction_hidden": Test(part="prediction", cases=_prediction_cases, hidden=True, partial=True),
}
