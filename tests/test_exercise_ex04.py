"""ex04_residual_blocks through its judge spec (without the sandbox, like tests/test_exercises.py): the
master scores full marks over several judge draws and the untouched student version zero, the designed
wrong submission exactly its designed score, the shortcut submission nothing on its shortcut parts;
the judge's references against torchvision's blocks; the spec network's residual layers against
cnnlab's blocks; and the student-side checks' messages. The engine's round trip: test_autograder.py."""
from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest
import torch
from torch import nn

import exercise_harness as H
from wrong_submissions import WRONG

A = "ex04_residual_blocks"


def grade(replace=None, seed=0):
    with contextlib.redirect_stdout(io.StringIO()):  # the notebook's own prints
        return H.grade(A, replace, seed)


@pytest.mark.parametrize("seed", [0, 2024])  # seed 7, the student version, the shortcuts: test_exercises.py
def test_master_full_marks(seed):
    scores, messages = grade(seed=seed)
    assert scores == H.points(H.master(A)), {k: m for k, m in messages.items() if m}


def test_wrong_submission_fails_where_it_was_designed_to():  # its exact score over seeds: test_exercises.py
    scores, messages = grade(WRONG[A]["replace"], seed=3)
    assert scores == {k: float(v) for k, v in WRONG[A]["expected"].items()}, messages
    assert 0 < sum(scores.values()) < sum(H.points(H.master(A)).values())
    assert "downsample" in messages["basic_hidden"]  # the stride-1 projection it forgot
    assert "NameError" in messages["params_visible"]  # the crash


# --- the judge's references ---------------------------------------------------------------------------

def _torchvision(kind, inplanes, planes, stride):
    from torchvision.models import resnet as tv

    out = planes * (4 if kind == "bottleneck" else 1)
    down = None
    if stride != 1 or inplanes != out:
        down = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    return (tv.Bottleneck if kind == "bottleneck" else tv.BasicBlock)(inplanes, planes, stride, down)


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
def test_judge_reference_equals_torchvision(kind):
    """The judge's reference holds torchvision's keys and computes what torchvision's block computes with
    the judge's weights, in both modes, on every kind of shortcut the hidden tests draw."""
    from autograder import codec

    j = H.judge(A)
    for case in j._grid(np.random.default_rng(0), kind, 2):
        case = H._plain(case)
        expected = j._block_reference(case)
        tv = _torchvision(kind, case["inplanes"], case["planes"], case["stride"])
        tv.load_state_dict({k: codec.decode_tensor(v) for k, v in case["state"].items()})
        tv.train(case["mode"] == "train")
        out = tv(codec.decode_tensor(case["x"]))
        assert expected["keys"] == {k: list(v.shape) for k, v in tv.state_dict().items()}
        torch.testing.assert_close(codec.decode_tensor(expected["output"]), out.detach())
        if case["mode"] == "train":
            for key, value in expected["running"].items():
                torch.testing.assert_close(codec.decode_tensor(value), tv.state_dict()[key])
        assert j._params_reference(case) == sum(p.numel() for p in tv.parameters())


def test_hidden_cases_cover_every_shortcut_and_mode():
    j = H.judge(A)
    for kind, e in (("basic", 1), ("bottleneck", 4)):
        seen = {(c["stride"], c["inplanes"] == c["planes"] * e, c["mode"])
                for c in j._grid(np.random.default_rng(5), kind, 4)}
        assert seen == {(s, same, m) for s in (1, 2) for same in (True, False) for m in ("train", "eval")}


def test_judge_catches_the_classic_mistakes():
    """ReLU before the addition, a shortcut projection without its BN, the stride on conv2 of the basic
    block: each fails the judge with a message that says what differs."""
    ns = H.answers(A, {}, keep_going=True)
    j = H.judge(A)
    ad = H.adapter(A)

    class ReluBeforeAdd(ns["BasicBlock"]):
        def forward(self, x):
            out = torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
            return out + (x if self.downsample is None else self.downsample(x))

    class NoShortcutBN(ns["BasicBlock"]):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__(inplanes, planes, stride)
            if self.downsample is not None:
                self.downsample = nn.Sequential(self.downsample[0])

    class StrideOnConv2(ns["BasicBlock"]):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__(inplanes, planes, 1)
            self.conv2.stride = (stride, stride)
            if stride != 1 or inplanes != planes:
                self.downsample = ns["BasicBlock"](inplanes, planes, stride).downsample

    cases = [H._plain(c) for c in j._basic_visible(np.random.default_rng(0))]
    for cls, pattern in ((ReluBeforeAdd, "output differs"), (NoShortcutBN, "missing downsample.1"),
                         (StrideOnConv2, "output differs")):
        verdicts = [j._block_compare(c, H._plain(ad.basic_block({"BasicBlock": cls}, c)), j._block_reference(c))
                    for c in cases]
        assert not all(ok for ok, _ in verdicts), cls.__name__
        assert any(re.search(pattern, msg) for ok, msg in verdicts if not ok), (cls.__name__, verdicts)


