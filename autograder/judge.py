"""The judge: grades one submitted notebook from outside the sandbox its code runs in.

For every graded test cell of an assignment the judge module ``autograder/judges/<assignment>.py``
says which part it tests and draws the cases (fresh random ones for hidden tests). The judge sends
the cases into the sandbox, where ``autograder/sandbox/<assignment>.py`` calls the student's code and
reports its outputs as JSON; the judge computes the expected values with its own reference and
compares. Before any of that, the answer cells are read statically: an answer that uses a name the
part forbids, the ``cnnlab`` reference library, introspection that could reach the grader, or code
copied from ``cnnlab`` gets no points for that part and a flag.

Public API: ``Part``, ``Test``, ``load_judge``, ``grade_notebook``.
"""
from __future__ import annotations

import ast
import copy
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

from autograder import codec, isolation

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One answer of an assignment, made of one or more solution cells (by grade id).

    ``reference(case) -> expected`` runs on the judge's side only; ``compare(case, got, expected)
    -> (ok, message)`` decides one case from the student's plain-data output ``got``.
    ``forbidden`` names what the answer cells may not use (``"F.max_pool2d"``, ``"cnnlab"``, ...);
    ``allowed`` exempts names from the engine's own bans (``"analysis.count_params"``)."""

    answer_cells: tuple[str, ...]
    reference: Callable[[dict], Any] | None
    compare: Callable[[dict, Any, Any], tuple[bool, str]]
    forbidden: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Test:
    """How one graded test cell (by grade id) is scored: the part it tests and its cases."""

    part: str
    cases: Callable[[np.random.Generator], list[dict]]
    hidden: bool = False
    partial: bool = False


def open_ended_compare(verdict: Callable[[Any, str], tuple[bool, str]], name: str
                       ) -> Callable[[dict, Any, Any], tuple[bool, str]]:
    """The ``compare`` of an open-ended part whose answer is plain data (a design spec, a recipe):
    ``verdict(answer, case["check"]) -> (ok, message)`` scores it on the judge's side. The answer
    goes through JSON (plain data only), and each distinct answer and check is scored once per
    process: the tests of a part and the copies of one design in a class train it once."""

    @functools.lru_cache(maxsize=32)
    def cached(answer_json: str, check: str) -> tuple[bool, str]:
        return verdict(json.loads(answer_json), check)

    def compare(case: dict, got: Any, expected: Any) -> tuple[bool, str]:
        try:
            answer_json = json.dumps(got, sort_keys=True)
        except (TypeError, ValueError) as err:
            return False, f"{name} is not plain data (lists, dicts, numbers, strings): {err}"
        return cached(answer_json, case["check"])

    return compare


class JudgeError(RuntimeError):
    """A fault of the grading code or the assignment's judge (not of the submission)."""


# --- loading an assignment's judge and adapter -------------------------------------------------------

GRADER_DIR = Path(__file__).resolve().parent


def judge_files(assignment: str, extra_dirs: tuple[Path, ...] = ()) -> tuple[Path, Path]:
    """(judge module, sandbox adapter) of an assignment: ``autograder/judges/<a>.py`` and
    ``autograder/sandbox/<a>.py``, or the same names under one of ``extra_dirs``."""
    for base in (*map(Path, extra_dirs), GRADER_DIR):
        judge, adapter = base / "judges" / f"{assignment}.py", base / "sandbox" / f"{assignment}.py"
        if judge.exists() and adapter.exists():
            return judge.resolve(), adapter.resolve()
    raise JudgeError(f"no judge for {assignment}: expected autograder/judges/{assignment}.py and "
                     f"autograder/sandbox/{assignment}.py")


_LOADED: dict[tuple[str, int], ModuleType] = {}


def load_judge(assignment: str, extra_dirs: tuple[Path, ...] = ()) -> ModuleType:
    """The judge module of an assignment, loaded once per process while its file is unchanged (so
    what a judge caches, e.g. a design it trained, serves every submission of a run)."""
    path, _ = judge_files(assignment, extra_dirs)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = _load_judge_file(assignment, path)
    return _LOADED[key]


