"""Checkpoints that a run can be resumed from, written atomically.

A checkpoint holds everything the next epoch depends on: the model's and the optimizer's state,
the scheduler's and the gradient scaler's, the number of finished epochs, the ``History`` so far
and the random number generators of every rank (Python, NumPy, PyTorch CPU and CUDA), which
decide shuffling, augmentation and dropout. So a run stopped mid-way and resumed ends with the
same weights as one that was never stopped (bit for bit on a CPU). The file is written next to
its final name and renamed over it (``os.replace`` is atomic), so a crash while saving leaves
the previous checkpoint whole. Everything in it is plain data that
``torch.load(weights_only=True)`` accepts.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FORMAT = "cnnlab.train checkpoint v1"


def check_writable(path: str | os.PathLike) -> Path:
    """Make the checkpoint's folder and prove a file can be written there, before any training."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"checkpoint path {str(path)!r} is a folder; give a file name, e.g. {str(path / 'run.pt')!r}")
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ValueError(f"checkpoint path {str(path)!r} is not writable: {str(blocker)!r} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as err:
        raise ValueError(f"checkpoint path {str(path)!r} is not writable: {err.strerror or err}") from err
    return path


def rng_state() -> dict[str, Any]:
    """This process's generators, as tensors and plain numbers."""
    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {"python": [version, list(mt), gauss], "numpy": [kind, torch.as_tensor(keys.astype(np.int64)),
                                                           int(pos), int(has_gauss), float(cached)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike, device: torch.device) -> dict[str, Any]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r} to resume from")
    state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a cnnlab.train checkpoint (saved by fit(checkpoint=...))")
    return state


def check_compatible(state: dict[str, Any], path: Any, model: nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: Any, epochs: int, world: int, batch_size: int) -> None:
    """Refuse to resume into a different run, naming what differs."""
    where = f"the checkpoint {str(path)!r}"
    if state["model_class"] != type(model).__name__:
        raise ValueError(f"{where} is of a {state['model_class']} model, not {type(model).__name__}; "
                         "resume with the model it was saved from, or start a new checkpoint")
    mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in state["model"].items()}
    if mine != theirs:
        diff = sorted(set(mine.items()) ^ set(theirs.items()))[:3]
        raise ValueError(f"{where} is of a differently shaped {state['model_class']} (e.g. "
                         f"{', '.join(f'{k} {s}' for k, s in diff)}); resume with the model it was saved from")
    if state["optimizer_class"] != type(optimizer).__name__:
        raise ValueError(f"{where} was saved with the optimizer {state['optimizer_class']}, this run uses "
                         f"{type(optimizer).__name__}; resume with the same optimizer")
    theirs_sched = state["scheduler_class"]
    mine_sched = type(scheduler).__name__ if scheduler is not None else None
    if theirs_sched != mine_sched:
        raise ValueError(f"{where} was saved with the scheduler {theirs_sched}, this run uses {mine_sched}; "
                         "resume with the same scheduler")
    if mine_sched is not None and state["epochs"] != epochs:
        raise ValueError(f"{where} was saved by a {state['epochs']}-epoch run with a {mine_sched} schedule; "
                         f"resume it with epochs={state['epochs']}, not {epochs}")
    if state["batch_size"] != batch_size:
        raise ValueError(f"{where} was saved with batch_size={state['batch_size']}, this run uses "
                         f"{batch_size}; resume with the same batch size")
    if len(state["rng"]) != world:
        import warnings

        warnings.warn(f"{where} was saved by {len(state['rng'])} process(es), this run has {world}: the "
                      "weights resume exactly, the random draws (shuffling, augmentation, dropout) do not",
                      stacklevel=3)
