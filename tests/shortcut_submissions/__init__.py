"""Shortcut submissions, one module per assignment: answers that call the ``cnnlab`` references or a
forbidden PyTorch built-in instead of doing the work. Each module defines ``REPLACE`` (grade id of a
solution cell -> the shortcut put there) and ``EXPECTED`` (grade id of every graded test cell -> the
score it must get: zero on every part whose answer takes a shortcut, full marks elsewhere)."""
from __future__ import annotations

import importlib
import pkgutil

SHORTCUT = {}
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    SHORTCUT[_info.name] = {"replace": _module.REPLACE, "expected": _module.EXPECTED}
