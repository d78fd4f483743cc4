"""Where to run, and how to make a run repeatable."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best device available: CUDA, then Apple MPS, then CPU.

    ``prefer`` forces one (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``); the environment variable
    ``CNNLAB_DEVICE`` does the same for a whole session (e.g. to test the CPU path on a GPU box).
    """
    prefer = prefer or os.environ.get("CNNLAB_DEVICE") or None
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available on this machine")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError("device 'mps' requested but Apple MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (all devices). ``deterministic=True`` also asks cuDNN for
    deterministic kernels, which are slower."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def threads_for(cpus: int | None = None) -> int | None:
    """The intra-op thread count ``fit(threads="auto")`` uses: 1 on a machine with 2 or fewer
    CPUs, None (PyTorch's default, one per core) on bigger ones.

    Why (``benchmarks/bench_threads.py``, figures in ``benchmarks/README.md``): on a 2-core
    machine that other programs share, PyTorch's 2 OpenMP threads wait for each other at every
    parallel region, and the course's models trained 1.7× (AlexNet, VGG-11 for CIFAR) to 20×
    (LeNet-5) slower with them than with one thread. On an idle 2-core machine two threads would
    be faster for the larger models; a fixed rule also keeps CPU results reproducible.
    """
    cpus = cpus if cpus is not None else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                         else os.cpu_count() or 1)
    return 1 if cpus <= 2 else None