def _load_judge_file(assignment: str, path: Path) -> ModuleType:
    name = f"_cnnlab_judge_{assignment}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in ("PARTS", "TESTS"):
        if not isinstance(getattr(module, attr, None), dict):
            raise JudgeError(f"{path} must define {attr} as a dict")
    for tid, test in module.TESTS.items():
        if test.part not in module.PARTS:
            raise JudgeError(f"{path}: test {tid} names an unknown part {test.part!r}")
    return module


# --- reading notebooks -----------------------------------------------------------------------------

def _source(cell: Any) -> str:
    src = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def _nbgrader(cell: Any) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def read_submission(path: Path) -> tuple[dict[str, str], list[str]]:
    """The answer cells of a submitted notebook (grade id -> source) and problems found reading it.

    The file is untrusted: any size, JSON or not, any nbformat version, duplicated cells. Raises
    ``ValueError`` with a readable reason when nothing can be graded."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the notebook is {size / 1e6:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB allowed")
    try:
        nb = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"not a notebook (invalid JSON: {err})") from None
    if not isinstance(nb, dict):
        raise ValueError("not a notebook (no cells)")
    if nb.get("nbformat", 4) < 4 or "worksheets" in nb:
        import nbformat

        try:
            nb = nbformat.convert(nbformat.from_dict(nb), 4)
        except Exception as err:  # noqa: BLE001 - any failure to convert is the file's problem
            raise ValueError(f"an old notebook format that cannot be converted: {err}") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise ValueError("not a notebook (no cells)")
    answers: dict[str, str] = {}
    problems: list[str] = []
    for cell in cells:
        nbg = _nbgrader(cell)
        gid = nbg.get("grade_id")
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or not nbg.get("solution") or not isinstance(gid, str):
            continue
        if gid in answers:
            problems.append(f"the answer cell {gid!r} appears more than once; the first one was graded")
            continue
        answers[gid] = _source(cell)
    return answers, problems


@dataclass
class MasterNotebook:
    name: str  # file stem
    path: Path
    nb: dict
    setup: list[tuple[str, str]]  # (cell id, source) of the cells run before/among the answers
    order: list[tuple[str, str]]  # ("setup" | "answer", id) in notebook order
    points: dict[str, float]  # graded test cell grade id -> points
    solutions: dict[str, str]  # solution cell grade id -> master source
    cnnlab_names: set[str] = field(default_factory=set)  # names the setup cells bind to cnnlab


def read_master(path: Path) -> MasterNotebook:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    last_solution = max((i for i, c in enumerate(cells) if _nbgrader(c).get("solution")), default=-1)
    setup, order, points, solutions = [], [], {}, {}
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        nbg, src = _nbgrader(cell), _source(cell)
        if nbg.get("grade") and not nbg.get("solution"):
            points[nbg["grade_id"]] = float(nbg.get("points", 0))
        elif nbg.get("solution"):
            solutions[nbg["grade_id"]] = src
            order.append(("answer", nbg["grade_id"]))
        elif i < last_solution and "google.colab" not in src:
            cid = f"setup-{i}"
            setup.append((cid, src))
            order.append(("setup", cid))
    master = MasterNotebook(path.stem, path, nb, setup, order, points, solutions)
    master.cnnlab_names = _cnnlab_names(src for _, src in setup)
    return master


def _cnnlab_names(sources) -> set[str]:
    """Names that setup cells bind to ``cnnlab`` modules or objects (``from cnnlab import analysis``)."""
    names = set()
    for src in sources:
        try:
            tree = ast.parse(_no_magic(src))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "cnnlab":
                        names.add((a.asname or a.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "cnnlab":
                names.update(a.asname or a.name for a in node.names)
    return names


# --- static checks of the answer cells -----------------------------------------------------------

BANNED_MODULES = {"cnnlab", "autograder", "inspect", "importlib", "ctypes", "gc", "builtins", "dis", "marshal",
                  "pickle", "code", "codeop", "runpy", "IPython", "subprocess", "socket", "pty", "signal",
                  "linecache", "tokenize", "traceback", "threading", "multiprocessing", "_thread"}
BANNED_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint",
                "get_ipython", "open", "__builtins__", "__loader__", "__spec__"}
# attributes that reach frames, code objects, module tables or the notebook machinery
BANNED_ATTRS = {"__globals__", "__code__", "__closure__", "__subclasses__", "__builtins__", "__dict__",
                "__getattribute__", "__mro__", "__bases__", "__base__", "__self__", "__func__", "__loader__",
                "__spec__", "__import__", "__reduce__", "__reduce_ex__", "_getframe", "f_back", "f_locals",
                "f_globals", "f_code", "gi_frame", "cr_frame", "tb_frame", "meta_path", "path_hooks",
                "settrace", "setprofile", "addaudithook", "input_transformers_post", "input_transformers_cleanup",
                "run_cell", "getsource", "getsourcelines", "_getframemodulename", "setrecursionlimit"}
BANNED_DEFS = {"__torch_function__", "__torch_dispatch__", "__eq__", "__ne__", "__bool__", "__instancecheck__",
               "__subclasscheck__", "__array_function__", "__array_ufunc__"}


def _no_magic(source: str) -> str:
    return re.sub(r"^(\s*)([%!].*)$", r"\1pass  # \2", source, flags=re.M)


def _chain(node: ast.AST) -> str | None:
    """``torch.nn.functional.max_pool2d`` for the expression node of that dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _matches(text: str, entry: str) -> bool:
    return text == entry or text.endswith("." + entry) or text.startswith(entry + ".")


