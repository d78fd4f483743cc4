"""Judge of ex02_alexnet_units (trusted: runs only in the judge process, never in the sandbox).

Parts: the backward pass of local response normalisation (checked against autograd through
``cnnlab.scratch.local_response_norm``), dropout with an element-wise and a channel-wise mode
(checked by its properties on the student's outputs), max pooling with padding that also returns
the argmax "switches" (against ``F.max_pool2d(return_indices=True)``), and the open-ended part: a
small AlexNet-style network, given as a spec, that the judge trains and scores on held-out digits.
"""
from __future__ import annotations

import math
from typing import Any

from autograder.codec import answer_tensor as _as_tensor, decode_tensor as _decode, encode_tensor as _encode
from autograder.judge import Part, Test, open_ended_compare

# --- shared -------------------------------------------------------------------------------------


def _worst(got, expected) -> str:
    import torch

    diff = (got.double() - expected.double()).abs()
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    return f"at index {index}: got {got[index].item():.6g}, expected {expected[index].item():.6g}"


def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


# --- Part 1: LRN backward -------------------------------------------------------------------------


def _lrn_case(rng, shape=None, size=None) -> dict:
    import torch

    shape = shape or [int(rng.integers(1, 3)), int(rng.integers(1, 13)), int(rng.integers(1, 5)), int(rng.integers(1, 5))]
    size = size or int(rng.integers(1, 9))
    alpha = float(rng.choice([1e-4, 1e-3, 1e-2, 0.1]) * rng.uniform(0.5, 2))
    beta, k = float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.5, 3))
    scale = math.sqrt(k / alpha / size) * float(rng.uniform(0.5, 2))  # alpha * sum of squares ~ k
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    x = scale * torch.randn(*shape, generator=g, dtype=torch.float64)
    grad = torch.randn(*shape, generator=g, dtype=torch.float64)
    return dict(x=_encode(x), grad_output=_encode(grad), size=size, alpha=alpha, beta=beta, k=k)


def _lrn_visible(rng) -> list[dict]:
    # odd window sizes only, as in the notebook's visible test; the hidden tests draw even ones too
    return [_lrn_case(rng, [1, 3, 1, 1], 3), _lrn_case(rng, [2, 8, 3, 3], 5), _lrn_case(rng, [1, 6, 2, 2], 1),
            _lrn_case(rng, [1, 2, 2, 1], 7), _lrn_case(rng, [1, 12, 2, 3], 3)]


def _lrn_reference(case: dict):
    import torch

    from cnnlab.scratch import local_response_norm

    x = _decode(case["x"]).clone().requires_grad_(True)
    y = local_response_norm(x, case["size"], case["alpha"], case["beta"], case["k"])
    (grad,) = torch.autograd.grad(y, x, _decode(case["grad_output"]))
    return _encode(grad)


def _lrn_text(case: dict) -> str:
    shape = _shape_text(case["x"]["shape"])
    return (f"lrn_backward(x, grad_output, size={case['size']}, alpha={case['alpha']:.3g}, beta={case['beta']:.3g}, "
            f"k={case['k']:.3g}) on x of shape {shape}")


def _lrn_compare(case: dict, got: Any, expected: dict) -> tuple[bool, str]:
    import torch

    exp = _decode(expected)
    text = _lrn_text(case)
    t, why = _as_tensor(got, text, exp.shape, exp.dtype)
    if t is None:
        return False, why
    if torch.allclose(t, exp, rtol=1e-6, atol=1e-9 * exp.abs().max().item() + 1e-12):
        return True, ""
    hint = ""
    x, g = _decode(case["x"]), _decode(case["grad_output"])
    from cnnlab.scratch import local_response_norm

    y = local_response_norm(x, case["size"], case["alpha"], case["beta"], case["k"])
    direct = g * y / x.where(x != 0, torch.ones_like(x))  # g / D^beta: only the diagonal term
    if torch.allclose(t, direct, rtol=1e-6, atol=1e-12):
        hint = (" -- you seem to keep only the term of a_i in its own output; every a_j in the window of i "
                "also enters b_i through the sum")
    return False, f"{text}: wrong gradient, {_worst(t, exp)}{hint}"


# --- Part 2: dropout ------------------------------------------------------------------------------


def _dropout_case(rng, p=None, training=True, channelwise=False, shape=None, dtype=None) -> dict:
    shape = shape or [int(rng.integers(2, 9)), int(rng.integers(4, 17)), int(rng.integers(2, 9)), int(rng.integers(2, 9))]
    p = float(rng.choice([0.1, 0.2, 0.5, 0.7, 0.9])) if p is None else p
    dtype = dtype or str(rng.choice(["float32", "float64"]))
    return dict(shape=shape, p=p, training=training, channelwise=channelwise, dtype=dtype,
                seed=int(rng.integers(2**31)))


