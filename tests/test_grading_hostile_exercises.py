"""One hostile submission per class of issue 8 against each course exercise, through the real
sandbox and judge: the attacked answer cell is the master's last one, so the scores to expect follow
from the master (the tests of the parts that use that cell lose their points, or keep them when the
attack is a side effect next to a correct answer). The toy assignment's suite (test_grading.py)
covers each class in depth; this one shows the same holds for ex01-ex03's own judges."""
from __future__ import annotations

import concurrent.futures as cf
import json
from pathlib import Path

import nbformat
import pytest

from autograder import isolation
from autograder import judge as J
from nbgrader_roundtrip import SOLUTIONS, assignments, replace_solutions

REPO = Path(__file__).resolve().parents[1]
GRADER = REPO / "autograder"
MODE = isolation.detect()
pytestmark = pytest.mark.skipif(not MODE.isolated, reason=f"NO SANDBOX on this machine ({MODE.reason})")

ATTACKS = {
    # verdict forged: the checks and comparisons rebound, nothing implemented
    "verdict": ("import torch\ntorch.equal = lambda *a, **k: True\ntorch.allclose = lambda *a, **k: True\n"
                "abs = lambda v: 0\ncheck = None\n", "replace"),
    # grading changed for everyone after + secrets read: writes into the grader, reads the course
    "persist_and_secrets": (
        "import pathlib\n"
        "for t in ['{grader}/judge.py', '{grader}/judges/{a}.py', '{grader}/nbgrader_config.py']:\n"
        "    try:\n        pathlib.Path(t).write_text('pwned')\n    except Exception as err:\n"
        "        print('refused', t, type(err).__name__)\n"
        "for t in ['{solutions}/{a}/{a}.ipynb', '{grader}/judges/{a}.py', '{repo}/gradebook.db']:\n"
        "    try:\n        print('LEAK', pathlib.Path(t).read_text()[:5000])\n    except Exception as err:\n"
        "        print('refused', t, type(err).__name__)\n", "prefix"),
    # references used
    "reference": ("import cnnlab\n", "prefix"),
    # one student stops the class: an endless cell
    "stop": ("while True:\n    pass\n", "prefix"),
}


def _cases():
    out = []
    for a in assignments():
        try:
            J.judge_files(a)
        except J.JudgeError:
            continue
        out += [(a, k) for k in ATTACKS]
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every (assignment, attack) graded, two sandboxes at a time."""
    tmp = tmp_path_factory.mktemp("hostile")

    def one(assignment: str, attack: str) -> tuple:
        path = SOLUTIONS / assignment / f"{assignment}.ipynb"
        master = J.read_master(path)
        judge = J.load_judge(assignment)
        _, adapter = J.judge_files(assignment)
        target = [gid for kind, gid in master.order if kind == "answer"][-1]
        code, how = ATTACKS[attack]
        code = code.format(grader=GRADER, solutions=SOLUTIONS, repo=REPO, a=assignment)
        source = code + (master.solutions[target] if how == "prefix" else "")
        sub = tmp / f"{assignment}-{attack}.ipynb"
        nbformat.write(replace_solutions(nbformat.read(path, as_version=4), {target: source}), sub)
        limits = J.limits_for(judge).replace(cell_s=10.0)
        result = J.grade_notebook(sub, master, judge, adapter, seed=5, limits=limits, slot=hash(attack) % 2)
        hit = {t for t, test in judge.TESTS.items() if target in judge.PARTS[test.part].answer_cells}
        return master, hit, result

    with cf.ThreadPoolExecutor(2) as pool:
        futures = {case: pool.submit(one, *case) for case in _cases()}
        return {case: f.result() for case, f in futures.items()}


@pytest.mark.parametrize("assignment,attack", _cases())
def test_attack_on_exercise(graded, assignment, attack):
    master, hit, result = graded[(assignment, attack)]
    scores = {t: r["score"] for t, r in result["tests"].items()}
    full = {t: master.points[t] for t in scores}
    broken = attack in ("verdict", "reference", "stop")
    expected = {t: (0.0 if broken and t in hit else full[t]) for t in scores}
    assert hit and scores == expected, json.dumps(result["tests"], indent=1)[:3000]
    flags = [f for fs in result["flags"].values() for f in fs]
    if attack == "reference":
        assert any("cnnlab" in f for f in flags), flags
    elif attack == "verdict":  # 0 either way; flagged too where the part forbids torch
        assert all("forbidden in this part: torch" in f for f in flags), flags
    else:
        assert not flags, flags
    if attack == "stop":
        assert any("time limit" in i for i in result["incidents"]), result["incidents"]
    if attack == "persist_and_secrets":
        out = json.dumps(result["cells"])
        assert "LEAK" not in out and out.count("refused") == 6, out[:3000]
        for name in ("judge.py", "nbgrader_config.py", f"judges/{assignment}.py"):
            assert "pwned" not in (GRADER / name).read_text()
