"""Visible checks of ex04_residual_blocks (feedback in the student's notebook; the grade comes from the
judge): the basic block and the bottleneck with torchvision's layout, loaded with the same random
weights as torchvision's blocks and compared in train and eval mode; the parameter count of a block
by formula; and a deep residual network's budget, depth and accuracy.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016 (Fig. 2,
Fig. 5, Table 1). No reference is kept as an attribute here: torchvision's blocks are imported inside
the functions that compare with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from . import _specnet
from ._common import CheckFailed, call_as, rng

__all__ = ["basic_block", "bottleneck", "block_params", "design", "random_state", "state_problem"]

EXPANSION = {"basic": 1, "bottleneck": 4}
CLASS = {"basic": "BasicBlock", "bottleneck": "Bottleneck"}


def _torchvision_block(kind: str, inplanes: int, planes: int, stride: int) -> nn.Module:
    """torchvision's block with its projection shortcut where the shape changes (the way
    ``ResNet._make_layer`` builds it)."""
    from torchvision.models import resnet as tv

    out = planes * EXPANSION[kind]
    downsample = None
    if stride != 1 or inplanes != out:
        downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    cls = tv.BasicBlock if kind == "basic" else tv.Bottleneck
    return cls(inplanes, planes, stride, downsample)


def random_state(shapes: dict[str, tuple], g: torch.Generator) -> dict[str, torch.Tensor]:
    """Random weights and BatchNorm statistics for a block's ``state_dict`` keys and shapes: scaled
    convolutions, BN scales in [0.5, 1.5], shifts and running means around 0, running variances in
    [0.5, 1.5]; nothing is the default value, so a misplaced layer shows."""
    state = {}
    for key, shape in shapes.items():
        name = key.rsplit(".", 1)[-1]
        if name == "num_batches_tracked":
            state[key] = torch.tensor(3)
        elif len(shape) == 4:  # a convolution
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(*shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif name in ("weight", "running_var"):
            state[key] = 0.5 + torch.rand(*shape, generator=g)
        else:  # bias, running_mean
            state[key] = 0.2 * torch.randn(*shape, generator=g)
    return state


def state_problem(text: str, got: dict[str, list], want: dict[str, list]) -> str:
    """What is wrong with a block's ``state_dict`` keys and shapes (``""`` when nothing)."""
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        hint = ""
        if any(k.startswith("downsample") for k in missing):
            hint = " (the shortcut needs a 1×1 conv + BN projection, downsample.0 and downsample.1, whenever " \
                   "the stride is not 1 or the number of channels changes)"
        elif any(k.startswith("downsample") for k in extra):
            hint = " (where the shape does not change the shortcut is the identity: no downsample)"
        return f"{text}: its state_dict keys differ from torchvision's layout: {'; '.join(parts)}{hint}"
    for key in sorted(want):
        if list(got[key]) != list(want[key]):
            return f"{text}: {key} has shape {tuple(got[key])}, expected {tuple(want[key])}"
    return ""


def _block(kind: str, student_cls: Callable, n_cases: int, seed: int | None, configs=()) -> None:
    r = rng(seed)
    g = torch.Generator().manual_seed(r.randrange(2**31))
    e = EXPANSION[kind]
    cases = list(configs)
    for _ in range(n_cases):
        stride = r.choice((1, 2))
        planes = r.randint(1, 6)
        inplanes = planes * e if r.random() < 0.4 else r.randint(1, 12)
        cases.append((inplanes, planes, stride, r.choice(("train", "eval"))))
    for inplanes, planes, stride, mode in cases:
        text = f"{CLASS[kind]}({inplanes}, {planes}, stride={stride})"
        block = call_as(text, student_cls, inplanes, planes, stride)
        if not isinstance(block, nn.Module):
            raise CheckFailed(f"{text} is a {type(block).__name__}, not an nn.Module")
        if getattr(student_cls, "expansion", None) != e:
            raise CheckFailed(f"{CLASS[kind]}.expansion must be {e} (output channels = planes × expansion), "
                              f"got {getattr(student_cls, 'expansion', None)!r}")
        ref = _torchvision_block(kind, inplanes, planes, stride)
        want = {k: list(v.shape) for k, v in ref.state_dict().items()}
        got = {k: list(v.shape) for k, v in block.state_dict().items()}
        problem = state_problem(text, got, want)
        if problem:
            raise CheckFailed(problem)
        state = random_state(want, g)
        ref.load_state_dict(state)
        call_as(f"{text}.load_state_dict", block.load_state_dict, {k: v.clone() for k, v in state.items()})
        size = r.randint(3, 9)
        x = torch.randn(2, inplanes, size, size, generator=g)
        ref.train(mode == "train")
        block.train(mode == "train")
        expected = ref(x)
        xg = x.clone().requires_grad_()
        what = f"{text} in {mode} mode on x of shape {tuple(x.shape)}"
        out = call_as(what, block, xg)
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            raise CheckFailed(f"{what} returned "
                              f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, "
                              f"expected shape {tuple(expected.shape)}")
        if not torch.allclose(out, expected, rtol=1e-4, atol=1e-4):
            diff = (out - expected).abs()
            raise CheckFailed(f"{what}: with the same weights as torchvision's {CLASS[kind]}, the output differs by "
                              f"up to {diff.max().item():.3g} (output channel {int(diff.amax(dim=(0, 2, 3)).argmax())})"
                              "; check the order of convolutions, BN and ReLUs, where the stride is, and the shortcut")
        if mode == "train":
            for key, value in ref.state_dict().items():
                if "running" in key and not torch.allclose(block.state_dict()[key], value, rtol=1e-4, atol=1e-5):
                    raise CheckFailed(f"{what}: after the forward pass {key} is not what torchvision's block "
                                      "holds: is every BatchNorm applied exactly once, to the right tensor?")
            weight = torch.randn(expected.shape, generator=g)
            (expected * weight).sum().backward()
            call_as(f"{what}: backward", (out * weight).sum().backward)
            ref_grad = ref.conv1.weight.grad
            if xg.grad is None or block.conv1.weight.grad is None:
                raise CheckFailed(f"{what}: no gradient reaches the input or conv1: is something detached?")
            if not torch.allclose(block.conv1.weight.grad, ref_grad, rtol=1e-3, atol=1e-4):
                raise CheckFailed(f"{what}: the gradient of conv1.weight differs from torchvision's block")


