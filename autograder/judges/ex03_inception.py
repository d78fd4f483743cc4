"""Judge of ex03_inception (trusted: runs only in the judge process, never in the sandbox).

Parts: GoogLeNet's Inception module with dimension reductions (weights sent by the judge, outputs
compared with the judge's own module), the best factorisation of an n×n convolution into a 1×n and
an n×1 convolution (scored against the optimum that the singular value decomposition gives), and the
open-ended part: an Inception network, given as a spec, that the judge trains under a
parameter/MAC budget and scores on held-out images.
"""
from __future__ import annotations

from typing import Any

from autograder.codec import answer_tensor as _as_tensor, decode_tensor as _decode, encode_tensor as _encode
from autograder.judge import Part, Test, open_ended_compare


def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


# --- Part 1: the Inception module ----------------------------------------------------------------

NAMES = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")


def _conv_shapes(cfg: list[int]) -> list[list[int]]:
    """Weight shapes of the six convolutions in the order the module is built (branch 1 to 4)."""
    c_in, c1, c3r, c3, c5r, c5, cp = cfg
    return [[c1, c_in, 1, 1], [c3r, c_in, 1, 1], [c3, c3r, 3, 3], [c5r, c_in, 1, 1], [c5, c5r, 5, 5],
            [cp, c_in, 1, 1]]


def _inception_case(rng, cfg=None, shape=None, mode="outputs") -> dict:
    import torch

    cfg = cfg or [int(v) for v in rng.integers(1, 9, size=7)]
    shape = shape or [int(rng.integers(1, 3)), cfg[0], int(rng.integers(1, 8)), int(rng.integers(1, 8))]
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    weights = []
    for w_shape in _conv_shapes(cfg):
        fan_in = w_shape[1] * w_shape[2] * w_shape[3]
        weights.append([_encode(torch.randn(*w_shape, generator=g) / fan_in ** 0.5),
                        _encode(0.1 * torch.randn(w_shape[0], generator=g))])
    return dict(config=cfg, x=_encode(torch.randn(*shape, generator=g)), weights=weights, mode=mode)


def _inception_shape_cases(rng) -> list[dict]:
    # inception (3a) of GoogLeNet (Szegedy et al. 2015, Table 1) on a small map, then random widths
    # structure only: convolutions, biases, parameters, output shape
    return [_inception_case(rng, [192, 64, 96, 128, 16, 32, 32], [1, 192, 4, 4], mode="structure")] + \
        [_inception_case(rng, mode="structure") for _ in range(3)]


def _inception_output_cases(rng) -> list[dict]:
    return [_inception_case(rng, [4, 2, 3, 5, 2, 3, 2], [2, 4, 6, 6]), _inception_case(rng, [3, 1, 1, 1, 1, 1, 1], [1, 3, 5, 3])]


def _inception_reference(case: dict) -> dict:
    import torch

    from autograder.checks._specnet import _Inception

    block = _Inception(*case["config"])
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for conv, (w, b) in zip(convs, case["weights"]):
            conv.weight.copy_(_decode(w))
            conv.bias.copy_(_decode(b))
        out = block(_decode(case["x"]))
    return dict(convs=_conv_shapes(case["config"]), params=sum(p.numel() for p in block.parameters()),
                output=_encode(out))


def _inception_compare(case: dict, got: Any, expected: dict) -> tuple[bool, str]:
    import torch

    cfg = case["config"]
    text = f"InceptionBlock({', '.join(map(str, cfg))}) on x of shape {_shape_text(case['x']['shape'])}"
    if not isinstance(got, dict) or "convs" not in got:
        return False, f"{text}: the grader could not build or run your module ({str(got)[:120]})"
    if got["convs"] != expected["convs"]:
        return False, (f"{text}: its convolutions (in the order modules() lists them) have weight shapes "
                       f"{got['convs']}, expected {expected['convs']} — branch 1, then branch 2, 3, 4, each in the "
                       "order its layers are applied")
    if got.get("biases") is not True:
        return False, f"{text}: every convolution needs a bias, as in the 2014 paper"
    if got.get("params") != expected["params"]:
        return False, (f"{text} has {got.get('params')} parameters, expected {expected['params']} (the six "
                       "convolutions with biases, nothing else)")
    out = _decode(expected["output"])
    mine, problem = _as_tensor(got.get("output"), text, out.shape)
    if mine is None:
        return False, problem
    if case.get("mode") == "structure":
        return True, ""
    if not torch.allclose(mine, out, rtol=1e-4, atol=1e-5):
        diff = (mine - out).abs()
        channel = int(diff.amax(dim=(0, 2, 3)).argmax())
        bounds = torch.tensor([cfg[1], cfg[3], cfg[5], cfg[6]]).cumsum(0)
        branch = int((bounds <= channel).sum()) + 1
        return False, (f"{text}: with the grader's weights copied in, output channel {channel} (branch {branch}) "
                       f"differs by up to {diff.max().item():.3g}; check the order of that branch's layers, its "
                       "padding and its ReLUs")
    return True, ""


