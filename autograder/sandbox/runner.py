"""Runs one submission inside the sandbox and reports the student's outputs as JSON lines.

Started by the judge (``autograder.isolation``) as ``python -I -m autograder.sandbox.runner``.
Reads one JSON job from stdin::

    {"cells": [{"id": "setup-2", "kind": "setup" | "answer", "source": "..."}],
     "adapter": "/path/to/adapter.py", "tests": [{"id": "relu_hidden", "part": "relu", "cases": [...]}],
     "skip_cells": [...], "skip_tests": [...], "guard": ["/protected/dir", ...], "stdout_limit": 20000}

and writes one JSON object per line on the stdout it was given (the student's own prints are caught
elsewhere): ``cell_start``/``cell`` per cell, ``test_start``/``case``/``test_end`` per test, ``done``.

Nothing here is trusted: the student's code runs in this process and could rewrite any of it. The
judge treats every line as a claim about the student's outputs only, and compares those with its own
reference outside the sandbox, so tampering can at worst spoil the student's own results.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import sys
import time
import traceback

from autograder import codec

MAX_LINE = 8_000_000  # bytes of one reported line; a bigger output is reported as an error


class CappedText(io.TextIOBase):
    """A write-only text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.kept, self.dropped = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output not shown]"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text


_MAGIC = re.compile(r"^(\s*)([%!].*)$", re.M)


def _plain_python(source: str) -> str:
    """IPython magics and shell escapes become comments: the sandbox runs plain Python."""
    return _MAGIC.sub(r"\1pass  # \2", source)


def _error_text(err: BaseException, filename_prefix: str = "<cell") -> str:
    """The exception's type and message and the lines of the student's cells it passed through."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.startswith(filename_prefix)]
    where = "".join(f"  {f.filename} line {f.lineno}: {f.line}\n" for f in frames[-3:])
    text = f"{type(err).__name__}: {err}"
    return (text[:2000] + ("\n" + where if where else "")).rstrip()


def install_guard(protected: list[str]) -> None:
    """An audit hook (which cannot be removed) that stops the student's code from reading the
    source of the reference library and of the grader (``inspect.getsource`` included), and from
    starting programs or opening sockets. Imports still read those files: they go through
    importlib, which the hook lets pass."""
    prefixes = tuple(os.path.join(os.path.realpath(p), "") for p in protected)
    blocked_events = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
                      "socket.connect", "socket.bind", "socket.sendto", "ctypes.dlopen"}
    getframe = sys._getframe

    def hook(event, args):
        if event == "open":
            path = args[0]
            if isinstance(path, (str, bytes)) and not isinstance(path, int):
                path = os.fsdecode(path)
                if os.path.realpath(path).startswith(prefixes):
                    frame = getframe(1)
                    while frame is not None and frame.f_code.co_filename == __file__:
                        frame = frame.f_back
                    if frame is None or not frame.f_code.co_filename.startswith("<frozen importlib"):
                        raise PermissionError(f"the grader does not let answers read {path}")
        elif event in blocked_events:
            raise PermissionError(f"the grader does not let answers use {event}")

    sys.addaudithook(hook)


def load_adapter(path: str):
    spec = importlib.util.spec_from_file_location("_cnnlab_adapter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drop_privileges(argv: list[str]) -> None:
    """``--uid N``: the grader started us as root; become the dedicated unprivileged user now,
    before any of the student's code exists in this process."""
    if "--uid" in argv:
        uid = int(argv[argv.index("--uid") + 1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise SystemExit("could not drop privileges")


def main() -> int:
    drop_privileges(sys.argv[1:])
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    job = json.loads(sys.stdin.read())
    # the student's raw writes to fd 1 and 2 go nowhere; their prints are kept, capped, per cell
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file write fails instead of killing us
    captured = CappedText(int(job.get("stdout_limit", 20_000)))
    sys.stdout = sys.stderr = captured
    sys.stdin = io.StringIO("")

    def emit(obj: dict) -> None:
        try:
            line = codec.dumps(obj)
        except (codec.CodecError, ValueError, TypeError) as err:
            line = codec.dumps({**{k: v for k, v in obj.items() if k != "value"}, "value": None,
                                "error": f"the output is not plain data: {err}"})
        if len(line) > MAX_LINE:
            line = codec.dumps({**{k: v for k, v in obj.items() if k != "value"}, "value": None,
                                "error": f"the output is too large ({len(line)} bytes)"})
        proto.write(line + "\n")

    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001 - torch is optional for the runner itself
        pass

    ns: dict = {"__name__": "__main__"}
    skip_cells, skip_tests = set(job.get("skip_cells", ())), set(job.get("skip_tests", ()))
    guarded = False
    for cell in job["cells"]:
        if cell["kind"] == "answer" and not guarded:
            install_guard(job.get("guard", []))
            guarded = True
        if cell["id"] in skip_cells:
            continue
        emit({"ev": "cell_start", "id": cell["id"]})
        status, error = "ok", None
        try:
            code = compile(_plain_python(cell["source"]), f"<cell {cell['id']}>", "exec")
            exec(code, ns)  # noqa: S102 - running the student's code is the point, inside the sandbox
        except BaseException as err:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            status, error = "error", _error_text(err)
        emit({"ev": "cell", "id": cell["id"], "status": status, "error": error, "stdout": captured.take()})
    if not guarded:
        install_guard(job.get("guard", []))

    adapter = load_adapter(job["adapter"])
    for test in job["tests"]:
        if test["id"] in skip_tests:
            continue
        emit({"ev": "test_start", "id": test["id"]})
        fn = getattr(adapter, test["part"], None)
        for i, case in enumerate(test["cases"]):
            out = {"ev": "case", "test": test["id"], "i": i}
            try:
                if fn is None:
                    raise RuntimeError(f"the adapter has no function {test['part']!r}")
                out["value"] = codec.to_plain(fn(ns, case))
            except NotImplementedError:
                out["error"] = "not implemented yet (it still raises NotImplementedError)"
            except BaseException as err:  # noqa: BLE001
                out["error"] = _error_text(err)
            captured.take()
            emit(out)
        emit({"ev": "test_end", "id": test["id"]})
    emit({"ev": "done", "cpu": time.process_time()})
    proto.flush()
    os._exit(0)  # no atexit handlers or finalizers the student registered


if __name__ == "__main__":
    sys.exit(main())
