"""Training and evaluation: ``fit`` a model on a data set, ``evaluate`` it, keep a ``History``.

    >>> from cnnlab.data import load
    >>> from cnnlab.models import get_model
    >>> from cnnlab.train import fit
    >>> history = fit(get_model("lenet5"), load("digits"), epochs=5)
    >>> history.best("test_acc"), history.plot()

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
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, CyclicLR, LRScheduler, OneCycleLR, ReduceLROnPlateau
from tqdm.auto import tqdm

from .device import get_device, seed_everything

__all__ = ["History", "fit", "evaluate", "accuracy", "OPTIMIZERS", "SCHEDULERS"]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("cosine", "onecycle")
_amp_warned = False  # warn about amp=True without CUDA once per session, not once per fit


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch. Accuracies are fractions in [0, 1]; test
    entries are ``nan`` for epochs without evaluation (``eval_every``, or no test data)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # at the end of the epoch's training pass
    epoch_time: list[float] = field(default_factory=list)  # seconds: training and evaluation
    train_time: list[float] = field(default_factory=list)  # seconds: the training pass only
    train_samples: list[int] = field(default_factory=list)
    device: str = "cpu"

    @property
    def samples_per_s(self) -> float:
        """Training throughput over all epochs, images per second (evaluation excluded)."""
        seconds = sum(self.train_time)
        return sum(self.train_samples) / seconds if seconds > 0 else float("nan")

    def append(self, **values: Any) -> None:
        """Add one epoch: a value for each per-epoch list."""
        for key, value in values.items():
            getattr(self, key).append(value)

    def best(self, key: str = "test_acc") -> float:
        """The best value of a per-epoch series: the highest accuracy or the lowest loss."""
        if key not in ("train_loss", "train_acc", "test_loss", "test_acc"):
            raise ValueError(f"unknown key {key!r}; use train_loss, train_acc, test_loss or test_acc")
        values = [v for v in getattr(self, key) if not math.isnan(v)]
        if not values:
            raise ValueError(f"no {key} was recorded (no test data, or no epoch evaluated)")
        return max(values) if key.endswith("acc") else min(values)

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, e.g. for ``json.dump`` or ``pandas.DataFrame``."""
        return asdict(self) | {"samples_per_s": self.samples_per_s}

    def plot(self, ax: Any = None) -> tuple[Any, Any]:
        """Loss and accuracy curves. ``ax``: None (a new figure), a pair of Axes (loss, accuracy),
        or one Axes (accuracy on a twin y axis). Returns the (loss, accuracy) Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        elif isinstance(ax, (tuple, list)) or getattr(ax, "ndim", 0) == 1:  # also numpy arrays of Axes
            ax_loss, ax_acc = ax
        else:
            ax_loss, ax_acc = ax, ax.twinx()
        _draw_curves(self, ax_loss, ax_acc)
        return ax_loss, ax_acc

    def __repr__(self) -> str:
        if not self.epoch:
            return f"History(0 epochs on {self.device})"
        parts = [f"{len(self.epoch)} epochs on {self.device}",
                 f"train loss {self.train_loss[-1]:.3f} acc {self.train_acc[-1]:.1%}"]
        if any(not math.isnan(v) for v in self.test_acc):
            parts.append(f"best test acc {self.best('test_acc'):.1%}")
        parts.append(f"{self.samples_per_s:,.0f} samples/s")
        return f"History({', '.join(parts)})"


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
        amp: bool | None = None, seed: int | None = 0, progress: bool = True, plot: bool | str = "auto",
        eval_every: int = 1, aux_weight: float = 0.3, verbose: bool = True) -> History:
    """Train ``model`` on ``data`` for ``epochs`` passes and return the ``History``.

    Args:
        model: maps images (N, C, H, W) to class scores (N, K); trained in place, and left on
            ``device`` in eval mode.
        data: an ``ImageData`` from ``cnnlab.data`` (batched here), or a pair ``(train_loader,
            test_loader)`` of iterables of ``(x, y)`` batches, x (N, C, H, W) float and y (N,)
            int64, e.g. torch DataLoaders; ``test_loader`` may be None.
        lr: learning rate (the peak of "onecycle").
        optimizer: "adam", "adamw", "sgd" (Nesterov, with ``momentum``), or an optimizer over the
            model's parameters (which then has its own lr, weight_decay and momentum).
        batch_size, augment: for an ``ImageData``'s loaders (augment: training split only).
        scheduler: None (constant lr), "cosine" (to 0 at the end), "onecycle" (warm-up, then
            down), both stepped per batch; or an LRScheduler over ``optimizer``, stepped per epoch
            (OneCycleLR, CyclicLR: per batch; ReduceLROnPlateau: on the test or else train loss).
        loss_fn: (logits, y) -> mean loss; default cross-entropy with ``label_smoothing``. The
            test loss uses the same criterion.
        device: default the best there is: CUDA, then MPS, then CPU.
        amp: mixed precision; None means on for CUDA (bf16 where supported, else fp16 with
            gradient scaling) and off elsewhere.
        seed: seeds everything before the loaders are built, so that equal seeds give equal
            histories on a CPU (build the model under a fixed seed too); None leaves the RNGs.
        progress: a progress bar per epoch.
        plot: "auto" or True: a live loss/accuracy figure in a notebook; elsewhere, or False,
            one printed line per epoch.
        verbose: False drops the printed lines too (with ``progress=False``: a silent run, for
            loops that train many models).
        eval_every: evaluate on the test data every this many epochs, and after the last.
        aux_weight: a model that returns ``(logits, aux, ...)`` in training (GoogLeNet's auxiliary
            classifiers) trains on loss(logits) + aux_weight × loss(aux) for each head, 0.3 as in
            Szegedy et al. (2014); accuracy is that of the main logits.
    """
    _check_args(epochs, lr, batch_size, eval_every, label_smoothing, optimizer, scheduler, plot, loss_fn)
    if seed is not None:
        seed_everything(seed)
    device = get_device(device)
    train_loader, test_loader, on_device, num_classes, name = _loaders(data, batch_size, device, augment,
                                                                       seed)
    model.to(device)
    autocast, scaler = _amp(amp, device)

    if isinstance(optimizer, str):
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters")
        optimizer = _make_optimizer(optimizer.lower(), params, lr, weight_decay, momentum)
    steps = len(train_loader) if hasattr(train_loader, "__len__") else None
    scheduler, batch_step = _make_scheduler(scheduler, optimizer, lr, epochs, steps)
    default_loss = loss_fn is None
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    check = functools.partial(_check_first_batch, model, num_classes=num_classes, name=name,
                              default_loss=default_loss)

    history = History(device=str(device))
    live = None
    if plot and _in_notebook():
        try:
            live = _LivePlot()
        except Exception as err:
            warnings.warn(f"live plot unavailable ({err}); printing a line per epoch instead", stacklevel=2)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train_loss, train_acc, n = _run_epoch(
                model, train_loader, loss_fn, device, not on_device, autocast, optimizer, scaler,
                batch_step, check if epoch == 1 else None,
                f"epoch {epoch}/{epochs}", progress, aux_weight)
            train_time = time.perf_counter() - start  # the sums were read: the device has finished
            lr_now = optimizer.param_groups[0]["lr"]
            test_loss = test_acc = math.nan
            if test_loader is not None and (epoch % eval_every == 0 or epoch == epochs):
                test_loss, test_acc, _ = _run_epoch(model, test_loader, loss_fn, device, not on_device,
                                                    autocast)
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(train_loss if math.isnan(test_loss) else test_loss)
            elif scheduler is not None and batch_step is None:
                scheduler.step()
            seconds = time.perf_counter() - start
            history.append(epoch=epoch, train_loss=train_loss, train_acc=train_acc, test_loss=test_loss,
                           test_acc=test_acc, lr=lr_now, epoch_time=seconds,
                           train_time=train_time, train_samples=n)
            line = _epoch_line(history, epochs)
            if live is None or not live.update(history, line):
                if verbose:
                    print(line, flush=True)
            if not math.isfinite(train_loss):
                warnings.warn(f"the training loss is {train_loss} after epoch {epoch}; stopping. "
                              "Try a smaller learning rate.", stacklevel=2)
                break
    finally:
        if live is not None:
            live.close()
    model.eval()
    return history


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
    if callable(getattr(data, "loader", None)):
        loader, move = data.loader(split, batch_size=batch_size, shuffle=False, device=device), False
    elif _is_pair(data) and all(isinstance(t, torch.Tensor) for t in data):
        loader = zip(data[0].split(batch_size), data[1].split(batch_size))
    elif _is_pair(data):
        loader = data[0 if split == "train" else 1]
        if loader is None:
            raise ValueError(f"there is no {split} loader in the pair passed as data")
    elif isinstance(data, Iterable):
        loader = data
    else:
        raise TypeError(f"cannot evaluate on a {type(data).__name__}; pass an ImageData, a loader, "
                        "a (train_loader, test_loader) pair or a pair of tensors (x, y)")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    loss, acc, n = _run_epoch(model, loader, loss_fn, device, move, contextlib.nullcontext)
    return {"loss": loss, "acc": acc, "n": n}


# ---------------------------------------------------------------------------------------------
# Checks and set-up.

def _is_pair(data: Any) -> bool:
    return isinstance(data, (tuple, list)) and len(data) == 2


def _check_args(epochs, lr, batch_size, eval_every, label_smoothing, optimizer, scheduler, plot, loss_fn):
    for arg, value in (("epochs", epochs), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a whole number >= 1, got {value!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):  # also refuses nan
        raise ValueError(f"lr (the learning rate) must be a number > 0, got {lr!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    if label_smoothing and loss_fn is not None:
        raise ValueError("label_smoothing applies to the default loss only; set it in your loss_fn")
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)} "
                             "or pass a torch.optim.Optimizer")
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be a name or a torch.optim.Optimizer, "
                        f"not {type(optimizer).__name__}")
    if isinstance(scheduler, str):
        if scheduler.lower() not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}; use None, "
                             f"{', '.join(map(repr, SCHEDULERS))} or pass an LRScheduler")
    elif scheduler is not None and not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise TypeError(f"scheduler must be None, a name or an LRScheduler, not {type(scheduler).__name__}")
    if plot not in (True, False, "auto"):
        raise ValueError(f"plot must be 'auto', True or False, got {plot!r}")


def _loaders(data, batch_size, device, augment, seed):
    """(train_loader, test_loader, batches already on device?, number of classes, data set name)."""
    if callable(getattr(data, "loader", None)):  # an ImageData: its loaders put the data on device once
        loader_seed = seed if seed is not None else int(torch.randint(2**31 - 1, ()).item())
        train = data.loader("train", batch_size=batch_size, shuffle=True, device=device, augment=augment,
                            seed=loader_seed)
        test = data.loader("test", batch_size=batch_size, shuffle=False, device=device)
        return train, test, True, getattr(data, "num_classes", None), getattr(data, "name", None)
    if _is_pair(data):
        train, test = data
        if isinstance(train, torch.Tensor):
            raise TypeError("data is a pair of tensors; fit needs loaders, e.g. "
                            "(DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), None)")
        if isinstance(train, Iterable) and (test is None or isinstance(test, Iterable)):
            if augment is not None:
                raise ValueError("augment works with an ImageData only; augment in your own loader")
            classes = getattr(getattr(train, "dataset", None), "classes", None)  # torchvision data sets
            return train, test, False, len(classes) if classes else None, None
    hint = "; to train without test data pass (train_loader, None)" if isinstance(data, Iterable) else ""
    raise TypeError("data must be an ImageData (cnnlab.data.load(...)) or a pair (train_loader, "
                    f"test_loader) of iterables of (x, y) batches, got {type(data).__name__}{hint}")


def _amp(amp, device):
    """(autocast context factory, GradScaler or None) for the requested precision."""
    global _amp_warned
    if amp is None:
        amp = device.type == "cuda"
    if amp and device.type != "cuda":
        if not _amp_warned:
            warnings.warn(f"amp=True needs a CUDA GPU; training in float32 on {device.type}", stacklevel=3)
            _amp_warned = True
        amp = False
    if not amp:
        return contextlib.nullcontext, None  # not even a disabled autocast: no per-step cost at all
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # bf16 has float32's range, so only fp16 needs its small gradients scaled up
    grad_scaler = getattr(torch.amp, "GradScaler", None) or torch.cuda.amp.GradScaler  # torch < 2.3
    scaler = grad_scaler("cuda") if dtype == torch.float16 else None
    return functools.partial(torch.autocast, device_type="cuda", dtype=dtype), scaler


def _make_optimizer(name, params, lr, weight_decay, momentum):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=momentum > 0)


def _make_scheduler(scheduler, optimizer, lr, epochs, steps):
    """(scheduler or None, the function to call after each batch, or None to step per epoch)."""
    if scheduler is None:
        return None, None
    if not isinstance(scheduler, str):
        if scheduler.optimizer is not optimizer:
            raise ValueError("the scheduler was built for another optimizer; pass that one too: "
                             "fit(..., optimizer=opt, scheduler=sched)")
        return scheduler, scheduler.step if isinstance(scheduler, (OneCycleLR, CyclicLR)) else None
    name = scheduler.lower()
    if steps is None:  # a loader without len(): per-epoch steps are the best we can do
        if name == "onecycle":
            raise ValueError("scheduler='onecycle' needs the number of batches per epoch, but the "
                             "training loader has no len()")
        return CosineAnnealingLR(optimizer, T_max=epochs), None
    total = epochs * steps
    if name == "cosine":  # the last step runs at lr 0, the schedule's end
        scheduler = CosineAnnealingLR(optimizer, T_max=max(total - 1, 1))
    else:
        scheduler = OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if done < total:  # a step after the last batch would go past the schedule's end
            scheduler.step()

    return scheduler, step


def _check_first_batch(model, x, y, *, num_classes, name, default_loss) -> None:
    """Run two images through the model (eval mode, no grad) and explain what does not fit."""
    where = f"the data set {name!r}" if name else "the training data"
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError("batches must be (x, y) pairs of tensors, "
                        f"not ({type(x).__name__}, {type(y).__name__})")
    if default_loss and y.ndim == 1 and y.dtype != torch.long:  # cross-entropy wants int64 indices
        raise ValueError(f"labels must be int64 class indices, got {y.dtype}; convert them with y.long()")
    was_training = model.training
    model.eval()  # so that batch-norm statistics do not see this batch twice
    try:
        with torch.no_grad():
            out = model(x[:2])
    except RuntimeError as err:
        conv = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
        if conv is not None and x.ndim >= 3 and x.shape[1] != conv.in_channels:
            raise ValueError(f"the model's first convolution expects {conv.in_channels}-channel images "
                             f"but {where} has {x.shape[1]} channels (batch shape {tuple(x.shape)}); "
                             f"build the model with in_channels={x.shape[1]}") from err
        size = f" Was the model built for {x.shape[-2]}×{x.shape[-1]} images?" if x.ndim == 4 else ""
        raise RuntimeError(f"the model failed on the first batch of {where} (shape {tuple(x.shape)}): "
                           f"{err}.{size}") from err
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model should return class scores of shape (batch, classes), a 2-D "
                         f"tensor, but for input of shape {tuple(x[:2].shape)} it returned {got}; flatten "
                         "or pool the features before the classifier (nn.Flatten(), nn.AdaptiveAvgPool2d(1))")
    k = out.shape[1]
    if num_classes is not None and k != num_classes:
        raise ValueError(f"the model outputs {k} class scores but {where} has {num_classes} classes; "
                         f"build the model with num_classes={num_classes}")
    if y.ndim == 1 and y.numel() and (top := int(y.max()) + 1) > k:
        raise ValueError(f"the model outputs {k} class scores but {where} has labels up to {top - 1}; "
                         f"build the model with num_classes={top} (or more)")


# ---------------------------------------------------------------------------------------------
# The loop.

def _split_aux(out) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Main logits and auxiliary logits of a model that returns ``(logits, aux, ...)`` in training
    (torchvision's GoogLeNetOutputs/InceptionOutputs namedtuples); a plain tensor has no aux."""
    if isinstance(out, (tuple, list)):
        return out[0], [a for a in out[1:] if a is not None]
    return out, []


