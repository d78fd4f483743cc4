"""``fit`` on in-memory tensors vs the common pipeline: a DataLoader with per-sample transforms.

Most courses feed a model the way torchvision's data set examples do: a Dataset that returns one
PIL image at a time, a ``transforms.Compose`` applied to each sample (random crop with padding,
``ToTensor``, ``Normalize``), and a ``DataLoader`` that collates them into batches, with or without
worker processes. ``fit`` instead holds the normalised images as one tensor on the device and
augments whole batches there (``cnnlab.data.Augment``). Both train the same LeNet-5 (the same
2-pixel zero border as in ``bench_fit.py``, 28×28 → 32×32) on the same 28×28 images for the same
epochs, with the same augmentation (random shifts of up to 2 pixels, as ``RandomCrop(28,
padding=2)`` does), batch size and optimizer, each epoch a training and a test pass; the
pipeline's loop is the bare loop of ``bench_fit.py`` with a ``.to(device)`` per batch. Its
workers start afresh each epoch, as ``DataLoader``'s default (``persistent_workers=False``) has it,
or, with a "p" after the count (``--workers 2p``), live as long as the loader. Runs
alternate; medians count. Wall time is what a user waits; CPU time (this process and its worker
processes, ``os.times``) is what the work costs and moves much less when other programs share the
cores. Target: ``fit`` ≥ 2× the pipeline.

    python benchmarks/bench_pipeline.py [--epochs 2] [--repeats 7] [--workers 0,2,2p]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnlab.data import Augment, load  # noqa: E402
from cnnlab.device import threads_for  # noqa: E402
from cnnlab.models import get_model  # noqa: E402
from cnnlab.train import fit  # noqa: E402

BATCH, LR, PAD = 64, 1e-3, 2
DEVICE = torch.device("cpu")  # the CPU figures are the ones the target is about


class PerSampleImages(torch.utils.data.Dataset):
    """uint8 images as PIL, one at a time, through a torchvision transform (the MNIST way)."""

    def __init__(self, images: np.ndarray, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i], mode="L")), int(self.labels[i])


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.ZeroPad2d(2), get_model("lenet5", num_classes=10))


def pipeline_loaders(data, workers: int, persistent: bool):
    from torchvision import transforms

    def to_uint8(x):  # back to the 0..255 pixels a torchvision data set stores
        return (data.denormalize(x)[:, 0] * 255).round().to(torch.uint8).numpy()

    normalise = [transforms.ToTensor(), transforms.Normalize(data.mean, data.std)]
    train = PerSampleImages(to_uint8(data.x_train), data.y_train,
                            transforms.Compose([transforms.RandomCrop(28, padding=PAD), *normalise]))
    test = PerSampleImages(to_uint8(data.x_test), data.y_test, transforms.Compose(normalise))
    options = dict(batch_size=BATCH, num_workers=workers, persistent_workers=persistent)
    return (torch.utils.data.DataLoader(train, shuffle=True, **options),
            torch.utils.data.DataLoader(test, shuffle=False, **options))


def cpu_seconds() -> float:
    """CPU time of this process and its worker processes, the exited (``os.times``) and the
    living (``psutil``, when installed)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    with contextlib.suppress(ImportError):
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cpu = child.cpu_times()
                total += cpu.user + cpu.system
    return total


def time_pipeline(loaders, epochs: int) -> tuple[float, float]:
    train_dl, test_dl = loaders
    net = model()
    start, cpu = time.perf_counter(), cpu_seconds()
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        net.train()
        for x, y in train_dl:
            x, y = x.to(DEVICE), y.to(DEVICE)
            loss = loss_fn(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        correct = torch.zeros((), dtype=torch.long)
        with torch.inference_mode():
            for x, y in test_dl:
                correct += (net(x.to(DEVICE)).argmax(1) == y.to(DEVICE)).sum()
        correct.item()
    return time.perf_counter() - start, cpu_seconds() - cpu


def time_fit(data, epochs: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        fit(model(), data, epochs, lr=LR, batch_size=BATCH, device=DEVICE, threads=None, plot=False,
            augment=Augment(flip=False, shift=PAD))
    return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", default="0,2,2p",
                        help="DataLoader worker counts to compare, comma-separated; 'p': persistent workers")
    parser.add_argument("--threads", type=int, default=threads_for() or torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load("mnist", download=False)  # real MNIST if on disk, else the digits at 28×28
    if tuple(data.x_train.shape[1:]) != (1, 28, 28):
        raise SystemExit(f"expected 28×28 grey images, got {tuple(data.x_train.shape[1:])}")
    worker_counts = args.workers.split(",")
    loaders = {w: pipeline_loaders(data, int(w.rstrip("p")), w.endswith("p")) for w in worker_counts}

    time_fit(data, 1)  # warm-up
    for w in worker_counts:
        time_pipeline(loaders[w], 1)
    times: dict[str, list[tuple[float, float]]] = {"cnnlab fit": []}
    for _ in range(args.repeats):
        times["cnnlab fit"].append(time_fit(data, args.epochs))
        for w in worker_counts:
            label = f"DataLoader, {w.rstrip('p')} workers" + (" (kept)" if w.endswith("p") else "")
            times.setdefault(label, []).append(time_pipeline(loaders[w], args.epochs))

    images = args.epochs * len(data.y_train)
    print(f"LeNet-5 (28×28 padded to 32×32) on {data.name} ({data.source}: {len(data.y_train)} train + "
          f"{len(data.y_test)} test images), batch {BATCH}, shift ≤ {PAD} px, {args.epochs} epochs of training + "
          f"test pass, cpu, {torch.get_num_threads()} thread(s), median of {args.repeats} alternating runs")
    print(f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    def wall(label):
        return statistics.median(w for w, _ in times[label])

    def cpu(label):
        return statistics.median(c for _, c in times[label])

    print(f"{'pipeline':<24}{'train img/s':>12}{'median s':>10}{'fit ×':>7}{'CPU s':>8}{'fit ×':>7}"
          "   all runs (wall s)")
    for label, runs in times.items():
        print(f"{label:<24}{images / wall(label):>12,.0f}{wall(label):>10.3f}{wall(label) / wall('cnnlab fit'):>7.2f}"
              f"{cpu(label):>8.2f}{cpu(label) / cpu('cnnlab fit'):>7.2f}   " + " ".join(f"{w:.2f}" for w, _ in runs))
    others = [k for k in times if k != "cnnlab fit"]
    speedup = min(wall(k) for k in others) / wall("cnnlab fit")
    cpu_speedup = min(cpu(k) for k in others) / cpu("cnnlab fit")
    print(f"fit vs the fastest DataLoader pipeline: {speedup:.2f}× wall, {cpu_speedup:.2f}× CPU time  "
          f"{'PASS' if speedup >= 2 else 'FAIL'} (target ≥ 2×, wall)")


if __name__ == "__main__":
    main()
