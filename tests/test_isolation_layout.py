"""The sandbox's mount order: the scratch ``/tmp`` tmpfs must not hide a course that lives under
``/tmp`` (a CI runner's clone, a temporary checkout), so it is mounted before the read-only binds."""
from __future__ import annotations

from autograder import isolation


def test_scratch_tmp_is_mounted_before_the_read_only_views(monkeypatch):
    paths = {"system": ["/usr"], "etc": ["/etc/passwd"], "roots": ["/tmp/ci/.venv", "/opt/python"],
             "packages": ["/tmp/ci/cnnlab", "/tmp/ci/autograder"], "hidden": [], "guard": []}
    monkeypatch.setattr(isolation, "sandbox_paths", lambda: paths)
    mode = isolation.Mode("bwrap-root", bwrap="/usr/bin/bwrap")
    cmd, _ = isolation.build_command(mode, "/x/adapter.py", isolation.Limits())
    tmpfs = cmd.index("/tmp", cmd.index("--tmpfs"))
    binds = [i for i, arg in enumerate(cmd) if arg == "--ro-bind" and cmd[i + 1].startswith("/tmp/")]
    assert binds and all(tmpfs < i for i in binds), "a --tmpfs /tmp after the binds would hide /tmp/ci"
    assert cmd.count("/tmp") >= 2 and cmd[cmd.index("--chdir") + 1] == "/tmp"
    assert ["--dir", "/tmp"] not in [cmd[i:i + 2] for i in range(len(cmd) - 1)]  # the tmpfs is that folder
