"""The course's own exercises through the real grading engine (sandbox, judge, JSON boundary):
the master gets full marks with 20 different seeds for every hidden test that draws random cases,
the untouched student version gets 0, and the designed wrong submission gets exactly its designed
scores. Assignments whose judge has not been written yet are skipped, by name. On a machine without
bubblewrap they run in the engine's fallback (limits only), with a warning in the summary."""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder import isolation
from autograder import judge as J
from nbgrader_roundtrip import SOLUTIONS, assignments, replace_solutions
from wrong_submissions import WRONG

MODE = isolation.detect()


@pytest.fixture(autouse=True)
def loud_without_sandbox():
    """Without a sandbox these run the masters unconfined (trusted code): said in the summary."""
    if not MODE.isolated:
        import warnings

        warnings.warn(f"NO SANDBOX ({MODE.reason}): the exercises were graded with resource limits only",
                      UserWarning)


def _judged(name: str):
    try:
        return J.judge_files(name)
    except J.JudgeError:
        return None


@pytest.mark.parametrize("assignment", assignments())
def test_exercise_through_the_engine(assignment, tmp_path):
    if _judged(assignment) is None:
        pytest.skip(f"{assignment} has no judge yet (autograder/judges/{assignment}.py)")
    judge = J.load_judge(assignment)
    _, adapter = J.judge_files(assignment)
    path = SOLUTIONS / assignment / f"{assignment}.ipynb"
    master = J.read_master(path)
    result = J.grade_notebook(path, master, judge, adapter, seed=2024, repeats=20)
    bad = {k: t["message"] for k, t in result["tests"].items() if t["score"] != t["points"]}
    assert not bad and not result["flags"], (bad, result["flags"], result["incidents"])
    assert any(k.endswith("#19") for k in result["tests"]), "no hidden test draws random cases"

    nb = nbformat.read(path, as_version=4)
    untouched = tmp_path / "untouched.ipynb"
    stubs = {gid: "raise NotImplementedError()\n" for gid in master.solutions}
    nbformat.write(replace_solutions(nb, stubs), untouched)
    zero = J.grade_notebook(untouched, master, judge, adapter, seed=1)
    assert {k: t["score"] for k, t in zero["tests"].items()} == {k: 0.0 for k in zero["tests"]}

    wrong = WRONG.get(assignment)
    if wrong and "replace" in wrong:
        sub = tmp_path / "wrong.ipynb"
        nbformat.write(replace_solutions(nb, wrong["replace"]), sub)
        got = J.grade_notebook(sub, master, judge, adapter, seed=1)
        assert {k: t["score"] for k, t in got["tests"].items()} == {k: float(v) for k, v in wrong["expected"].items()}, \
            json.dumps(got["tests"], indent=1)[:3000]