def _run_epoch(model, loader, loss_fn, device, move, autocast, optimizer=None, scaler=None,
               step_scheduler=None, check=None, desc="", progress=False, aux_weight=0.3):
    """One pass over ``loader``: training if an ``optimizer`` is given, else evaluation in eval
    mode under ``torch.inference_mode`` (the model's mode is restored). Returns (mean loss,
    accuracy, samples)."""
    train = optimizer is not None
    was_training = model.training
    model.train(train)
    # Running sums live on the device: reading them each step (.item()) would make the CPU wait
    # for the GPU after every batch. They are read once, at the end.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, unit="batch", dynamic_ncols=True)
    try:
        with contextlib.nullcontext() if train else torch.inference_mode():
            for x, y in bar:
                if move:
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
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
                    if scaler is None:
                        loss.backward()
                        optimizer.step()
                    else:
                        scaler.scale(loss).backward()
                        scaler.step(optimizer)
                        scaler.update()
                    if step_scheduler is not None:
                        step_scheduler()
                batch = y.shape[0]
                loss_sum.add_(loss.detach().float(), alpha=batch)
                correct.add_((logits.argmax(1) == (y if y.ndim == 1 else y.argmax(1))).sum())
                n += batch
    finally:
        bar.close()
        if not train:
            model.train(was_training)
    if n == 0:
        if train:
            raise ValueError("the training loader gave no batches")
        return math.nan, math.nan, 0
    total_loss, total_correct = torch.stack([loss_sum, correct.float()]).tolist()  # one sync
    return total_loss / n, total_correct / n, n


