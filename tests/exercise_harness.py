"""A small stand-in for the grading engine, for the exercise tests: runs a notebook's setup and answer
cells in one namespace, calls the assignment's sandbox adapter on the judge's cases, passes the
outputs through JSON, and scores them with the judge's ``compare`` — the interface of
/work/briefs/JUDGE_INTERFACE.md without the process boundary. It checks the *judge specs* (master
full marks, designed partial scores, shortcuts flagged); the engine's own tests check the engine."""
from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _ensure_judge_module() -> None:
    """Use the engine's ``autograder.judge`` when it is there; otherwise a stub with the agreed
    ``Part``/``Test`` fields, so that the judge specs can be tested before the engine lands."""
    try:
        importlib.import_module("autograder.judge")
    except ImportError:
        stub = types.ModuleType("autograder.judge")

        @dataclass(frozen=True)
        class Part:
            answer_cells: tuple
            forbidden: tuple = ()
            reference: Any = None
            compare: Any = None

        @dataclass(frozen=True)
        class Test:
            part: str
            cases: Callable
            hidden: bool = False
            partial: bool = False

        stub.Part, stub.Test = Part, Test
        sys.modules["autograder.judge"] = stub


def judge(assignment: str):
    _ensure_judge_module()
    return importlib.import_module(f"autograder.judges.{assignment}")


def adapter(assignment: str):
    spec = importlib.util.spec_from_file_location(f"_adapter_{assignment}",
                                                  REPO / "autograder" / "sandbox" / f"{assignment}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def master(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def points(nb) -> dict[str, float]:
    return {_meta(c)["grade_id"]: float(_meta(c)["points"]) for c in nb.cells if _meta(c).get("grade")}


_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def student_version(nb) -> dict[str, str]:
    """What nbgrader leaves in every solution cell: the code outside BEGIN/END SOLUTION, the stub inside."""
    out = {}
    for cell in nb.cells:
        if _meta(cell).get("solution"):
            out[_meta(cell)["grade_id"]] = re.sub(
                r"([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION",
                lambda m: "\n".join(m.group(1) + line for line in _STUB.splitlines()), cell.source, flags=re.S)
    return out


def _plain(value: Any) -> Any:
    """The sandbox-to-judge trip: the engine's codec when there, else the same by hand, then JSON."""
    try:
        from autograder import codec

        return codec.loads(codec.dumps(codec.to_plain(value)))
    except ImportError:
        return json.loads(json.dumps(value))


def _names(tree: ast.AST) -> set[str]:
    """Every name, attribute, dotted attribute (``F.max_pool2d``) and imported module in ``tree``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
            if isinstance(node.value, ast.Name):
                found.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.update(alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            found.update((node.module or "").split("."))
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)  # getattr(F, "max_pool2d"), importlib.import_module("cnnlab")
    return found


def forbidden_used(sources: list[str], forbidden: tuple) -> list[str]:
    names = set()
    for src in sources:
        names |= _names(ast.parse(re.sub(r"^\s*[%!].*$", "pass", src, flags=re.M)))
    return sorted(set(forbidden) & names)


def grade(assignment: str, replace: dict[str, str] | None = None, seed: int = 0) -> tuple[dict, dict]:
    """Scores and first failure message of every graded test cell, for the master notebook with the
    solution cells in ``replace`` swapped."""
    nb, jd, ad = master(assignment), judge(assignment), adapter(assignment)
    replace = replace or {}
    missing = set(replace) - {_meta(c).get("grade_id") for c in nb.cells}
    assert not missing, f"no cells with grade ids {missing}"
    ns: dict = {"__name__": "__main__"}
    answers = {}
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        src = replace.get(meta.get("grade_id"), cell.source)
        if meta.get("solution"):
            answers[meta["grade_id"]] = src
        try:
            exec(compile(re.sub(r"^(\s*)[%!].*$", r"\1pass", src, flags=re.M), "<cell>", "exec"), ns)
        except Exception:  # noqa: BLE001 - a broken answer cell, as the sandbox would report it
            pass
    pts = points(nb)
    rng_seed = np.random.SeedSequence(seed)
    scores, messages = {}, {}
    engine = sys.modules.get("autograder.judge")
    cnnlab_names = set()
    if hasattr(engine, "read_master"):  # the engine's own static checks, when it is there
        cnnlab_names = engine.read_master(REPO / "solutions" / assignment / f"{assignment}.ipynb").cnnlab_names
    for test_id, test in jd.TESTS.items():
        part = jd.PARTS[test.part]
        srcs = {c: answers[c] for c in part.answer_cells if c in answers}
        if hasattr(engine, "static_flags"):
            used = engine.static_flags(srcs, part.forbidden, getattr(part, "allowed", ()), cnnlab_names) \
                + engine.copied_from_reference(srcs)
        else:
            used = forbidden_used(list(srcs.values()), part.forbidden)
        if used:
            scores[test_id], messages[test_id] = 0.0, f"forbidden: {used}"
            continue
        if hasattr(engine, "_rng_seed"):  # the engine's seeds: the same visible cases as real grading
            rng = np.random.default_rng(engine._rng_seed(test_id, test.hidden, seed))
        else:
            rng = np.random.default_rng(rng_seed.spawn(1)[0] if test.hidden else 0)
        cases = _plain(test.cases(rng))
        passed, first = 0, ""
        for case in cases:
            try:
                got = _plain(getattr(ad, test.part)(ns, case))
            except Exception as err:  # noqa: BLE001
                ok, msg = False, f"{type(err).__name__}: {err}"
            else:
                expected = part.reference(case) if part.reference is not None else None
                ok, msg = part.compare(case, got, expected)
            passed += bool(ok)
            if not ok and not first:
                first = msg
        total = len(cases)
        score = pts[test_id] * (passed / total if test.partial else float(passed == total))
        scores[test_id], messages[test_id] = round(score, 6), first
    return scores, messages


def answers(assignment: str, replace: dict[str, str], keep_going: bool = False) -> dict:
    """The namespace of the master's setup and answer cells with ``replace`` swapped in (grade id ->
    source), as a student's kernel would hold it; ``keep_going``: a cell that raises is skipped, as
    a student runs on past a broken answer."""
    ns = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in master(assignment).cells:
            meta = _meta(cell)
            if cell.cell_type == "code" and not meta.get("grade") and "google.colab" not in cell.source:
                with contextlib.suppress(Exception) if keep_going else contextlib.nullcontext():
                    exec(replace.get(meta.get("grade_id"), cell.source), ns)  # noqa: S102 - our own notebooks
    return ns
