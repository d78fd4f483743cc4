"""ex05_training's judge spec, checked without the sandbox (as tests/test_exercises.py does for
ex01-ex03): the master scores full marks with several hidden-test draws, the untouched student
version zero, the designed wrong submission exactly its designed score, shortcuts nothing on their
parts; typical mistakes (an unstable softmax, a detached loss, a bad recipe) are caught with a message
that says what is wrong; the judge's references agree with PyTorch and the schedule's definition; the
student-side checks explain failures. The engine's own round trip is in test_autograder.py."""
from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import exercise_harness as H
from wrong_submissions import WRONG

A = "ex05_training"


def grade(replace=None, seed=0):
    with contextlib.redirect_stdout(io.StringIO()):  # the notebook's own prints
        return H.grade(A, replace, seed)





@pytest.mark.parametrize("seed", [8, 9])  # seed 7, the shortcuts: test_exercises.py
def test_master_full_marks(seed):
    scores, messages = grade(seed=seed)
    assert scores == H.points(H.master(A)), {k: m for k, m in messages.items() if m}


def test_untouched_student_version_scores_zero_without_a_crash():
    scores, messages = grade(H.student_version(H.master(A)), seed=7)
    assert scores == {k: 0.0 for k in H.points(H.master(A))}
    assert "NotImplementedError" in messages["lr_at_visible"]
    assert "RECIPE must be a dict" in messages["recipe_visible"]


def test_wrong_submission_fails_where_it_was_designed_to():  # its exact score over seeds: test_exercises.py
    scores, messages = grade(WRONG[A]["replace"], seed=3)
    assert scores == {k: float(v) for k, v in WRONG[A]["expected"].items()}, messages
    assert "ε/(K-1)" in messages["label_smoothing_visible"]  # the hint names the mistake
    assert "ZeroDivisionError" in messages["lr_at_hidden"]
    assert "parameter group 1" in messages["scheduler_hidden"]
    assert "required 65%" in messages["recipe_hidden"]


# --- typical mistakes, caught with a message ---------------------------------------------------------

NAIVE = (  # log(softmax) with an unshifted exp: right for small logits, inf/nan for large ones
    "def label_smoothing_cross_entropy(logits, target, epsilon=0.1, reduction='mean'):\n"
    "    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)\n"
    "    k = logits.shape[1]\n"
    "    q = torch.full_like(p, epsilon / k).scatter_add(1, target[:, None], torch.full_like(p[:, :1], 1 - epsilon))\n"
    "    loss = -(q * torch.log(p)).sum(dim=1)\n"
    "    return {'mean': loss.mean(), 'sum': loss.sum()}.get(reduction, loss)\n"
)


def test_an_unstable_softmax_fails_on_large_logits():
    scores, messages = grade({"label_smoothing": NAIVE}, seed=5)
    assert scores["label_smoothing_visible"] == 0 and scores["label_smoothing_hidden"] == 0
    assert "not finite" in messages["label_smoothing_visible"] and "maximum" in messages["label_smoothing_visible"]
    ns = H.answers(A, {"label_smoothing": NAIVE})  # the same formula is right where exp() does not overflow
    logits, target = torch.randn(6, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 4, 0])
    assert torch.allclose(ns["label_smoothing_cross_entropy"](logits, target, 0.2),
                          F.cross_entropy(logits, target, label_smoothing=0.2))


def test_a_detached_loss_gets_no_points_for_its_gradient():
    detached = ("def label_smoothing_cross_entropy(logits, target, epsilon=0.1, reduction='mean'):\n"
                "    return _master(logits.detach(), target, epsilon, reduction)\n")
    master_src = H.master(A).cells[[c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                                    for c in H.master(A).cells].index("label_smoothing")].source
    src = master_src.replace("def label_smoothing_cross_entropy(", "def _master(") + "\n" + detached
    scores, messages = grade({"label_smoothing": src}, seed=5)
    assert scores["label_smoothing_visible"] == 0 and scores["label_smoothing_hidden"] == 0
    assert "autograd" in messages["label_smoothing_visible"], messages["label_smoothing_visible"]


def test_warmup_from_zero_is_caught_by_the_visible_tests():
    from_zero = ("def lr_at(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):\n"
                 "    if step < warmup_steps:\n"
                 "        return base_lr * step / warmup_steps\n"
                 "    span = total_steps - warmup_steps - 1\n"
                 "    t = min(1.0, (step - warmup_steps) / span) if span > 0 else 0.0\n"
                 "    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t)) / 2\n")
    scores, messages = grade({"lr_at": from_zero}, seed=5)
    assert scores["lr_at_visible"] == 0 and scores["lr_at_hidden"] == 0 and scores["scheduler_visible"] == 0
    assert "lr_at(step=0," in messages["lr_at_visible"] and "in the warm-up" in messages["lr_at_visible"]


