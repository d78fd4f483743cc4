#!/usr/bin/env python3
"""One entry point for students, instructors and maintainers; needs only Python >= 3.10.

    python3 make.py lab             students: set up .venv (first time) and open the course in JupyterLab
    python3 make.py instructor-lab  the same with nbgrader's authoring and grading tools
    python3 make.py test [ARGS]     set up .venv (first time) and run the whole test suite (pytest ARGS)
    python3 make.py release         regenerate the student exercises in course/exercises from solutions/
    python3 make.py nbgrader ...    run nbgrader with the course's configuration (autograder/)

  Grading (README, "For instructors"; each takes one assignment or all, and --course DIR):
    python3 make.py generate [A]                  student versions from solutions/ (= release)
    python3 make.py release A --exchange DIR      ... and into a JupyterHub exchange
    python3 make.py collect A --exchange DIR | --from FOLDER [--map CSV]
    python3 make.py autograde A|all [--jobs N]    sandboxed, parallel, resumable grading
    python3 make.py feedback A|all                HTML feedback per student
    python3 make.py export [--to grades.csv]      grades as CSV
    python3 make.py student-bundle [--out DIR]    what students receive, checked for secrets
    python3 make.py publish [OWNER/NAME] [--branch B] [--check]
                                    point every notebook's Colab badge and install cell at the published
                                    repository (PUBLISHED_REPO / PUBLISHED_BRANCH below)

The set-up step creates a virtual environment in .venv and installs cnnlab with the extras the
command needs: `course` for lab, `instructor` (course + nbgrader) for instructor-lab, release and
nbgrader, `test` (instructor + test tools) for test. It reinstalls only when pyproject.toml changes
or a command needs an extra that is not installed yet.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".cnnlab-installed"

# Where the course is published: the GitHub repository (owner/name) and branch that every notebook's
# "Open in Colab" badge and Colab install cell point at. Change it with
# `python3 make.py publish OWNER/NAME --branch BRANCH`, which also rewrites the notebooks.
PUBLISHED_REPO = "cnnlab/cnnlab"
PUBLISHED_BRANCH = "main"

# Each extra includes the ones before it (pyproject.toml): test ⊃ instructor ⊃ course.
EXTRAS = ("course", "instructor", "test")
# The extra each command needs; commands not listed (release, nbgrader, grading) need "instructor".
COMMAND_EXTRA = {"lab": "course", "instructor-lab": "instructor", "test": "test", "setup": "test"}

# Jupyter configuration directories of the project (JUPYTER_CONFIG_PATH): settings for everyone
# (no news pop-up, widget state saved with the notebook) and, for students, nbgrader's UI turned off
# in case the environment has it (after `make.py test` or `instructor-lab`).
JUPYTER_CONFIG = ROOT / "jupyter-config"
LAB_CONFIG = {"lab": ("student", "common"), "instructor-lab": ("common",)}


def run(*cmd: str | os.PathLike, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(map(str, cmd)), flush=True)
    # tools that call other tools by name (nbgrader runs `alembic`, Jupyter starts kernels) must
    # find the ones in .venv first
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def _installed() -> tuple[str, str]:
    """(pyproject hash, highest extra) that .venv was set up with, or ("", "") when unknown."""
    try:
        stamp = json.loads(STAMP.read_text())
        return stamp["pyproject"], stamp["extra"]
    except (OSError, ValueError, KeyError, TypeError):
        return "", ""


def extra_to_install(extra: str, have_hash: str, have_extra: str, wanted_hash: str) -> str | None:
    """The extra to install for a command that needs ``extra``, given what .venv was set up with;
    None when nothing is needed. An environment keeps the largest extra it was ever given (a
    maintainer's .venv with the test tools stays one)."""
    rank = {name: i for i, name in enumerate(EXTRAS)}
    if extra not in rank:
        raise ValueError(f"unknown extra {extra!r}: one of {', '.join(EXTRAS)}")
    largest = max(extra, have_extra, key=lambda e: rank.get(e, -1))
    if have_hash == wanted_hash and rank.get(have_extra, -1) >= rank[extra]:
        return None
    return largest


def setup(extra: str = "instructor") -> None:
    """Create .venv and install cnnlab[extra] into it, unless it is already up to date.
    `make.py lab` hides nbgrader's UI when a larger extra brought it (see LAB_CONFIG)."""
    if sys.version_info < (3, 10):
        sys.exit(f"cnnlab needs Python >= 3.10; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    have_hash, have_extra = _installed() if PYTHON.exists() else ("", "")
    extra = extra_to_install(extra, have_hash, have_extra, wanted)
    if extra is None:
        return
    if not PYTHON.exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    # torch and torchvision come as a matching pair from the registry (pip resolves them together).
    steps = [
        (PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
        (PYTHON, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extra}]"),
        (PYTHON, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"),
    ]
    for step in steps:
        if run(*step) != 0:
            sys.exit(f"set-up failed at: {' '.join(map(str, step))}")
    STAMP.write_text(json.dumps({"pyproject": wanted, "extra": extra}))


def lab_env(command: str = "lab") -> dict[str, str]:
    """The environment JupyterLab runs in: the project's Jupyter configuration directories first."""
    dirs = [str(JUPYTER_CONFIG / d) for d in LAB_CONFIG[command]]
    rest = os.environ.get("JUPYTER_CONFIG_PATH")
    return dict(os.environ, JUPYTER_CONFIG_PATH=os.pathsep.join(dirs + ([rest] if rest else [])))


def lab(command: str, args: list[str]) -> int:
    # Jupyter refuses to start as root (containers, cloud VMs) unless told that it is meant
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return run(PYTHON, "-m", "jupyter", "lab", *root, *args, "course/00_setup_and_tour.ipynb",
               env=lab_env(command))


def nbgrader(*args: str) -> int:
    """nbgrader run from the repository root, where nbgrader_config.py loads autograder/'s settings."""
    return run(PYTHON, "-m", "nbgrader", *args)


# --- publish: Colab badges and install cells ----------------------------------------------------

COLAB_BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(https://colab\.research\.google\.com/github/[^)]*\)\n*")


def notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook that carries a badge: lectures, masters and student versions of the exercises."""
    found = [p for d in ("course", "solutions") for p in (root / d).rglob("*.ipynb")]
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def colab_path(path: Path, root: Path = ROOT) -> str:
    """The path Colab opens for a notebook: its own, except that a master in solutions/ links to the
    student version that `make.py release` makes of it in course/exercises/."""
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    if rel.startswith("solutions/"):
        rel = "course/exercises/" + rel.removeprefix("solutions/")
    return rel


def colab_badge(rel: str, repo: str = PUBLISHED_REPO, branch: str = PUBLISHED_BRANCH) -> str:
    """The markdown badge line for the notebook at ``rel`` in the published repository."""
    return f"[![Open In Colab]({COLAB_BADGE_IMG})](https://colab.research.google.com/github/{repo}/blob/{branch}/{rel})"


def install_cell(repo: str = PUBLISHED_REPO, branch: str = PUBLISHED_BRANCH) -> str:
    """The first code cell of every notebook. In Colab, pip installs cnnlab from the published
    repository and keeps Colab's preinstalled torch, torchvision, numpy, … wherever they satisfy
    pyproject.toml's ranges (pip upgrades only what does not); elsewhere it prints one line."""
    return (
        "# Colab: install cnnlab from the course's repository (Colab's own PyTorch is kept).\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "cnnlab @ git+https://github.com/{repo}@{branch}"\n'
        "else:\n"
        '    print("Not in Colab: nothing to install, cnnlab comes with this environment.")'
    )


def _is_install_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "google.colab" in "".join(cell["source"])


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def stamp_notebook(nb: dict, rel: str, repo: str = PUBLISHED_REPO, branch: str = PUBLISHED_BRANCH) -> list[str]:
    """Put the badge for ``rel`` at the top of the first cell and the install cell first among the
    code cells, replacing old ones and adding missing ones. Changes ``nb`` in place; returns what it
    changed, empty when the notebook already agrees (so stamping twice changes nothing)."""
    changes = []
    cells = nb["cells"]
    if not cells or cells[0]["cell_type"] != "markdown":
        cells.insert(0, {"cell_type": "markdown", "metadata": {}, "source": []})
    first = "".join(cells[0]["source"])
    text = colab_badge(rel, repo, branch) + "\n\n" + _BADGE.sub("", first, count=1).lstrip("\n")
    if text.rstrip("\n") != first.rstrip("\n"):
        cells[0]["source"] = _lines(text.rstrip("\n"))
        changes.append("badge")

    want = install_cell(repo, branch)
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    installs = [i for i in code if _is_install_cell(cells[i])]
    if installs and installs == code[:1]:  # one install cell, the first code cell: bring it up to date
        if "".join(cells[code[0]]["source"]) != want:
            cells[code[0]]["source"] = _lines(want)
            changes.append("install cell")
        return changes
    metadata = cells[installs[0]]["metadata"] if installs else {}
    for i in reversed(installs):  # misplaced or repeated ones go; one comes before the first code cell
        del cells[i]
    at = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(at, {"cell_type": "code", "execution_count": None, "metadata": metadata, "outputs": [],
                      "source": _lines(want)})
    changes.append("install cell moved" if installs else "install cell added")
    return changes


def check_notebook(nb: dict, rel: str, repo: str = PUBLISHED_REPO, branch: str = PUBLISHED_BRANCH) -> list[str]:
    """What is off in a notebook's badge, Colab links and install cell; empty when all agree with
    the published repository and point at the notebook's own path ``rel``."""
    problems = []
    cells = nb["cells"]
    badge = colab_badge(rel, repo, branch)
    if not cells or not "".join(cells[0]["source"]).startswith(badge):
        problems.append(f"the first cell does not start with the badge {badge}")
    link = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"'>]+")
    prefix = f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
    for i, cell in enumerate(cells):
        for url in link.findall("".join(cell["source"])):
            if i == 0 and url != prefix + rel:
                problems.append(f"the first cell links to {url}, not to this notebook ({prefix + rel})")
            elif not url.startswith(prefix):
                problems.append(f"cell {i} links to {url}, outside {repo}@{branch}")
    code = [c for c in cells if c["cell_type"] == "code"]
    if not code or "".join(code[0]["source"]) != install_cell(repo, branch):
        problems.append(f"the first code cell is not the install cell for {repo}@{branch}")
    extra = sum("pip install" in "".join(c["source"]) for c in code[1:])
    if extra:
        problems.append(f"{extra} more code cell(s) run pip install")
    return problems


def _write_notebook(path: Path, nb: dict) -> None:
    # the layout nbformat and JupyterLab write: one-space indent, UTF-8, a final newline
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _set_published(repo: str, branch: str) -> None:
    """Rewrite the PUBLISHED_REPO / PUBLISHED_BRANCH lines of this file."""
    me = Path(__file__)
    text = me.read_text()
    text = re.sub(r'^PUBLISHED_REPO = ".*"$', f'PUBLISHED_REPO = "{repo}"', text, count=1, flags=re.M)
    text = re.sub(r'^PUBLISHED_BRANCH = ".*"$', f'PUBLISHED_BRANCH = "{branch}"', text, count=1, flags=re.M)
    me.write_text(text)


def publish(args: list[str]) -> int:
    """`publish [OWNER/NAME] [--branch B] [--check] [--root DIR]`: stamp (or check) every notebook."""
    parser = argparse.ArgumentParser(prog="python3 make.py publish", description=publish.__doc__)
    parser.add_argument("repo", nargs="?", default=PUBLISHED_REPO, help="GitHub owner/name")
    parser.add_argument("--branch", default=None, help=f"branch (default {PUBLISHED_BRANCH})")
    parser.add_argument("--check", action="store_true", help="only report notebooks that disagree")
    parser.add_argument("--root", type=Path, default=ROOT, help="a copy of the repository to work on")
    opts = parser.parse_args(args)
    repo, branch = opts.repo, opts.branch or PUBLISHED_BRANCH
    if not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", repo):
        print(f"publish: {repo!r} is not a GitHub repository name of the form OWNER/NAME", file=sys.stderr)
        return 2
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        print(f"publish: {branch!r} is not a branch name", file=sys.stderr)
        return 2
    if opts.check and (repo, branch) != (PUBLISHED_REPO, PUBLISHED_BRANCH):
        print(f"publish --check: checks against the setting in make.py ({PUBLISHED_REPO}@{PUBLISHED_BRANCH})",
              file=sys.stderr)
        return 2
    root = opts.root.resolve()
    paths = notebooks(root)
    off = 0
    for path in paths:
        name = path.relative_to(root).as_posix()
        nb = json.loads(path.read_text(encoding="utf-8"))
        if opts.check:
            problems = check_notebook(nb, colab_path(path, root), repo, branch)
            off += bool(problems)
            for problem in problems:
                print(f"{name}: {problem}")
        elif changes := stamp_notebook(nb, colab_path(path, root), repo, branch):
            _write_notebook(path, nb)
            print(f"{name}: {', '.join(changes)}")
    if opts.check:
        print(f"{off} of {len(paths)} notebooks disagree with {repo}@{branch}: run `python3 make.py publish`"
              if off else f"all {len(paths)} notebooks point at {repo}@{branch}")
        return 1 if off else 0
    if (repo, branch) != (PUBLISHED_REPO, PUBLISHED_BRANCH) and root == ROOT:
        _set_published(repo, branch)
        print(f"make.py: PUBLISHED_REPO = {repo!r}, PUBLISHED_BRANCH = {branch!r}")
    print(f"{len(paths)} notebooks point at https://github.com/{repo}/tree/{branch}")
    return 0


# --- grading: the instructor's cycle lives in autograder/cycle.py ------------------------------------

GRADING_COMMANDS = {"generate", "release", "collect", "autograde", "feedback", "export", "student-bundle"}


def grading(command: str, args: list[str]) -> int:
    """One step of the instructor's cycle, run in .venv (see autograder/cycle.py)."""
    return run(PYTHON, "-m", "autograder.cycle", command, *args)


COMMANDS = {"lab", "instructor-lab", "test", "release", "nbgrader", "setup", "publish"} | GRADING_COMMANDS


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "publish":  # plain JSON editing: no environment needed
        return publish(args)
    setup(COMMAND_EXTRA.get(command, "instructor"))
    if command in LAB_CONFIG:
        return lab(command, args)
    if command == "test":
        return run(PYTHON, "-m", "pytest", *args)
    if command in GRADING_COMMANDS:
        return grading(command, args)
    if command == "nbgrader":
        return nbgrader(*args)
    return 0  # setup


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
