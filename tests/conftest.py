"""Shared pytest set-up: import helpers from tests/, and print how long each notebook took."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no windows from unit tests
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("CNNLAB_TEST", "1")
