"""Starting the sandbox that a submission's code runs in (the judge's side of the boundary).

Three modes, chosen once per machine by ``detect()``:

* ``bwrap-root`` — the grader runs as root (a container, a grading VM): bubblewrap builds a new
  mount, PID, network, IPC and UTS namespace, and the runner then drops to a dedicated unprivileged
  uid (``SANDBOX_UID + slot``, one per parallel worker, so that the process limit counts per
  submission and no file of the instructor's is writable even by accident).
* ``bwrap-user`` — an ordinary user with unprivileged user namespaces: the same namespaces inside
  a user namespace.
* ``none`` — no bubblewrap (or namespaces refused): the runner runs as a plain child process with
  the resource limits only (and as the dedicated uid when the grader is root). The student's code
  can then read whatever the grader's user can read, and use the network. This is refused unless
  the instructor allows it explicitly (``--allow-unsandboxed`` / ``CNNLAB_ALLOW_UNSANDBOXED=1``),
  and it is announced on every run.

The sandbox sees a read-only view of the Python installation, ``cnnlab`` and the untrusted part of
``autograder`` (the judges folder is hidden), the one adapter file of the assignment, and an empty
size-limited ``/tmp`` that is its working and home directory. It does not see the course directory
(masters, gradebook, other submissions), the instructor's home or the network.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 61000  # + worker slot; no such user needs to exist
ADAPTER_PATH = "/grader/adapter.py"


@dataclass
class Limits:
    """Resource limits of one sandboxed run (one submission, or what is left of it after a restart)."""

    wall_s: float = 120.0  # whole notebook (all restarts together)
    cell_s: float = 30.0  # one setup or answer cell
    test_s: float = 30.0  # one graded test (all its cases)
    cpu_s: int = 120  # CPU seconds of the sandboxed process (RLIMIT_CPU)
    memory_mb: int = 6144  # address space (RLIMIT_AS); PyTorch alone maps ~3 GB
    processes: int = 64  # threads and processes of the sandbox uid (RLIMIT_NPROC)
    file_mb: int = 16  # largest file it may write (RLIMIT_FSIZE); /tmp holds at most 4x this
    open_files: int = 256
    output_mb: int = 32  # bytes it may report in all before it is stopped
    stdout_chars: int = 20_000  # printed characters kept per cell for the feedback

    def replace(self, **changes) -> "Limits":
        return Limits(**{**self.__dict__, **changes})


@dataclass
class Mode:
    name: str  # "bwrap-root", "bwrap-user" or "none"
    reason: str = ""
    bwrap: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def isolated(self) -> bool:
        return self.name != "none"


UNSANDBOXED_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! GRADING WITHOUT A SANDBOX: {reason}\n"
    "!! Student code runs with resource limits only: it can read every file this user can read\n"
    "!! (masters, hidden tests, the gradebook, other submissions) and use the network.\n"
    "!! Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) to grade safely.\n"
    + "!" * 78 + "\n"
)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def detect() -> Mode:
    """Which sandbox this machine can give, tried for real (a bwrap that cannot create namespaces
    fails here, not in the middle of grading). ``CNNLAB_SANDBOX=none`` forces the fallback."""
    if os.environ.get("CNNLAB_SANDBOX") == "none":
        return Mode("none", "CNNLAB_SANDBOX=none is set")
    if sys.platform != "linux":
        return Mode("none", f"bubblewrap needs Linux; this is {sys.platform}")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Mode("none", "bubblewrap (bwrap) is not installed")
    name = "bwrap-root" if _is_root() else "bwrap-user"
    probe = [bwrap, *_namespace_args(name), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    sized = ["--size", str(2**20), "--tmpfs", "/tmp", "true"]
    try:
        proc = subprocess.run(probe + sized, capture_output=True, text=True, timeout=30)
        notes = []
        if proc.returncode != 0 and "--size" in proc.stderr:  # bubblewrap < 0.8: no size limit on /tmp
            proc = subprocess.run(probe + ["--tmpfs", "/tmp", "true"], capture_output=True, text=True, timeout=30)
            notes = ["no-tmpfs-size"]
    except (OSError, subprocess.TimeoutExpired) as err:
        return Mode("none", f"bwrap does not start: {err}")
    if proc.returncode != 0:
        return Mode("none", f"bwrap cannot create namespaces here: {proc.stderr.strip()[:300]}")
    return Mode(name, bwrap=bwrap, notes=notes)


def _namespace_args(mode: str) -> list[str]:
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session"]
    if mode == "bwrap-user":
        args.insert(0, "--unshare-user")
    return args


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def sandbox_paths() -> dict[str, list[str]]:
    """What the sandbox sees read-only, and which folders inside those it must not see."""
    import autograder
    import cnnlab

    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    packages = {os.path.dirname(os.path.realpath(cnnlab.__file__)), os.path.realpath(list(autograder.__path__)[0])}
    system = [p for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32") if os.path.exists(p)]
    etc = [p for p in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                       "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives") if os.path.exists(p)]
    sys_ro = [p for p in ("/sys/devices/system/cpu",) if os.path.exists(p)]
    grader = os.path.realpath(list(autograder.__path__)[0])
    hidden = [os.path.join(grader, "judges")]
    return {"system": system, "etc": etc + sys_ro, "roots": sorted(roots), "packages": sorted(packages),
            "hidden": hidden, "guard": sorted(packages)}


def build_command(mode: Mode, adapter: str, limits: Limits, slot: int = 0) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start the runner for one submission."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
           "CUDA_VISIBLE_DEVICES": "", "CNNLAB_DEVICE": "cpu"}
    uid = SANDBOX_UID + slot
    runner = [sys.executable, "-I", "-m", "autograder.sandbox.runner"]
    # inside bwrap the view is built for the dedicated uid; without it, that uid must be able to
    # read the Python installation (not so for a Python under /root, e.g. pyenv's)
    if _is_root() and (mode.isolated or _world_readable(sys.base_prefix) and _world_readable(sys.prefix)):
        runner += ["--uid", str(uid)]
    if not mode.isolated:
        return runner, env
    paths = sandbox_paths()
    cmd = [mode.bwrap, *_namespace_args(mode.name), "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    made: set[str] = {"/tmp"}
    for p in paths["system"]:
        if os.path.islink(p):
            cmd += ["--symlink", os.readlink(p), p]
        else:
            cmd += ["--ro-bind", p, p]
    # The scratch /tmp comes before the read-only binds: a course checked out under /tmp (a CI
    # runner's clone, say) is then bound on top of the empty tmpfs instead of hidden by it.
    cmd += ["--perms", "1777"]
    if "no-tmpfs-size" not in mode.notes:
        cmd += ["--size", str(4 * limits.file_mb * 1024 * 1024)]
    cmd += ["--tmpfs", "/tmp"]
    for p in paths["etc"] + paths["roots"] + paths["packages"]:
        for parent in _ancestors(p):  # bwrap would make missing parents 0700: unreadable after the drop
            if parent not in made and not any(parent == s or parent.startswith(s + "/") for s in paths["system"]):
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--ro-bind", p, p]
    for p in paths["hidden"]:
        if os.path.isdir(p):
            cmd += ["--tmpfs", p]
    cmd += ["--perms", "0755", "--dir", "/grader", "--ro-bind", adapter, ADAPTER_PATH,
            "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    if mode.name == "bwrap-root":
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return cmd + ["--", *runner], env


def _world_readable(path: str) -> bool:
    """Whether any user can reach ``path`` (every folder on the way is o+x, it is o+r)."""
    p = Path(os.path.realpath(path))
    try:
        return all(os.stat(a).st_mode & 0o001 for a in [*p.parents, p]) and bool(os.stat(p).st_mode & 0o004)
    except OSError:
        return False


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the sandbox dies when the grader does (bwrap also does it inside)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


def preexec(limits: Limits):
    """Resource limits set in the child before it starts the sandbox (they are inherited)."""
    mb = 1024 * 1024
    nproc = limits.processes
    if not _is_root():  # RLIMIT_NPROC counts all of this user's processes: leave room for them
        try:
            nproc += sum(1 for d in os.listdir("/proc") if d.isdigit()
                         and os.stat(f"/proc/{d}").st_uid == os.getuid()) * 4
        except OSError:
            nproc += 4096

    def apply() -> None:
        os.setsid()  # its own process group: the judge kills the whole group on a timeout
        _die_with_parent()
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply
