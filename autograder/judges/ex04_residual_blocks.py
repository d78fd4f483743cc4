"""Judge of ex04_residual_blocks (trusted: runs only in the judge process, never in the sandbox).

Parts: ResNet's basic block and bottleneck with torchvision's layout (He et al. 2016, Fig. 2 and 5):
the judge draws the block's widths and stride, random weights and BatchNorm statistics, an input and
the mode (train or eval); the sandbox loads those weights into the student's block and sends back its
output (in training also the updated running statistics and the gradients for a weighting of the
output the judge chose); the judge compares with ``cnnlab.models.resnet``'s block holding the same
weights. The parameter count of a block by formula, against the judge's built block on fresh
cases. The open-ended part: a deep network, given as a spec, that the judge trains under a
parameter/MAC budget and scores on held-out images.
"""
from __future__ import annotations

from typing import Any

from autograder.codec import answer_tensor as _as_tensor, decode_tensor as _decode, encode_tensor as _encode
from autograder.judge import Part, Test, open_ended_compare

KINDS = ("basic", "bottleneck")
EXPANSION = {"basic": 1, "bottleneck": 4}
CLASS = {"basic": "BasicBlock", "bottleneck": "Bottleneck"}


def reference_block(kind: str, inplanes: int, planes: int, stride: int):
    """cnnlab's block with the projection shortcut (1×1 conv + BN) where the shape changes, as
    ``ResNet._make_layer`` (and torchvision's) builds it."""
    from torch import nn

    from cnnlab.models.resnet import BasicBlock, Bottleneck

    out = planes * EXPANSION[kind]
    downsample = None
    if stride != 1 or inplanes != out:
        downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    return (BasicBlock if kind == "basic" else Bottleneck)(inplanes, planes, stride, downsample)


# --- Parts 1 and 2: the blocks ----------------------------------------------------------------------


def _block_case(rng, kind: str, inplanes: int | None = None, planes: int | None = None, stride: int | None = None,
                mode: str | None = None, size: int | None = None) -> dict:
    import torch

    from autograder.checks.ex04_residual_blocks import random_state

    e = EXPANSION[kind]
    planes = planes or int(rng.integers(1, 7))
    inplanes = inplanes or int(rng.integers(1, 13))
    stride = stride or int(rng.integers(1, 3))
    mode = mode or str(rng.choice(["train", "eval"]))
    size = size or int(rng.integers(3, 10))
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    shapes = {k: tuple(v.shape) for k, v in reference_block(kind, inplanes, planes, stride).state_dict().items()}
    state = random_state(shapes, g)
    x = torch.randn(2, inplanes, size, size, generator=g)
    out_size = (size - 1) // stride + 1
    grad = torch.randn(2, planes * e, out_size, out_size, generator=g)
    return dict(kind=kind, inplanes=inplanes, planes=planes, stride=stride, mode=mode, x=_encode(x),
                state={k: _encode(v) for k, v in state.items()}, grad=_encode(grad))


def _grid(rng, kind: str, extra: int) -> list[dict]:
    """Every kind of shortcut in both modes (stride 1 or 2; the width kept or changed), then random
    cases: a submission that handles only some of them fails on every run, whatever the draw."""
    e = EXPANSION[kind]
    cases = []
    for stride in (1, 2):
        for same in (True, False):
            for mode in ("train", "eval"):
                planes = int(rng.integers(1, 7))
                inplanes = planes * e if same else int(rng.choice([c for c in range(1, 13) if c != planes * e]))
                cases.append(_block_case(rng, kind, inplanes, planes, stride, mode))
    return cases + [_block_case(rng, kind) for _ in range(extra)]


def _basic_visible(rng) -> list[dict]:
    # the identity shortcut (conv2_x of ResNet-18/34 on a small map), then a stride-2 block that
    # doubles the width (conv3_1): in eval mode and in training
    return [_block_case(rng, "basic", 8, 8, 1, "eval", 6), _block_case(rng, "basic", 8, 8, 1, "train", 5),
            _block_case(rng, "basic", 8, 16, 2, "eval", 8), _block_case(rng, "basic", 8, 16, 2, "train", 7)]


