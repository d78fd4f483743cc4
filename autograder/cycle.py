"""The instructor's cycle, one command per step (``python3 make.py <step> ...`` runs these):

    generate [A ...]                      student versions in course/exercises/ from solutions/
    release A [--exchange DIR]            generate, and put it in a JupyterHub exchange directory
    collect A --exchange DIR              submissions from the exchange into submitted/<student>/A/
    collect A --from FOLDER [--map CSV]   notebooks downloaded from an LMS or Colab (any file names)
    autograde A|all [--jobs N]            sandboxed grading into the gradebook (resumable)
    feedback A|all                        feedback/<student>/A/*.html
    export [--to grades.csv]              every grade as CSV (plus grading/<A>/summary.csv with flags)
    student-bundle [--out DIR]            what students receive: no solutions, tests or grader

Every command takes ``--course DIR`` (default: the repository root, the course directory).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def nbgrader(course: Path, *args: str, check: bool = True) -> int:
    """nbgrader run in the course directory (whose nbgrader_config.py it reads)."""
    bindir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` by name
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    print("+ nbgrader", " ".join(args), flush=True)
    code = subprocess.call([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env)
    if code and check:
        raise SystemExit(f"nbgrader {' '.join(args)} failed (exit code {code})")
    return code


def new_course(root: Path, solutions: Path, assignments: list[str] | None = None, generate: bool = True):
    """A fresh nbgrader course directory in ``root`` with this course's configuration: the
    ``assignments`` (default: all) copied from ``solutions``, its own gradebook, and (with
    ``generate``) the student versions generated. For tests, benchmarks and trying things out."""
    from autograder.grading import Course

    names = assignments or sorted(p.name for p in solutions.iterdir() if p.is_dir())
    for name in names:
        shutil.copytree(solutions / name, root / "solutions" / name)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(REPO / 'autograder' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}\n")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    for name in names if generate else ():
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{proc.stderr[-3000:]}")
    return Course.load(root)


def _course(path: str | None):
    from autograder.grading import Course

    return Course.load(path or REPO)


def _names(course, names: list[str]) -> list[str]:
    if not names or names == ["all"]:
        return course.assignments()
    unknown = [n for n in names if n not in course.assignments()]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {unknown}; the course has {course.assignments()}")
    return names


def cmd_generate(opts) -> int:
    course = _course(opts.course)
    for name in _names(course, opts.assignments):
        nbgrader(course.root, "generate_assignment", name, "--force")
    return 0


def cmd_release(opts) -> int:
    course = _course(opts.course)
    for name in _names(course, opts.assignments):
        nbgrader(course.root, "generate_assignment", name, "--force")
        if opts.exchange:
            Path(opts.exchange).mkdir(parents=True, exist_ok=True)
            nbgrader(course.root, "release_assignment", name, "--force", f"--Exchange.root={opts.exchange}")
    return 0


# --- collecting ------------------------------------------------------------------------------------

_NOISE = re.compile(r"(_assignsubmission_file_.*$)|(\s*\(\d+\)$)|(\s+copy$)|(^copy of\s+)", re.I)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")


def student_id_from_name(filename: str, assignment: str, pattern: str | None = None) -> str | None:
    """A student id read from a downloaded file's name: ``--id-pattern`` (a regex with a group
    ``id``) when given, else the first word once the assignment's name and download noise are gone
    (``alice_ex01_conv_arithmetic.ipynb``, ``alice - ex01.ipynb``, Moodle's
    ``alice_123_assignsubmission_file_....ipynb`` all give ``alice``). None when nothing is left."""
    stem = Path(filename).stem
    if pattern:
        m = re.search(pattern, stem)
        return m.group("id") if m and m.groupdict().get("id") else None
    stem = _NOISE.sub("", stem)
    short = assignment.split("_")[0]
    for noise in (assignment, short):
        stem = re.sub(re.escape(noise), " ", stem, flags=re.I)
    m = _ID.search(stem.replace("_", " "))
    return m.group(0) if m else None


def _read_map(path: Path) -> dict[str, str]:
    """``file,student`` rows (a header line is allowed) -> {file name: student id}."""
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.reader(fh):
            if len(row) < 2 or row[0].strip().lower() in ("file", "filename", "file name"):
                continue
            out[Path(row[0].strip()).name] = row[1].strip()
    return out


def collect_folder(course, assignment: str, folder: Path, mapping: Path | None = None,
                   pattern: str | None = None) -> dict[str, str]:
    """Copy each notebook of ``folder`` to ``submitted/<student>/<assignment>/<master>.ipynb``.
    Returns {student: source file}. One student per file; a clash or a file without an id is an error."""
    masters = course.masters(assignment)
    if len(masters) != 1:
        raise SystemExit(f"{assignment} has {len(masters)} notebooks; collect from a folder handles one")
    target_name = masters[0].name
    files = sorted(p for p in folder.iterdir() if p.suffix == ".ipynb" and not p.name.startswith("."))
    ids = _read_map(mapping) if mapping else {}
    chosen: dict[str, Path] = {}
    problems = []
    for f in files:
        sid = ids.get(f.name) if mapping else student_id_from_name(f.name, assignment, pattern)
        if not sid or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]*", sid):
            problems.append(f"{f.name}: no student id " + ("in the map" if mapping else "in the name (use --map CSV)"))
        elif sid in chosen:
            problems.append(f"{f.name}: student {sid} already has {chosen[sid].name}")
        else:
            chosen[sid] = f
    if problems:
        raise SystemExit("cannot collect:\n  " + "\n  ".join(problems))
    for sid, f in chosen.items():
        dest = course.root / "submitted" / sid / assignment
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest / target_name)
        when = dt.datetime.fromtimestamp(f.stat().st_mtime, dt.timezone.utc)
        (dest / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        print(f"  {f.name} -> submitted/{sid}/{assignment}/{target_name}")
    return {sid: f.name for sid, f in chosen.items()}


def cmd_collect(opts) -> int:
    course = _course(opts.course)
    if bool(opts.exchange) == bool(opts.source):
        raise SystemExit("collect: give either --exchange DIR (JupyterHub) or --from FOLDER (downloads)")
    if opts.exchange:
        nbgrader(course.root, "collect", opts.assignment, "--update", f"--Exchange.root={opts.exchange}")
    else:
        got = collect_folder(course, opts.assignment, Path(opts.source), Path(opts.map) if opts.map else None,
                             opts.id_pattern)
        print(f"collected {len(got)} submissions of {opts.assignment}")
    return 0


# --- grading, feedback, export --------------------------------------------------------------------

def cmd_autograde(opts) -> int:
    from autograder.grading import grade_assignment

    course = _course(opts.course)
    extra = tuple(Path(d) for d in opts.judges)
    failed = 0
    for name in _names(course, opts.assignments):
        summary = grade_assignment(course, name, jobs=opts.jobs, students=opts.student or None, force=opts.force,
                                   seed=opts.seed, allow_unsandboxed=opts.allow_unsandboxed or None,
                                   extra_dirs=extra, progress=not opts.quiet)
        print(summary.text(), flush=True)
        failed += len(summary.failed)
    return 1 if failed else 0


def cmd_feedback(opts) -> int:
    course = _course(opts.course)
    for name in _names(course, opts.assignments):
        nbgrader(course.root, "generate_feedback", name, "--force")
    return 0


def cmd_export(opts) -> int:
    course = _course(opts.course)
    nbgrader(course.root, "export", f"--to={opts.to}")
    for summary in sorted((course.root / "grading").glob("*/summary.csv")):
        print(f"flags and problems per student: {summary.relative_to(course.root)}")
    return 0


# --- the student bundle ----------------------------------------------------------------------------

BUNDLE_FILES = ("LICENSE", "README.md", "make.py", "environment.yml", "pyproject.toml")
BUNDLE_DIRS = ("cnnlab", "course", "jupyter-config", "autograder/checks")
BUNDLE_GRADER_FILES = ("autograder/__init__.py", "autograder/codec.py")
SECRET_PATHS = ("solutions", "autograder/judges", "autograder/sandbox", "autograder/nbgrader_config.py", "tests",
                "submitted", "autograded", "feedback", "grading", "nbgrader_config.py", "gradebook.db", "benchmarks")


def _student_pyproject(text: str) -> str:
    """pyproject.toml without the instructor's and maintainers' extras (nbgrader and test tools)."""
    out, skip = [], False
    for line in text.splitlines(keepends=True):
        m = re.match(r"^(\w[\w-]*)\s*=\s*\[", line)
        if m and m.group(1) in ("instructor", "test"):
            skip = True
            # drop the comment lines just above it as well
            while out and out[-1].lstrip().startswith("#"):
                out.pop()
            continue
        if skip:
            if line.strip() == "]":
                skip = False
            continue
        out.append(line)
    return "".join(out)


STUDENT_README_SECTIONS = ("Colab", "The course so far", "The library in five lines")
STUDENT_QUICK_START = """## Quick start

