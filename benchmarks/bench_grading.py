"""Grading throughput: N copies of a correct submission, graded serially and then in parallel.

    python benchmarks/bench_grading.py                     # every assignment with a judge, N=4
    python benchmarks/bench_grading.py ex01_conv_arithmetic -n 8 --jobs 2
    python benchmarks/bench_grading.py --toy               # the engine's toy assignment (tests/fixtures)

Prints, per assignment: seconds per submission serially (wall, and the sandboxed runner's own CPU
seconds), seconds per submission in parallel, and the speed-up. Targets (issue 8): <= 5 s per
submission serially for parts that train nothing, speed-up >= 1.6x on 2 cores. Wall times on a
shared machine are inflated by the load; the CPU column is not.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import isolation  # noqa: E402
from autograder.cycle import new_course  # noqa: E402
from autograder.grading import grade_assignment  # noqa: E402
from autograder.judge import JudgeError, judge_files  # noqa: E402

TOY = REPO / "tests" / "fixtures" / "toy_assignment"


def bench(assignment: str, n: int, jobs: int, extra: tuple, solutions: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        course = new_course(Path(tmp), solutions, [assignment])
        for master in sorted((solutions / assignment).glob("*.ipynb")):
            for i in range(n):
                folder = course.root / "submitted" / f"s{i:03d}" / assignment
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(master, folder / master.name)
        rows = {}
        # one untimed submission first: what a judge computes once per run (a design it trains,
        # cached) is not a per-submission cost
        t0 = time.perf_counter()
        grade_assignment(course, assignment, jobs=1, force=True, students=["s000"], extra_dirs=extra, progress=False)
        print(f"{assignment:24s} warm-up      {time.perf_counter() - t0:6.2f} s (one submission, judge caches filled)")
        for label, j in (("serial", 1), (f"parallel x{jobs}", jobs)):
            t0 = time.perf_counter()
            summary = grade_assignment(course, assignment, jobs=j, force=True, extra_dirs=extra, progress=False)
            wall = time.perf_counter() - t0
            full = all(got == best for got, best in summary.scores.values())
            cpu = []
            for record in (course.root / "grading" / assignment).glob("s*.json"):
                import json

                nbs = json.loads(record.read_text())["result"]["notebooks"].values()
                cpu.append(sum(nb.get("sandbox_cpu_s", 0.0) for nb in nbs))
            rows[label] = wall / n
            print(f"{assignment:24s} {label:12s} {wall / n:6.2f} s/submission   sandbox CPU "
                  f"{statistics.mean(cpu):5.2f} s   full marks: {'all' if full else 'NOT ALL'} ({n} submissions)",
                  flush=True)
        speedup = rows["serial"] / rows[f"parallel x{jobs}"]
        print(f"{assignment:24s} speed-up {speedup:.2f}x on {jobs} workers", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("-n", type=int, default=4, help="copies of the submission (default 4)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--toy", action="store_true", help="the toy assignment of tests/fixtures")
    opts = parser.parse_args()
    mode = isolation.detect()
    from autograder.judge import reference_index

    t0 = time.process_time()
    reference_index()  # once per grading process: not part of the per-submission figures
    print(f"one-time: cnnlab's code index for copy detection, {time.process_time() - t0:.1f} s CPU")
    print(f"sandbox: {mode.name} {mode.reason}".rstrip(), f"| {os.cpu_count()} cores | load {os.getloadavg()[0]:.1f}")
    if opts.toy:
        bench("toy_ops", opts.n, opts.jobs, (TOY,), TOY / "solutions")
        return 0
    names = opts.assignments or sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    for name in names:
        try:
            judge_files(name)
        except JudgeError as err:
            print(f"{name:24s} skipped: {err}")
            continue
        bench(name, opts.n, opts.jobs, (), REPO / "solutions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
