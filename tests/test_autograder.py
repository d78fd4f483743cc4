"""Every assignment's nbgrader round trip, graded by the sandboxed judge, and the rules every
assignment's files follow.

For each assignment folder in solutions/ with a judge: generate the student version with nbgrader in
a temporary course directory, check it equals the committed course/exercises copy and holds no
solution or hidden test, then grade three submissions into nbgrader's gradebook with
``autograder.grading`` (the master: full marks; the untouched student version: zero everywhere;
the designed wrong submission of tests/wrong_submissions/<assignment>.py: exactly its designed
scores). The checks of each exercise are tested with the exercise; the engine in test_grading*.py.
"""
from __future__ import annotations

import ast
import importlib

import nbformat
import pytest

from autograder import isolation
from autograder import judge as J
from autograder.grading import Course as GradingCourse
from autograder.grading import grade_assignment
from nbgrader_roundtrip import RELEASED, REPO, SOLUTIONS, Course, assignments, replace_solutions
from wrong_submissions import WRONG


def _strip(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, c.get("metadata", {}).get("nbgrader")) for c in nb.cells]


def _has_judge(assignment: str) -> bool:
    try:
        J.judge_files(assignment)
        return True
    except J.JudgeError:
        return False


def test_every_assignment_has_a_designed_wrong_submission():
    assert assignments(), "no assignments found in solutions/"
    assert set(assignments()) == set(WRONG), "tests/wrong_submissions/ needs a module for every assignment"


@pytest.mark.parametrize("assignment", assignments())
def test_judge_covers_every_graded_cell(assignment):
    """Every assignment is graded by the judge (no test cell decides a grade in the student's kernel):
    its judge scores exactly the master's graded test cells, and its parts name real answer cells."""
    assert _has_judge(assignment), (f"{assignment} needs autograder/judges/{assignment}.py and "
                                    f"autograder/sandbox/{assignment}.py (autograder/README.md)")
    judge = J.load_judge(assignment)
    masters = [J.read_master(p) for p in sorted((SOLUTIONS / assignment).glob("*.ipynb"))]
    graded = {g for m in masters for g in m.points}
    answers = {a for m in masters for a in m.solutions}
    assert set(judge.TESTS) == graded, f"judge tests {sorted(judge.TESTS)} vs graded cells {sorted(graded)}"
    for name, part in judge.PARTS.items():
        assert set(part.answer_cells) <= answers, f"part {name} names unknown answer cells {part.answer_cells}"


@pytest.mark.parametrize("assignment", assignments())
def test_student_side_checks_hold_no_reference(assignment):
    """The visible-test helpers run in the student's kernel: no ``reference_*`` attribute there."""
    if not _has_judge(assignment):
        pytest.skip(f"{assignment} has no judge yet")
    path = REPO / "autograder" / "checks" / f"{assignment}.py"
    if not path.exists():
        pytest.skip(f"{assignment} has no student-side checks")
    tree = ast.parse(path.read_text())
    top = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    top |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not [n for n in top if n.startswith("reference")], f"{path} exposes reference implementations"
    importlib.import_module(f"autograder.checks.{assignment}")


@pytest.mark.slow
@pytest.mark.skipif(not isolation.detect().isolated, reason="NO SANDBOX on this machine")
@pytest.mark.parametrize("assignment", assignments())
def test_nbgrader_round_trip(assignment, tmp_path):
    if not _has_judge(assignment):
        pytest.skip(f"{assignment} has no judge yet")
    course = Course(tmp_path)
    course.nbgrader("generate_assignment", assignment, "--force")

    masters = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    for master_path in masters:
        name = master_path.name
        generated = nbformat.read(tmp_path / "course" / "exercises" / assignment / name, as_version=4)
        committed_path = RELEASED / assignment / name
        assert committed_path.exists(), f"{committed_path} is missing: run `python3 make.py generate {assignment}`"
        committed = nbformat.read(committed_path, as_version=4)
        assert _strip(generated) == _strip(committed), (
            f"{committed_path} has drifted from its master {master_path}: run `python3 make.py generate {assignment}`")
        student_text = committed_path.read_text()
        assert "BEGIN SOLUTION" not in student_text and "BEGIN HIDDEN TESTS" not in student_text

        master = nbformat.read(master_path, as_version=4)
        course.submit("master", assignment, master, name)
        course.submit("untouched", assignment, generated, name)
        course.submit("wrong", assignment, replace_solutions(master, WRONG[assignment]["replace"]), name)

    summary = grade_assignment(GradingCourse.load(tmp_path), assignment, seed=11, progress=False)
    assert sorted(summary.graded) == ["master", "untouched", "wrong"] and not summary.failed, summary.text()

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
