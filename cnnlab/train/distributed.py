"""``fit`` under ``torchrun``: one process per device, ``DistributedDataParallel``, sharded data.

``torchrun`` (``python -m torch.distributed.run``) starts the processes and tells each its place
through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``);
``fit`` reads them, joins the process group (NCCL on GPUs, gloo on CPUs) and trains unchanged.
``batch_size`` stays the *global* batch: each of the W ranks takes its 1/W share of every batch,
DDP averages the gradients, and the step is the one a single process would take on the whole
batch. In-memory data are shuffled with the same permutation on every rank (``seed + epoch``, as
``cnnlab.data.TensorLoader`` does), so the run sees the same batches as a single-process run.
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class Context:
    """This process's place in the run: rank r of ``world`` processes (1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 prints, plots and saves."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def context_from_env() -> Context:
    """The place ``torchrun`` gave this process, or a single-process context. An already
    initialised process group wins over the environment."""
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return Context()
    return Context(int(os.environ.get("RANK", 0)), world, int(os.environ.get("LOCAL_RANK", 0)))


def check_batch_size(batch_size: int, ctx: Context) -> None:
    if batch_size % ctx.world:
        raise ValueError(f"batch_size {batch_size} does not divide across {ctx.world} processes (ranks); "
                         f"batch_size is the global batch, split evenly, so use a multiple of {ctx.world} "
                         f"(e.g. {batch_size - batch_size % ctx.world or ctx.world})")


def device_for(ctx: Context) -> torch.device | None:
    """Under torchrun with GPUs: the GPU of this process (LOCAL_RANK). None: let fit choose."""
    if ctx.active and torch.cuda.is_available() and os.environ.get("CNNLAB_DEVICE", "cuda").startswith("cuda"):
        return torch.device("cuda", ctx.local_rank)
    return None


def init_process_group(ctx: Context, device: torch.device) -> None:
    """Join the process group torchrun prepared (once per process)."""
    if not ctx.active or dist.is_initialized():
        return
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "gloo" and not dist.is_gloo_available():
        raise RuntimeError("distributed training on CPU needs the gloo backend, which this PyTorch lacks")
    options = {}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        options["device_id"] = device  # NCCL then knows this process's GPU (barriers need not guess)
    dist.init_process_group(backend, rank=ctx.rank, world_size=ctx.world, **options)
    atexit.register(_destroy)


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float | Tensor], device: torch.device, ctx: Context) -> list[float]:
    """Sum each value over all ranks; one collective call, one read. Floats in, floats out."""
    dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    t = torch.stack([torch.as_tensor(v, device=device).to(dtype) for v in values])
    if ctx.active:
        dist.all_reduce(t)
    return t.tolist()


def gather_objects(obj: Any, ctx: Context) -> list[Any]:
    """``obj`` from every rank, in rank order (a list of one without DDP)."""
    if not ctx.active:
        return [obj]
    out: list[Any] = [None] * ctx.world
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: Context) -> None:
    if ctx.active:
        dist.barrier()


