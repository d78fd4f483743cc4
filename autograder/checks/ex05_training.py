"""Visible checks of ex05_training (feedback in the student's notebook; the grade comes from the
judge): the label-smoothed cross-entropy and its gradient against PyTorch's built-in, the warm-up +
cosine learning rate step by step, the ``LambdaLR`` built on it driven by a real optimizer, and a
training recipe tried with the grader's own training.

C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna, "Rethinking the Inception Architecture for
Computer Vision", CVPR 2016 (Section 7) · P. Goyal et al., "Accurate, Large Minibatch SGD: Training
ImageNet in 1 Hour", arXiv:1706.02677, 2017 (Section 2.2) · I. Loshchilov, F. Hutter, "SGDR:
Stochastic Gradient Descent with Warm Restarts", ICLR 2017 (Eq. 5). No reference is kept as an
attribute here.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from . import _recipe
from ._common import CheckFailed, call_as, rng

__all__ = ["label_smoothing", "lr_at", "scheduler", "recipe"]


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _worst(got: torch.Tensor, expected: torch.Tensor) -> str:
    diff = (got.double() - expected.double()).abs()
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    return f"at index {index}: got {got[index].item():.8g}, expected {expected[index].item():.8g}"


# --- label smoothing ----------------------------------------------------------------------------

def _ls_cases(r, n_cases: int, max_scale: float):
    g = torch.Generator().manual_seed(r.randrange(2**31))
    fixed = [(4, 5, 0.1, "mean", 3.0, torch.float64), (3, 10, 0.0, "sum", 2.0, torch.float32),
             (6, 3, 0.5, "none", 1.0, torch.float64), (2, 7, 1.0, "mean", 1.0, torch.float64),
             (5, 10, 0.2, "mean", min(200.0, max_scale), torch.float32)]  # exp(200) overflows float32
    for i in range(n_cases):
        if i < len(fixed):
            n, k, eps, reduction, scale, dtype = fixed[i]
        else:
            n, k = r.randint(1, 16), r.randint(2, 30)
            eps, reduction = r.choice([0.0, 0.05, 0.1, 0.2, 0.5, r.random()]), r.choice(["mean", "sum", "none"])
            scale, dtype = r.choice([1.0, 5.0, 30.0, max_scale]), r.choice([torch.float32, torch.float64])
        logits = (scale * torch.randn(n, k, generator=g, dtype=torch.float64)).to(dtype)
        target = torch.randint(0, k, (n,), generator=g)
        grad_output = torch.randn(n, generator=g, dtype=torch.float64).to(dtype)
        yield logits, target, eps, reduction, scale, grad_output


def label_smoothing(student_fn: Callable, n_cases: int = 20, seed: int | None = 0, max_scale: float = 200.0) -> None:
    """``student_fn(logits, target, epsilon, reduction)`` against ``F.cross_entropy(..., label_smoothing=ε)``:
    the loss, and its gradient with respect to the logits (autograd through your function)."""
    import torch.nn.functional as F

    for logits, target, eps, reduction, scale, grad_output in _ls_cases(rng(seed), n_cases, max_scale):
        text = (f"label_smoothing_cross_entropy(logits, target, epsilon={eps:.3g}, reduction={reduction!r}) on "
                f"{logits.dtype} logits of shape {_shape_text(logits.shape)} (values up to about {3 * scale:g})")
        leaf = logits.double().clone().requires_grad_(True)
        expected = F.cross_entropy(leaf, target, label_smoothing=eps, reduction=reduction)
        g_out = grad_output.double() if reduction == "none" else torch.ones((), dtype=torch.float64)
        (expected_grad,) = torch.autograd.grad(expected, leaf, g_out)
        mine = logits.clone().requires_grad_(True)
        got = call_as(text, student_fn, mine, target.clone(), epsilon=eps, reduction=reduction)
        if not isinstance(got, torch.Tensor):
            raise CheckFailed(f"{text} returned a {type(got).__name__}, expected a tensor")
        if got.shape != expected.shape or got.dtype != logits.dtype:
            raise CheckFailed(f"{text} returned a {got.dtype} tensor of shape {_shape_text(got.shape)}, expected "
                              f"{logits.dtype} of shape {_shape_text(expected.shape)}")
        rtol = 1e-5 if logits.dtype == torch.float32 else 1e-10
        if not torch.isfinite(got).all():
            raise CheckFailed(f"{text}: the loss is not finite ({got.detach().flatten()[:4].tolist()}); large "
                              "logits overflow exp() -- subtract each row's maximum first (a stable log-softmax)")
        if not torch.allclose(got.detach().double(), expected.detach(), rtol=rtol, atol=rtol):
            raise CheckFailed(f"{text}: wrong loss, {_worst(got.detach().reshape(-1), expected.detach().reshape(-1))}")
        if not got.requires_grad:
            raise CheckFailed(f"{text}: the loss does not depend on the logits through autograd (detached, "
                              ".item(), NumPy?); training could not back-propagate through it")
        (grad,) = torch.autograd.grad(got, mine, g_out.to(got.dtype), allow_unused=True)
        if grad is None:
            raise CheckFailed(f"{text}: the loss has no gradient with respect to the logits")
        scale_g = expected_grad.abs().max().item()
        if not torch.allclose(grad.double(), expected_grad, rtol=100 * rtol, atol=100 * rtol * scale_g + 1e-30):
            raise CheckFailed(f"{text}: wrong gradient with respect to the logits, {_worst(grad, expected_grad)} "
                              "(it should be (softmax(logits) - q') / N for reduction='mean')")


# --- the schedule -------------------------------------------------------------------------------

def _schedule_text(total: int, base: float, warmup: int, min_lr: float) -> str:
    return f"total_steps={total}, base_lr={base:g}, warmup_steps={warmup}, min_lr={min_lr:g}"


def lr_at(student_fn: Callable, runs: Sequence[tuple[int, float, int, float]] = (
        (100, 0.1, 10, 0.0), (100, 0.1, 0, 0.0), (50, 0.4, 5, 0.004), (20, 1.0, 7, 0.1))) -> None:
    """``student_fn(step, total_steps, base_lr, warmup_steps, min_lr)`` at every step of each run
    ``(total_steps, base_lr, warmup_steps, min_lr)``, against the definition."""
    from cnnlab.train.schedules import warmup_cosine_lr

    for total, base, warmup, min_lr in runs:
        for step in range(total):
            expected = warmup_cosine_lr(step, total, base_lr=base, warmup_steps=warmup, min_lr=min_lr)
            text = f"lr_at(step={step}, {_schedule_text(total, base, warmup, min_lr)})"
            got = call_as(text, student_fn, step, total, base_lr=base, warmup_steps=warmup, min_lr=min_lr)
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if isinstance(got, bool) or not isinstance(got, (int, float)):
                raise CheckFailed(f"{text} returned {got!r}, expected a number")
            if not abs(got - expected) <= 1e-9 * base:
                where = ("in the warm-up" if step < warmup else "at the last step (it must reach min_lr)"
                         if step == total - 1 else "in the cosine part")
                raise CheckFailed(f"{text} returned {got!r}, expected {expected!r} ({where})")


def _drive(make_scheduler: Callable, base_lrs: Sequence[float], total: int, warmup: int, min_lr: float,
           text: str) -> list[list[float]]:
    """The learning rate of every parameter group at every step, as a training loop sees it."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in base_lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)], lr=base_lrs[0])
    sched = call_as(text, make_scheduler, opt, total, warmup_steps=warmup, min_lr=min_lr)
    if not isinstance(sched, torch.optim.lr_scheduler.LambdaLR):
        raise CheckFailed(f"{text} returned a {type(sched).__name__}, expected a torch.optim.lr_scheduler.LambdaLR")
    seen = []
    for _ in range(total):
        seen.append([group["lr"] for group in opt.param_groups])
        opt.step()
        call_as(f"{text}, then scheduler.step()", sched.step)
    return seen


