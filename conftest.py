"""Repository-wide pytest hooks: time every notebook that nbval runs and print the figures.

Also: tests marked ``slow`` are deselected unless ``-m`` is given.

The budget is 120 s per notebook on a 2-core CPU (SYLLABUS.md). The figures are printed, not
asserted, so that the suite stays deterministic on a loaded machine.
"""
from __future__ import annotations

from collections import defaultdict

NOTEBOOK_BUDGET_S = 120.0
_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook run times (budget 120 s each on a 2-core CPU)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = "" if seconds <= NOTEBOOK_BUDGET_S else "   OVER BUDGET"
        tr.write_line(f"{seconds:7.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  all notebooks")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (full-size forward passes of big models) run only when asked for with
    ``-m slow`` (or any ``-m`` expression); the default run deselects them."""
    if config.getoption("markexpr", ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