# --- the spec network's residual layers -----------------------------------------------------------------

@pytest.mark.parametrize("kind,c_in,planes,stride", [("residual", 8, 8, 1), ("residual", 4, 8, 2),
                                                      ("plain", 4, 8, 2), ("bottleneck", 8, 2, 2),
                                                      ("bottleneck", 8, 2, 1)])
def test_spec_blocks_equal_cnnlab_blocks(kind, c_in, planes, stride):
    """The judge trains "residual"/"plain"/"bottleneck" layers that compute cnnlab's blocks."""
    from autograder.checks import _specnet
    from cnnlab.models.resnet import BasicBlock, Bottleneck

    ours = _specnet._ResBlock(kind, c_in, planes, stride)
    out = ours.out_channels
    down = None
    if kind != "plain" and (stride != 1 or c_in != out):
        down = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    cls = Bottleneck if kind == "bottleneck" else BasicBlock
    ref = cls(c_in, planes, stride, down, residual=kind != "plain")
    torch.manual_seed(0)
    with torch.no_grad():  # the same values, in the same order of the two state dicts
        for a, b in zip(ours.state_dict().values(), ref.state_dict().values(), strict=True):
            a.copy_(torch.rand_like(a.float()).to(a.dtype) + 0.5 if a.dtype.is_floating_point else a)
            b.copy_(a)
    x = torch.randn(2, c_in, 7, 7)
    for training in (True, False):
        ours.train(training)
        ref.train(training)
        torch.testing.assert_close(ours(x), ref(x))


def test_depth_is_counted_as_the_paper_names_its_networks():
    from autograder.checks import _specnet
    from autograder.checks.ex04_residual_blocks import TASK

    resnet18 = [("convbn", 8, 3, 1, 1)] + [("residual", 8, 1)] * 8 + [("gap",)]
    assert _specnet.weight_layers(resnet18) == 18
    assert _specnet.weight_layers([("convbn", 8, 3, 1, 1), ("bottleneck", 2, 1), ("gap",)]) == 5
    with pytest.raises(_specnet.SpecError, match="6 weight layers.*at least 14"):
        TASK.evaluate([("convbn", 8, 3, 1, 1), ("residual", 8, 1), ("residual", 8, 2), ("gap",)], split_seed=0)
    with pytest.raises(_specnet.SpecError, match="unknown layer type 'inception'"):
        TASK.evaluate([("inception", 1, 1, 1, 1, 1, 1)] * 14, split_seed=0)
    # the budget check counts without training: the same numbers as the training path's count
    design = H.answers(A, {}, keep_going=True)["DESIGN"]
    counted = _specnet.evaluate(design, TASK.allowed, data_name="shapes", image_size=16, max_params=0,
                                data_options={"difficulty": 0.0})
    measured = TASK.measure(design)
    assert (measured.params, measured.macs) == (counted.params, counted.macs)
    assert not TASK.over_budget(measured)


# --- the student-side checks say what is wrong -----------------------------------------------------




def test_checks_accept_the_master():
    from autograder.checks import ex04_residual_blocks as c

    ns = H.answers(A, {}, keep_going=True)
    c.basic_block(ns["BasicBlock"], n_cases=8, seed=3)
    c.bottleneck(ns["Bottleneck"], n_cases=8, seed=3)
    c.block_params(ns["block_params"], n_cases=20, seed=3)


def test_checks_name_the_failing_case():
    from autograder.checks import ex04_residual_blocks as c
    from autograder.checks._common import CheckFailed

    wrong = H.answers(A, WRONG[A]["replace"], keep_going=True)
    with pytest.raises(CheckFailed, match=r"BasicBlock\(\d+, \d+, stride=1\).*missing downsample.0.weight"):
        c.basic_block(wrong["BasicBlock"], n_cases=0, configs=[(4, 8, 1, "eval")])
    with pytest.raises(CheckFailed, match=r"Bottleneck\(16, 8, stride=2\) in eval mode on x of shape .*differs by up to"):
        c.bottleneck(wrong["Bottleneck"], n_cases=0, configs=[(16, 8, 2, "eval")])
    with pytest.raises(CheckFailed, match=r"block_params\('basic', 64, 64, 1\) raised NameError"):
        c.block_params(wrong["block_params"], n_cases=0, configs=[("basic", 64, 64, 1)])
    with pytest.raises(CheckFailed, match=r"returned 70400, expected 136,448"):  # forgets the projection
        c.block_params(lambda *a: 70_400, n_cases=0, configs=[("bottleneck", 256, 64, 2)])
    with pytest.raises(CheckFailed, match="not implemented yet"):
        c.basic_block(lambda *a: (_ for _ in ()).throw(NotImplementedError()), n_cases=1)
