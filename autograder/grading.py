"""Grading a class: every submission of an assignment, in parallel, resumable, into nbgrader.

``grade_assignment`` finds ``submitted/<student>/<assignment>/*.ipynb`` in an nbgrader course
directory, grades each submission with ``autograder.judge`` in its own sandbox (as many at once as
there are cores), and for each finished one, in this order:

1. writes the scores, the flags (``SubmittedNotebook.flagged`` and the answer cells' comments) into
   nbgrader's gradebook,
2. writes ``autograded/<student>/<assignment>/<notebook>.ipynb``: the master's cells with the
   student's answers, each test cell's output saying what passed and what failed (hidden tests'
   code removed), so that ``nbgrader generate_feedback`` and ``export`` work as after ``autograde``,
3. records ``grading/<assignment>/<student>.json`` (the verdict and a digest of the submission).

An interrupted run (Ctrl-C, a crash, a reboot) is resumed by running the same command: a student
whose record matches their current submission and the current judge is not graded again, and a
grade is in the gradebook before its record exists, so none is lost.
"""
from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import json
import os
import queue
import secrets
import shutil
import sys
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from autograder import isolation, judge as J


@dataclass
class Course:
    """An nbgrader course directory and the settings grading needs from its configuration."""

    root: Path
    source: str = "solutions"
    db_url: str = ""

    @classmethod
    def load(cls, root: Path | str) -> "Course":
        root = Path(root).resolve()
        course = cls(root, "solutions", "sqlite:///" + str(root / "gradebook.db"))
        cfg_path = root / "nbgrader_config.py"
        if cfg_path.exists():
            from traitlets.config.loader import PyFileConfigLoader

            cwd = os.getcwd()
            try:
                os.chdir(root)  # load_subconfig paths are relative to the course directory
                cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
            finally:
                os.chdir(cwd)
            cd = cfg.get("CourseDirectory", {})
            course.source = cd.get("source_directory", course.source)
            course.db_url = cd.get("db_url", course.db_url)
            if cd.get("root") and Path(cd["root"]).resolve() != root:
                course.root = Path(cd["root"]).resolve()
        return course

    def masters(self, assignment: str) -> list[Path]:
        found = sorted((self.root / self.source / assignment).glob("*.ipynb"))
        if not found:
            raise SystemExit(f"no master notebook in {self.root / self.source / assignment}")
        return found

    def assignments(self) -> list[str]:
        base = self.root / self.source
        return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) if base.exists() else []

    def submissions(self, assignment: str) -> dict[str, Path]:
        base = self.root / "submitted"
        if not base.exists():
            return {}
        return {p.parent.name: p for p in sorted(base.glob(f"*/{assignment}")) if p.is_dir()}


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


@dataclass
class Summary:
    assignment: str
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already graded (resume)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: float = 0.0
    mode: str = ""

    def text(self) -> str:
        lines = [f"{self.assignment}: {len(self.graded)} graded, {len(self.skipped)} already graded (kept), "
                 f"{len(self.flagged)} flagged, {len(self.failed)} failed, in {self.seconds:.1f} s "
                 f"(sandbox: {self.mode})"]
        for student, reasons in sorted(self.flagged.items()):
            lines.append(f"  flagged {student}: " + "; ".join(reasons)[:400])
        for student, reason in sorted(self.failed.items()):
            lines.append(f"  FAILED  {student}: {reason[:400]}")
        return "\n".join(lines)


def _judge_digest(assignment: str, extra_dirs) -> str:
    jpath, apath = J.judge_files(assignment, extra_dirs)
    return _digest([jpath, apath, Path(J.__file__), Path(__file__).with_name("sandbox") / "runner.py"])


