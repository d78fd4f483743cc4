"""One process vs two DDP processes (gloo) on the CPU, through the training command.

Runs ``python -m cnnlab.train`` as one process with 1 and with 2 intra-op threads, and under
``torchrun --standalone --nproc-per-node 2`` as two processes with 1 thread each, all with the same
model, data, global batch and epochs. Reports the training throughput ``fit`` measures (training
passes only, all ranks' images) and the wall time of the whole command (start-up included). The
configurations alternate within each repeat; medians count.

    python benchmarks/bench_ddp.py [--model lenet5] [--data digits] [--epochs 3] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(launcher: list[str], threads: int, args, out: Path) -> tuple[float, float]:
    """(fit's training images/s, wall seconds of the command)."""
    cmd = launcher + ["-m", "cnnlab.train", "--model", args.model, "--data", args.data, "--epochs",
                      str(args.epochs), "--batch-size", str(args.batch_size), "--device", "cpu", "--threads",
                      str(threads), "--no-progress", "--quiet", "--out", str(out), "--checkpoint-every",
                      str(args.epochs)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return json.loads((out / "summary.json").read_text())["samples_per_s"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    python = [sys.executable]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    configs = {"1 process, 1 thread": (python, 1), "1 process, 2 threads": (python, 2),
               "2 DDP processes × 1 thread": (torchrun, 1)}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for label, (launcher, threads) in configs.items():
                results[label].append(run(launcher, threads, args, Path(tmp) / f"{i}-{len(results[label])}"))

    print(f"{args.model} on {args.data}, global batch {args.batch_size}, {args.epochs} epochs (training + test "
          f"pass), cpu, gloo; median of {args.repeats} alternating runs")
    print(f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'configuration':<30}{'train img/s':>12}{'wall s':>9}   runs (img/s)")
    base = statistics.median(r for r, _ in results["1 process, 1 thread"])
    for label, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"{label:<30}{rate:>12,.0f}{wall:>9.1f}   " + " ".join(f"{r:,.0f}" for r, _ in runs)
              + f"   ({rate / base:.2f}× 1 process, 1 thread)")


if __name__ == "__main__":
    main()
