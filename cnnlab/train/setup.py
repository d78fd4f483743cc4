"""``fit``'s set-up: argument checks, loaders, precision, optimizer, schedule, first-batch checks."""
from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, CyclicLR, LRScheduler, OneCycleLR, ReduceLROnPlateau

from .._utils import evaluating
from . import distributed
from .distributed import Context, ShardedLoader
from .schedules import warmup_cosine

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("cosine", "onecycle", "warmup_cosine")
_amp_warned = False  # warn about amp=True without CUDA once per session, not once per fit


def is_pair(data: Any) -> bool:
    return isinstance(data, (tuple, list)) and len(data) == 2


def is_image_data(data: Any) -> bool:
    return callable(getattr(data, "loader", None))


def check_args(epochs, lr, batch_size, eval_every, label_smoothing, optimizer, scheduler, plot, loss_fn,
               checkpoint_every, threads, num_workers, resume, checkpoint) -> None:
    for arg, value in (("epochs", epochs), ("batch_size", batch_size), ("eval_every", eval_every),
                       ("checkpoint_every", checkpoint_every)):
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
    if threads not in (None, "auto") and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be 'auto', None (leave PyTorch's setting) or a whole number >= 1, "
                         f"got {threads!r}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be a whole number >= 0, got {num_workers!r}")
    if resume is True and checkpoint is None:
        raise ValueError("resume=True resumes from checkpoint=PATH, but no checkpoint path was given")


def loaders(data, batch_size, device, augment, seed, ctx: Context, stream, num_workers):
    """(train_loader, test_loader, batches already on device?, number of classes, data set name).

    An ImageData stays in device memory when it fits (``stream=None``), else it streams through
    pinned host memory; under DDP each rank gets its share of every batch (``ShardedLoader``).
    """
    if is_image_data(data):
        if seed is None:  # one random seed, the same on every rank: the ranks must shuffle alike
            seed = distributed.gather_objects(int(torch.randint(2**31 - 1, ()).item()), ctx)[0]
        tensors = [data.x_train, data.y_train, data.x_test, data.y_test]
        if stream is None:
            stream = not distributed.fits_on_device(tensors, device)
        if not ctx.active and not stream:  # the data set's own loaders put the data on device once
            train = data.loader("train", batch_size=batch_size, shuffle=True, device=device, augment=augment,
                                seed=seed)
            test = data.loader("test", batch_size=batch_size, shuffle=False, device=device)
        else:
            train = ShardedLoader(data.x_train, data.y_train, batch_size, True, device, ctx, seed, augment,
                                  stream, num_workers, train=True)
            test = ShardedLoader(data.x_test, data.y_test, batch_size, False, device, ctx, 0, None, stream,
                                 num_workers, train=False)
        return train, test, True, getattr(data, "num_classes", None), getattr(data, "name", None)
    if is_pair(data):
        train, test = data
        if isinstance(train, torch.Tensor):
            raise TypeError("data is a pair of tensors; fit needs loaders, e.g. "
                            "(DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), None)")
        if isinstance(train, Iterable) and (test is None or isinstance(test, Iterable)):
            if augment is not None:
                raise ValueError("augment works with an ImageData only; augment in your own loader")
            classes = getattr(getattr(train, "dataset", None), "classes", None)  # torchvision data sets
            if ctx.active:
                train = distributed.shard_dataloader(train, ctx, seed or 0)
                test = distributed.shard_dataloader(test, ctx, seed or 0) if test is not None else None
            return train, test, False, len(classes) if classes else None, None
    hint = "; to train without test data pass (train_loader, None)" if isinstance(data, Iterable) else ""
    raise TypeError("data must be an ImageData (cnnlab.data.load(...)) or a pair (train_loader, "
                    f"test_loader) of iterables of (x, y) batches, got {type(data).__name__}{hint}")


def amp_context(amp, device):
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


def make_optimizer(name, params, lr, weight_decay, momentum):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=momentum > 0)


class BatchSteps:
    """Steps a schedule after each batch, and not past its last step. ``done`` counts batches
    (a resumed run sets it to the batches already trained)."""

    def __init__(self, scheduler: LRScheduler, total: int) -> None:
        self.scheduler, self.total, self.done = scheduler, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.done < self.total:  # a step after the last batch would go past the schedule's end
            self.scheduler.step()


def make_scheduler(scheduler, optimizer, lr, epochs, steps):
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
        if name == "warmup_cosine":  # per epoch: the first epoch warms up
            return warmup_cosine(optimizer, epochs, warmup_steps=1), None
        return CosineAnnealingLR(optimizer, T_max=epochs), None
    total = epochs * steps
    if name == "cosine":  # the last step runs at lr 0, the schedule's end
        scheduler = CosineAnnealingLR(optimizer, T_max=max(total - 1, 1))
    elif name == "warmup_cosine":  # linear warm-up over the first epoch's batches, then cosine to 0
        scheduler = warmup_cosine(optimizer, total, warmup_steps=steps)
    else:
        scheduler = OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    return scheduler, BatchSteps(scheduler, total)


def check_first_batch(model, x, y, *, num_classes, name, default_loss) -> None:
    """Run two images through the model (eval mode, no grad) and explain what does not fit."""
    where = f"the data set {name!r}" if name else "the training data"
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError("batches must be (x, y) pairs of tensors, "
                        f"not ({type(x).__name__}, {type(y).__name__})")
    if default_loss and y.ndim == 1 and y.dtype != torch.long:  # cross-entropy wants int64 indices
        raise ValueError(f"labels must be int64 class indices, got {y.dtype}; convert them with y.long()")
    try:
        with evaluating(model), torch.no_grad():  # eval: batch-norm statistics must not see this batch twice
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