def grade_assignment(course: Course, assignment: str, jobs: int | None = None, students: list[str] | None = None,
                     force: bool = False, seed: int | None = None, limits: isolation.Limits | None = None,
                     allow_unsandboxed: bool | None = None, extra_dirs: tuple = (), progress: bool = True,
                     log=print) -> Summary:
    """Grade every submission of ``assignment`` (or only ``students``). See the module docstring."""
    t0 = time.monotonic()
    mode = isolation.detect()
    if allow_unsandboxed is None:
        allow_unsandboxed = os.environ.get("CNNLAB_ALLOW_UNSANDBOXED") == "1"
    if not mode.isolated:
        warning = isolation.UNSANDBOXED_WARNING.format(reason=mode.reason)
        if not allow_unsandboxed:
            raise SystemExit(warning + "Refusing to grade. Pass --allow-unsandboxed (or set "
                             "CNNLAB_ALLOW_UNSANDBOXED=1) to grade anyway on a machine you trust the students with.")
        print(warning, file=sys.stderr, flush=True)
    judge_module = J.load_judge(assignment, extra_dirs)
    _, adapter = J.judge_files(assignment, extra_dirs)
    masters = [J.read_master(p) for p in course.masters(assignment)]
    limits = J.limits_for(judge_module, limits)
    jdigest = _judge_digest(assignment, extra_dirs)
    state_dir = course.root / "grading" / assignment
    state_dir.mkdir(parents=True, exist_ok=True)
    run_seed = seed if seed is not None else secrets.randbits(62)
    _check_gradebook(course, assignment, masters)

    subs = course.submissions(assignment)
    if students:
        subs = {s: p for s, p in subs.items() if s in students}
    summary = Summary(assignment, mode=mode.name)
    todo = []
    for student, folder in subs.items():
        files = sorted(folder.glob("*.ipynb"))
        digest = _digest(files) + jdigest
        record = state_dir / f"{student}.json"
        if not force and record.exists():
            try:
                saved = json.loads(record.read_text())
                if saved["digest"] == digest:
                    summary.skipped.append(student)
                    out_dir = course.root / "autograded" / student / assignment
                    if not all((out_dir / f"{m.name}.ipynb").exists() for m in masters):
                        # removed since (e.g. by a refused `nbgrader autograde --force`): written
                        # again from the record, gradebook included, without grading again
                        _record(course, assignment, masters, student, folder, saved["result"], digest, state_dir)
                    continue
            except (ValueError, KeyError):
                pass
        todo.append((student, folder, digest))

    jobs = max(1, jobs or os.cpu_count() or 1)
    try:  # judges that compute on this side (a design trained by the judge) share the cores
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs))
    except ImportError:  # pragma: no cover
        torch = None
    slots: queue.Queue = queue.Queue()
    for i in range(jobs):
        slots.put(i)

    def work(student: str, folder: Path) -> dict:
        slot = slots.get()
        try:
            sseed = (run_seed + zlib.crc32(student.encode())) % 2**62
            out = {"student": student, "seed": sseed, "notebooks": {}}
            for master in masters:
                path = folder / f"{master.name}.ipynb"
                if not path.exists():
                    others = sorted(folder.glob("*.ipynb"))
                    path = others[0] if len(masters) == 1 and len(others) == 1 else path
                if not path.exists():
                    out["notebooks"][master.name] = {"notebook": master.name, "tests": {
                        tid: {"part": judge_module.TESTS[tid].part, "points": pts, "score": 0.0, "passed": 0,
                              "total": 0, "message": f"{master.name}.ipynb was not submitted"}
                        for tid, pts in master.points.items() if tid in judge_module.TESTS},
                        "flags": {}, "problems": [f"{master.name}.ipynb was not submitted"], "cells": {},
                        "incidents": [], "missing": True}
                    continue
                out["notebooks"][master.name] = J.grade_notebook(path, master, judge_module, adapter, sseed,
                                                                 limits, mode, slot)
            return out
        finally:
            slots.put(slot)

    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="submission", file=sys.stderr)
    pool = cf.ThreadPoolExecutor(max_workers=jobs)
    futures = {pool.submit(work, s, f): (s, f, d) for s, f, d in todo}
    try:
        for fut in cf.as_completed(futures):
            student, folder, digest = futures[fut]
            try:
                result = fut.result()
            except Exception as err:  # noqa: BLE001 - one submission's failure must not stop the class
                summary.failed[student] = f"{type(err).__name__}: {err}"
                log(f"grading {student} failed:\n{traceback.format_exc(limit=4)}")
            else:
                _record(course, assignment, masters, student, folder, result, digest, state_dir)
                summary.graded.append(student)
                total = sum(t["score"] for nb in result["notebooks"].values() for t in nb["tests"].values())
                best = sum(t["points"] for nb in result["notebooks"].values() for t in nb["tests"].values())
                summary.scores[student] = (total, best)
                flags = [f"{p}: {f}" for nb in result["notebooks"].values() for p, fs in nb["flags"].items() for f in fs]
                flags += [p for nb in result["notebooks"].values() for p in nb["problems"]]
                if flags:
                    summary.flagged[student] = flags
                if any(nb.get("unreadable") for nb in result["notebooks"].values()):
                    summary.failed[student] = "; ".join(p for nb in result["notebooks"].values() for p in nb["problems"])
            if bar:
                bar.update(1)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        if bar:
            bar.close()
        log(f"\ninterrupted: {len(summary.graded)} graded and saved; run the same command to go on")
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bar:
            bar.close()
    if torch is not None:
        torch.set_num_threads(threads)
    summary.seconds = time.monotonic() - t0
    _write_summary_csv(state_dir, summary)
    return summary


