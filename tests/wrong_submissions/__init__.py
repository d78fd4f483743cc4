"""Designed wrong submissions, one module per assignment (named like its folder in solutions/).

Each module defines ``REPLACE`` (grade id of a solution cell -> the wrong code put there) and
``EXPECTED`` (grade id of every graded test cell -> the score that submission must get). A good
design mixes a mistake the visible tests catch, one only the hidden tests catch, and a crash.
"""
from __future__ import annotations

import importlib
import pkgutil

WRONG = {}
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    WRONG[_info.name] = {"replace": _module.REPLACE, "expected": _module.EXPECTED}
