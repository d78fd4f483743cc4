"""The training command: ``python -m cnnlab.train --model lenet5 --data digits --epochs 10``.

Every ``fit`` option is a flag. A run writes, into ``--out`` (default ``runs/MODEL-DATA``):
``metrics.csv`` (one row per epoch, rewritten as it goes), ``checkpoint.pt`` (every
``--checkpoint-every`` epochs; ``--resume`` continues from it), ``model.pt`` (the final
``state_dict``) and ``summary.json`` (also printed). The same command runs under ``torchrun``:

    torchrun --standalone --nproc-per-node 2 -m cnnlab.train --model lenet5 --data digits --epochs 5
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from . import distributed
from .history import SERIES, History
from .loop import fit
from .setup import OPTIMIZERS, SCHEDULERS


def build_parser() -> argparse.ArgumentParser:
    from cnnlab.data import list_datasets
    from cnnlab.models import list_models

    epilog = (f"models: {', '.join(list_models())}\n\ndata sets: {', '.join(list_datasets())}\n\n"
              "examples:\n"
              "  python -m cnnlab.train --model lenet5 --data digits --epochs 10\n"
              "  python -m cnnlab.train --model vgg11_cifar --data cifar10 --epochs 30 --scheduler cosine "
              "--flip --shift 4\n"
              "  torchrun --standalone --nproc-per-node 2 -m cnnlab.train --model lenet5 --data digits")
    p = argparse.ArgumentParser(prog="python -m cnnlab.train", description="Train a cnnlab model on a data set.",
                                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a name from the list below (cnnlab.models.list_models())")
    p.add_argument("--data", required=True, help="a name from the list below (cnnlab.data.list_datasets())")
    g = p.add_argument_group("data")
    g.add_argument("--n-train", type=int, help="at most this many training images (class-balanced)")
    g.add_argument("--n-test", type=int, help="at most this many test images")
    g.add_argument("--image-size", type=int, help="resize the images to this size")
    g.add_argument("--no-download", action="store_true", help="never download (use the embedded stand-in)")
    g = p.add_argument_group("training (the options of cnnlab.train.fit)")
    g.add_argument("--epochs", type=int, default=10)
    g.add_argument("--lr", type=float, default=1e-3, help="learning rate (the peak of onecycle)")
    g.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--momentum", type=float, default=0.9, help="for sgd")
    g.add_argument("--batch-size", type=int, default=128, help="global batch (split across torchrun processes)")
    g.add_argument("--scheduler", default="none", choices=("none", *SCHEDULERS))
    g.add_argument("--label-smoothing", type=float, default=0.0)
    g.add_argument("--flip", action="store_true", help="augment: random horizontal flips")
    g.add_argument("--shift", type=int, default=0, help="augment: random shifts of up to this many pixels")
    g.add_argument("--rotate", type=float, default=0.0, help="augment: random rotations up to this many degrees")
    g.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best available)")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on with CUDA)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout (default: on with CUDA and amp)")
    g.add_argument("--compile", action="store_true", help="torch.compile the model")
    g.add_argument("--threads", default="auto", help="CPU threads: auto, a number, or none (PyTorch's default)")
    g.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                   help="stream batches from host memory (default: only when the data do not fit on the device)")
    g.add_argument("--num-workers", type=int, default=0, help="workers that gather streamed batches")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--eval-every", type=int, default=1)
    g.add_argument("--aux-weight", type=float, default=0.3, help="weight of auxiliary classifiers' losses")
    g.add_argument("--label", help="name of the run in its progress bar and summary")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--quiet", action="store_true", help="no per-epoch lines (the summary is still written)")
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, help="folder for metrics.csv, checkpoint.pt, model.pt, summary.json "
                                            "(default runs/MODEL-DATA)")
    g.add_argument("--checkpoint", type=Path, help="checkpoint file (default OUT/checkpoint.pt)")
    g.add_argument("--checkpoint-every", type=int, default=1, help="save a checkpoint every N epochs")
    g.add_argument("--resume", action="store_true", help="continue from the checkpoint if there is one")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    threads = _threads(args.threads, parser)
    ctx = distributed.context_from_env()
    say = print if ctx.main else (lambda *a, **k: None)

    from cnnlab import data as data_module
    from cnnlab import models

    try:
        if args.model not in models.list_models():  # before any data is read
            models.get_model(args.model)  # raises UnknownModelError, naming the nearest models
        options = dict(n_train=args.n_train, n_test=args.n_test, image_size=args.image_size,
                       download=not args.no_download)
        data = data_module.load(args.data, **options)
    except (KeyError, ValueError) as err:  # UnknownModelError and UnknownDatasetError are KeyErrors
        parser.error(str(err))
    torch.manual_seed(args.seed)  # the initial weights, the same on every rank
    model = _build_model(models, args.model, data)

    out = args.out or Path("runs") / f"{args.model}-{args.data}"
    checkpoint = args.checkpoint or out / "checkpoint.pt"
    augment = None
    if args.flip or args.shift or args.rotate:
        augment = data_module.Augment(flip=args.flip, shift=args.shift, rotate=args.rotate)
    started = time.time()
    try:
        history = fit(model, data, args.epochs, lr=args.lr, optimizer=args.optimizer, weight_decay=args.weight_decay,
                      momentum=args.momentum, batch_size=args.batch_size,
                      scheduler=None if args.scheduler == "none" else args.scheduler,
                      label_smoothing=args.label_smoothing, augment=augment, device=args.device, amp=args.amp,
                      channels_last=args.channels_last, compile=args.compile, threads=threads, stream=args.stream,
                      num_workers=args.num_workers, seed=args.seed, progress=not args.no_progress, plot=False,
                      verbose=not args.quiet, label=args.label, eval_every=args.eval_every,
                      aux_weight=args.aux_weight, checkpoint=checkpoint, checkpoint_every=args.checkpoint_every,
                      resume=args.resume, on_epoch=lambda h: write_csv(out / "metrics.csv", h))
    except (ValueError, TypeError, FileNotFoundError) as err:  # a bad configuration: say which, no traceback
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out / "model.pt")
        summary = _summary(args, history, data, ctx, time.time() - started, out, checkpoint)
        _write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
        say(json.dumps(summary, indent=2))
    return 0


def _threads(value: str, parser: argparse.ArgumentParser) -> int | str | None:
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    try:
        return int(value)
    except ValueError:
        parser.error(f"--threads must be auto, none or a number, got {value!r}")


def _build_model(models: Any, name: str, data: Any) -> torch.nn.Module:
    """The model for this data set's classes and channels (models without ``in_channels`` take
    the data as they come)."""
    try:
        return models.get_model(name, num_classes=data.num_classes, in_channels=data.in_channels)
    except TypeError:
        return models.get_model(name, num_classes=data.num_classes)


def write_csv(path: Path, history: History) -> None:
    """All epochs so far, one row each; rewritten whole, so a resumed run's file stays consistent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SERIES)
    for row in zip(*(getattr(history, key) for key in SERIES)):
        writer.writerow(row)
    _write_atomic(path, buffer.getvalue())


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _number(value: float) -> float | None:
    return None if value != value else value  # JSON has no NaN: an epoch without evaluation is null


def _summary(args, history: History, data, ctx, seconds: float, out: Path, checkpoint: Path) -> dict[str, Any]:
    has_test = any(v == v for v in history.test_acc)  # nan != nan
    return {
        "model": args.model, "data": args.data, "data_source": getattr(data, "source", None),
        "epochs": len(history.epoch), "processes": ctx.world, "device": history.device,
        "final": {k: _number(getattr(history, k)[-1]) for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
        if history.epoch else None,
        "best_test_acc": history.best("test_acc") if has_test else None,
        "samples_per_s": history.samples_per_s, "wall_s": round(seconds, 3),
        "files": {"metrics": str(out / "metrics.csv"), "checkpoint": str(checkpoint),
                  "model": str(out / "model.pt")},
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }


if __name__ == "__main__":
    sys.exit(main())
