"""The judge specs of the exercises, checked without the sandbox: the master solutions
score full marks, the untouched student versions zero, the designed wrong submissions exactly their
designed scores on fresh hidden cases, and "shortcut" submissions (calling the cnnlab references or a
forbidden built-in) nothing on those parts. Plus the references the judges use against PyTorch, and
the student-side checks' messages. The engine's own round trip is in test_autograder.py."""
from __future__ import annotations

import contextlib
import io
import re

import nbformat
import pytest
import torch
import torch.nn.functional as F

import exercise_harness as H
from shortcut_submissions import SHORTCUT
from wrong_submissions import WRONG

EXERCISES = ["ex01_conv_arithmetic", "ex02_alexnet_units", "ex03_inception", "ex04_residual_blocks",
             "ex05_training"]


def grade(assignment, replace=None, seed=0):
    with contextlib.redirect_stdout(io.StringIO()):  # the notebooks' own prints
        return H.grade(assignment, replace, seed)


@pytest.mark.parametrize("assignment", EXERCISES)
def test_master_full_marks_and_student_version_zero(assignment):
    nb = H.master(assignment)
    full = H.points(nb)
    scores, messages = grade(assignment, seed=7)
    assert scores == full, {k: m for k, m in messages.items() if m}
    scores, _ = grade(assignment, H.student_version(nb), seed=7)
    assert scores == {k: 0.0 for k in full}


@pytest.mark.parametrize("assignment", EXERCISES)
@pytest.mark.parametrize("seed", [1, 2])
def test_wrong_submission_gets_its_designed_score(assignment, seed):
    scores, messages = grade(assignment, WRONG[assignment]["replace"], seed)
    expected = {k: float(v) for k, v in WRONG[assignment]["expected"].items()}
    assert scores == expected, messages
    assert 0 < sum(scores.values()) < sum(H.points(H.master(assignment)).values())


@pytest.mark.parametrize("assignment", EXERCISES)
def test_shortcut_submission_gets_nothing_for_its_shortcuts(assignment):
    scores, messages = grade(assignment, SHORTCUT[assignment]["replace"], seed=3)
    assert scores == {k: float(v) for k, v in SHORTCUT[assignment]["expected"].items()}, messages
    for test_id, score in scores.items():
        if score == 0:
            assert "forbidden" in messages[test_id] or "cnnlab" in messages[test_id], messages[test_id]


@pytest.mark.parametrize("assignment", EXERCISES)
def test_notebooks_cite_papers_not_sources(assignment):
    """Markdown and comments of master and student version never mention the source material."""
    for path in (H.REPO / "solutions" / assignment / f"{assignment}.ipynb",
                 H.REPO / "course" / "exercises" / assignment / f"{assignment}.ipynb"):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source if c.cell_type == "markdown" else "\n".join(re.findall(r"#.*", c.source))
                         for c in nb.cells)
        for word in ("seed", "slide", "extraction", "deck"):
            assert word not in text.lower(), f"{path.name} says {word!r}"
        assert re.search(r"et al\.|\d{4}", nb.cells[0].source), "the title cell cites the papers"


# --- the judges' references against PyTorch ---------------------------------------------------------

