"""Helpers for the nbgrader round trip: a temporary course directory that uses the course's own
configuration, and nbgrader run in it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
RELEASED = REPO / "course" / "exercises"


def assignments() -> list[str]:
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


class Course:
    """A throw-away nbgrader course directory holding copies of the master notebooks."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(SOLUTIONS, root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        config = REPO / "autograder" / "nbgrader_config.py"
        (root / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"load_subconfig({str(config)!r})\n"
            f"c.CourseDirectory.root = {str(root)!r}\n"
            f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}\n"
        )

    @property
    def db_url(self) -> str:
        return "sqlite:///" + str(self.root / "gradebook.db")

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        bindir = os.path.dirname(sys.executable)  # nbgrader calls `alembic` by name
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def submit(self, student: str, assignment: str, notebook: nbformat.NotebookNode, name: str) -> None:
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / name)

    def scores(self, assignment: str, student: str, notebook: str) -> dict[str, float]:
        """Score of every graded test cell, by grade id."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            sub = gb.find_submission_notebook(notebook, assignment, student)
            return {g.name: g.score for g in sub.grades}

    def max_scores(self, assignment: str, notebook: str) -> dict[str, float]:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            nb = gb.find_notebook(notebook, assignment)
            return {g.name: g.max_score for g in nb.grade_cells}


def replace_solutions(notebook: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with the given solution cells' sources swapped (by grade id)."""
    nb = nbformat.from_dict(notebook)
    found = set()
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            found.add(grade_id)
    missing = set(replacements) - found
    if missing:
        raise KeyError(f"no solution cells with grade ids {sorted(missing)}")
    return nb
