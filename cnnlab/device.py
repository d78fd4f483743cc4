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