# --- the judge's references ----------------------------------------------------------------------------

def test_label_smoothing_reference_is_pytorchs():
    from autograder import codec

    j = H.judge(A)
    rng = np.random.default_rng(0)
    for case in [j._ls_case(rng) for _ in range(20)] + j._ls_hidden(rng)[:3]:
        logits = codec.decode_tensor(case["logits"]).double().requires_grad_(True)
        target = codec.decode_tensor(case["target"])
        want = F.cross_entropy(logits, target, label_smoothing=case["epsilon"], reduction=case["reduction"])
        g = codec.decode_tensor(case["grad_output"]).double() if case["reduction"] == "none" else torch.ones(())
        (want_grad,) = torch.autograd.grad(want, logits, g)
        loss, grad = (codec.decode_tensor(t) for t in j._ls_reference(case))
        assert torch.allclose(loss, want.detach(), rtol=1e-12, atol=1e-9)
        assert torch.allclose(grad, want_grad, rtol=1e-10, atol=1e-14)
        assert torch.isfinite(loss).all()


def test_schedule_reference_follows_its_definition():
    j = H.judge(A)
    case = dict(total_steps=11, base_lr=0.5, warmup_steps=4, min_lr=0.05, steps=list(range(13)))
    lrs = j._lr_reference(case)
    assert lrs[:4] == pytest.approx([0.125, 0.25, 0.375, 0.5])  # base_lr (step + 1) / warmup_steps
    assert lrs[4] == pytest.approx(0.5) and lrs[10] == pytest.approx(0.05)  # peak, then min_lr at the last step
    assert lrs[7] == pytest.approx(0.05 + 0.45 * 0.5)  # half-way through the cosine: the mean of peak and floor
    assert lrs[11] == lrs[12] == pytest.approx(0.05)  # past the end: stays at min_lr
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    assert j._lr_reference(dict(total_steps=5, base_lr=1.0, warmup_steps=4, min_lr=0.0, steps=[3, 4])) == [1.0, 1.0]
    # the hidden cases always hold the edge cases the wrong submission crashes on
    for seed in range(5):
        runs = j._lr_hidden(np.random.default_rng(seed))
        assert any(r["warmup_steps"] >= r["total_steps"] - 1 for r in runs)
        assert any(r["warmup_steps"] == 0 for r in runs)
        groups = j._sched_hidden(np.random.default_rng(seed))
        assert any(len(c["base_lrs"]) == 2 and c["min_lr"] > 0 for c in groups)


# --- the open-ended part -------------------------------------------------------------------------------

@pytest.mark.parametrize("recipe, why", [
    ([0.1, 10, 0.0, 0.1], "must be a dict"),
    ({"peak_lr": 0.1, "warmup_steps": 10, "min_lr": 0.0}, "missing label_smoothing"),
    ({"peak_lr": 0.1, "warmup_steps": 10, "min_lr": 0.0, "label_smoothing": 0.1, "epochs": 3}, "unknown keys epochs"),
    ({"peak_lr": 0.1, "warmup_steps": 10.5, "min_lr": 0.0, "label_smoothing": 0.1}, "'warmup_steps'.*integer"),
    ({"peak_lr": True, "warmup_steps": 10, "min_lr": 0.0, "label_smoothing": 0.1}, "'peak_lr'.*number"),
    ({"peak_lr": 0.1, "warmup_steps": 300, "min_lr": 0.0, "label_smoothing": 0.1}, r"'warmup_steps'.*\[0, 240\]"),
    ({"peak_lr": 0.1, "warmup_steps": 10, "min_lr": 0.2, "label_smoothing": 0.1}, "'min_lr'.*in"),
    ({"peak_lr": 0.0, "warmup_steps": 10, "min_lr": 0.0, "label_smoothing": 0.1}, "positive"),
    ({"peak_lr": float("nan"), "warmup_steps": 10, "min_lr": 0.0, "label_smoothing": 0.1}, "'peak_lr'"),
])
def test_recipe_validation_names_the_problem(recipe, why):
    from autograder.checks import _recipe

    ok, message = _recipe.TASK.verdict(recipe, "valid")
    assert not ok and __import__("re").search(why, message), message