class ShardedLoader:
    """This rank's share of every global batch of in-memory tensors, already on ``device``.

    Each pass shuffles all N samples with a CPU generator seeded ``seed + epoch`` (the permutation
    ``cnnlab.data.TensorLoader`` draws), cuts it into global batches of ``batch_size``, and yields
    the ``rank``-th of ``world`` contiguous pieces of each, augmented on the device. For training
    (``train=True``) a last global batch with fewer samples than ranks is dropped, since every rank
    must take every step; for evaluation nothing is dropped. Each item is ``(x, y, scale)``:
    ``scale`` = local size × world / global size corrects the loss when the last batch splits
    unevenly (DDP averages the ranks' gradients with equal weights), 1.0 otherwise.

    ``stream=True`` keeps the tensors where they are (host memory, pinned on CUDA) and moves each
    batch as it is needed, through a ``DataLoader`` with ``num_workers`` worker processes that
    each gather whole batches (one indexing operation, not ``batch_size`` ``__getitem__`` calls).
    """

    yields_scale = True  # fit reads (x, y, scale) from it, not (x, y)

    def __init__(self, x: Tensor, y: Tensor, batch_size: int, shuffle: bool, device: torch.device,
                 ctx: Context, seed: int = 0, augment: Callable[[Tensor], Tensor] | None = None,
                 stream: bool = False, num_workers: int = 0, train: bool = True) -> None:
        self.device, self.stream, self.num_workers = device, stream, num_workers
        self.x = x if stream else x.to(device)
        self.y = y if stream else y.to(device)
        self.batch_size, self.shuffle, self.ctx, self.seed, self.augment = batch_size, shuffle, ctx, seed, augment
        self.dataset_size = len(x)
        self.epoch = 0
        n, b, w = len(x), batch_size, ctx.world
        self.batches = n // b + (1 if n % b >= (w if train else 1) else 0)
        self.pin = stream and device.type == "cuda"

    def __len__(self) -> int:
        return self.batches

    def _pieces(self) -> list[tuple[Tensor, float]]:
        n, b = self.dataset_size, self.batch_size
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        else:
            order = torch.arange(n)
        if not self.stream:
            order = order.to(self.device)  # one copy per epoch; a copy per batch would wait for the GPU
        pieces = []
        for i in range(self.batches):
            batch = order[i * b:(i + 1) * b]
            piece = torch.tensor_split(batch, self.ctx.world)[self.ctx.rank]
            if len(piece):  # only in evaluation can a rank's piece be empty
                pieces.append((piece, len(piece) * self.ctx.world / len(batch)))
        return pieces

    def __iter__(self):
        pieces = self._pieces()
        self.epoch += 1
        if not self.stream:
            for idx, scale in pieces:
                x = self.x[idx]
                yield (self.augment(x) if self.augment else x), self.y[idx], scale
            return
        loader = torch.utils.data.DataLoader(_Gather(self.x, self.y, pieces), batch_size=None, shuffle=False,
                                             num_workers=self.num_workers, pin_memory=self.pin)
        for x, y, scale in loader:
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
            yield (self.augment(x) if self.augment else x), y, scale


class _Gather(torch.utils.data.Dataset):
    """Item i is the whole i-th batch: (x[idx_i], y[idx_i], scale_i)."""

    def __init__(self, x: Tensor, y: Tensor, pieces: list[tuple[Tensor, float]]) -> None:
        self.x, self.y, self.pieces = x, y, pieces

    def __len__(self) -> int:
        return len(self.pieces)

    def __getitem__(self, i: int):
        idx, scale = self.pieces[i]
        return self.x[idx], self.y[idx], scale


def fits_on_device(tensors: list[Tensor], device: torch.device, share: float = 0.5) -> bool:
    """Whether ``tensors`` take at most ``share`` of the device's free memory (always on a CPU)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return sum(t.nelement() * t.element_size() for t in tensors) <= share * free


def shard_dataloader(loader: Any, ctx: Context, seed: int) -> Any:
    """A torch ``DataLoader`` rebuilt for this rank: a ``DistributedSampler`` (shuffled if the
    original shuffled) and 1/world of its batch size. Anything else is refused: fit cannot shard it."""
    from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

    if not isinstance(loader, DataLoader):
        raise TypeError(f"under torchrun fit shards an ImageData or torch DataLoaders, not a "
                        f"{type(loader).__name__}; wrap your data in a DataLoader")
    if loader.batch_size is None:
        raise ValueError("under torchrun fit needs a DataLoader with a batch_size (not a batch_sampler)")
    check_batch_size(loader.batch_size, ctx)
    sampler = DistributedSampler(loader.dataset, num_replicas=ctx.world, rank=ctx.rank,
                                 shuffle=isinstance(loader.sampler, RandomSampler), seed=seed,
                                 drop_last=loader.drop_last)
    return DataLoader(loader.dataset, batch_size=loader.batch_size // ctx.world, sampler=sampler,
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                      drop_last=loader.drop_last, worker_init_fn=loader.worker_init_fn,
                      persistent_workers=loader.persistent_workers)


def set_epoch(loader: Any, epoch: int) -> None:
    """Tell a loader which pass comes next (samplers and loaders that shuffle by epoch)."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    if isinstance(getattr(loader, "epoch", None), int):
        loader.epoch = epoch
