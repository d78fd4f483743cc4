"""Judge of ex05_training (trusted: runs only in the judge process, never in the sandbox).

Parts: the label-smoothed cross-entropy (loss and gradient, against ``cnnlab.losses``, including
logits large enough to overflow a naive softmax), the linear warm-up + cosine learning rate as a
function of the step (against ``cnnlab.train.schedules.warmup_cosine_lr``, with its edge cases), the
``LambdaLR`` built on it (driven by a real optimizer in the sandbox, one or two parameter groups),
and the open-ended part: a training recipe (plain data) that the judge trains a fixed network with
and scores on held-out shapes.
"""
from __future__ import annotations

import math
from typing import Any

from autograder.codec import decode_tensor as _decode, encode_tensor as _encode
from autograder.judge import Part, Test, open_ended_compare

# --- shared -------------------------------------------------------------------------------------


def _worst(got, expected) -> str:
    import torch

    got, expected = got.reshape(-1), expected.reshape(-1)
    diff = (got.double() - expected.double()).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
    i = int(diff.argmax())
    return f"at index {i}: got {got[i].item():.8g}, expected {expected[i].item():.8g}"


def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --- Part 1: label smoothing --------------------------------------------------------------------


def _ls_case(rng, n=None, k=None, epsilon=None, reduction=None, scale=None, dtype=None) -> dict:
    import torch

    n = n or int(rng.integers(1, 33))
    k = k or int(rng.integers(2, 101))
    epsilon = float(rng.choice([0.0, 0.05, 0.1, 0.2, 0.5, 1.0, rng.uniform(0, 1)])) if epsilon is None else epsilon
    reduction = reduction or str(rng.choice(["mean", "sum", "none"]))
    scale = scale or float(rng.choice([1.0, 10.0, 1e3, 1e4]))
    dtype = dtype or str(rng.choice(["float32", "float64"]))
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    logits = (scale * torch.randn(n, k, generator=g, dtype=torch.float64)).to(getattr(torch, dtype))
    target = torch.randint(0, k, (n,), generator=g)
    grad_output = torch.randn(n, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    return dict(logits=_encode(logits), target=_encode(target), epsilon=epsilon, reduction=reduction,
                grad_output=_encode(grad_output), scale=scale)


def _ls_visible(rng) -> list[dict]:
    return [_ls_case(rng, 4, 5, 0.1, "mean", 3.0, "float64"), _ls_case(rng, 3, 10, 0.0, "sum", 2.0, "float32"),
            _ls_case(rng, 6, 3, 0.5, "none", 1.0, "float64"), _ls_case(rng, 2, 7, 1.0, "mean", 1.0, "float64"),
            _ls_case(rng, 5, 10, 0.2, "mean", 200.0, "float32")]


def _ls_hidden(rng) -> list[dict]:
    # always: far beyond exp()'s range in both dtypes, every reduction; then random cases
    fixed = [_ls_case(rng, 8, 20, 0.1, "mean", 1e4, "float32"), _ls_case(rng, 8, 50, 0.3, "none", 1e5, "float64"),
             _ls_case(rng, 1, 2, 0.1, "sum", 1e3, "float32")]
    return fixed + [_ls_case(rng) for _ in range(27)]


def _ls_reference(case: dict) -> list[dict]:
    import torch

    from cnnlab.losses import label_smoothing_cross_entropy

    logits = _decode(case["logits"]).double().requires_grad_(True)  # float64: the exact values to compare with
    loss = label_smoothing_cross_entropy(logits, _decode(case["target"]), case["epsilon"], case["reduction"])
    g = _decode(case["grad_output"]).double() if case["reduction"] == "none" else torch.ones((), dtype=torch.float64)
    (grad,) = torch.autograd.grad(loss, logits, g)
    return [_encode(loss.detach()), _encode(grad)]


def _ls_text(case: dict) -> str:
    return (f"label_smoothing_cross_entropy(logits, target, epsilon={case['epsilon']:.3g}, "
            f"reduction={case['reduction']!r}) on {case['logits']['dtype']} logits of shape "
            f"{_shape_text(case['logits']['shape'])} (values up to about {3 * case['scale']:g})")


def _ls_compare(case: dict, got: Any, expected: list[dict]) -> tuple[bool, str]:
    import torch

    text = _ls_text(case)
    loss_exp, grad_exp = _decode(expected[0]), _decode(expected[1])
    dtype = case["logits"]["dtype"]
    if not isinstance(got, dict) or "loss" not in got:
        return False, f"{text}: the grader got no result ({str(got)[:80]})"
    try:
        loss = _decode(got["loss"])
    except Exception:  # noqa: BLE001 - anything that is not an encoded tensor
        return False, f"{text} returned {str(got['loss'])[:80]!r}, expected a tensor"
    if tuple(loss.shape) != tuple(loss_exp.shape) or str(loss.dtype).removeprefix("torch.") != dtype:
        return False, (f"{text} returned a {loss.dtype} tensor of shape {_shape_text(loss.shape)}, expected "
                       f"{dtype} of shape {_shape_text(loss_exp.shape)}")
    rtol = 1e-5 if dtype == "float32" else 1e-10
    if not torch.isfinite(loss).all():
        return False, (f"{text}: the loss is not finite; large logits overflow exp() -- subtract each row's "
                       "maximum first (a stable log-softmax)")
    if not torch.allclose(loss.double(), loss_exp, rtol=rtol, atol=rtol):
        hint = ""
        if _other_convention(case, loss):
            hint = (" -- your targets put ε/(K-1) on the wrong classes; Szegedy et al. spread ε uniformly over "
                    "all K classes, u(k) = 1/K, the true one included")
        return False, f"{text}: wrong loss, {_worst(loss, loss_exp)}{hint}"
    if got.get("grad") is None:
        return False, f"{text}: {got.get('why') or 'the loss has no gradient with respect to the logits'}"
    grad = _decode(got["grad"])
    if tuple(grad.shape) != tuple(grad_exp.shape):
        return False, f"{text}: the gradient has shape {_shape_text(grad.shape)}, expected {_shape_text(grad_exp.shape)}"
    scale = grad_exp.abs().max().item()
    if not torch.allclose(grad.double(), grad_exp, rtol=100 * rtol, atol=100 * rtol * scale + 1e-30):
        return False, (f"{text}: wrong gradient with respect to the logits (autograd through your function), "
                       f"{_worst(grad, grad_exp)}")
    return True, ""


def _other_convention(case: dict, loss) -> bool:
    """Does ``loss`` equal the smoothing with 1 - ε on the true class and ε/(K-1) on each other one?"""
    import torch

    logits, target = _decode(case["logits"]).double(), _decode(case["target"])
    k, eps = logits.shape[1], case["epsilon"]
    log_p = torch.log_softmax(logits, 1)
    q = torch.full_like(log_p, eps / (k - 1)).scatter(1, target[:, None], 1 - eps)
    per = -(q * log_p).sum(1)
    per = {"mean": per.mean(), "sum": per.sum()}.get(case["reduction"], per)
    return bool(torch.allclose(loss.double(), per, rtol=1e-5, atol=1e-5))


# --- Part 2: the schedule -----------------------------------------------------------------------


def _schedule(rng, total=None, warmup=None, min_lr=None, base=None) -> dict:
    total = total or int(rng.integers(2, 500))
    warmup = int(rng.integers(0, max(1, total // 3) + 1)) if warmup is None else warmup
    base = base or float(rng.choice([0.01, 0.1, 0.4, 1.0, 5.0]) * rng.uniform(0.5, 2))
    min_lr = float(rng.choice([0.0, 0.0, base * rng.uniform(0, 0.2)])) if min_lr is None else min_lr
    return dict(total_steps=total, base_lr=base, warmup_steps=warmup, min_lr=min_lr)


def _with_steps(rng, run: dict, n: int = 12) -> dict:
    """A run and the steps to ask about: both ends, both sides of the warm-up boundary, random ones."""
    total, warmup = run["total_steps"], run["warmup_steps"]
    steps = {0, total - 1, max(0, warmup - 1), min(total - 1, warmup), min(total - 1, warmup + 1)}
    steps |= {int(s) for s in rng.integers(0, total, size=n)}
    return {**run, "steps": sorted(steps)}


def _lr_visible(rng) -> list[dict]:
    runs = [dict(total_steps=100, base_lr=0.1, warmup_steps=10, min_lr=0.0),
            dict(total_steps=100, base_lr=0.1, warmup_steps=0, min_lr=0.0),
            dict(total_steps=50, base_lr=0.4, warmup_steps=5, min_lr=0.004),
            dict(total_steps=20, base_lr=1.0, warmup_steps=7, min_lr=0.1)]
    return [{**r, "steps": list(range(r["total_steps"]))} for r in runs]


def _lr_hidden(rng) -> list[dict]:
    total = int(rng.integers(3, 60))
    edges = [_schedule(rng, total, 0), _schedule(rng, total, total), _schedule(rng, total, total - 1),
             _schedule(rng, total, total - 2), _schedule(rng, 1, 0), _schedule(rng, 1, 1), _schedule(rng, 2, 1)]
    return [_with_steps(rng, r) for r in edges + [_schedule(rng) for _ in range(13)]]


def _lr_reference(case: dict) -> list[float]:
    from cnnlab.train.schedules import warmup_cosine_lr

    return [warmup_cosine_lr(s, case["total_steps"], base_lr=case["base_lr"], warmup_steps=case["warmup_steps"],
                             min_lr=case["min_lr"]) for s in case["steps"]]


def _run_text(case: dict) -> str:
    return (f"total_steps={case['total_steps']}, base_lr={case['base_lr']:.6g}, warmup_steps={case['warmup_steps']}, "
            f"min_lr={case['min_lr']:.6g}")


def _where(step: int, case: dict) -> str:
    if step < case["warmup_steps"]:
        return "in the warm-up"
    if case["total_steps"] - 1 - case["warmup_steps"] <= 0:
        return "after a warm-up that leaves no step for the cosine: the rate stays at base_lr"
    return "at the last step (it must reach min_lr)" if step == case["total_steps"] - 1 else "in the cosine part"


def _lr_compare(case: dict, got: Any, expected: list[float]) -> tuple[bool, str]:
    if not isinstance(got, list) or len(got) != len(expected):
        return False, f"lr_at({_run_text(case)}): the grader got no list of rates ({str(got)[:80]})"
    for step, g, e in zip(case["steps"], got, expected):
        text = f"lr_at(step={step}, {_run_text(case)})"
        if not _number(g):
            return False, f"{text} returned {str(g)[:60]}, expected a number"
        if not abs(g - e) <= 1e-9 * case["base_lr"]:
            return False, f"{text} returned {g!r}, expected {e!r} ({_where(step, case)})"
    return True, ""


def _sched_case(rng, base_lrs, run) -> dict:
    return {**run, "base_lrs": base_lrs, "base_lr": base_lrs[0]}


def _sched_visible(rng) -> list[dict]:
    return [_sched_case(rng, [0.1], dict(total_steps=60, warmup_steps=6, min_lr=0.0)),
            _sched_case(rng, [0.5], dict(total_steps=30, warmup_steps=3, min_lr=0.01))]


def _sched_hidden(rng) -> list[dict]:
    cases = []
    for i in range(6):
        run = _schedule(rng, int(rng.integers(2, 80)))
        base = run["base_lr"]
        groups = [base] if i % 3 == 2 else [base, base * float(rng.choice([0.1, 0.5, 3.0]))]
        if i == 0:  # two groups and a floor: min_lr is absolute, each group warms up to its own rate
            run["min_lr"] = min(groups) * 0.1
        cases.append(_sched_case(rng, groups, run))
    return cases


def _sched_reference(case: dict) -> list[list[float]]:
    from cnnlab.train.schedules import warmup_cosine_lr

    return [[warmup_cosine_lr(s, case["total_steps"], base_lr=b, warmup_steps=case["warmup_steps"],
                              min_lr=case["min_lr"]) for b in case["base_lrs"]] for s in range(case["total_steps"])]


def _sched_compare(case: dict, got: Any, expected: list[list[float]]) -> tuple[bool, str]:
    text = (f"make_scheduler(SGD with lr={case['base_lrs']}, total_steps={case['total_steps']}, "
            f"warmup_steps={case['warmup_steps']}, min_lr={case['min_lr']:.6g})")
    if not isinstance(got, dict) or not isinstance(got.get("lrs"), list):
        return False, f"{text}: the grader got no learning rates ({str(got)[:80]})"
    if not got.get("lambda_lr"):
        return False, f"{text} returned a {got.get('type')}, expected a torch.optim.lr_scheduler.LambdaLR"
    if len(got["lrs"]) != len(expected):
        return False, f"{text}: the grader saw {len(got['lrs'])} steps, expected {len(expected)}"
    for step, (gs, es) in enumerate(zip(got["lrs"], expected)):
        if not isinstance(gs, list) or len(gs) != len(es):
            return False, f"{text}: at step {step} the grader saw {str(gs)[:60]}"
        for i, (g, e) in enumerate(zip(gs, es)):
            if not _number(g) or not abs(g - e) <= 1e-9 * case["base_lrs"][i]:
                return False, (f"{text}: at step {step} the learning rate of parameter group {i} is {g!r}, expected "
                               f"{e!r} (every group from its own initial rate; min_lr is absolute)")
    return True, ""


# --- Part 3: the open-ended recipe ----------------------------------------------------------------

from autograder.checks._recipe import TASK  # noqa: E402  (the instructor's installed copy, never a submission's)


# the first test only checks, the other trains; each distinct answer once per process (cached)
_recipe_compare = open_ended_compare(lambda recipe, check: TASK.verdict(recipe, check, split_seed=1), "RECIPE")


_SCHEDULERS = ("CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "LinearLR", "SequentialLR",
               "ChainedScheduler", "PolynomialLR", "ConstantLR", "CyclicLR", "MultiplicativeLR", "ExponentialLR",
               "StepLR", "MultiStepLR", "ReduceLROnPlateau", "timm", "transformers",
               "get_cosine_schedule_with_warmup")
# cnnlab's own names (losses, schedules, warmup_cosine_lr, ...) need no entry: every import of cnnlab is
# flagged already, and a student's own variable called ``losses`` or ``warmup_cosine`` must not be

# PyTorch's functions as dotted names: "F.softmax" also flags torch.softmax, x.softmax(1) and
# torch.nn.functional.softmax (any attribute .softmax), the full paths flag ``from torch import softmax``;
# a student's own helper or variable called ``log_softmax`` or ``cross_entropy`` is not flagged
_LOSS_FUNCTIONS = tuple(f"{where}.{name}" for name in ("cross_entropy", "nll_loss", "kl_div", "log_softmax", "softmax",
                                                       "softmin", "logsumexp", "_log_softmax", "_softmax")
                        for where in ("F", "torch", "torch.nn.functional"))

PARTS = {
    "label_smoothing": Part(
        answer_cells=("label_smoothing",), reference=_ls_reference, compare=_ls_compare,
        forbidden=_LOSS_FUNCTIONS + ("CrossEntropyLoss", "NLLLoss", "KLDivLoss", "LogSoftmax", "Softmax", "Softmin",
                                     "torch.special", "_VF")),
    "lr_at": Part(answer_cells=("lr_at",), reference=_lr_reference, compare=_lr_compare, forbidden=_SCHEDULERS),
    "scheduler": Part(answer_cells=("lr_at", "make_scheduler"), reference=_sched_reference, compare=_sched_compare,
                      forbidden=_SCHEDULERS),
    "recipe": Part(answer_cells=("recipe",), reference=None, compare=_recipe_compare),
}

TESTS = {
    "label_smoothing_visible": Test(part="label_smoothing", cases=_ls_visible, hidden=False),
    "label_smoothing_hidden": Test(part="label_smoothing", cases=_ls_hidden, hidden=True),
    "lr_at_visible": Test(part="lr_at", cases=_lr_visible, hidden=False),
    "lr_at_hidden": Test(part="lr_at", cases=_lr_hidden, hidden=True),
    "scheduler_visible": Test(part="scheduler", cases=_sched_visible, hidden=False),
    "scheduler_hidden": Test(part="scheduler", cases=_sched_hidden, hidden=True),
    "recipe_visible": Test(part="recipe", cases=lambda rng: [dict(check="valid")], hidden=False),
    "recipe_hidden": Test(part="recipe", cases=lambda rng: [dict(check="accuracy")], hidden=True),
}
