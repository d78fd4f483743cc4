"""cnnlab.losses (label smoothing) against PyTorch's built-in, and cnnlab.train.schedules
(warm-up + cosine) against its definition and against PyTorch's CosineAnnealingLR."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.losses import LabelSmoothingCrossEntropy, label_smoothing_cross_entropy, smoothed_targets
from cnnlab.train.schedules import warmup_cosine, warmup_cosine_lr


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5, 1.0])
def test_label_smoothing_equals_pytorch(epsilon, reduction):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(16, 7, generator=g) * 5).requires_grad_()
    target = torch.randint(0, 7, (16,), generator=g)
    ours = label_smoothing_cross_entropy(logits, target, epsilon, reduction)
    theirs = F.cross_entropy(logits, target, label_smoothing=epsilon, reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    (g1,) = torch.autograd.grad(ours.sum(), logits)
    (g2,) = torch.autograd.grad(theirs.sum(), logits)
    torch.testing.assert_close(g1, g2)


def test_label_smoothing_is_the_cross_entropy_of_the_smoothed_targets_and_stable():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])  # exp(1000) overflows float32
    target = torch.tensor([0, 2])
    q = smoothed_targets(target, 3, 0.3)
    torch.testing.assert_close(q.sum(1), torch.ones(2))
    torch.testing.assert_close(q[0], torch.tensor([0.8, 0.1, 0.1]))
    loss = label_smoothing_cross_entropy(logits, target, 0.3, "none")
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, -(q * F.log_softmax(logits, 1)).sum(1))
    assert LabelSmoothingCrossEntropy(0.3)(logits, target) == pytest.approx(loss.mean().item())


@pytest.mark.parametrize("bad, message", [
    (dict(logits=torch.zeros(4)), r"logits must be \(N, K\)"),
    (dict(target=torch.zeros(3, dtype=torch.long)), r"target must be \(N,\)"),
    (dict(target=torch.zeros(4)), "integer class indices"),
    (dict(target=torch.full((4,), 5)), r"outside 0\.\.2"),
    (dict(epsilon=1.5), r"epsilon must be in \[0, 1\]"),
    (dict(reduction="avg"), "reduction must be one of"),
])
def test_label_smoothing_errors_name_the_problem(bad, message):
    args = dict(logits=torch.zeros(4, 3), target=torch.zeros(4, dtype=torch.long), epsilon=0.1, reduction="mean")
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        label_smoothing_cross_entropy(**args)


def test_warmup_cosine_follows_its_definition():
    lrs = [warmup_cosine_lr(s, 10, base_lr=0.4, warmup_steps=4, min_lr=0.1) for s in range(10)]
    assert lrs[:4] == pytest.approx([0.1, 0.2, 0.3, 0.4])  # linear, never 0, base_lr at warmup_steps - 1
    assert lrs[4] == pytest.approx(0.4) and lrs[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))  # strictly decreasing after the warm-up
    mid = 4 + (10 - 1 - 4) / 2  # half way through the cosine: the mean of base and floor
    assert warmup_cosine_lr(int(mid), 10, base_lr=0.4, warmup_steps=4, min_lr=0.1) > 0.25 > lrs[7]
    assert warmup_cosine_lr(50, 10, base_lr=0.4, warmup_steps=4, min_lr=0.1) == pytest.approx(0.1)
    assert warmup_cosine_lr(0, 3, base_lr=1.0, warmup_steps=3) == pytest.approx(1 / 3)
    assert warmup_cosine_lr(2, 3, base_lr=1.0, warmup_steps=3) == 1.0  # nothing left to decay


def test_without_warmup_it_is_pytorchs_cosine_annealing():
    total = 12
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.3)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - 1, eta_min=0.01)
    expected = []
    for _ in range(total):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    ours = [warmup_cosine_lr(s, total, base_lr=0.3, min_lr=0.01) for s in range(total)]
    assert ours == pytest.approx(expected, rel=1e-6)


def test_lambda_scheduler_drives_each_param_group_from_its_own_lr():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.5}])
    sched = warmup_cosine(opt, total_steps=8, warmup_steps=2)
    seen = []
    for _ in range(8):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    for step, (lr_a, lr_b) in enumerate(seen):
        assert lr_a == pytest.approx(warmup_cosine_lr(step, 8, base_lr=1.0, warmup_steps=2))
        assert lr_b == pytest.approx(warmup_cosine_lr(step, 8, base_lr=0.5, warmup_steps=2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(total_steps=0), "total_steps must be a positive int"),
    (dict(warmup_steps=11), r"warmup_steps must be an int in \[0, total_steps=10\]"),
    (dict(warmup_steps=2.5), "warmup_steps must be an int"),
    (dict(step=-1), "step must be >= 0"),
])
def test_schedule_errors_name_the_problem(kwargs, message):
    args = dict(step=0, total_steps=10, base_lr=0.1, warmup_steps=2)
    args.update(kwargs)
    step, total = args.pop("step"), args.pop("total_steps")
    with pytest.raises(ValueError, match=message):
        warmup_cosine_lr(step, total, **args)