def input_for(case: dict):
    """The input of a dropout case, the same on both sides: uniform in [0.5, 1.5), no zeros."""
    import torch

    g = torch.Generator().manual_seed(case["seed"])
    return (torch.rand(*case["shape"], generator=g, dtype=torch.float64) + 0.5).to(getattr(torch, case["dtype"]))


def _dropout_eval_cases(rng) -> list[dict]:
    return [_dropout_case(rng, p, False, cw) for p in (0.0, 0.5, 0.9) for cw in (False, True)]


def _dropout_train_cases(rng) -> list[dict]:
    return [_dropout_case(rng, 0.5, shape=[8, 64, 8, 8]), _dropout_case(rng, 0.2, shape=[8, 64, 8, 8]),
            _dropout_case(rng, 0.0), _dropout_case(rng, 0.5, channelwise=True, shape=[16, 64, 4, 4])]


def _dropout_hidden_cases(rng) -> list[dict]:
    cases = [_dropout_case(rng, channelwise=bool(i % 2), shape=[16, 32, int(rng.integers(2, 6)), 4]) for i in range(6)]
    return cases + [_dropout_case(rng, training=False, channelwise=bool(rng.integers(2))),
                    _dropout_case(rng, p=0.0, channelwise=True)]


def _dropout_compare(case: dict, got: Any, expected: None) -> tuple[bool, str]:
    import torch

    x = input_for(case)
    text = (f"dropout(x, p={case['p']}, training={case['training']}, channelwise={case['channelwise']}) on x of "
            f"shape {_shape_text(case['shape'])}, {case['dtype']}")
    if not isinstance(got, list) or len(got) != 2:
        return False, f"{text}: the grader expected two outputs (two calls), got {str(got)[:80]}"
    outs = []
    for out in got:
        t, why = _as_tensor(out, text, x.shape, x.dtype)
        if t is None:
            return False, why
        outs.append(t)
    p = case["p"]
    if not case["training"] or p == 0:
        for t in outs:
            if not torch.equal(t, x):
                mode = "in evaluation mode" if not case["training"] else "with p = 0"
                return False, f"{text}: {mode} dropout must return its input unchanged; {_worst(t, x)}"
        return True, ""
    for t in outs:
        kept = t != 0
        if not torch.allclose(t[kept], x[kept] / (1 - p), rtol=1e-5, atol=0):
            ratio = (t[kept] / x[kept]).double().mean().item()
            return False, (f"{text}: the kept elements must be x / (1 - p) = x * {1 / (1 - p):.4g}, but on average "
                           f"they are x * {ratio:.4g}")
        units = kept.flatten(2).float().mean(2) if case["channelwise"] else kept.float()  # (N, C) or all
        if case["channelwise"] and not ((units == 0) | (units == 1)).all():
            return False, f"{text}: with channelwise=True each channel of each sample is kept or dropped as a whole"
        if not case["channelwise"] and kept.shape[2] * kept.shape[3] >= 8 and p >= 0.1:
            per_channel = kept.flatten(2).float().mean(2)
            if ((per_channel == 0) | (per_channel == 1)).all():
                return False, f"{text}: whole channels were dropped; with channelwise=False each element is dropped on its own"
        zeroed = 1 - units.double().mean().item()
        bound = max(0.01, 20 * math.sqrt(p * (1 - p) / units.numel()))  # 20 standard deviations
        if abs(zeroed - p) > bound:
            what = "channels" if case["channelwise"] else "elements"
            return False, f"{text}: {zeroed:.1%} of the {what} were zeroed, expected about p = {p:.0%}"
    if torch.equal(outs[0] != 0, outs[1] != 0):
        return False, f"{text}: two calls dropped exactly the same {'channels' if case['channelwise'] else 'elements'}; draw a fresh mask at every call"
    return True, ""


# --- Part 3: max pooling with switches ------------------------------------------------------------


