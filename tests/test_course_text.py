"""Students never see the source material the course was written from: what they read (notebooks,
released exercises, the library's docstrings and messages, the visible-test helpers) cites the
papers and never speaks of "seed 004", "the slides", a "deck" or a text "extraction"."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# "slide" as a verb ("a window slides over the input") is fine; the slides as a source are not
FORBIDDEN = re.compile(r"\bseed\s*0\d\d\b|\b(?:the|unit|lecture|course's) slides?\b|\bslides'|\bslide's|\(slides?\b"
                       r"|\bdecks?\b|\bextraction\b", re.I)

NOTEBOOKS = sorted(p for d in ("course", "solutions") for p in (REPO / d).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
SOURCES = sorted(p for d in ("cnnlab", "autograder/checks", "autograder/sandbox") for p in (REPO / d).rglob("*.py"))


def _hits(text: str) -> list[str]:
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ") for m in FORBIDDEN.finditer(text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_cites_papers_not_sources(path):
    cells = json.loads(path.read_text())["cells"]
    hits = [hit for cell in cells for hit in _hits("".join(cell["source"]))]
    assert not hits, f"{path.name} mentions the source material: {hits[:5]}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_library_text_cites_papers_not_sources(path):
    hits = _hits(path.read_text())
    assert not hits, f"{path.relative_to(REPO)} mentions the source material: {hits[:5]}"


def test_the_check_catches_what_it_should():
    assert _hits("as seed 004 shows") and _hits("the slides' formula") and _hits("lost in the text extraction")
    assert _hits("(slides, seed 002)") and _hits("as on the slide")
    assert not _hits("seed_everything(SEED); a random seed of 0; seed=004; the window slides over the input")
