"""cnnlab.train under torchrun: two gloo processes on the CPU train the weights one process trains
with the same global batch; metrics are reduced over the ranks; only rank 0 writes and prints."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from cnnlab.data import load
from cnnlab.models import get_model
from cnnlab.train import distributed, fit
from test_train import bars, bars_data, small_net

ROOT = Path(__file__).resolve().parents[1]
GLOO = dist.is_available() and dist.is_gloo_available()
RUN = dict(n_train=256, n_test=60, epochs=2, batch_size=64)  # 4 steps an epoch; 60 test images: 30 per rank


@pytest.mark.skipif(not GLOO, reason="this PyTorch has no gloo backend for CPU processes")
def test_two_gloo_processes_train_the_weights_of_one_process(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "cnnlab.train", "--model", "lenet5", "--data", "digits", "--n-train", str(RUN["n_train"]),
           "--n-test", str(RUN["n_test"]), "--epochs", str(RUN["epochs"]), "--batch-size", str(RUN["batch_size"]),
           "--device", "cpu", "--threads", "1", "--out", str(tmp_path), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    try:
        result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"torchrun with 2 gloo processes did not finish in 240 s:\n{err.stdout}\n{err.stderr}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    ddp_weights = torch.load(tmp_path / "model.pt", weights_only=True)
    summary = json.loads((tmp_path / "summary.json").read_text())

    # The same run in one process: same initial weights (seed 0), same data, same global batch.
    torch.manual_seed(0)
    model = get_model("lenet5", num_classes=10, in_channels=1)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    data = load("digits", n_train=RUN["n_train"], n_test=RUN["n_test"])
    history = fit(model, data, RUN["epochs"], batch_size=RUN["batch_size"], device="cpu", seed=0,
                  progress=False, plot=False, verbose=False)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ddp_weights[key], value, rtol=1e-4, atol=1e-5, msg=key)
        assert not torch.allclose(value, initial[key], rtol=1e-4, atol=1e-5) or "bias" in key  # it trained

    # Metrics: sums over both ranks, equal to the single process's.
    assert summary["processes"] == 2 and summary["epochs"] == RUN["epochs"]
    final = summary["final"]
    assert final["test_acc"] == pytest.approx(history.test_acc[-1], abs=1e-9)  # 30 + 30 test images
    assert final["test_loss"] == pytest.approx(history.test_loss[-1], rel=1e-4)
    assert final["train_loss"] == pytest.approx(history.train_loss[-1], rel=1e-4)
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + RUN["epochs"] and rows[1].split(",")[-1] == str(RUN["n_train"])  # all ranks' samples
    # Rank 0 alone prints: one summary, one line per epoch (not two).
    assert result.stdout.count('"processes": 2') == 1
    assert sum(line.startswith("epoch 1/") for line in result.stdout.splitlines()) == 1


def test_sharded_loader_gives_each_rank_its_piece_of_the_same_global_batches():
    x = torch.arange(10.0).view(10, 1, 1, 1)
    y = torch.arange(10)
    batches = {}
    for rank in range(3):
        ctx = distributed.Context(rank=rank, world=3)
        loader = distributed.ShardedLoader(x, y, 4, shuffle=True, device=torch.device("cpu"), ctx=ctx, seed=5,
                                           train=True)
        batches[rank] = [(yb.tolist(), scale) for _, yb, scale in loader]
        assert len(loader) == 2  # the last global batch, 2 images for 3 ranks, is dropped
    order = torch.randperm(10, generator=torch.Generator().manual_seed(5)).tolist()  # TensorLoader's epoch 0
    for i, start in enumerate((0, 4)):
        pieces = [batches[r][i][0] for r in range(3)]
        assert sum(pieces, []) == order[start:start + 4]  # contiguous pieces of the global batch, in rank order
        assert [len(p) for p in pieces] == [2, 1, 1]
        assert [batches[r][i][1] for r in range(3)] == [1.5, 0.75, 0.75]  # size × world / global size

    test_pieces = [[yb.tolist() for _, yb, _ in distributed.ShardedLoader(
        x, y, 4, shuffle=False, device=torch.device("cpu"), ctx=distributed.Context(rank=r, world=3), train=False)]
        for r in range(3)]
    assert sorted(sum(sum(test_pieces, []), [])) == list(range(10))  # evaluation sees every image once


def test_a_batch_size_that_does_not_divide_across_ranks_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(ValueError, match=r"batch_size 64 does not divide across 3 processes.*multiple of 3 "
                                         r"\(e\.g\. 63\)"):
        fit(small_net(), bars_data(), epochs=1, batch_size=64, device="cpu", progress=False, plot=False)
    assert not dist.is_initialized()  # refused before joining any process group


def test_stream_path_trains_like_the_in_memory_path():
    """stream=True (pinned host batches through a DataLoader with a worker) sees the same batches."""
    histories = []
    for stream, workers in ((False, 0), (True, 0), (True, 1)):
        torch.manual_seed(0)
        histories.append(fit(small_net(), bars_data(), epochs=2, batch_size=32, device="cpu", stream=stream,
                             num_workers=workers, progress=False, plot=False, verbose=False))
    for h in histories[1:]:
        assert h.train_loss == pytest.approx(histories[0].train_loss, rel=1e-6)
        assert h.test_acc == histories[0].test_acc


def test_dataloaders_are_rebuilt_with_a_distributed_sampler_and_a_share_of_the_batch():
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    dataset = TensorDataset(*bars(100))
    ctx = distributed.Context(rank=1, world=2)
    loader = distributed.shard_dataloader(DataLoader(dataset, batch_size=64, shuffle=True), ctx, seed=3)
    assert loader.batch_size == 32 and isinstance(loader.sampler, DistributedSampler)
    assert loader.sampler.rank == 1 and loader.sampler.num_replicas == 2 and loader.sampler.shuffle
    assert len(list(loader.sampler)) == 50  # half of the images
    test = distributed.shard_dataloader(DataLoader(dataset, batch_size=64), ctx, seed=3)
    assert not test.sampler.shuffle
    with pytest.raises(ValueError, match=r"batch_size 63 does not divide across 2"):
        distributed.shard_dataloader(DataLoader(dataset, batch_size=63), ctx, seed=3)
    with pytest.raises(TypeError, match=r"shards an ImageData or torch DataLoaders, not a list"):
        distributed.shard_dataloader([(torch.zeros(2, 1, 8, 8), torch.zeros(2))], ctx, seed=3)
