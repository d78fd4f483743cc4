"""``fit`` and ``evaluate``: the training loop and the evaluation pass.

The loop is the plain PyTorch one (forward, loss, backward, step) with nothing per step that waits
for the device: losses and correct counts add up in device tensors and are read once per epoch,
so ``fit`` stays within a few per cent of a hand-written loop (``benchmarks/bench_fit.py``).
The mistakes students make most (a model built for the wrong number of classes or channels, a
classifier that forgets to flatten) are caught on the first batch, before any weight changes,
with a message that says how to fix them.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from ..device import get_device, seed_everything, threads_for
from . import checkpoint as ckpt
from . import distributed, setup
from .display import Reporter
from .history import History


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows of ``logits`` (N, K) whose largest score is at ``targets`` (N,) (class
    indices) or at the largest entry of ``targets`` (N, K) (one-hot or soft labels)."""
    if logits.ndim != 2 or targets.shape[0] != logits.shape[0] or targets.ndim not in (1, 2):
        raise ValueError(f"expected logits (N, K) and targets (N,) or (N, K), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    if targets.ndim == 2:
        targets = targets.argmax(1)
    return (logits.argmax(1) == targets).float().mean().item()


def fit(model: nn.Module, data: Any, epochs: int = 10, *, lr: float = 1e-3,
        optimizer: str | torch.optim.Optimizer = "adam", weight_decay: float = 0.0, momentum: float = 0.9,
        batch_size: int = 128, scheduler: str | LRScheduler | None = None, loss_fn: nn.Module | None = None,
        label_smoothing: float = 0.0, augment: Any = None, device: str | torch.device | None = None,
        amp: bool | None = None, channels_last: bool | None = None, compile: bool = False,
        threads: int | str | None = "auto", stream: bool | None = None, num_workers: int = 0,
        seed: int | None = 0, progress: bool = True, plot: bool | str = "auto", verbose: bool = True,
        label: str | None = None, eval_every: int = 1, aux_weight: float = 0.3,
        checkpoint: str | Path | None = None, checkpoint_every: int = 1, resume: bool | str | Path = False,
        on_epoch: Callable[[History], None] | None = None) -> History:
    """Train ``model`` on ``data`` for ``epochs`` passes and return the ``History``.

    The same call runs on a CPU, a GPU, and under ``torchrun`` on many GPUs or machines
    (``DistributedDataParallel``; see ``cnnlab.train.distributed``).

    Args:
        model: maps images (N, C, H, W) to class scores (N, K); trained in place, and left on
            ``device`` in eval mode.
        data: an ``ImageData`` from ``cnnlab.data`` (batched here), or a pair ``(train_loader,
            test_loader)`` of iterables of ``(x, y)`` batches, x (N, C, H, W) float and y (N,)
            int64, e.g. torch DataLoaders; ``test_loader`` may be None.
        lr: learning rate (the peak of "onecycle").
        optimizer: "adam", "adamw", "sgd" (Nesterov, with ``momentum``), or an optimizer over the
            model's parameters (which then has its own lr, weight_decay and momentum).
        batch_size, augment: for an ``ImageData``'s loaders (augment: training split only, a
            batch-wise function on the device such as ``cnnlab.data.Augment``). ``batch_size`` is
            the global batch under DDP, and must divide evenly across the processes.
        scheduler: None (constant lr), "cosine" (to 0 at the end), "onecycle" (warm-up, then
            down), "warmup_cosine" (linear warm-up over the first epoch, then cosine to 0:
            ``schedules.warmup_cosine_lr``), all stepped per batch; or an LRScheduler over ``optimizer``, stepped per epoch
            (OneCycleLR, CyclicLR: per batch; ReduceLROnPlateau: on the test or else train loss).
        loss_fn: (logits, y) -> mean loss; default cross-entropy with ``label_smoothing``. The
            test loss uses the same criterion.
        device: default the best there is: CUDA, then MPS, then CPU (under torchrun: this
            process's GPU, ``LOCAL_RANK``).
        amp: mixed precision; None means on for CUDA (bf16 where supported, else fp16 with
            gradient scaling) and off elsewhere.
        channels_last: NHWC memory layout, faster convolutions on tensor cores; None means on
            with ``amp`` on CUDA.
        compile: ``torch.compile`` the model first (minutes of compiling, then faster steps).
        threads: CPU intra-op threads during the run: "auto" (1 on a machine with 2 or fewer
            cores, PyTorch's default otherwise; see ``cnnlab.device.threads_for``), a number, or
            None to leave PyTorch's setting. The previous setting is restored afterwards.
        stream: an ImageData is held in device memory when it takes at most half of what is free
            (None); True streams batches from host memory through pinned buffers instead.
        num_workers: worker processes that gather streamed batches.
        seed: seeds everything before the loaders are built, so that equal seeds give equal
            histories on a CPU (build the model under a fixed seed too); None leaves the RNGs.
            Rank r of a DDP run uses ``seed + r`` (its own augmentation and dropout draws).
        progress: a progress bar for the run (one per run, not per epoch).
        plot: "auto" or True: a live loss/accuracy figure in a notebook (a PNG image redrawn in
            place, which stays in the saved notebook); elsewhere, or False, one line per epoch.
        verbose: False is silent apart from ``progress`` (for loops that train many models).
        label: names the run in its progress line and summary, e.g. "ReLU" when a cell compares
            activations; default the model's class and the data set.
        eval_every: evaluate on the test data every this many epochs, and after the last.
        aux_weight: a model that returns ``(logits, aux, ...)`` in training (GoogLeNet's auxiliary
            classifiers) trains on loss(logits) + aux_weight × loss(aux) for each head, 0.3 as in
            Szegedy et al. (2014); accuracy is that of the main logits.
        checkpoint: a file to save the run to, every ``checkpoint_every`` epochs and after the
            last (atomically: a crash while saving keeps the previous file).
        resume: True continues from ``checkpoint`` if that file exists (else starts afresh); a
            path continues from that file. The run must match the checkpoint's model, optimizer,
            scheduler and batch size; on a CPU it then ends bit for bit where an uninterrupted
            run would have.
        on_epoch: called with the History after each epoch (on rank 0 only), e.g. to log it.
    """
    setup.check_args(epochs, lr, batch_size, eval_every, label_smoothing, optimizer, scheduler, plot, loss_fn,
                     checkpoint_every, threads, num_workers, resume, checkpoint)
    ctx = distributed.context_from_env()
    distributed.check_batch_size(batch_size, ctx)
    save_path = resume_path = None
    if checkpoint is not None:
        save_path = ckpt.check_writable(checkpoint) if ctx.main else Path(checkpoint).expanduser()
    if resume is True:
        resume_path = save_path if save_path.is_file() else None
    elif resume:
        resume_path = Path(resume).expanduser()
        if not resume_path.is_file():
            raise FileNotFoundError(f"no checkpoint at {str(resume_path)!r} to resume from")

    previous_threads = torch.get_num_threads()
    wanted_threads = threads_for() if threads == "auto" else threads
    if wanted_threads is not None:
        torch.set_num_threads(wanted_threads)
    try:
        return _fit(model, data, epochs, lr, optimizer, weight_decay, momentum, batch_size, scheduler, loss_fn,
                    label_smoothing, augment, device, amp, channels_last, compile, stream, num_workers, seed,
                    progress, plot, verbose, label, eval_every, aux_weight, save_path, checkpoint_every,
                    resume_path, on_epoch, ctx)
    finally:
        torch.set_num_threads(previous_threads)


def _fit(model, data, epochs, lr, optimizer, weight_decay, momentum, batch_size, scheduler, loss_fn,
         label_smoothing, augment, device, amp, channels_last, compile, stream, num_workers, seed,
         progress, plot, verbose, label, eval_every, aux_weight, save_path, checkpoint_every,
         resume_path, on_epoch, ctx: distributed.Context) -> History:
    if seed is not None:
        seed_everything(seed + ctx.rank)
    device = get_device(device or distributed.device_for(ctx))
    if ctx.active and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", ctx.local_rank)  # "cuda" under torchrun: this process's own GPU
    distributed.init_process_group(ctx, device)
    train_loader, test_loader, on_device, num_classes, name = setup.loaders(
        data, batch_size, device, augment, seed, ctx, stream, num_workers)
    model.to(device)
    autocast, scaler = setup.amp_context(amp, device)
    if channels_last is None:
        channels_last = device.type == "cuda" and autocast is not contextlib.nullcontext
    if channels_last:
        model.to(memory_format=torch.channels_last)

    if isinstance(optimizer, str):
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters")
        optimizer = setup.make_optimizer(optimizer.lower(), params, lr, weight_decay, momentum)
    steps = len(train_loader) if hasattr(train_loader, "__len__") else None
    scheduler, batch_step = setup.make_scheduler(scheduler, optimizer, lr, epochs, steps)
    default_loss = loss_fn is None
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    history = History(device=str(device))
    start = 0
    if resume_path is not None:
        history, start = _resume(resume_path, device, model, optimizer, scheduler, batch_step, scaler, epochs,
                                 batch_size, steps, ctx)
    net = model
    if ctx.active:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        net = torch.compile(net)
    check = functools.partial(setup.check_first_batch, model, num_classes=num_classes, name=name,
                              default_loss=default_loss)

    title = label or f"{type(model).__name__}" + (f" on {name}" if name else "")
    reporter = Reporter(label=label, title=title, epochs=epochs, steps=steps, progress=progress, plot=plot,
                        verbose=verbose, enabled=ctx.main)
    reporter.start(start)
    stopped = None
    try:
        for epoch in range(start + 1, epochs + 1):
            distributed.set_epoch(train_loader, epoch - 1)
            began = time.perf_counter()
            train_loss, train_acc, n = _run_epoch(
                net, train_loader, loss_fn, device, not on_device, autocast, ctx, channels_last, optimizer,
                scaler, batch_step, check if epoch == start + 1 else None, reporter.batch, aux_weight)
            train_time = time.perf_counter() - began  # the sums were read: the device has finished
            lr_now = optimizer.param_groups[0]["lr"]
            test_loss = test_acc = math.nan
            if test_loader is not None and (epoch % eval_every == 0 or epoch == epochs):
                test_loss, test_acc, _ = _run_epoch(model, test_loader, loss_fn, device, not on_device, autocast,
                                                    ctx, channels_last)
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(train_loss if math.isnan(test_loss) else test_loss)
            elif scheduler is not None and batch_step is None:
                scheduler.step()
            history.append(epoch=epoch, train_loss=train_loss, train_acc=train_acc, test_loss=test_loss,
                           test_acc=test_acc, lr=lr_now, epoch_time=time.perf_counter() - began,
                           train_time=train_time, train_samples=n)
            reporter.end_epoch(history)
            if save_path is not None and (epoch % checkpoint_every == 0 or epoch == epochs):
                _save(save_path, model, optimizer, scheduler, scaler, epoch, epochs, batch_size, history, ctx)
            if on_epoch is not None and ctx.main:
                on_epoch(history)
            if not math.isfinite(train_loss):
                stopped = f"stopped: the training loss is {train_loss}"
                warnings.warn(f"the training loss is {train_loss} after epoch {epoch}; stopping. "
                              "Try a smaller learning rate.", stacklevel=3)
                break
    except BaseException:
        stopped = f"interrupted in epoch {len(history.epoch) + 1}"
        raise
    finally:
        reporter.close(history, stopped)
    model.eval()
    return history


def _save(path, model, optimizer, scheduler, scaler, epoch, epochs, batch_size, history, ctx) -> None:
    rng = distributed.gather_objects(ckpt.rng_state(), ctx)  # every rank's generators, to rank 0
    if ctx.main:
        ckpt.save(path, {
            "model_class": type(model).__name__, "model": model.state_dict(),
            "optimizer_class": type(optimizer).__name__, "optimizer": optimizer.state_dict(),
            "scheduler_class": type(scheduler).__name__ if scheduler is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "epoch": epoch, "epochs": epochs, "batch_size": batch_size, "world_size": ctx.world,
            "history": {k: v for k, v in history.as_dict().items() if k != "samples_per_s"},
            "rng": rng,
        })


def _resume(path, device, model, optimizer, scheduler, batch_step, scaler, epochs, batch_size, steps, ctx):
    """Load a checkpoint into this run; returns (History so far, epochs done)."""
    state = ckpt.load(path, device)
    ckpt.check_compatible(state, path, model, optimizer, scheduler, epochs, ctx.world, batch_size)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if isinstance(batch_step, setup.BatchSteps):
        batch_step.done = state["epoch"] * steps
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    if len(state["rng"]) == ctx.world:
        ckpt.set_rng_state(state["rng"][ctx.rank])
    history = History.from_dict(state["history"])
    history.device = str(device)
    return history, state["epoch"]


def evaluate(model: nn.Module, data: Any, *, split: str = "test", batch_size: int = 512,
             device: str | torch.device | None = None, loss_fn: nn.Module | None = None) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on one split, under ``torch.inference_mode``.

    ``data``: an ``ImageData``, a ``(train_loader, test_loader)`` pair, one iterable of (x, y)
    batches, or a pair of tensors ``(x (N, C, H, W), y (N,))``. ``device``: default where the
    model already is. ``loss_fn`` default cross-entropy. The model runs in eval mode and gets its
    previous mode back. Returns ``{"loss": float, "acc": float (fraction), "n": int}``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else get_device()
    else:
        device = get_device(device)
        model.to(device)
    move = True
    if setup.is_image_data(data):
        loader, move = data.loader(split, batch_size=batch_size, shuffle=False, device=device), False
    elif setup.is_pair(data) and all(isinstance(t, torch.Tensor) for t in data):
        loader = zip(data[0].split(batch_size), data[1].split(batch_size))
    elif setup.is_pair(data):
        loader = data[0 if split == "train" else 1]
        if loader is None:
            raise ValueError(f"there is no {split} loader in the pair passed as data")
    elif isinstance(data, Iterable):
        loader = data
    else:
        raise TypeError(f"cannot evaluate on a {type(data).__name__}; pass an ImageData, a loader, "
                        "a (train_loader, test_loader) pair or a pair of tensors (x, y)")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    loss, acc, n = _run_epoch(model, loader, loss_fn, device, move, contextlib.nullcontext, distributed.Context())
    return {"loss": loss, "acc": acc, "n": n}


def _split_aux(out) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Main logits and auxiliary logits of a model that returns ``(logits, aux, ...)`` in training
    (torchvision's GoogLeNetOutputs/InceptionOutputs namedtuples); a plain tensor has no aux."""
    if isinstance(out, (tuple, list)):
        return out[0], [a for a in out[1:] if a is not None]
    return out, []


def _run_epoch(model, loader, loss_fn, device, move, autocast, ctx, channels_last=False, optimizer=None,
               scaler=None, step_scheduler=None, check=None, on_batch=None, aux_weight=0.3):
    """One pass over ``loader``: training if an ``optimizer`` is given, else evaluation in eval
    mode under ``torch.inference_mode`` (the model's mode is restored). Returns (mean loss,
    accuracy, samples), summed over all ranks under DDP."""
    train = optimizer is not None
    was_training = model.training
    model.train(train)
    scaled = getattr(loader, "yields_scale", False)  # ShardedLoader: (x, y, loss scale) per batch
    # Running sums live on the device: reading them each step (.item()) would make the CPU wait
    # for the GPU after every batch. They are read once, at the end.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    try:
        with contextlib.nullcontext() if train else torch.inference_mode():
            for batch in loader:
                x, y = batch[0], batch[1]
                scale = batch[2] if scaled else 1.0
                if move:
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                if channels_last and x.ndim == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                if check is not None:
                    check(x, y)
                    check = None
                with autocast():
                    logits, aux = _split_aux(model(x))
                    loss = loss_fn(logits, y)
                    for extra in aux:  # auxiliary classifiers (GoogLeNet, Inception v3), training only
                        loss = loss + aux_weight * loss_fn(extra, y)
                if train:
                    optimizer.zero_grad(set_to_none=True)
                    step_loss = loss if scale == 1.0 else loss * scale  # uneven last DDP batch
                    if scaler is None:
                        step_loss.backward()
                        optimizer.step()
                    else:
                        scaler.scale(step_loss).backward()
                        scaler.step(optimizer)
                        scaler.update()
                    if step_scheduler is not None:
                        step_scheduler()
                    if on_batch is not None:
                        on_batch()
                size = y.shape[0]
                loss_sum.add_(loss.detach().float(), alpha=size)
                correct.add_((logits.argmax(1) == (y if y.ndim == 1 else y.argmax(1))).sum())
                n += size
    finally:
        if not train:
            model.train(was_training)
    total_loss, total_correct, n = distributed.all_sum([loss_sum, correct, n], device, ctx)  # one sync
    n = int(n)
    if n == 0:
        if train:
            raise ValueError("the training loader gave no batches")
        return math.nan, math.nan, 0
    return total_loss / n, total_correct / n, n