You need Python ≥ 3.10 and nothing else. In this folder:

```bash
python3 make.py lab
```

sets everything up (a virtual environment in `.venv` with PyTorch, JupyterLab and ipywidgets; the
first run takes a few minutes) and opens the course in JupyterLab on lecture 00. The exercises are
in `course/exercises/`: their visible tests give you quick feedback; your instructor grades the
notebook you hand in.

"""


def _student_readme(text: str) -> str:
    """The repository's README cut to what a student needs: the introduction, how to start, Colab,
    the lectures and the library; without the instructor's, contributors' and maintainers' parts."""
    parts = re.split(r"(?m)^(?=## )", text)
    keep = [p for p in parts[1:] if p.split("\n", 1)[0][3:].strip() in STUDENT_README_SECTIONS]
    return parts[0] + STUDENT_QUICK_START + "".join(keep)


def build_student_bundle(out: Path, repo: Path = REPO) -> Path:
    """Copy what students receive into ``out`` (and ``out``.zip) and check it holds no secret."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
    for d in BUNDLE_DIRS:
        if (repo / d).exists():
            shutil.copytree(repo / d, out / d, ignore=ignore)
    for f in BUNDLE_FILES + BUNDLE_GRADER_FILES:
        if (repo / f).exists():
            (out / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo / f, out / f)
    if (out / "pyproject.toml").exists():
        (out / "pyproject.toml").write_text(_student_pyproject((out / "pyproject.toml").read_text()))
    if (out / "README.md").exists():
        (out / "README.md").write_text(_student_readme((out / "README.md").read_text()))
    if (out / "environment.yml").exists():
        env = (out / "environment.yml").read_text().splitlines(keepends=True)
        (out / "environment.yml").write_text("".join(l for l in env if not re.search(r"nbgrader|pytest|nbval|playwright", l)))
    problems = check_bundle(out, repo)
    if problems:
        raise SystemExit("the student bundle leaks:\n  " + "\n  ".join(problems))
    archive = shutil.make_archive(str(out), "zip", root_dir=out)
    return Path(archive)


def _norm_lines(text: str) -> list[str]:
    return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]


def _regions(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{re.escape(begin)}[^\n]*\n(.*?){re.escape(end)}", source, flags=re.S)


def check_bundle(bundle: Path, repo: Path = REPO) -> list[str]:
    """Everything in ``bundle`` that a student must not get; empty when it is clean.

    No solution text (each solution region of every master with two or more lines of code, and
    every hidden test region), no nbgrader markers, no grader paths (judges, masters, gradebook,
    submissions, tests), no instructor dependency in pyproject.toml."""
    problems = []
    for rel in SECRET_PATHS:
        if (bundle / rel).exists():
            problems.append(f"{rel} is in the bundle")
    for p in bundle.rglob("*.db"):
        problems.append(f"{p.relative_to(bundle)}: a database")
    secrets_ = []  # (what, normalized text)
    for master in sorted((repo / "solutions").rglob("*.ipynb")):
        nb = json.loads(master.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for body in _regions(src, "### BEGIN SOLUTION", "### END SOLUTION"):
                lines = _norm_lines(body)
                if len(lines) >= 2:
                    secrets_.append((f"a solution of {master.name}", "\n".join(lines)))
            for body in _regions(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                lines = _norm_lines(body)
                if lines:
                    secrets_.append((f"a hidden test of {master.name}", "\n".join(lines)))
    for judge in sorted((repo / "autograder" / "judges").glob("*.py")):
        lines = _norm_lines(judge.read_text())
        if len(lines) >= 5:
            secrets_.append((f"the judge {judge.name}", "\n".join(lines[:5])))
    for p in sorted(bundle.rglob("*")):
        if not p.is_file() or p.suffix in (".zip", ".png", ".jpg", ".pt", ".npz", ".gz"):
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = p.relative_to(bundle)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            if marker in text and not p.name.endswith(".md") and p.name != "make.py":
                problems.append(f"{rel}: contains {marker!r}")
        if p.suffix == ".ipynb":
            try:
                nb = json.loads(text)
                text = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])
            except (ValueError, KeyError, TypeError):
                pass
        flat = "\n".join(_norm_lines(text))
        for what, secret in secrets_:
            if secret in flat:
                problems.append(f"{rel}: contains {what}")
    pyproject = bundle / "pyproject.toml"
    if pyproject.exists():
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        deps = list(project.get("dependencies", [])) + [d for ds in project.get("optional-dependencies", {}).values()
                                                        for d in ds]
        if any(re.match(r"nbgrader\b", d) for d in deps):
            problems.append("pyproject.toml still installs nbgrader (the instructor's tools)")
    return problems


def cmd_bundle(opts) -> int:
    out = Path(opts.out).resolve()
    archive = build_student_bundle(out)
    print(f"student bundle: {out} and {archive} (checked: no solution, hidden test or grader file)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 make.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--course", default=None, help="nbgrader course directory (default: the repository)")
        p.set_defaults(func=func)
        return p

    add("generate", cmd_generate, "student versions from solutions/").add_argument("assignments", nargs="*")
    p = add("release", cmd_release, "generate, and release to an exchange directory")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--exchange", help="nbgrader exchange root (JupyterHub)")
    p = add("collect", cmd_collect, "gather submissions into submitted/")
    p.add_argument("assignment")
    p.add_argument("--exchange", help="nbgrader exchange root (JupyterHub)")
    p.add_argument("--from", dest="source", help="a folder of downloaded notebooks, one per student")
    p.add_argument("--map", help="CSV of file name,student id (when the names hold no id)")
    p.add_argument("--id-pattern", help="regex with a group named id, matched against each file name")
    p = add("autograde", cmd_autograde, "sandboxed grading into the gradebook")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: all cores)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again what is already graded")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden tests' cases (default: fresh)")
    p.add_argument("--allow-unsandboxed", action="store_true", help="grade even where no sandbox is available")
    p.add_argument("--judges", action="append", default=[], help="another folder with judges/ and sandbox/")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add("feedback", cmd_feedback, "HTML feedback per student").add_argument("assignments", nargs="*")
    add("export", cmd_export, "grades as CSV").add_argument("--to", default="grades.csv")
    add("student-bundle", cmd_bundle, "what students receive").add_argument("--out", default=str(REPO / "dist" / "student"))
    opts = parser.parse_args(argv)
    try:
        return opts.func(opts)
    except KeyboardInterrupt:
        print("stopped; what was graded is saved, and the same command goes on from there", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
