"""The student bundle's README keeps what a student needs and none of the instructor's commands."""
from __future__ import annotations

from pathlib import Path

from autograder.cycle import _student_readme

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_student_readme_is_the_students_part_of_the_readme():
    text = _student_readme(README)
    assert text.startswith("# cnnlab") and "python3 make.py lab" in text
    for heading in ("## Quick start", "## Colab", "## The course so far", "## The library in five lines"):
        assert heading in text, heading
    for word in ("instructor-lab", "make.py test", "make.py autograde", "student-bundle", "## For maintainers",
                 "## For instructors", "## Publishing the course", "solutions/"):
        assert word not in text, word