def test_ex01_output_size_reference_is_pytorchs_rule():
    j = H.judge("ex01_conv_arithmetic")
    for size in range(1, 20):
        for k in (1, 2, 3, 4, 5):
            for s in (1, 2, 3):
                for p in range(k // 2 + 1):
                    for d in (1, 2):
                        if size + 2 * p < d * (k - 1) + 1:
                            continue
                        x = torch.zeros(1, 1, size)
                        for ceil in (False, True):
                            want = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
                            assert j._output_size(size, k, s, p, d, ceil) == want, (size, k, s, p, d, ceil)


def test_ex01_design_measurement():
    j = H.judge("ex01_conv_arithmetic")
    m = j.measure([["conv", 16, 3, 2, 1], ["maxpool", 3, 2, 1], ["conv", 32, 3, 2, 1], ["conv", 64, 3, 2, 1],
                   ["maxpool", 3, 2, 1], ["conv", 64, 3, 1, 1, 1, 64]])
    assert m == dict(output_shape=[64, 3, 3], receptive_field=127, params=24_224, macs=2_327_616)
    assert "expected" in j.measure([["pool", 2, 2]])  # a layer outside the vocabulary is explained


def test_ex03_factorisation_reference_is_optimal():
    """The judge's optimum (Eckart-Young) is reached by the master's construction and beaten by nothing
    a few steps of gradient descent find."""
    j = H.judge("ex03_inception")
    import numpy as np

    case = j._factor_case(np.random.default_rng(0), 3, 2, 3, 2)
    best = j._factor_reference(case)
    from autograder import codec

    kernel = codec.decode_tensor(case["weight"])
    first = torch.randn(2, 2, 1, 3, dtype=torch.float64, requires_grad=True)
    second = torch.randn(3, 2, 3, 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([first, second], lr=0.05)
    for _ in range(300):
        loss = (j.compose(first, second) - kernel).norm()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() >= best - 1e-6
    ok, _ = j._factor_compare(case, [codec.encode_tensor(first.detach()), codec.encode_tensor(second.detach())], best)
    assert ok == (loss.item() <= best * (1 + 1e-4) + 1e-6 * kernel.norm().item())


def test_spec_network_counts_and_rejects():
    from autograder.checks import _specnet
    from cnnlab import analysis

    model = _specnet.build([["conv", 8, 3, 1, 1], ["maxpool", 3, 2], ["inception", 2, 2, 4, 1, 2, 2], ["gap"]],
                           ("conv", "maxpool", "inception", "gap"), 3, 16, 10)
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
    assert analysis.count_params(model) == 8 * 27 + 8 + sum(
        o * i * k * k + o for i, o, k in [(8, 2, 1), (8, 2, 1), (2, 4, 3), (8, 1, 1), (1, 2, 5), (8, 2, 1)]) + 10 * 10 + 10
    for bad, why in (([["linear", 8], ["conv", 4, 3, 1, 1]], "after a 'linear'"), ([["lrn", 5]], "unknown layer"),
                     ([["conv", 4, 17, 1, 0]], "kernel"), ("conv", "non-empty list")):
        with pytest.raises(_specnet.SpecError, match=why):
            _specnet.build(bad, ("conv", "linear"), 3, 16, 10)


# --- the student-side checks say what is wrong -----------------------------------------------------




def test_checks_name_the_failing_case():
    from autograder.checks import ex01_conv_arithmetic as c1
    from autograder.checks import ex02_alexnet_units as c2
    from autograder.checks import ex03_inception as c3
    from autograder.checks._common import CheckFailed

    wrong1 = H.answers("ex01_conv_arithmetic", WRONG["ex01_conv_arithmetic"]["replace"])
    with pytest.raises(CheckFailed, match=r"ceil_mode=True\) returned \d+, expected \d+"):
        c1.output_size(wrong1["output_size"], n_cases=200)
    with pytest.raises(CheckFailed, match=r"returned \(\d+, \d+\), expected \(params, macs\)"):
        c1.conv_cost(wrong1["conv_cost"])
    wrong2 = H.answers("ex02_alexnet_units", WRONG["ex02_alexnet_units"]["replace"])
    with pytest.raises(CheckFailed, match=r"size=[2468].*wrong gradient, at index"):
        c2.lrn_backward(wrong2["lrn_backward"], sizes=(2, 4, 6, 8))
    with pytest.raises(CheckFailed, match="channelwise=True.*as a whole"):
        c2.dropout_train(wrong2["dropout"])
    with pytest.raises(CheckFailed, match=r"padding=\d.*wrong indices"):
        c2.max_pool2d(wrong2["max_pool2d"])
    wrong3 = H.answers("ex03_inception", WRONG["ex03_inception"]["replace"])
    with pytest.raises(CheckFailed, match="output channel"):
        c3.inception_block(wrong3["InceptionBlock"])
    with pytest.raises(CheckFailed, match="best possible"):
        c3.factorize(wrong3["factorize"])
    with pytest.raises(CheckFailed, match="not implemented yet"):
        c2.max_pool2d(lambda *a: (_ for _ in ()).throw(NotImplementedError()))


def test_checks_accept_the_masters():
    from autograder.checks import ex01_conv_arithmetic as c1
    from autograder.checks import ex02_alexnet_units as c2
    from autograder.checks import ex03_inception as c3

    ns1 = H.answers("ex01_conv_arithmetic", {})
    c1.output_size(ns1["output_size"], n_cases=100)
    c1.conv_cost(ns1["conv_cost"])
    c1.receptive_field(ns1["receptive_field"])
    c1.design(ns1["DESIGN"], ns1["PREDICTION"])
    ns2 = H.answers("ex02_alexnet_units", {})
    c2.lrn_backward(ns2["lrn_backward"], sizes=range(1, 9))
    c2.dropout_eval(ns2["dropout"])
    c2.dropout_train(ns2["dropout"])
    c2.max_pool2d(ns2["max_pool2d"])
    ns3 = H.answers("ex03_inception", {})
    c3.inception_block(ns3["InceptionBlock"])
    c3.factorize(ns3["factorize"])