def _bottleneck_visible(rng) -> list[dict]:
    # scaled down from ResNet-50: conv2_1 (64 -> 256 channels at stride 1, a projection), an identity block
    # (256 -> 256) and conv3_1, which opens a stage at stride 2 (256 -> 512)
    return [_block_case(rng, "bottleneck", 4, 4, 1, "eval", 5), _block_case(rng, "bottleneck", 16, 4, 1, "train", 6),
            _block_case(rng, "bottleneck", 16, 8, 2, "eval", 8), _block_case(rng, "bottleneck", 16, 8, 2, "train", 7)]


def _block_reference(case: dict) -> dict:
    block = reference_block(case["kind"], case["inplanes"], case["planes"], case["stride"])
    block.load_state_dict({k: _decode(v) for k, v in case["state"].items()})
    block.train(case["mode"] == "train")
    x = _decode(case["x"]).requires_grad_()
    out = block(x)
    result = dict(keys={k: list(v.shape) for k, v in block.state_dict().items()}, output=_encode(out.detach()))
    if case["mode"] == "train":
        (out * _decode(case["grad"])).sum().backward()
        result["running"] = {k: _encode(v) for k, v in block.state_dict().items() if "running" in k}
        result["grads"] = {"x": _encode(x.grad), "conv1.weight": _encode(block.conv1.weight.grad)}
    return result


def _close(a, b, rtol: float = 1e-4, atol: float = 1e-4) -> bool:
    import torch

    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol))


def _block_compare(case: dict, got: Any, expected: dict) -> tuple[bool, str]:
    from autograder.checks.ex04_residual_blocks import state_problem

    kind = case["kind"]
    text = f"{CLASS[kind]}({case['inplanes']}, {case['planes']}, stride={case['stride']})"
    if not isinstance(got, dict) or "keys" not in got:
        return False, f"{text}: the grader could not build your block ({str(got)[:160]})"
    if got.get("expansion") != EXPANSION[kind]:
        return False, f"{CLASS[kind]}.expansion must be {EXPANSION[kind]}, got {got.get('expansion')!r}"
    keys = got["keys"]
    if not isinstance(keys, dict):
        return False, f"{text}: the grader could not read its state_dict"
    problem = state_problem(text, keys, expected["keys"])
    if problem:
        return False, problem
    what = f"{text} in {case['mode']} mode on x of shape {tuple(case['x']['shape'])}"
    if "error" in got:
        return False, f"{what} raised {got['error']}"
    out = _decode(expected["output"])
    mine, problem = _as_tensor(got.get("output"), what, out.shape)
    if mine is None:
        return False, problem
    if not _close(mine, out):
        diff = (mine - out).abs()
        return False, (f"{what}: with the grader's weights loaded, the output differs by up to {diff.max().item():.3g} "
                       f"(output channel {int(diff.amax(dim=(0, 2, 3)).argmax())}); check the order of convolutions, "
                       "BN and ReLUs, where the stride is, and the shortcut")
    if case["mode"] != "train":
        return True, ""
    for key, value in expected["running"].items():
        try:
            ok = _close(_decode(got["running"][key]), _decode(value), atol=1e-5)
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            return False, (f"{what}: after the forward pass {key} is not the reference's: is every BatchNorm applied "
                           "exactly once, to the right tensor?")
    for key, value in expected["grads"].items():
        try:
            ok = _close(_decode(got["grads"][key]), _decode(value), rtol=1e-3, atol=1e-4)
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            return False, f"{what}: the gradient with respect to {key} differs from the reference's (is something detached?)"
    return True, ""


# --- Part 2b: parameters by formula ------------------------------------------------------------------