def _check_gradebook(course: Course, assignment: str, masters) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(f"{assignment} is not in the gradebook {course.db_url}: "
                             f"run `python3 make.py generate {assignment}` first") from None
        names = {nb.name for nb in a.notebooks}
        missing = [m.name for m in masters if m.name not in names]
        if missing:
            raise SystemExit(f"the gradebook does not know the notebooks {missing} of {assignment}: "
                             f"run `python3 make.py generate {assignment}`")


def _timestamp(folder: Path) -> str | None:
    ts = folder / "timestamp.txt"
    if ts.exists():
        text = ts.read_text(errors="replace").strip()[:64]
        return text or None
    return None


def _record(course: Course, assignment: str, masters, student: str, folder: Path, result: dict, digest: str,
            state_dir: Path) -> None:
    """Gradebook first, then the autograded notebooks, then the resume record."""
    from nbgrader.api import Gradebook, MissingEntry

    timestamp = _timestamp(folder)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student(student)
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            kwargs = {}
            if timestamp:
                try:
                    from nbgrader.utils import parse_utc

                    parse_utc(timestamp)
                    kwargs["timestamp"] = timestamp
                except Exception:  # noqa: BLE001 - a malformed timestamp.txt is ignored
                    pass
            with warnings.catch_warnings():  # nbgrader's own add_submission trips SQLAlchemy's autoflush notes
                warnings.simplefilter("ignore")
                gb.add_submission(assignment, student, **kwargs)
        for master in masters:
            nbres = result["notebooks"][master.name]
            sub_nb = gb.find_submission_notebook(master.name, assignment, student)
            for grade in sub_nb.grades:
                t = nbres["tests"].get(grade.name)
                if t is not None:
                    grade.auto_score = float(t["score"])
                    grade.needs_manual_grade = False
            by_cell = _flags_by_cell(nbres, master)
            for comment in sub_nb.comments:
                text = by_cell.get(comment.name)
                comment.auto_comment = text or None
            sub_nb.flagged = bool(nbres["flags"] or nbres["problems"])
        gb.db.commit()

    out_dir = course.root / "autograded" / student / assignment
    out_dir.mkdir(parents=True, exist_ok=True)
    for master in masters:
        nb = _autograded_notebook(master, folder, result["notebooks"][master.name])
        tmp = out_dir / f".{master.name}.ipynb.tmp"
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / f"{master.name}.ipynb")
    if (folder / "timestamp.txt").exists():
        shutil.copyfile(folder / "timestamp.txt", out_dir / "timestamp.txt")
    record = {"student": student, "assignment": assignment, "digest": digest, "result": result,
              "graded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = state_dir / f".{student}.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, state_dir / f"{student}.json")


