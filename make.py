#!/usr/bin/env python3
"""One entry point for students, instructors and maintainers; needs only Python >= 3.10.

    python3 make.py lab          set up .venv (first time) and open the course in JupyterLab
    python3 make.py test [ARGS]  set up .venv (first time) and run the whole test suite (pytest ARGS)
    python3 make.py release      regenerate the student exercises in course/exercises from solutions/
    python3 make.py nbgrader ... run nbgrader with the course's configuration (autograder/)

The set-up step creates a virtual environment in .venv and installs cnnlab with its course and
test extras; it reinstalls only when pyproject.toml changes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".cnnlab-installed"


def run(*cmd: str | os.PathLike) -> int:
    print("+", " ".join(map(str, cmd)), flush=True)
    # tools that call other tools by name (nbgrader runs `alembic`, Jupyter starts kernels) must
    # find the ones in .venv first
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def setup() -> None:
    """Create .venv and install cnnlab[course,test] into it, unless it is already up to date."""
    if sys.version_info < (3, 10):
        sys.exit(f"cnnlab needs Python >= 3.10; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PYTHON.exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    # torch and torchvision come as a matching pair from the registry (pip resolves them together).
    steps = [
        (PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
        (PYTHON, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[course,test]"),
        (PYTHON, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"),
    ]
    for step in steps:
        if run(*step) != 0:
            sys.exit(f"set-up failed at: {' '.join(map(str, step))}")
    STAMP.write_text(wanted)


def nbgrader(*args: str) -> int:
    """nbgrader run from the repository root, where nbgrader_config.py loads autograder/'s settings."""
    return run(PYTHON, "-m", "nbgrader", *args)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"lab", "test", "release", "nbgrader", "setup"}:
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    setup()
    if command == "lab":
        # Jupyter refuses to start as root (containers, cloud VMs) unless told that it is meant
        root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return run(PYTHON, "-m", "jupyter", "lab", *root, *args, "course/00_setup_and_tour.ipynb")
    if command == "test":
        return run(PYTHON, "-m", "pytest", *args)
    if command == "release":
        names = args or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
        for name in names:
            code = nbgrader("generate_assignment", name, "--force")
            if code:
                return code
        return 0
    if command == "nbgrader":
        return nbgrader(*args)
    return 0  # setup


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