def basic_block(student_cls: Callable, n_cases: int = 6, seed: int | None = 0, configs=()) -> None:
    """State-dict keys and shapes, then outputs (train and eval), running statistics and gradients with
    random weights loaded into your block and torchvision's. ``configs``: (inplanes, planes, stride,
    mode) tuples checked first."""
    _block("basic", student_cls, n_cases, seed, configs)


def bottleneck(student_cls: Callable, n_cases: int = 6, seed: int | None = 0, configs=()) -> None:
    """As :func:`basic_block`, for the bottleneck (torchvision's layout: the stride on the 3×3)."""
    _block("bottleneck", student_cls, n_cases, seed, configs)


def block_params(student_fn: Callable, n_cases: int = 10, seed: int | None = 0, configs=()) -> None:
    """Your count against the parameters of torchvision's block with the shortcut ResNet gives it."""
    r = rng(seed)
    cases = list(configs) + [(r.choice(("basic", "bottleneck")), r.randint(1, 512), r.randint(1, 256),
                              r.choice((1, 2))) for _ in range(n_cases)]
    for kind, inplanes, planes, stride in cases:
        text = f"block_params({kind!r}, {inplanes}, {planes}, {stride})"
        got = call_as(text, student_fn, kind, inplanes, planes, stride)
        want = sum(p.numel() for p in _torchvision_block(kind, inplanes, planes, stride).parameters())
        if type(got) is not int or got != want:
            shortcut = stride != 1 or inplanes != planes * EXPANSION[kind]
            raise CheckFailed(f"{text} returned {got!r}, expected {want:,} (convolutions without bias, two "
                              f"parameters per BN channel, {'and' if shortcut else 'no'} projection shortcut)")


# The open-ended part: a network of at least MIN_LAYERS weight layers, within the budget, that reaches
# the threshold after the fixed training (the judge scores with it too). Measured numbers: judge.


@dataclass(frozen=True)
class DeepDesignTask(_specnet.DesignTask):
    """A ``DesignTask`` that also requires a depth, counted as the ResNet paper names its networks."""

    min_layers: int = 1

    def measure(self, spec: Any, split_seed: int = 1) -> _specnet.Result:
        """As ``DesignTask.measure``, and a design shallower than ``min_layers`` is refused (untrained)."""
        result = super().measure(spec, split_seed)  # a malformed spec fails here, with its own message
        depth = _specnet.weight_layers(spec)
        if depth < self.min_layers:
            raise _specnet.SpecError(f"the design has {depth} weight layers (the final classifier included); "
                                     f"at least {self.min_layers} are required")
        return result


TASK = DeepDesignTask(allowed=("conv", "convbn", "residual", "plain", "bottleneck", "maxpool", "avgpool", "gap",
                               "dropout"),
                      max_params=50_000, max_macs=2_000_000, threshold=0.60, min_layers=14)


def design(spec) -> None:
    """Build the spec, check depth and budget, and train it with the grader's recipe on a split of the
    shapes of its own; prints the numbers. The grader scores the accuracy on another split."""
    try:
        result = TASK.try_design(spec, split_seed=0)
    except _specnet.SpecError as err:
        raise CheckFailed(f"DESIGN: {err}") from None
    print(f"{_specnet.weight_layers(spec)} weight layers, {result.params:,} parameters, {result.macs:,} MACs; "
          f"accuracy on this notebook's test split after the grader's training: {result.accuracy:.1%} "
          f"({result.cpu_seconds:.1f} s of CPU)")