def _params_case(rng, kind=None, inplanes=None, planes=None, stride=None) -> dict:
    kind = kind or str(rng.choice(list(KINDS)))
    planes = planes or int(rng.integers(1, 257))
    if inplanes is None:
        inplanes = planes * EXPANSION[kind] if rng.random() < 0.4 else int(rng.integers(1, 1025))
    return dict(kind=kind, inplanes=inplanes, planes=planes, stride=stride or int(rng.integers(1, 3)))


def _params_visible(rng) -> list[dict]:
    # conv2_x of ResNet-34 (basic, 64 channels) and of ResNet-50 (bottleneck on 256 channels); the first
    # blocks of conv3_x, which project the shortcut
    return [_params_case(rng, "basic", 64, 64, 1), _params_case(rng, "bottleneck", 256, 64, 1),
            _params_case(rng, "basic", 64, 128, 2), _params_case(rng, "bottleneck", 256, 128, 2)]


def _params_hidden(rng) -> list[dict]:
    return [_params_case(rng, k, planes * EXPANSION[k] + d, planes, s)
            for k in KINDS for s in (1, 2) for d in (0, 8)
            for planes in [int(rng.integers(1, 257))]] + [_params_case(rng) for _ in range(12)]


def _params_reference(case: dict) -> int:
    block = reference_block(case["kind"], case["inplanes"], case["planes"], case["stride"])
    return sum(p.numel() for p in block.parameters())


def _params_compare(case: dict, got: Any, expected: int) -> tuple[bool, str]:
    text = f"block_params({case['kind']!r}, {case['inplanes']}, {case['planes']}, {case['stride']})"
    if type(got) is not int or got != expected:
        return False, f"{text} returned {str(got)[:60]}, expected {expected:,}"
    return True, ""


# --- Part 3: the open-ended design ----------------------------------------------------------------

from autograder.checks.ex04_residual_blocks import TASK  # noqa: E402  (the instructor's installed copy)


# the first test only checks, the other trains; each distinct answer once per process (cached)
_design_compare = open_ended_compare(lambda spec, check: TASK.verdict(spec, check, split_seed=1), "DESIGN")


REFERENCE_MODELS = ("cnnlab", "torchvision", "timm", "resnet", "ResNet", "resnet18", "resnet50", "_make_layer")

PARTS = {
    "basic_block": Part(answer_cells=("basic_block",), reference=_block_reference, compare=_block_compare,
                        forbidden=REFERENCE_MODELS),
    "bottleneck": Part(answer_cells=("bottleneck",), reference=_block_reference, compare=_block_compare,
                       forbidden=REFERENCE_MODELS),
    # by formula: no building a block and counting its parameters
    "block_params": Part(answer_cells=("block_params",), reference=_params_reference, compare=_params_compare,
                         forbidden=REFERENCE_MODELS + ("torch", "nn", "BasicBlock", "Bottleneck", "parameters",
                                                       "numel", "state_dict", "count_params")),
    "design": Part(answer_cells=("design",), reference=None, compare=_design_compare),
}

TESTS = {
    "basic_visible": Test(part="basic_block", cases=_basic_visible, hidden=False),
    "basic_hidden": Test(part="basic_block", cases=lambda rng: _grid(rng, "basic", 4), hidden=True),
    "bottleneck_visible": Test(part="bottleneck", cases=_bottleneck_visible, hidden=False),
    "bottleneck_hidden": Test(part="bottleneck", cases=lambda rng: _grid(rng, "bottleneck", 4), hidden=True),
    "params_visible": Test(part="block_params", cases=_params_visible, hidden=False),
    "params_hidden": Test(part="block_params", cases=_params_hidden, hidden=True),
    "design_visible": Test(part="design", cases=lambda rng: [dict(check="budget")], hidden=False),
    "design_hidden": Test(part="design", cases=lambda rng: [dict(check="accuracy")], hidden=True),
}
