"""The grading engine on the toy assignment of tests/fixtures: honest and hostile submissions graded
as a class, in a temporary nbgrader course, in the sandbox (issue 8).

One class run grades every submission of tests/hostile_submissions/toy_ops.py in parallel; the
tests then assert each one's exact scores and flag from the gradebook, that nothing outside the
sandbox changed, that no secret reached the feedback, and that an honest submission graded right
after a hostile one gets its right score. A machine without bubblewrap runs the tests that do not
need isolation and skips the others, saying so.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import codec, isolation
from autograder import judge as J
from autograder.cycle import new_course
from autograder.grading import Course, grade_assignment
from hostile_submissions.toy_ops import FULL, SPECIAL, SUBMISSIONS
from nbgrader_roundtrip import replace_solutions

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy_assignment"
GRADER = REPO / "autograder"
SECRET = "SECRET-HIDDEN-TOKEN-4f2a"
LIMITS = isolation.Limits(wall_s=90, cell_s=10, test_s=6, cpu_s=60)
MODE = isolation.detect()
needs_sandbox = pytest.mark.skipif(not MODE.isolated, reason=f"NO SANDBOX on this machine ({MODE.reason}): "
                                   "the isolation tests cannot run; grading here would be refused")


def make_course(root: Path) -> Course:
    """A temporary nbgrader course holding the toy assignment, its gradebook entry generated."""
    return new_course(root, TOY / "solutions")


def submit(course: Course, student: str, nb) -> None:
    folder = course.root / "submitted" / student / "toy_ops"
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (bytes, str)):
        (folder / "toy_ops.ipynb").write_bytes(nb if isinstance(nb, bytes) else nb.encode())
    else:
        nbformat.write(nb, folder / "toy_ops.ipynb")


def scores(course: Course, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {g.name: g.score for g in gb.find_submission_notebook("toy_ops", "toy_ops", student).grades}


def record(course: Course, student: str) -> dict:
    return json.loads((course.root / "grading" / "toy_ops" / f"{student}.json").read_text())["result"]["notebooks"]["toy_ops"]


def _tree_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for base in paths:
        for p in sorted(base.rglob("*")) if base.is_dir() else [base]:
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


def _sandbox_processes() -> list[int]:
    uids = range(isolation.SANDBOX_UID, isolation.SANDBOX_UID + 16)
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid in uids:
                found.append(int(pid))
        except OSError:
            pass
    return found


class Listener:
    """A local TCP server that counts the connections a sandbox manages to make."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port, self.hits, self.stop = self.sock.getsockname()[1], 0, False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.hits += 1
                conn.close()
            except OSError:
                continue


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Every honest and hostile submission, graded in one parallel class run."""
    if not MODE.isolated:
        pytest.skip(f"NO SANDBOX on this machine ({MODE.reason})")
    root = tmp_path_factory.mktemp("course")
    course = make_course(root)
    master = nbformat.read(TOY / "solutions" / "toy_ops" / "toy_ops.ipynb", as_version=4)
    student_version = nbformat.read(root / "course" / "exercises" / "toy_ops" / "toy_ops.ipynb", as_version=4)
    listener = Listener()
    fill = {"course": str(root), "port": listener.port, "grader": str(GRADER), "home": str(Path.home()),
            "cnnlab": str(REPO / "cnnlab")}
    for name, sub in SUBMISSIONS.items():
        submit(course, name, replace_solutions(master, {k: v.format(**fill) for k, v in sub["replace"].items()}))
    dup = nbformat.from_dict(master)
    relu = next(i for i, c in enumerate(dup.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    wrong = nbformat.from_dict(dup.cells[relu])
    wrong.source = "def relu(x):\n    return x\n"
    dup.cells.insert(relu + 1, wrong)
    submit(course, "stop_duplicated_cell", dup)
    submit(course, "stop_old_schema", nbformat.writes(nbformat.convert(master, 3), version=3))
    submit(course, "stop_not_a_notebook", b"\x00\x01 this is not JSON" * 1000)
    submit(course, "honest_empty", student_version)

    before = _tree_digest([root / "solutions", root / "nbgrader_config.py"])
    summary = grade_assignment(course, "toy_ops", jobs=2, seed=1234, limits=LIMITS, extra_dirs=(TOY,), progress=False)
    listener.stop = True
    after = _tree_digest([root / "solutions", root / "nbgrader_config.py"])
    return {"course": course, "summary": summary, "before": before, "after": after,
            "listener": listener, "master": master}


ALL = {**SUBMISSIONS, **SPECIAL}


@needs_sandbox
@pytest.mark.parametrize("name", sorted(ALL))
def test_exact_score_and_flag(graded_class, name):
    course, entry = graded_class["course"], ALL[name]
    assert scores(course, name) == entry["expected"], record(course, name)
    rec = record(course, name)
    flags = [f for fs in rec["flags"].values() for f in fs]
    if entry.get("flag"):
        assert any(entry["flag"] in f for f in flags), f"expected a flag about {entry['flag']!r}, got {flags}"
    else:
        assert not flags, f"unexpected flags {flags}"
    if entry.get("problem"):
        assert any(entry["problem"] in p for p in rec["problems"]), rec["problems"]


@needs_sandbox
def test_flags_reach_the_gradebook(graded_class):
    from nbgrader.api import Gradebook

    course = graded_class["course"]
    with Gradebook(course.db_url) as gb:
        flagged = {n: gb.find_submission_notebook("toy_ops", "toy_ops", n).flagged for n in ALL}
        comment = gb.find_comment("output_size", "toy_ops", "toy_ops", "ref_import_cnnlab").comment
    assert flagged["ref_import_cnnlab"] and flagged["forge_caller_frame"] and not flagged["honest_correct"]
    assert "cnnlab" in comment


@needs_sandbox
def test_class_summary_counts_every_submission(graded_class):
    s = graded_class["summary"]
    assert sorted(s.graded) == sorted(ALL)
    assert set(s.failed) == {"stop_not_a_notebook"}, s.failed
    assert "ref_copied_code" in s.flagged and "honest_correct" not in s.flagged
    assert "stop_not_a_notebook" in s.text() and "flagged" in s.text()


@needs_sandbox
def test_nothing_outside_the_sandbox_changed(graded_class):
    assert graded_class["after"] == graded_class["before"], "a submission changed the course's masters or config"
    # (other files of the shared tree change while the tests run: look for what the submission wrote)
    import sysconfig

    for target in (GRADER / "judge.py", GRADER / "nbgrader_config.py", REPO / "cnnlab" / "__init__.py",
                   Path(sysconfig.get_paths()["purelib"]) / "sitecustomize.py"):
        assert not target.exists() or "pwned" not in target.read_text(), target
    assert not (GRADER / "checks" / "evil.py").exists()
    assert not (Path.home() / ".ipython" / "profile_default" / "startup" / "00-evil.py").exists()
    assert graded_class["listener"].hits == 0, "a submission reached the network"
    assert _sandbox_processes() == [], "a sandboxed process outlived its grading"
    course = graded_class["course"]
    out = record(course, "persist_write_grader")["cells"]["relu"]["stdout"]
    # what it did write went to the sandbox's own /tmp (the course lives under the host's /tmp)
    wrote = [l.split()[1] for l in out.splitlines() if l.startswith("WROTE")]
    assert all(w.startswith(str(course.root)) for w in wrote), out
    assert b"pwned" not in (course.root / "gradebook.db").read_bytes()


@needs_sandbox
def test_no_secret_reaches_the_student(graded_class):
    course = graded_class["course"]
    leak = record(course, "secrets_read_files")["cells"]["relu"]["stdout"]
    leaked = [l for l in leak.splitlines() if l.startswith("LEAK")]
    # all it could list: the judges folder (an empty tmpfs over it) and the folders above the Python
    # installation that the sandbox's view has to contain
    allowed = {f"LEAK {GRADER / 'judges'} []", "LEAK /root [PosixPath('/root/.pyenv')]"}
    assert set(leaked) <= allowed, leaked
    for secret in (SECRET, "BEGIN SOLUTION", "SQLite", "ex01_conv_arithmetic.py", "ex03_inception.py"):
        assert secret not in leak, f"{secret!r} leaked into the sandbox: {leak[:2000]}"
    assert f"refused {REPO / 'cnnlab'}/analysis.py PermissionError" in leak, leak
    for path in (course.root / "autograded").rglob("*.ipynb"):
        text = path.read_text()
        assert SECRET not in text and "BEGIN HIDDEN TESTS" not in text, path
        assert len(text) < 300_000, f"{path} is {len(text)} bytes: output was not capped"
    for path in (course.root / "grading").rglob("*.json"):
        assert SECRET not in path.read_text()


@needs_sandbox
def test_honest_submission_after_hostile_ones_gets_its_score(graded_class, tmp_path):
    course = graded_class["course"]
    # serially, right after the hostile ones that tried to leave something behind
    for name in ("persist_write_grader", "persist_detached_process", "stop_kill_everything"):
        shutil.copytree(course.root / "submitted" / name, course.root / "submitted" / f"a_{name}")
    submit(course, "z_honest_after", graded_class["master"])
    late = sorted(["a_persist_write_grader", "a_persist_detached_process", "a_stop_kill_everything", "z_honest_after"])
    summary = grade_assignment(course, "toy_ops", jobs=1, seed=99, limits=LIMITS, extra_dirs=(TOY,),
                               students=late, progress=False)
    assert sorted(summary.graded) == late
    assert scores(course, "z_honest_after") == FULL


@needs_sandbox
def test_resume_keeps_grades_and_skips_what_is_done(graded_class):
    course = graded_class["course"]
    before = {n: scores(course, n) for n in ("honest_correct", "ref_import_cnnlab")}
    again = grade_assignment(course, "toy_ops", jobs=2, limits=LIMITS, extra_dirs=(TOY,), progress=False)
    assert again.graded == [] and len(again.skipped) >= len(ALL)
    assert {n: scores(course, n) for n in before} == before
    # a changed submission is graded again, and only it
    nb = nbformat.from_dict(graded_class["master"])
    submit(course, "honest_partly_wrong", nb)
    third = grade_assignment(course, "toy_ops", jobs=2, seed=5, limits=LIMITS, extra_dirs=(TOY,), progress=False)
    assert third.graded == ["honest_partly_wrong"]
    assert scores(course, "honest_partly_wrong") == FULL


# --- the engine's pieces on their own ------------------------------------------------------------------

def test_correct_submission_full_marks_with_20_seeds():
    judge = J.load_judge("toy_ops", (TOY,))
    _, adapter = J.judge_files("toy_ops", (TOY,))
    master = J.read_master(TOY / "solutions" / "toy_ops" / "toy_ops.ipynb")
    result = J.grade_notebook(master.path, master, judge, adapter, seed=7, limits=LIMITS, repeats=20)
    hidden = [k for k in result["tests"] if "#" in k]
    assert len(hidden) == 40
    assert all(t["score"] == t["points"] for t in result["tests"].values()), result["tests"]
    seeds = {json.dumps(judge.TESTS["output_size_hidden"].cases(
        __import__("numpy").random.default_rng(J._rng_seed("output_size_hidden", True, 7, k)))) for k in range(20)}
    assert len(seeds) == 20, "each run must draw different hidden cases"


def test_codec_is_plain_data_only():
    import torch

    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return torch.ones(3)

    x = torch.tensor([[1.5, -2.0]])
    enc = codec.encode_tensor(x.as_subclass(Liar))
    assert enc == {"dtype": "float32", "shape": [1, 2], "data": [1.5, -2.0]}
    assert torch.equal(codec.decode_tensor(enc), x)
    class Eq(int):
        def __eq__(self, other):
            return True
    assert type(codec.to_plain([Eq(3)])[0]) is int
    with pytest.raises(codec.CodecError):
        codec.to_plain(object())
    with pytest.raises(codec.CodecError):
        codec.decode_tensor({"dtype": "float32", "shape": [2], "data": [1.0]})
    with pytest.raises(codec.CodecError):
        codec.dumps({"x": Eq(1)})


def test_static_checks_name_what_is_wrong():
    flags = J.static_flags({"a": "import torch.nn.functional as F\ndef f(x):\n    return torch.nn.functional.max_pool2d(x, 2)\n"},
                           forbidden=("F.max_pool2d",))
    assert flags == ["uses torch.nn.functional.max_pool2d (forbidden in this part: F.max_pool2d) (cell a, line 3)"]
    assert J.static_flags({"a": "def f(x):\n    return x.unfold(2, 3, 2).amax(-1)\n"}, forbidden=("F.max_pool2d",)) == []
    assert any("computed name" in f for f in J.static_flags({"a": "g = getattr(torch, 'ma' + 'x')"}))
    assert any("eval" in f for f in J.static_flags({"a": "eval('1')"}))


def test_copied_code_is_found_through_renaming():
    import inspect

    import cnnlab.analysis as analysis

    src = inspect.getsource(analysis.conv_output_size).replace("conv_output_size", "mine").replace("label", "name")
    assert J.copied_from_reference({"a": src})
    own = "def output_size(size, k, s=1, p=0, d=1):\n    return (size + 2 * p - d * (k - 1) - 1) // s + 1\n"
    assert J.copied_from_reference({"a": own}) == []


def test_without_a_sandbox_grading_is_refused_loudly(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CNNLAB_SANDBOX", "none")
    isolation.detect.cache_clear()
    try:
        mode = isolation.detect()
        assert not mode.isolated
        course = Course(tmp_path, "solutions", "sqlite:///" + str(tmp_path / "gb.db"))
        with pytest.raises(SystemExit, match="GRADING WITHOUT A SANDBOX"):
            grade_assignment(course, "toy_ops", allow_unsandboxed=False, extra_dirs=(TOY,), progress=False)
    finally:
        monkeypatch.delenv("CNNLAB_SANDBOX")
        isolation.detect.cache_clear()


@needs_sandbox
def test_interrupted_class_run_resumes_without_losing_a_grade(tmp_path):
    """Ctrl-C in the middle of a class: what was graded stays graded, the rerun grades the rest only."""
    import signal
    import time

    course = make_course(tmp_path)
    master = nbformat.read(TOY / "solutions" / "toy_ops" / "toy_ops.ipynb", as_version=4)
    students = [f"s{i}" for i in range(4)]
    for s in students:
        submit(course, s, master)
    cmd = [sys.executable, "-m", "autograder.cycle", "autograde", "toy_ops", "--course", str(tmp_path), "--judges",
           str(TOY), "--jobs", "1", "--quiet", "--seed", "1"]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    records = course.root / "grading" / "toy_ops"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(records.glob("s*.json"))) < 1 and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=120)[0]
    done = sorted(p.stem for p in records.glob("s*.json"))
    assert 1 <= len(done) < 4, out
    assert "interrupted" in out, out
    for s in done:
        assert scores(course, s) == FULL  # a record exists only once its grade is in the gradebook
    rerun = grade_assignment(course, "toy_ops", jobs=2, seed=2, limits=LIMITS, extra_dirs=(TOY,), progress=False)
    assert sorted(rerun.skipped) == done and sorted(rerun.graded) == sorted(set(students) - set(done))
    assert all(scores(course, s) == FULL for s in students)
    assert _sandbox_processes() == []