def scheduler(student_fn: Callable, runs: Sequence[tuple[tuple[float, ...], int, int, float]] = (
        ((0.1,), 60, 6, 0.0), ((0.5,), 30, 3, 0.01))) -> None:
    """``student_fn(optimizer, total_steps, warmup_steps, min_lr)`` driven by a real SGD optimizer
    (one parameter group per base learning rate), step by step."""
    from cnnlab.train.schedules import warmup_cosine_lr

    for base_lrs, total, warmup, min_lr in runs:
        text = (f"make_scheduler(SGD with lr={list(base_lrs)}, total_steps={total}, warmup_steps={warmup}, "
                f"min_lr={min_lr:g})")
        seen = _drive(student_fn, base_lrs, total, warmup, min_lr, text)
        for step, lrs in enumerate(seen):
            for i, (got, base) in enumerate(zip(lrs, base_lrs)):
                expected = warmup_cosine_lr(step, total, base_lr=base, warmup_steps=warmup, min_lr=min_lr)
                if not abs(got - expected) <= 1e-9 * base:
                    raise CheckFailed(f"{text}: at step {step} the learning rate of parameter group {i} is {got!r}, "
                                      f"expected {expected!r}")


# --- the recipe ---------------------------------------------------------------------------------

# The open-ended part: the grader's training and the required held-out accuracy (the judge scores with
# it too, on another split).
TASK = _recipe.TASK


def recipe(r) -> None:
    """Validate the recipe and train the fixed network with it on a split of the shapes of the notebook's
    own; prints the numbers. The grader scores the accuracy on another split."""
    try:
        out = TASK.try_recipe(r, split_seed=0)
    except _recipe.RecipeError as err:
        raise CheckFailed(str(err)) from None
    if out.diverged_at is not None:
        print(f"training diverged at step {out.diverged_at} of {TASK.total_steps} (the loss was not finite)")
        return
    print(f"accuracy on this notebook's test split after the grader's training: {out.accuracy:.1%} "
          f"(final training loss {out.final_loss:.3f}, {out.cpu_seconds:.1f} s of CPU); "
          f"the grader requires {TASK.threshold:.0%} on its own split")
