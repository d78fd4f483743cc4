"""How much does ``cnnlab.train.fit`` cost over a bare PyTorch training loop?

Trains the same LeNet-5 (same initial weights) on the same in-memory tensors, already on the
device, with the same optimizer (Adam, lr 1e-3) and batch size (64), once through ``fit`` and once
through the shortest loop that does the same work (randperm, index slicing, forward, loss,
backward, step). Neither run evaluates: ``fit`` gets ``(train_loader, None)``. Each is warmed up,
then timed ``--repeats`` times, alternating so that a noisy neighbour slows both alike; the
median counts. ``fit`` passes if it keeps at least 90 % of the bare loop's throughput.

    python benchmarks/bench_fit.py [--epochs 3] [--device cpu] [--repeats 5] [--threads N]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cnnlab.device import get_device  # noqa: E402
from cnnlab.models import get_model  # noqa: E402
from cnnlab.train import fit  # noqa: E402

BATCH_SIZE = 64
LR = 1e-3


class SliceLoader:
    """Shuffled mini-batches of on-device tensors, the way the bare loop makes them."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.x), device=self.x.device)
        for start in range(0, len(self.x), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


def load_data(device: torch.device):
    """(name, x (N, 1, 32, 32), y (N,), train loader): the embedded digits, or random tensors."""
    try:
        from cnnlab.data import load

        data = load("digits")
        if tuple(data.x_train.shape[1:]) != (1, 32, 32):
            raise ValueError(f"digits come as {tuple(data.x_train.shape[1:])}, LeNet-5 needs (1, 32, 32)")
        loader = data.loader("train", batch_size=BATCH_SIZE, shuffle=True, device=device)
        return "digits", loader.x, loader.y, loader  # the very tensors the loader slices
    except Exception as err:  # cnnlab.data missing or different: the timing does not depend on the pixels
        print(f"(no embedded digits: {err}; using random tensors)")
        x = torch.randn(1437, 1, 32, 32, device=device)
        y = torch.randint(0, 10, (1437,), device=device)
        return "random", x, y, SliceLoader(x, y, BATCH_SIZE)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def fresh_model(device: torch.device) -> nn.Module:
    torch.manual_seed(0)  # the same initial weights for both loops
    return get_model("lenet5").to(device)


def time_fit(loader, device: torch.device, epochs: int) -> tuple[float, float]:
    """Seconds for a whole ``fit`` call (set-up, first-batch checks and per-epoch bookkeeping
    included), and the throughput that ``fit`` itself reports (training passes only)."""
    model = fresh_model(device)
    sync(device)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # fit's one line per epoch
        history = fit(model, (loader, None), epochs, lr=LR, optimizer="adam", batch_size=BATCH_SIZE,
                      device=device, progress=False, plot=False)
    sync(device)
    return time.perf_counter() - start, history.samples_per_s


def time_bare(x: torch.Tensor, y: torch.Tensor, device: torch.device, epochs: int) -> float:
    """Seconds for the same training written by hand."""
    model = fresh_model(device)
    sync(device)
    start = time.perf_counter()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), BATCH_SIZE):
            idx = order[i:i + BATCH_SIZE]
            loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch CPU threads, the same for both loops (default: torch's choice)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = get_device(args.device)
    name, x, y, loader = load_data(device)
    samples = args.epochs * len(x)

    time_fit(loader, device, 1)  # warm-up: allocator, kernels, lazy imports
    time_bare(x, y, device, 1)
    fit_times, fit_reported, bare_times = [], [], []
    for _ in range(args.repeats):
        seconds, reported = time_fit(loader, device, args.epochs)
        fit_times.append(seconds)
        fit_reported.append(reported)
        bare_times.append(time_bare(x, y, device, args.epochs))
    fit_rate = samples / statistics.median(fit_times)
    bare_rate = samples / statistics.median(bare_times)
    ratio = fit_rate / bare_rate

    print(f"LeNet-5 on {name} ({len(x)} images {'×'.join(map(str, x.shape[1:]))}), batch {BATCH_SIZE}, "
          f"Adam lr {LR:g}, {args.epochs} epochs, {device}, {torch.get_num_threads()} thread(s), "
          f"median of {args.repeats}")
    print(f"{'loop':<20}{'samples/s':>12}{'median s':>10}{'best s':>9}   all runs (s)")
    for label, rate, times in (("bare PyTorch", bare_rate, bare_times), ("cnnlab fit", fit_rate, fit_times)):
        runs = " ".join(f"{t:.3f}" for t in times)
        print(f"{label:<20}{rate:>12,.0f}{statistics.median(times):>10.3f}{min(times):>9.3f}   {runs}")
    print(f"{'(fit, own report)':<20}{statistics.median(fit_reported):>12,.0f}   History.samples_per_s, "
          "training passes only")
    best_ratio = min(bare_times) / min(fit_times)
    print(f"{'ratio fit/bare':<20}{ratio:>12.3f}   {'PASS' if ratio >= 0.9 else 'FAIL'} "
          f"(median; best runs: {best_ratio:.3f})")
    spread = max(bare_times) / min(bare_times)
    if spread > 1.2:
        print(f"note: the bare loop's runs differ by {spread - 1:.0%}; the machine is busy, so the "
              "ratio is uncertain by about as much. Use --repeats 11 or a quieter machine.")


if __name__ == "__main__":
    main()
