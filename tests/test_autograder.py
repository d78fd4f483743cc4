"""The nbgrader round trip of every assignment, and the check functions on their own.

For each assignment folder in solutions/: generate the student version in a temporary course
directory, check it equals the committed course/exercises copy, then autograde three submissions:
the master (full marks), the untouched student version (zero everywhere, no crash) and the designed
wrong submission of tests/wrong_submissions/<assignment>.py (exactly its designed scores).
"""
from __future__ import annotations

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import ex01_conv_arithmetic as ex01
from autograder.checks import ex02_alexnet_units as ex02
from autograder.checks import ex03_inception as ex03
from autograder.checks._common import CheckFailed, describe_call
from cnnlab import scratch
from nbgrader_roundtrip import RELEASED, SOLUTIONS, Course, assignments, replace_solutions
from wrong_submissions import WRONG


def _strip(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, c.get("metadata", {}).get("nbgrader")) for c in nb.cells]


def test_every_assignment_has_a_designed_wrong_submission():
    assert assignments(), "no assignments found in solutions/"
    assert set(assignments()) == set(WRONG), "tests/wrong_submissions/ needs a module for every assignment"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_nbgrader_round_trip(assignment, tmp_path):
    course = Course(tmp_path)
    course.nbgrader("generate_assignment", assignment, "--force")

    masters = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    for master_path in masters:
        name = master_path.name
        generated = nbformat.read(tmp_path / "course" / "exercises" / assignment / name, as_version=4)
        committed_path = RELEASED / assignment / name
        assert committed_path.exists(), f"{committed_path} is missing: run `python3 make.py release {assignment}`"
        committed = nbformat.read(committed_path, as_version=4)
        assert _strip(generated) == _strip(committed), (
            f"{committed_path} has drifted from its master {master_path}: run `python3 make.py release {assignment}`")
        # the student version must not contain the solutions or the hidden tests
        student_text = committed_path.read_text()
        assert "BEGIN SOLUTION" not in student_text and "BEGIN HIDDEN TESTS" not in student_text

        master = nbformat.read(master_path, as_version=4)
        course.submit("master", assignment, master, name)
        course.submit("untouched", assignment, generated, name)
        course.submit("wrong", assignment, replace_solutions(master, WRONG[assignment]["replace"]), name)

    course.nbgrader("autograde", assignment, "--create", "--force")

    for master_path in masters:
        name = master_path.stem
        max_scores = course.max_scores(assignment, name)
        assert max_scores and all(v > 0 for v in max_scores.values())
        assert course.scores(assignment, "master", name) == max_scores, "the master must get full marks"
        untouched = course.scores(assignment, "untouched", name)
        assert untouched == {k: 0 for k in max_scores}, f"the untouched student version must score 0: {untouched}"
        wrong = course.scores(assignment, "wrong", name)
        assert wrong == WRONG[assignment]["expected"], f"designed partial score not met: {wrong}"
        assert 0 < sum(wrong.values()) < sum(max_scores.values())


# --- the checks on their own: right answers pass, wrong ones fail with a message naming the input --

def _output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def test_checks_accept_correct_answers():
    ex01.output_size(_output_size, seed=None)
    ex01.conv_params(lambda in_channels, out_channels, kernel_size, bias=True:
                     out_channels * in_channels * kernel_size ** 2 + out_channels * bias, seed=None)


def test_check_names_the_failing_input():
    def no_dilation(size, kernel_size, stride=1, padding=0, dilation=1):
        return (size + 2 * padding - kernel_size) // stride + 1

    with pytest.raises(CheckFailed, match=r"no_dilation\(size=\d+, kernel_size=\d+.*dilation=[23]\) returned \d+, expected \d+"):
        ex01.output_size(no_dilation, seed=0)


def test_check_reports_not_implemented_and_crashes():
    def todo(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        ex01.conv_macs(todo)

    def typo(in_channels, out_channels, kernel_size, output_size):
        return undefined_name  # noqa: F821

    with pytest.raises(CheckFailed, match="raised NameError"):
        ex01.conv_macs(typo)


def test_receptive_field_check_explains_which_value_is_wrong():
    def jump_never_grows(layers, input_size):
        n, r, start = input_size, 1, 0.5
        rows = []
        for k, s, p in layers:
            n = (n + 2 * p - k) // s + 1
            start += ((k - 1) / 2 - p)
            r += k - 1
            rows.append((n, 1, r, start))
        return rows

    with pytest.raises(CheckFailed, match=r"after layer \d+ .*, j = 1, expected \d+"):
        ex01.receptive_field(jump_never_grows, seed=0)
    with pytest.raises(CheckFailed, match="one per layer"):
        ex01.receptive_field(lambda layers, input_size: [], seed=0)


# --- ex02 and ex03 checks: the cnnlab reference passes, typical mistakes fail with a useful message --

def test_messages_show_tensors_by_shape():
    assert describe_call("f", (torch.zeros(2, 3),), {"p": 0.5}) == "f(<tensor of shape (2, 3)>, p=0.5)"


def test_ex02_checks_accept_the_reference_and_catch_convention_mistakes():
    def lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
        return scratch.local_response_norm(x, size, alpha, beta, k)

    ex02.local_response_norm(lrn, seed=None)
    ex02.dropout(lambda x, p, training: scratch.dropout(x, p, training), seed=None)
    def pool(x, kernel_size, stride):
        return x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride).amax(dim=(-1, -2))

    ex02.max_pool2d(pool, seed=None)

    def lrn_averaged(x, size=5, alpha=1e-4, beta=0.75, k=2.0):  # PyTorch's alpha/n convention
        return F.local_response_norm(x, size, alpha, beta, k)

    with pytest.raises(CheckFailed, match="local_response_norm"):
        ex02.local_response_norm(lrn_averaged)

    def no_rescale(x, p, training):
        return x * (torch.rand_like(x) >= p) if training else x

    with pytest.raises(CheckFailed):
        ex02.dropout_train(no_rescale)

    def builtin_pool(x, kernel_size, stride):
        return F.max_pool2d(x, kernel_size, stride)

    with pytest.raises(CheckFailed, match="max_pool2d"):
        ex02.max_pool2d_does_not_call_builtins(builtin_pool)


def test_ex03_checks_accept_the_reference_and_catch_a_missing_relu():
    class Reference(nn.Module):
        def __init__(self, *config):
            super().__init__()
            ref = ex03.reference_inception(*config)
            self.branch1, self.branch2, self.branch3, self.branch4 = ref.branch1, ref.branch2, ref.branch3, ref.branch4

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)

    ex03.inception_block(Reference, n_cases=3, seed=None)

    class NoReluAfterReduction(Reference):
        def __init__(self, *config):
            super().__init__(*config)
            self.branch2[0][1] = nn.Identity()  # the 1×1 reduction's ReLU

    with pytest.raises(CheckFailed):
        ex03.inception_outputs(NoReluAfterReduction)

    def factorized(in_channels, out_channels, n):
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, (1, n), padding="same", bias=False),
                             nn.Conv2d(out_channels, out_channels, (n, 1), padding="same", bias=False))

    ex03.factorized_conv(factorized, n_cases=5, seed=None)

    def symmetric_padding(in_channels, out_channels, n):  # wrong size for even n
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, (1, n), padding=(0, n // 2), bias=False),
                             nn.Conv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0), bias=False))

    ex03.factorized_structure(symmetric_padding, ns=(3, 5, 7))  # odd n: right
    with pytest.raises(CheckFailed, match="padding"):
        ex03.factorized_structure(symmetric_padding, ns=(2, 4))