def _epoch_line(h: History, epochs: int) -> str:
    line = f"epoch {h.epoch[-1]}/{epochs}  train loss {h.train_loss[-1]:.3f} acc {h.train_acc[-1]:.1%}"
    if not math.isnan(h.test_loss[-1]):
        line += f"  test loss {h.test_loss[-1]:.3f} acc {h.test_acc[-1]:.1%}"
    return line + f"  lr {h.lr[-1]:.1e}  {h.epoch_time[-1]:.1f}s"


# ---------------------------------------------------------------------------------------------
# Display: the live figure in a notebook, the same curves for History.plot.

def _draw_curves(history: History, ax_loss: Any, ax_acc: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    h = history
    has_test = any(not math.isnan(v) for v in h.test_loss)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy (%)")):
        ax.clear()
        scale = 100 if key == "acc" else 1
        # markers, because epochs without evaluation are nan and leave gaps in the lines
        ax.plot(h.epoch, [scale * v for v in getattr(h, f"train_{key}")], ".-", label=f"train {key}")
        if has_test:
            ax.plot(h.epoch, [scale * v for v in getattr(h, f"test_{key}")], ".-", label=f"test {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()


class _LivePlot:
    """The loss/accuracy figure in a notebook cell, redrawn in place once per epoch."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt

        self.fig, self.axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        self.handle = None
        self.ok = True

    def update(self, history: History, line: str) -> bool:
        """Redraw; False if the figure cannot be shown (the caller then prints ``line``)."""
        if not self.ok:
            return False
        try:
            from IPython.display import display

            _draw_curves(history, *self.axes)
            self.fig.suptitle(line, fontsize=10)
            if self.handle is None:
                self.handle = display(self.fig, display_id=True)
                if self.handle is None:  # IPython without a front end to display in
                    raise RuntimeError("no display available")
            else:
                self.handle.update(self.fig)
            return True
        except Exception as err:  # a broken display must never stop training
            self.ok = False
            warnings.warn(f"live plot unavailable ({err}); printing a line per epoch instead", stacklevel=3)
            return False

    def close(self) -> None:
        import matplotlib.pyplot as plt

        plt.close(self.fig)  # or the inline backend shows it a second time at the end of the cell


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None  # Jupyter, not a terminal
