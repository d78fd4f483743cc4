"""How much does ``cnnlab.train.fit`` cost over a bare PyTorch training loop?

Trains the same model (same initial weights) on the same in-memory tensors with the same optimizer
(Adam, lr 1e-3) and batch size, once through ``fit`` and once through the shortest loop that does
the same work: each epoch a shuffled training pass (randperm, index, forward, loss, backward,
step) and a test pass that counts correct answers. ``fit`` runs with its defaults (progress bar,
per-epoch metrics, first-batch checks), its output thrown away. Both use the same thread count.
Each is warmed up, then timed ``--repeats`` times, alternating so that a noisy neighbour slows
both alike; the medians count. Wall time is what a user waits; CPU time (this process and its
children, ``os.times``) is what the work costs, and it changes much less when other programs share
the cores, so both are shown.

CPU (default): LeNet-5 on 28×28 images, the MNIST format: real MNIST if it is on disk
(``$CNNLAB_DATA``), otherwise the embedded digits at 28×28 (the loader's stand-in). LeNet-5 takes
32×32, so both loops put a 2-pixel zero border around each image first (``nn.ZeroPad2d(2)`` as
the model's first layer), as LeCun et al. (1998, Section III.A) centred the 28×28 MNIST digits in
a 32×32 field. Target: ``fit`` ≥ 0.95× the bare loop.

GPU (``--model resnet18``): torchvision's ResNet-18 with 10 classes on CIFAR-10 (on disk, else the
embedded shapes), mixed precision (bf16, else fp16 with a scaler) and channels-last in both
loops. Target: ``fit`` ≥ 0.80× the bare loop's throughput.

    python benchmarks/bench_fit.py [--model lenet5|resnet18] [--epochs 3] [--repeats 7] [--threads N]
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

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cnnlab.data import load  # noqa: E402
from cnnlab.device import get_device, threads_for  # noqa: E402
from cnnlab.models import get_model  # noqa: E402
from cnnlab.train import fit  # noqa: E402

LR = 1e-3


def setup(model_name: str, device: torch.device, n_train: int | None):
    """(ImageData, model factory, batch size, description)."""
    if model_name == "lenet5":
        data = load("mnist", download=False, n_train=n_train, n_test=n_train and n_train // 6)
        make = lambda: nn.Sequential(nn.ZeroPad2d(2), get_model("lenet5", num_classes=10))  # noqa: E731
        return data, make, 64, "LeNet-5 (28×28 padded to 32×32)"
    if model_name == "resnet18":
        import torchvision

        data = load("cifar10", download=False, n_train=n_train)
        make = lambda: torchvision.models.resnet18(num_classes=data.num_classes)  # noqa: E731
        return data, make, 256, "torchvision ResNet-18"
    raise SystemExit(f"--model must be lenet5 or resnet18, got {model_name!r}")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh(make, device: torch.device, channels_last: bool) -> nn.Module:
    torch.manual_seed(0)  # the same initial weights for both loops
    model = make().to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def amp_settings(device: torch.device):
    if device.type != "cuda":
        return None, False
    return (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16), True


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_fit(data, make, batch: int, device: torch.device, epochs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of a whole ``fit`` call."""
    dtype, channels_last = amp_settings(device)
    model = fresh(make, device, channels_last)
    sync(device)
    start, cpu = time.perf_counter(), cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        fit(model, data, epochs, lr=LR, batch_size=batch, device=device, threads=None, plot=False,
            amp=dtype is not None)
    sync(device)
    return time.perf_counter() - start, cpu_seconds() - cpu


def time_bare(data, make, batch: int, device: torch.device, epochs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the same training and evaluation written by hand, with the same
    precision and layout."""
    dtype, channels_last = amp_settings(device)
    model = fresh(make, device, channels_last)
    sync(device)
    start, cpu = time.perf_counter(), cpu_seconds()
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if dtype else contextlib.nullcontext
    memory = torch.channels_last if channels_last else torch.contiguous_format
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            with autocast():
                loss = loss_fn(model(x[idx].contiguous(memory_format=memory)), y[idx])
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
        model.eval()
        correct = torch.zeros((), device=device, dtype=torch.long)
        with torch.inference_mode(), autocast():
            for i in range(0, len(x_test), batch):
                logits = model(x_test[i:i + batch].contiguous(memory_format=memory))
                correct += (logits.argmax(1) == y_test[i:i + batch]).sum()
        correct.item()  # read once per epoch, as fit does
    sync(device)
    return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5", choices=("lenet5", "resnet18"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--n-train", type=int, default=None, help="at most this many training images")
    parser.add_argument("--threads", type=int, default=threads_for() or torch.get_num_threads(),
                        help="torch CPU threads, the same for both loops (default: what fit's 'auto' picks)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = get_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # both loops
    data, make, batch, description = setup(args.model, device, args.n_train)
    samples = args.epochs * len(data.y_train)
    target = 0.95 if args.model == "lenet5" else 0.80

    time_fit(data, make, batch, device, 1)  # warm-up: allocator, kernels, lazy imports
    time_bare(data, make, batch, device, 1)
    fit_runs, bare_runs = [], []
    for _ in range(args.repeats):
        fit_runs.append(time_fit(data, make, batch, device, args.epochs))
        bare_runs.append(time_bare(data, make, batch, device, args.epochs))
    fit_times, bare_times = [w for w, _ in fit_runs], [w for w, _ in bare_runs]
    fit_rate = samples / statistics.median(fit_times)
    bare_rate = samples / statistics.median(bare_times)
    ratio = fit_rate / bare_rate
    cpu_ratio = statistics.median(c for _, c in bare_runs) / statistics.median(c for _, c in fit_runs)

    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(f"{description} on {data.name} ({data.source}: {len(data.y_train)} train + {len(data.y_test)} test "
          f"images {'×'.join(map(str, data.x_train.shape[1:]))}), batch {batch}, Adam lr {LR:g}, "
          f"{args.epochs} epochs of training + test pass, {device}{gpu}, "
          f"{torch.get_num_threads()} thread(s), median of {args.repeats} alternating runs")
    print(f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'loop':<16}{'train img/s':>13}{'median s':>10}{'best s':>9}{'CPU s':>8}   all runs (wall s)")
    for label, rate, runs in (("bare PyTorch", bare_rate, bare_runs), ("cnnlab fit", fit_rate, fit_runs)):
        walls = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        print(f"{label:<16}{rate:>13,.0f}{statistics.median(walls):>10.3f}{min(walls):>9.3f}{cpu:>8.3f}   "
              + " ".join(f"{t:.3f}" for t in walls))
    best_ratio = min(bare_times) / min(fit_times)
    print(f"{'ratio fit/bare':<16}{ratio:>13.3f}   {'PASS' if ratio >= target else 'FAIL'} (target ≥ {target}; "
          f"best runs: {best_ratio:.3f}; CPU time: {cpu_ratio:.3f})")
    spread = max(bare_times) / min(bare_times)
    if spread > 1.2:
        print(f"note: the bare loop's runs differ by {spread - 1:.0%}; the machine is busy, so the "
              "ratio is uncertain by about as much.")


if __name__ == "__main__":
    main()