# --- Part 2: the best factorised convolution -----------------------------------------------------


def _matrix(kernel):
    """The n×n kernel (C_out, C_in, n, n) as the (C_out·n) × (C_in·n) matrix whose rank-m
    factorisations are exactly the compositions of m-channel 1×n and n×1 convolutions."""
    c_out, c_in, n, _ = kernel.shape
    return kernel.permute(0, 2, 1, 3).reshape(c_out * n, c_in * n)


def compose(first, second):
    """The n×n kernel of ``first`` (m, C_in, 1, n) followed by ``second`` (C_out, m, n, 1)."""
    import torch

    return torch.einsum("omh,miw->oihw", second[:, :, :, 0], first[:, :, 0, :])


def _factor_case(rng, c_out=None, c_in=None, n=None, mid=None, rank=None) -> dict:
    import torch

    c_out, c_in = c_out or int(rng.integers(1, 7)), c_in or int(rng.integers(1, 7))
    n = n or int(rng.integers(2, 8))
    mid = mid or int(rng.integers(1, min(c_out, c_in) * n + 1))
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    if rank is None:
        kernel = torch.randn(c_out, c_in, n, n, generator=g, dtype=torch.float64)
    else:  # exactly representable with `rank` middle channels
        kernel = compose(torch.randn(rank, c_in, 1, n, generator=g, dtype=torch.float64),
                         torch.randn(c_out, rank, n, 1, generator=g, dtype=torch.float64))
    return dict(weight=_encode(kernel), mid_channels=mid)


def _factor_visible(rng) -> list[dict]:
    return [_factor_case(rng, 1, 1, 3, 1, rank=1), _factor_case(rng, 4, 3, 5, 2, rank=2),
            _factor_case(rng, 3, 2, 3, 1), _factor_case(rng, 4, 4, 3, 6)]


def _factor_reference(case: dict) -> float:
    import torch

    kernel = _decode(case["weight"])
    s = torch.linalg.svdvals(_matrix(kernel))
    return float(s[case["mid_channels"]:].pow(2).sum().sqrt())  # Eckart-Young: the optimal error


def _factor_compare(case: dict, got: Any, best: float) -> tuple[bool, str]:
    kernel = _decode(case["weight"])
    c_out, c_in, n, _ = kernel.shape
    m = case["mid_channels"]
    text = f"factorize(weight of shape {_shape_text(kernel.shape)}, mid_channels={m})"
    if not isinstance(got, list) or len(got) != 2:
        return False, f"{text} must return a pair (first, second), got {str(got)[:80]}"
    try:
        first, second = _decode(got[0]).double(), _decode(got[1]).double()
    except Exception:  # noqa: BLE001
        return False, f"{text} must return two tensors"
    for label, t, want in (("first", first, (m, c_in, 1, n)), ("second", second, (c_out, m, n, 1))):
        if tuple(t.shape) != want:
            return False, f"{text}: {label} has shape {tuple(t.shape)}, expected {want}"
    err = float((compose(first, second) - kernel).norm())
    scale = float(kernel.norm())
    if err <= best * (1 + 1e-4) + 1e-6 * scale:
        return True, ""
    return False, (f"{text}: the composed kernel is {err:.6g} away from the weight (Frobenius norm); the best "
                   f"possible with {m} middle channels is {best:.6g}")


# --- Part 3: the open-ended design ----------------------------------------------------------------

from autograder.checks.ex03_inception import TASK  # noqa: E402  (the instructor's installed copy, never a submission's)


# the first test only checks, the other trains; each distinct answer once per process (cached)
_design_compare = open_ended_compare(lambda spec, check: TASK.verdict(spec, check, split_seed=1), "DESIGN")


REFERENCE_MODELS = ("cnnlab", "googlenet", "Inception", "InceptionA", "BasicConv2d", "torchvision", "timm")

PARTS = {
    "inception_block": Part(answer_cells=("inception_block",), reference=_inception_reference,
                            compare=_inception_compare, forbidden=REFERENCE_MODELS),
    "factorize": Part(answer_cells=("factorize",), reference=_factor_reference, compare=_factor_compare,
                      forbidden=REFERENCE_MODELS),
    "design": Part(answer_cells=("design",), reference=None, compare=_design_compare),
}

TESTS = {
    "inception_shape_visible": Test(part="inception_block", cases=_inception_shape_cases, hidden=False),
    "inception_outputs_visible": Test(part="inception_block", cases=_inception_output_cases, hidden=False),
    "inception_hidden": Test(part="inception_block", cases=lambda rng: [_inception_case(rng) for _ in range(15)],
                             hidden=True),
    "factorize_visible": Test(part="factorize", cases=_factor_visible, hidden=False),
    "factorize_hidden": Test(part="factorize", cases=lambda rng: [_factor_case(rng) for _ in range(30)], hidden=True),
    "design_visible": Test(part="design", cases=lambda rng: [dict(check="budget")], hidden=False),
    "design_hidden": Test(part="design", cases=lambda rng: [dict(check="accuracy")], hidden=True),
}