def _flags_by_cell(nbres: dict, master) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for part, flags in nbres["flags"].items():
        for f in flags:
            cell = f.rsplit("(cell ", 1)[-1].split(",")[0] if "(cell " in f else None
            if cell in master.solutions:
                out.setdefault(cell, []).append(f"FLAG ({part}): {f}")
    return {k: "\n".join(v) for k, v in out.items()}


def _strip_hidden(source: str) -> str:
    lines, keep = [], True
    for line in source.splitlines(keepends=True):
        if "### BEGIN HIDDEN TESTS" in line:
            keep = False
            lines.append("# (hidden tests: run by the grader)\n")
            continue
        if "### END HIDDEN TESTS" in line:
            keep = True
            continue
        if keep:
            lines.append(line)
    return "".join(lines)


def test_report(t: dict, flags: list[str]) -> str:
    """What a student reads under one graded test cell."""
    head = f"{t['score']:g} / {t['points']:g} points"
    if flags:
        return f"{head}. Flagged: the answer " + "; ".join(flags)
    if t["total"] and t["passed"] == t["total"]:
        return f"{head}. All {t['total']} cases passed."
    counts = f"{t['passed']} of {t['total']} cases passed. " if t["total"] else ""
    return f"{head}. {counts}{t['message']}".strip()


def _autograded_notebook(master, folder: Path, nbres: dict) -> dict:
    nb = json.loads(json.dumps(master.nb))
    answers = {}
    path = folder / f"{master.name}.ipynb"
    if path.exists():
        try:
            answers, _ = J.read_submission(path)
        except (OSError, ValueError):
            answers = {}
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        gid = nbg.get("grade_id")
        if nbg.get("solution") and gid:
            cell["source"] = answers.get(gid, "# (this answer cell was missing from the submission)\n")
        elif nbg.get("grade") and gid:
            cell["source"] = _strip_hidden("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
            t = nbres["tests"].get(gid)
            if t is not None and cell.get("cell_type") == "code":
                flags = nbres["flags"].get(t["part"], [])
                ok = t["score"] >= t["points"] and not flags
                text = test_report(t, flags)
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text + "\n"}] if ok else [
                    {"output_type": "error", "ename": "Failed" if not flags else "Flagged", "evalue": text,
                     "traceback": [text]}]
    problems = nbres.get("problems", []) + [f"grading note: {i}" for i in nbres.get("incidents", [])]
    if problems:
        nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": "**Grader notes:**\n\n" +
                                 "\n".join(f"* {p}" for p in problems)})
    return nb


def _write_summary_csv(state_dir: Path, summary: Summary) -> None:
    """``grading/<assignment>/summary.csv``: every student's total, flags and problems so far."""
    rows = []
    for record in sorted(state_dir.glob("*.json")):
        try:
            data = json.loads(record.read_text())
        except ValueError:
            continue
        nbs = data["result"]["notebooks"].values()
        rows.append({
            "student": data["student"],
            "score": sum(t["score"] for nb in nbs for t in nb["tests"].values()),
            "max_score": sum(t["points"] for nb in nbs for t in nb["tests"].values()),
            "flags": " | ".join(f"{p}: {f}" for nb in nbs for p, fs in nb["flags"].items() for f in fs),
            "problems": " | ".join(p for nb in nbs for p in nb["problems"] + nb.get("incidents", [])),
        })
    with open(state_dir / "summary.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", "score", "max_score", "flags", "problems"])
        writer.writeheader()
        writer.writerows(rows)
