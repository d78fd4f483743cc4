"""How many intra-op threads should ``fit`` use on a small CPU, quiet and busy?

Trains the course's small models (LeNet-5 on 32×32 digits, AlexNet-CIFAR and VGG-11-CIFAR on
32×32 shapes) for a fixed number of batches with PyTorch's default thread count
(``torch.get_num_threads()``, one per core) and with fewer threads, once on the machine as it is
and once next to a competing process that keeps one core busy (a Python busy loop, the way
another notebook kernel, a browser or a second training run takes a core away). The
configurations alternate within each repeat so that the background load hits them alike;
medians count.

    python benchmarks/bench_threads.py [--repeats 5] [--scale 1] [--models lenet5,alexnet_cifar]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnlab.data import load  # noqa: E402
from cnnlab.models import get_model  # noqa: E402

# model -> (data set, batch size, batches per timed run): AlexNet-CIFAR and VGG-11-CIFAR cost ~200
# MMACs an image, LeNet-5 0.4, so they get fewer batches.
DATA = {"lenet5": ("digits", 64, 20), "alexnet_cifar": ("shapes", 32, 3), "vgg11_cifar": ("shapes", 32, 3)}


def train_batches(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, batches: int) -> float:
    """Seconds for ``batches`` Adam steps on slices of (x, y)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for i in range(batches):
        j = (i * batch) % (len(x) - batch)
        loss = loss_fn(model(x[j:j + batch]), y[j:j + batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def start_competitor() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the batches per run")
    parser.add_argument("--models", default="lenet5,alexnet_cifar,vgg11_cifar")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the competitor

    default = torch.get_num_threads()
    counts = sorted({default, *range(1, default)}, reverse=True)
    names = args.models.split(",")
    sets = {}
    for name in names:
        data_name, batch, batches = DATA[name]
        data = load(data_name, n_train=max(512, batch * 4))
        torch.manual_seed(0)
        sets[name] = get_model(name, num_classes=data.num_classes, in_channels=data.in_channels), \
            data.x_train, data.y_train, batch, max(1, round(batches * args.scale))

    results: dict[tuple[str, str, int], list[float]] = {}
    for load_kind in ("as it is", "+1 busy proc"):
        competitor = start_competitor() if load_kind != "as it is" else None
        try:
            time.sleep(0.5)
            for name in names:  # warm-up, once per thread count
                for n in counts:
                    torch.set_num_threads(n)
                    model, x, y, batch, _ = sets[name]
                    train_batches(model, x, y, batch, 1)
            for _ in range(args.repeats):
                for name in names:
                    for n in counts:
                        torch.set_num_threads(n)
                        model, x, y, batch, batches = sets[name]
                        seconds = train_batches(model, x, y, batch, batches)
                        results.setdefault((name, load_kind, n), []).append(batch * batches / seconds)
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()
    torch.set_num_threads(default)

    print(f"{os.cpu_count()} CPUs, PyTorch {torch.__version__}, default {default} thread(s); "
          f"training images/s, median of {args.repeats} (alternating); batches per run: "
          f"{', '.join(f'{n} {sets[n][3]}×{sets[n][4]}' for n in names)}")
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    header = f"{'model':<15}{'machine':<13}" + "".join(f"{f'{n} thr':>10}" for n in counts) + "   best"
    print(header)
    for name in names:
        for load_kind in ("as it is", "+1 busy proc"):
            rates = {n: statistics.median(results[(name, load_kind, n)]) for n in counts}
            best = max(rates, key=rates.get)
            cells = "".join(f"{rates[n]:>10,.0f}" for n in counts)
            print(f"{name:<15}{load_kind:<13}{cells}   {best} thr ({rates[best] / rates[default]:.2f}× default)")


if __name__ == "__main__":
    main()
