"""The instructor's cycle end to end with real nbgrader, in a temporary course directory, one
command per step (``python -m autograder.cycle``, what ``python3 make.py <step>`` runs): generate,
release to an exchange, a student fetches and submits, collect from the exchange and from a folder of
downloads (names and a mapping CSV), autograde in the sandbox, HTML feedback, CSV export. And the
student bundle: nothing of the solutions, hidden tests or grader in it."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import isolation
from autograder.cycle import build_student_bundle, check_bundle, new_course, student_id_from_name
from nbgrader_roundtrip import replace_solutions

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy_assignment"
MODE = isolation.detect()


def _env(**extra) -> dict:
    return dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""), **extra)


def step(course: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "autograder.cycle", *args, "--course", str(course)], cwd=REPO,
                          env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_student_ids_from_download_names():
    a = "ex01_conv_arithmetic"
    assert student_id_from_name("alice_ex01_conv_arithmetic.ipynb", a) == "alice"
    assert student_id_from_name("ex01_conv_arithmetic - bob.smith.ipynb", a) == "bob.smith"
    assert student_id_from_name("carol_1234_assignsubmission_file_ex01_conv_arithmetic (2).ipynb", a) == "carol"
    assert student_id_from_name("ex01_conv_arithmetic (3).ipynb", a) is None  # Colab's own name: use a map
    assert student_id_from_name("Submission-s123456-ex01.ipynb", a, r"-(?P<id>s\d+)-") == "s123456"


@pytest.mark.skipif(not MODE.isolated, reason=f"NO SANDBOX on this machine ({MODE.reason}): grading is refused")
def test_cycle_with_real_nbgrader(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    new_course(course, TOY / "solutions", generate=False)  # `release` below generates
    exchange = tmp_path / "exchange"

    step(course, "release", "toy_ops", "--exchange", str(exchange))  # generates, then releases
    student_nb = course / "course" / "exercises" / "toy_ops" / "toy_ops.ipynb"
    assert "BEGIN SOLUTION" not in student_nb.read_text()
    master = nbformat.read(course / "solutions" / "toy_ops" / "toy_ops.ipynb", as_version=4)

    # alice works on JupyterHub: fetch, answer, submit (as herself)
    home = tmp_path / "alice"
    home.mkdir()
    hub = ["--course=cnnlab", f"--Exchange.root={exchange}"]
    alice = _env(USER="alice", LOGNAME="alice")
    subprocess.run([sys.executable, "-m", "nbgrader", "fetch_assignment", "toy_ops", *hub], cwd=home, env=alice,
                   check=True, capture_output=True, timeout=600)
    fetched = home / "toy_ops" / "toy_ops.ipynb"
    student = nbformat.read(fetched, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in master.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nbformat.write(replace_solutions(student, answers), fetched)
    subprocess.run([sys.executable, "-m", "nbgrader", "submit", "toy_ops", *hub], cwd=home, env=alice,
                   check=True, capture_output=True, timeout=600)
    # nbgrader names the submission after the OS account (on a hub, alice's own): make it hers here
    for sub in (exchange / "cnnlab" / "inbound").iterdir():
        sub.rename(sub.with_name("alice+" + sub.name.split("+", 1)[1]))
    step(course, "collect", "toy_ops", "--exchange", str(exchange))
    assert (course / "submitted" / "alice" / "toy_ops" / "toy_ops.ipynb").exists()

    # bob and carol sent files through the LMS / from Colab: names with an id, and one without (a map)
    downloads, colab = tmp_path / "downloads", tmp_path / "colab"
    downloads.mkdir()
    colab.mkdir()
    nbformat.write(replace_solutions(student, {**answers, "relu": "def relu(x):\n    return x.abs()\n"}),
                   downloads / "bob_1234_assignsubmission_file_toy_ops.ipynb")
    nbformat.write(student, colab / "toy_ops (1).ipynb")
    (tmp_path / "map.csv").write_text("file,student\ntoy_ops (1).ipynb,carol\n")
    step(course, "collect", "toy_ops", "--from", str(downloads))
    step(course, "collect", "toy_ops", "--from", str(colab), "--map", str(tmp_path / "map.csv"))

    out = step(course, "autograde", "all", "--judges", str(TOY), "--jobs", "2", "--seed", "3", "--quiet")
    assert "3 graded" in out.stdout and "0 failed" in out.stdout, out.stdout

    # plain `nbgrader autograde` (formgrader's button) would run submissions unconfined: it refuses
    plain = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "toy_ops", "--force"], cwd=course,
                           env=_env(), capture_output=True, text=True, timeout=600)
    assert "nbgrader autograde is turned off" in plain.stdout + plain.stderr
    # (with --force it has removed autograded/ first; the same autograde command restores it from
    # its records without grading again)
    again = step(course, "autograde", "toy_ops", "--judges", str(TOY), "--quiet")
    assert "0 graded, 3 already graded (kept)" in again.stdout, again.stdout

    step(course, "feedback", "toy_ops")
    fb = {s: (course / "feedback" / s / "toy_ops" / "toy_ops.html").read_text() for s in ("alice", "bob", "carol")}
    assert "All 50 cases passed" in fb["alice"] and "Failed" not in fb["alice"]
    assert "values differ" in fb["bob"] and "All 2 cases passed" in fb["bob"]
    assert "not implemented yet" in fb["carol"]
    for html in fb.values():
        assert "SECRET-HIDDEN-TOKEN" not in html and "BEGIN HIDDEN TESTS" not in html

    step(course, "export", "--to", str(tmp_path / "grades.csv"))
    rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert rows == {"alice": 6.0, "bob": 3.0, "carol": 0.0}
    summary = list(csv.DictReader(open(course / "grading" / "toy_ops" / "summary.csv")))
    assert {r["student"]: float(r["score"]) for r in summary} == rows


def test_student_bundle_holds_no_secret(tmp_path):
    archive = build_student_bundle(tmp_path / "student")
    bundle = tmp_path / "student"
    assert archive.exists() and check_bundle(bundle) == []
    assert (bundle / "course" / "exercises").is_dir() and (bundle / "cnnlab" / "__init__.py").exists()
    assert not (bundle / "solutions").exists() and not (bundle / "autograder" / "judges").exists()
    import tomllib

    project = tomllib.loads((bundle / "pyproject.toml").read_text())["project"]
    assert set(project["optional-dependencies"]) == {"course"}  # no instructor / test extras
    assert not any("nbgrader" in d for d in project["dependencies"] + project["optional-dependencies"]["course"])
    # the students' notebooks import the visible-test helpers: they work from the bundle alone
    probe = ("import sys, importlib, pkgutil; sys.path.insert(0, '.'); import autograder.checks as c; "
             "assert c.__file__.startswith(sys.argv[1]), c.__file__; "
             "[importlib.import_module('autograder.checks.' + m.name) for m in pkgutil.iter_modules(c.__path__)]")
    subprocess.run([sys.executable, "-c", probe, str(bundle)], cwd=bundle, check=True, timeout=300)
    # the check is real: a leaked solution, hidden test or judge is found
    master = next((REPO / "solutions").rglob("*.ipynb"))
    nb = json.loads(master.read_text())
    sol = next("".join(c["source"]) for c in nb["cells"] if "### BEGIN SOLUTION" in "".join(c["source"])
               and len("".join(c["source"]).split("### BEGIN SOLUTION")[1].strip().splitlines()) > 3)
    (bundle / "cnnlab" / "leak.py").write_text(sol.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0])
    (bundle / "autograder" / "judges").mkdir()
    problems = check_bundle(bundle)
    assert any("leak.py: contains a solution" in p for p in problems), problems
    assert any("autograder/judges" in p for p in problems)