def _pool_case(rng, shape=None, kernel_size=None, stride=None, padding=None) -> dict:
    import torch

    k = kernel_size or int(rng.integers(1, 6))
    s = stride or int(rng.integers(1, 5))
    p = int(rng.integers(0, k // 2 + 1)) if padding is None else padding
    shape = shape or [int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(max(1, k - 2 * p), 15)),
                      int(rng.integers(max(1, k - 2 * p), 15))]
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    return dict(x=_encode(torch.randn(*shape, generator=g)), kernel_size=k, stride=s, padding=p)


def _pool_visible(rng) -> list[dict]:
    return [_pool_case(rng, [1, 2, 13, 13], 3, 2, 0), _pool_case(rng, [2, 3, 8, 8], 2, 2, 0),
            _pool_case(rng, [1, 2, 9, 7], 3, 2, 1), _pool_case(rng, [1, 1, 6, 11], 3, 1, 1)]


def _pool_reference(case: dict) -> list[dict]:
    import torch.nn.functional as F

    out, idx = F.max_pool2d(_decode(case["x"]), case["kernel_size"], case["stride"], case["padding"],
                            return_indices=True)
    return [_encode(out), _encode(idx)]


def _pool_compare(case: dict, got: Any, expected: list[dict]) -> tuple[bool, str]:
    import torch

    out, idx = _decode(expected[0]), _decode(expected[1])
    text = (f"max_pool2d(x, kernel_size={case['kernel_size']}, stride={case['stride']}, padding={case['padding']}) "
            f"on x of shape {_shape_text(case['x']['shape'])}")
    if not isinstance(got, list) or len(got) != 2:
        return False, f"{text} must return a pair (output, indices), got {str(got)[:80]}"
    t, why = _as_tensor(got[0], text + " (output)", out.shape, out.dtype)
    if t is None:
        return False, why
    if not torch.equal(t, out):
        return False, f"{text}: wrong maxima, {_worst(t, out)}"
    i, why = _as_tensor(got[1], text + " (indices)", idx.shape, idx.dtype)
    if i is None:
        return False, why
    if not torch.equal(i, idx):
        return False, (f"{text}: wrong indices, {_worst(i, idx)} (each index is the position h * W + w of the "
                       "maximum in its unpadded input channel)")
    return True, ""


# --- Part 4: the open-ended design ----------------------------------------------------------------

from autograder.checks.ex02_alexnet_units import TASK  # noqa: E402  (the instructor's installed copy, never a submission's)


# the first test only checks, the other trains; each distinct answer once per process (cached)
_design_compare = open_ended_compare(lambda spec, check: TASK.verdict(spec, check, split_seed=1), "DESIGN")


PARTS = {
    "lrn_backward": Part(
        answer_cells=("lrn_backward",), reference=_lrn_reference, compare=_lrn_compare,
        forbidden=("backward", "autograd", "grad", "requires_grad", "requires_grad_", "enable_grad", "vjp", "jvp",
                   "jacobian", "torch.func", "functorch", "F.local_response_norm", "LocalResponseNorm",
                   "ScratchLRN", "scratch")),
    "dropout": Part(
        answer_cells=("dropout",), reference=None, compare=_dropout_compare,
        forbidden=("F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout",
                   "F.feature_alpha_dropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                   "FeatureAlphaDropout", "torch.dropout", "torch.feature_dropout", "_VF", "ScratchDropout",
                   "scratch")),
    "max_pool2d": Part(
        answer_cells=("max_pool2d",), reference=_pool_reference, compare=_pool_compare,
        forbidden=("F.max_pool2d", "F.max_pool1d", "F.max_pool3d", "F.max_pool2d_with_indices",
                   "F.adaptive_max_pool2d", "F.fractional_max_pool2d", "F.max_unpool2d", "F.lp_pool2d",
                   "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool2d", "FractionalMaxPool2d",
                   "MaxUnpool2d", "LPPool2d", "torch.max_pool2d", "torch.max_pool1d_with_indices",
                   "ScratchMaxPool2d", "scratch", "_VF")),
    "design": Part(answer_cells=("design",), reference=None, compare=_design_compare),
}

TESTS = {
    "lrn_backward_visible": Test(part="lrn_backward", cases=_lrn_visible, hidden=False),
    "lrn_backward_hidden": Test(part="lrn_backward", cases=lambda rng: [_lrn_case(rng) for _ in range(30)],
                                hidden=True),
    "dropout_eval_visible": Test(part="dropout", cases=_dropout_eval_cases, hidden=False),
    "dropout_train_visible": Test(part="dropout", cases=_dropout_train_cases, hidden=False),
    "dropout_hidden": Test(part="dropout", cases=_dropout_hidden_cases, hidden=True),
    "max_pool_visible": Test(part="max_pool2d", cases=_pool_visible, hidden=False),
    "max_pool_hidden": Test(part="max_pool2d", cases=lambda rng: [_pool_case(rng) for _ in range(40)], hidden=True),
    "design_visible": Test(part="design", cases=lambda rng: [dict(check="budget")], hidden=False),
    "design_hidden": Test(part="design", cases=lambda rng: [dict(check="accuracy")], hidden=True),
}
