"""Shared set-up of the unit tests: helper modules importable from tests/, no plot windows, one
intra-op thread."""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # no windows from unit tests
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True, scope="session")
def one_intra_op_thread():
    """The unit tests use small tensors: one intra-op thread is as fast on a quiet machine and avoids
    OpenMP oversubscription (several times slower) when the 2 cores are shared. Notebooks run in
    their own kernels and keep PyTorch's defaults."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