def static_flags(sources: dict[str, str], forbidden: tuple[str, ...] = (), allowed: tuple[str, ...] = (),
                 cnnlab_names: set[str] = frozenset()) -> list[str]:
    """What in the answer cells breaks the rules, one readable line per finding (empty: nothing).

    ``sources`` maps cell grade ids to their source; line numbers in the findings are per cell."""
    found: list[str] = []
    entries = tuple(forbidden)
    banned_names = set(cnnlab_names) | {"cnnlab", "autograder"}

    def ok(text: str) -> bool:
        return any(_matches(text, a) for a in allowed)

    def add(cell: str, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", "?")
        msg = f"{what} (cell {cell}, line {line})"
        if msg not in found:
            found.append(msg)

    for cell, src in sources.items():
        try:
            tree = ast.parse(_no_magic(src))
        except SyntaxError:
            continue  # it fails when it runs; nothing to flag
        inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for mod in mods:
                    top = mod.split(".")[0]
                    if top in BANNED_MODULES and not ok(mod):
                        add(cell, node, f"imports {mod}, which answers may not use")
                    for e in entries:
                        if _matches(mod, e):
                            add(cell, node, f"imports {mod} (forbidden in this part: {e})")
                if isinstance(node, ast.ImportFrom):
                    for a in node.names:
                        full = f"{node.module}.{a.name}"
                        for e in entries:
                            if _matches(full, e) or a.name == e:
                                add(cell, node, f"imports {full} (forbidden in this part: {e})")
            elif isinstance(node, (ast.Name, ast.Attribute)):
                if isinstance(node, ast.Attribute) and node.attr in BANNED_ATTRS:
                    add(cell, node, f"uses .{node.attr}, introspection that answers may not use")
                text = _chain(node)
                if text is None or id(node) in inner:
                    continue  # only whole dotted names are matched (a.b.c, not a.b and a again)
                if text.split(".")[0] in banned_names and not ok(text):
                    add(cell, node, f"uses {text} from the cnnlab reference library")
                if isinstance(node, ast.Name) and node.id in BANNED_CALLS and not ok(node.id):
                    add(cell, node, f"uses {node.id}, which answers may not use")
                for e in entries:
                    aliased = ("." in e and isinstance(node, ast.Attribute) and node.attr == e.rsplit(".", 1)[1]
                               and text.split(".")[0] != "self")  # torch.nn.functional.x for F.x
                    component = "." not in e and e in text.split(".")[1:]  # "nn" in torch.nn.Conv2d
                    if _matches(text, e) or aliased or component:
                        add(cell, node, f"uses {text} (forbidden in this part: {e})")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("getattr", "setattr", "delattr", "hasattr"):
                name = node.args[1] if len(node.args) > 1 else None
                on_self = bool(node.args) and isinstance(node.args[0], ast.Name) and node.args[0].id == "self"
                if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                    if not on_self:  # getattr(self, f"branch{i}") is ordinary module code
                        add(cell, node, f"uses {node.func.id}() with a computed name")
                elif name.value.startswith("__") or name.value in BANNED_ATTRS:
                    add(cell, node, f"uses {node.func.id}(..., {name.value!r})")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for e in entries:  # getattr(F, "max_pool2d"), importlib.import_module("cnnlab")
                    if node.value == e.split(".")[-1]:
                        add(cell, node, f"names {node.value!r} (forbidden in this part: {e})")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in BANNED_DEFS:
                add(cell, node, f"defines {node.name}, which answers may not")
    return found


# --- copied code ----------------------------------------------------------------------------------

MIN_COPY_NODES = 45  # smaller snippets (a formula) are too often written the same way independently


class _Canon(ast.NodeTransformer):
    """Renames every local identifier to its order of first appearance, drops docstrings and type
    annotations: two snippets that differ only in naming and comments become equal."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _n(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._n(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg=self._n(node.arg), annotation=None), node)

    def visit_FunctionDef(self, node):
        node.name = self._n(node.name)
        node.returns = None
        node.decorator_list = []
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:] or [ast.Pass()]
        node.body = body
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Constant(self, node):
        if isinstance(node.value, str):  # messages reworded do not make code one's own
            return ast.copy_location(ast.Constant(value=""), node)
        return node

    def visit_JoinedStr(self, node):
        return ast.copy_location(ast.Constant(value=""), node)

    def visit_AnnAssign(self, node):
        if node.value is None:
            return None
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno), node)


def _fingerprint(nodes: list[ast.stmt]) -> tuple[str, int]:
    block = ast.Module(body=[_Canon().visit(copy.deepcopy(n)) for n in nodes], type_ignores=[])
    size = sum(1 for _ in ast.walk(block))
    return hashlib.sha1(ast.dump(block, annotate_fields=False).encode()).hexdigest(), size


def _windows(tree: ast.AST, width: int = 3):
    """Every function and every run of ``width`` consecutive statements in any body."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, [node]
        body = getattr(node, "body", None)
        if isinstance(body, list) and len(body) >= width:
            for i in range(len(body) - width + 1):
                yield getattr(node, "name", "a block"), body[i:i + width]


@functools.lru_cache(maxsize=None)
def reference_index(root: str | None = None) -> dict[str, str]:
    """Fingerprint -> where in ``cnnlab`` it comes from, for every large enough function and block."""
    if root is None:  # found without importing it (and PyTorch with it)
        root = os.path.dirname(importlib.util.find_spec("cnnlab").origin)
    index: dict[str, str] = {}
    for path in sorted(Path(root).rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        module = "cnnlab." + ".".join(path.relative_to(root).with_suffix("").parts)
        for name, nodes in _windows(tree):
            fp, size = _fingerprint(nodes)
            if size >= MIN_COPY_NODES:
                index.setdefault(fp, f"{module.removesuffix('.__init__')} ({name})")
    return index


def copied_from_reference(sources: dict[str, str]) -> list[str]:
    """Findings for answer code that is ``cnnlab`` code with only names, comments or types changed."""
    index = reference_index()
    found = []
    for cell, src in sources.items():
        try:
            tree = ast.parse(_no_magic(src))
        except SyntaxError:
            continue
        for name, nodes in _windows(tree):
            fp, size = _fingerprint(nodes)
            if size >= MIN_COPY_NODES and fp in index:
                msg = f"code copied from the reference {index[fp]} (cell {cell}, line {nodes[0].lineno})"
                if not any(m.startswith(msg.split(" (cell")[0]) and f"cell {cell}" in m for m in found):
                    found.append(msg)
    return found


# --- running the sandbox ---------------------------------------------------------------------------

@dataclass
class RunRecord:
    """What the sandbox reported about one submission, over all its (re)starts."""

    cells: dict[str, dict] = field(default_factory=dict)  # id -> {"status", "error", "stdout"}
    cases: dict[str, dict[int, dict]] = field(default_factory=dict)  # test id -> case index -> {"value"|"error"}
    test_errors: dict[str, str] = field(default_factory=dict)  # test id -> why it did not finish
    incidents: list[str] = field(default_factory=list)
    starts: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds the sandboxed runner reported (the last, finished start)


def run_in_sandbox(cells: list[dict], tests: list[dict], adapter: Path, limits: isolation.Limits,
                   mode: isolation.Mode, slot: int = 0) -> RunRecord:
    """Run the cells and the tests' cases in the sandbox; restart it (skipping the culprit) when a
    cell or a test hangs, crashes the process or prints too much, until everything has had its turn
    or the notebook's wall-clock budget is spent."""
    rec = RunRecord()
    t0 = time.monotonic()
    deadline = t0 + limits.wall_s
    skip_cells: set[str] = set()
    done_tests: set[str] = set()
    guard = isolation.sandbox_paths()["guard"] if mode.isolated else _guard_paths()
    budget = limits.output_mb * 1024 * 1024
    while True:
        pending = [t for t in tests if t["id"] not in done_tests]
        if rec.starts and not pending:
            break
        if time.monotonic() >= deadline:
            for t in pending:
                rec.test_errors.setdefault(t["id"], f"not run: the notebook used up its {limits.wall_s:.0f} s")
            break
        rec.starts += 1
        job = {"cells": cells, "tests": pending, "skip_cells": sorted(skip_cells), "skip_tests": [],
               "adapter": isolation.ADAPTER_PATH if mode.isolated else str(adapter), "guard": guard,
               "stdout_limit": limits.stdout_chars}
        finished, current, why, used = _one_start(job, adapter, limits, mode, slot, deadline, rec, done_tests, budget)
        budget -= used
        if finished:
            break
        if current is None:
            rec.incidents.append(f"the sandbox stopped before running anything: {why}")
            for t in pending:
                rec.test_errors.setdefault(t["id"], f"not run: {why}")
            break
        kind, ident = current
        if kind == "cell":
            skip_cells.add(ident)
            rec.cells[ident] = {"status": "error", "error": why, "stdout": rec.cells.get(ident, {}).get("stdout", "")}
        else:
            done_tests.add(ident)
            rec.test_errors[ident] = why
        rec.incidents.append(f"{kind} {ident}: {why}")
        if budget <= 0 or rec.starts >= 2 + len(tests) + len(cells):
            for t in tests:
                if t["id"] not in done_tests:
                    rec.test_errors.setdefault(t["id"], f"not run: {why}")
            break
    rec.seconds = time.monotonic() - t0
    return rec


def _guard_paths() -> list[str]:
    import cnnlab

    return [os.path.dirname(os.path.realpath(cnnlab.__file__)), str(GRADER_DIR)]


def _one_start(job, adapter, limits, mode, slot, deadline, rec: RunRecord, done_tests: set, budget: int):
    """One sandbox process. Returns (finished, (kind, id) it was busy with, reason, bytes read)."""
    cmd, env = isolation.build_command(mode, str(adapter), limits, slot)
    scratch = None
    cwd = None
    if not mode.isolated:
        import tempfile

        scratch = tempfile.mkdtemp(prefix="cnnlab-sandbox-")
        os.chmod(scratch, 0o777)
        env = {**env, "HOME": scratch, "TMPDIR": scratch, "PYTHONPATH": ""}
        cwd = scratch
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd, preexec_fn=isolation.preexec(limits), close_fds=True)
    lines: queue.Queue = queue.Queue()
    used = [0]

    def reader():
        try:
            while True:
                line = proc.stdout.readline(2 * 8_000_000)
                if not line:
                    break
                used[0] += len(line)
                lines.put(line)
                if used[0] > budget:
                    lines.put(b"__TOO_MUCH__")
                    break
        finally:
            lines.put(None)

    def writer():
        try:
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        except OSError:
            pass

    threading.Thread(target=writer, daemon=True).start()
    threading.Thread(target=reader, daemon=True).start()
    current, started, finished, why = None, time.monotonic(), False, ""
    try:
        while True:
            now = time.monotonic()
            limit = limits.cell_s if current and current[0] == "cell" else limits.test_s
            timeout = min(deadline - now, started + limit - now) if current else deadline - now
            if timeout <= 0:
                what = "the notebook's" if now >= deadline else ("this cell's" if current and current[0] == "cell" else "this test's")
                why = f"stopped: ran past {what} time limit ({(limits.wall_s if now >= deadline else limit):.0f} s)"
                break
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                continue
            if line is None:
                code = proc.wait()
                why = _exit_reason(code, limits)
                break
            if line == b"__TOO_MUCH__":
                why = f"stopped: more than {limits.output_mb} MB of output"
                break
            try:
                msg = codec.loads(line)
                ev = msg["ev"] if isinstance(msg, dict) else None
            except (ValueError, KeyError, TypeError, RecursionError):
                rec.incidents.append("the sandbox wrote a line that is not the runner's")
                continue
            if ev == "cell_start":
                current, started = ("cell", str(msg.get("id"))), time.monotonic()
            elif ev == "cell":
                rec.cells[str(msg.get("id"))] = {"status": msg.get("status"), "error": msg.get("error"),
                                                 "stdout": str(msg.get("stdout", ""))[:limits.stdout_chars + 200]}
                current = None
            elif ev == "test_start":
                current, started = ("test", str(msg.get("id"))), time.monotonic()
            elif ev == "case":
                tid, i = str(msg.get("test")), msg.get("i")
                if type(i) is int:
                    rec.cases.setdefault(tid, {}).setdefault(i, {k: msg[k] for k in ("value", "error") if k in msg})
            elif ev == "test_end":
                done_tests.add(str(msg.get("id")))
                current = None
            elif ev == "done":
                rec.cpu = float(msg.get("cpu", 0.0)) if isinstance(msg.get("cpu"), (int, float)) else 0.0
                finished = True
                break
    finally:
        _kill(proc, slot, mode)
        if scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    return finished, current, why, used[0]


def _exit_reason(code: int, limits: isolation.Limits) -> str:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
        if sig == signal.SIGXCPU:
            return f"stopped: used more than {limits.cpu_s} s of CPU time"
        if sig == signal.SIGKILL:
            return "the process was killed (out of memory or a signal)"
        return f"the process died of signal {name}"
    if code == 0:
        return "the process exited early (sys.exit or os._exit in the answer?)"
    return f"the process exited with code {code} (out of memory, too many processes, or an exit call)"


def _kill(proc: subprocess.Popen, slot: int, mode: isolation.Mode) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not mode.isolated and hasattr(os, "geteuid") and os.geteuid() == 0:
        # no PID namespace: processes that left the group (setsid, double fork) die by their uid
        uid = isolation.SANDBOX_UID + slot
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.stat(f"/proc/{pid}").st_uid == uid:
                        os.kill(int(pid), signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    pass
    for stream in (proc.stdout, proc.stdin):
        try:
            stream.close()
        except (OSError, ValueError):
            pass


# --- grading one notebook --------------------------------------------------------------------------

def _rng_seed(test_id: str, hidden: bool, seed: int, k: int = 0) -> int:
    if not hidden:
        return zlib.crc32(test_id.encode())
    return (seed * 1_000_003 + zlib.crc32(f"{test_id}#{k}".encode())) % 2**63


def limits_for(judge: ModuleType, base: isolation.Limits | None = None) -> isolation.Limits:
    base = base or isolation.Limits()
    extra = getattr(judge, "LIMITS", None) or {}
    return base.replace(**{k: v for k, v in extra.items() if hasattr(base, k)})


def grade_notebook(submission: Path, master: MasterNotebook, judge: ModuleType, adapter: Path,
                   seed: int, limits: isolation.Limits | None = None, mode: isolation.Mode | None = None,
                   slot: int = 0, repeats: int = 1) -> dict:
    """Grade one submitted notebook. Returns plain data::

        {"notebook", "seed", "tests": {grade_id: {"part", "points", "score", "passed", "total", "message"}},
         "flags": {part: [finding, ...]}, "problems": [...], "cells": {...}, "incidents": [...], "seconds"}

    ``repeats`` > 1 runs every hidden test with that many independent seeds (in one sandbox run) and
    reports each as ``grade_id#k``: the reliability check of a correct answer."""
    mode = mode or isolation.detect()
    limits = limits or limits_for(judge)
    t0, cpu0 = time.monotonic(), time.thread_time()
    result = {"notebook": master.name, "seed": seed, "tests": {}, "flags": {}, "problems": [], "cells": {},
              "incidents": [], "seconds": 0.0, "sandbox": mode.name}
    try:
        answers, problems = read_submission(submission)
    except (OSError, ValueError) as err:
        result["problems"].append(f"could not read {submission.name}: {err}")
        answers, problems = {}, []
        result["unreadable"] = True
    result["problems"] += problems
    for gid in master.solutions:
        if gid not in answers and not result.get("unreadable"):
            result["problems"].append(f"the answer cell {gid!r} is missing from the notebook")

    # static checks, per part
    for pname, part in judge.PARTS.items():
        srcs = {gid: answers[gid] for gid in part.answer_cells if gid in answers}
        flags = static_flags(srcs, part.forbidden, part.allowed, master.cnnlab_names) + copied_from_reference(srcs)
        if flags:
            result["flags"][pname] = flags

    # the cases, drawn on this side; visible tests get fixed ones
    tests_here = {tid: t for tid, t in judge.TESTS.items() if tid in master.points}
    jobs, plan = [], []
    for tid, test in tests_here.items():
        reps = repeats if test.hidden else 1
        if reps > 1 and codec.dumps(test.cases(np.random.default_rng(_rng_seed(tid, True, seed, 0)))) == \
                codec.dumps(test.cases(np.random.default_rng(_rng_seed(tid, True, seed, 1)))):
            reps = 1  # the same cases whatever the seed (e.g. a design trained by the judge): once is enough
        for k in range(reps):
            key = f"{tid}#{k}" if reps > 1 else tid
            rng = np.random.default_rng(_rng_seed(tid, test.hidden, seed, k))
            cases = test.cases(rng)
            codec.check_plain(cases)
            plan.append((key, tid, test, cases))
            if test.part not in result["flags"] and not result.get("unreadable"):
                jobs.append({"id": key, "part": test.part, "cases": cases})

    cells = []
    for kind, ident in master.order:
        if kind == "setup":
            cells.append({"id": ident, "kind": "setup", "source": dict(master.setup)[ident]})
        else:
            cells.append({"id": ident, "kind": "answer",
                          "source": answers.get(ident, "raise NotImplementedError('missing answer cell')")})
    rec = run_in_sandbox(cells, jobs, adapter, limits, mode, slot) if jobs else RunRecord()
    result["cells"] = rec.cells
    result["incidents"] = rec.incidents
    result["sandbox_cpu_s"] = round(rec.cpu, 3)

    for key, tid, test, cases in plan:
        part = judge.PARTS[test.part]
        points = master.points[tid]
        entry = {"part": test.part, "points": points, "score": 0.0, "passed": 0, "total": len(cases), "message": ""}
        result["tests"][key] = entry
        if result.get("unreadable"):
            entry["message"] = result["problems"][0]
            continue
        if test.part in result["flags"]:
            entry["message"] = "no points: the answer " + "; ".join(result["flags"][test.part])
            continue
        got = rec.cases.get(key, {})
        first_fail = None
        for i, case in enumerate(cases):
            out = got.get(i)
            if out is None:
                ok, msg = False, rec.test_errors.get(key, "no output (the sandbox stopped before this case)")
            elif "error" in out:
                ok, msg = False, f"your code raised {out['error']}" if not str(out["error"]).startswith("not implemented") \
                    else str(out["error"])
            else:
                try:
                    expected = part.reference(case) if part.reference is not None else None
                except Exception as err:  # noqa: BLE001 - a fault of the judge, not of the student
                    raise JudgeError(f"the reference of part {test.part!r} failed on {case!r}: "
                                     f"{traceback.format_exc(limit=3)}") from err
                try:
                    ok, msg = part.compare(case, out.get("value"), expected)
                except codec.CodecError as err:
                    ok, msg = False, f"your output could not be read: {err}"
                except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError,
                        ArithmeticError) as err:  # what odd data does to a compare: the output's fault
                    ok, msg = False, f"your output has the wrong form: {type(err).__name__}: {err}"
            if ok:
                entry["passed"] += 1
            elif first_fail is None:
                first_fail = f"case {i + 1} of {len(cases)}: {msg}"
        if test.partial:
            entry["score"] = round(points * entry["passed"] / max(1, len(cases)), 4)
        else:
            entry["score"] = points if entry["passed"] == len(cases) else 0.0
        cell_errors = [f"the answer cell {c!r} raised {rec.cells[c]['error']}" for c in part.answer_cells
                       if rec.cells.get(c, {}).get("status") == "error"]
        entry["message"] = "; ".join(filter(None, [first_fail] + ([] if first_fail is None else cell_errors[:1])))
    result["seconds"] = round(time.monotonic() - t0, 3)
    result["judge_cpu_s"] = round(time.thread_time() - cpu0, 3)  # this side: cases, references, compares
    return result