def test_recipe_verdicts_separate_good_from_bad():
    """The master's recipe passes on the grader's split; the same peak rate ten times larger fails, and
    an absurd one diverges with a message saying so. (About 6 s of CPU.)"""
    from autograder.checks import _recipe

    master = {"peak_lr": 0.05, "warmup_steps": 72, "min_lr": 0.0, "label_smoothing": 0.1}
    ok, message = _recipe.TASK.verdict(master, "accuracy")
    assert ok, message
    ok, message = _recipe.TASK.verdict({**master, "peak_lr": 0.5}, "accuracy")
    assert not ok and "required 65%" in message
    ok, message = _recipe.TASK.verdict({**master, "peak_lr": 10.0, "warmup_steps": 0}, "accuracy")
    assert not ok and "diverged" in message, message
    assert _recipe.network().__len__() == 12
    assert sum(p.numel() for p in _recipe.network().parameters()) == 38_618


# --- the student-side checks -----------------------------------------------------------------------------

def test_checks_accept_the_master():
    from autograder.checks import ex05_training as check

    ns = H.answers(A, {})
    check.label_smoothing(ns["label_smoothing_cross_entropy"], n_cases=40, seed=3, max_scale=1e4)
    check.lr_at(ns["lr_at"], runs=[(60, 0.1, 60, 0.0), (60, 0.1, 59, 0.0), (1, 0.5, 0, 0.0), (2, 0.3, 1, 0.01)])
    check.scheduler(ns["make_scheduler"], runs=[((0.1, 0.02), 40, 5, 0.001)])


def test_checks_name_the_failing_case():
    from autograder.checks import ex05_training as check
    from autograder.checks._common import CheckFailed

    wrong = H.answers(A, WRONG[A]["replace"])
    with pytest.raises(CheckFailed, match=r"epsilon=.*wrong loss, at index"):
        check.label_smoothing(wrong["label_smoothing_cross_entropy"])
    with pytest.raises(CheckFailed, match=r"lr_at\(step=\d+, total_steps=60.*raised ZeroDivisionError"):
        check.lr_at(wrong["lr_at"], runs=[(60, 0.1, 59, 0.0)])
    with pytest.raises(CheckFailed, match=r"at step \d+ the learning rate of parameter group 1"):
        check.scheduler(wrong["make_scheduler"], runs=[((0.1, 0.02), 40, 5, 0.001)])
    naive = H.answers(A, {"label_smoothing": NAIVE})
    with pytest.raises(CheckFailed, match="not finite.*maximum"):
        check.label_smoothing(naive["label_smoothing_cross_entropy"])
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check.lr_at(lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailed, match="expected a torch.optim.lr_scheduler.LambdaLR"):
        check.scheduler(lambda opt, *a, **k: torch.optim.lr_scheduler.StepLR(opt, 10))
    with pytest.raises(CheckFailed, match="missing min_lr"):
        check.recipe({"peak_lr": 0.1, "warmup_steps": 10, "label_smoothing": 0.1})
    assert math.isclose(wrong["lr_at"](0, 10, 1.0, 2), 0.5)  # the wrong lr_at is right away from its edge case


# --- what the static check flags, and what it leaves alone --------------------------------------------

@pytest.mark.parametrize("src", [
    "def f(z, y):\n    return z.log_softmax(1)\n",
    "from torch.nn.functional import cross_entropy\n",
    "def f(z):\n    return torch.logsumexp(z, 1)\n",
    "def f(z):\n    return torch.special.log_softmax(z, 1)\n",
    "import torch.nn.functional as G\ndef f(z, y):\n    return getattr(G, 'cross_entropy')(z, y)\n",
    "def f(z):\n    return torch.nn.LogSoftmax(1)(z)\n",
    "def f(z):\n    return z.softmax(1).log()\n",
])
def test_shortcuts_to_pytorchs_softmax_and_losses_are_flagged(src):
    from autograder import judge as J

    assert J.static_flags({"label_smoothing": src}, H.judge(A).PARTS["label_smoothing"].forbidden)


def test_own_helpers_with_library_like_names_are_not_flagged():
    """A student's own ``log_softmax`` helper and variables called ``losses``, ``label_smoothing`` or
    ``cross_entropy`` are the student's work: full marks."""
    own = ("def log_softmax(z):\n"
           "    shifted = z - z.max(dim=1, keepdim=True).values\n"
           "    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n"
           "def label_smoothing_cross_entropy(logits, target, epsilon=0.1, reduction='mean'):\n"
           "    label_smoothing = epsilon / logits.shape[1]\n"
           "    log_p = log_softmax(logits)\n"
           "    cross_entropy = -log_p.gather(1, target[:, None]).squeeze(1)\n"
           "    losses = (1 - epsilon) * cross_entropy - label_smoothing * log_p.sum(dim=1)\n"
           "    return {'mean': losses.mean(), 'sum': losses.sum()}.get(reduction, losses)\n")
    scores, messages = grade({"label_smoothing": own}, seed=4)
    assert scores["label_smoothing_visible"] == 2 and scores["label_smoothing_hidden"] == 3, messages
