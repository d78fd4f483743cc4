"""Model analysis: parameters, multiply-accumulates (MACs), a per-layer summary, receptive fields
and measured latency.

Words, used precisely: one **MAC** is one multiply followed by one add (``a += w * x``). Papers and
torchvision's ``_ops`` meta count MACs (torchvision's docs call them "GFLOPS"); PyTorch's
``torch.utils.flop_counter`` counts **FLOPs**, two per MAC.

We count the MACs of the layers that carry the weights — convolutions (also grouped, depthwise,
dilated and transposed) and fully connected layers — as the papers' tables do. Normalisation,
activation, pooling and element-wise additions are cheap next to them and are left out; a module
can report its own cost by defining ``macs(inputs, output) -> int`` (used for layers such as adder
or deformable convolutions that a formula for ``nn.Conv2d`` does not cover).

Receptive-field arithmetic follows V. Dumoulin, F. Visin, "A guide to convolution arithmetic for deep
learning" (2016, arXiv:1603.07285) and D. H. T. Hien, "A guide to receptive field arithmetic for CNNs" (2017):

    n_out = floor((n_in + 2p - k) / s) + 1        number of features
    j_out = j_in * s                               jump: distance between adjacent features
    r_out = r_in + (k - 1) * j_in                  receptive field size
    start_out = start_in + ((k - 1) / 2 - p) * j_in   centre of the first feature's field
"""
from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from ._utils import evaluating, pair

__all__ = [
    "count_params", "count_macs", "summary", "Summary", "LayerRow",
    "conv_output_size", "conv_params", "conv_macs",
    "RFLayer", "receptive_field", "measure_latency",
]


# --- closed forms for one layer -------------------------------------------------------------------

def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis: ``floor((N + 2P - D(K-1) - 1)/S) + 1``
    (with D = 1 this is the familiar ``(N + 2P - K)/S + 1``). Raises ``ValueError`` for an empty output."""
    for label, v, low in (("size", size, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                          ("padding", padding, 0), ("dilation", dilation, 1)):
        if not isinstance(v, int) or v < low:
            raise ValueError(f"conv_output_size: {label} must be an integer >= {low}, got {v!r}")
    effective = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < effective:
        raise ValueError(
            f"conv_output_size: a kernel of effective size {effective} does not fit an input of size {size} "
            f"with padding {padding}: the output would be empty"
        )
    return (size + 2 * padding - effective) // stride + 1


def conv_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                groups: int = 1, bias: bool = True) -> int:
    """Weights (+ biases) of a 2-D convolution: ``C_out * (C_in / g) * K_h * K_w (+ C_out)``."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"conv_params: groups={groups} must divide in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    kh, kw = pair(kernel_size, "kernel_size", "conv_params")
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


def conv_macs(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
              output_size: int | Sequence[int], groups: int = 1) -> int:
    """MACs of one 2-D convolution for one image: each of the ``C_out * H_out * W_out`` outputs
    is a dot product of length ``(C_in / g) * K_h * K_w``. (Bias additions are not counted.)"""
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"conv_macs: groups={groups} must divide in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    kh, kw = pair(kernel_size, "kernel_size", "conv_macs")
    oh, ow = pair(output_size, "output_size", "conv_macs")
    return out_channels * oh * ow * (in_channels // groups) * kh * kw


# --- whole models ---------------------------------------------------------------------------------

def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _module_macs(module: nn.Module, inputs: tuple, output) -> int:
    """MACs of one forward call of a leaf module (0 for modules that carry no multiply-add weights)."""
    if hasattr(module, "macs") and callable(module.macs):
        return int(module.macs(inputs, output))
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        # every output element is a dot product over (C_in/g) * prod(kernel) inputs
        return output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        # every *input* element is scattered into C_out/g * prod(kernel) outputs
        x = inputs[0]
        return x.numel() * (module.out_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.Bilinear):
        return output.numel() * module.in1_features * module.in2_features
    return 0


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


@dataclass
class Summary:
    """Per-layer table of a forward pass; ``print(summary)`` shows it."""
    model_name: str
    input_size: tuple[int, ...]
    rows: list[LayerRow]
    total_params: int
    total_macs: int

    def __str__(self) -> str:
        name_w = max([len("layer")] + [len(r.name) for r in self.rows])
        kind_w = max([len("type")] + [len(r.kind) for r in self.rows])
        head = f"{'layer':<{name_w}}  {'type':<{kind_w}}  {'output shape':<22}{'params':>12}{'MACs':>16}"
        lines = [f"{self.model_name} on input {tuple(self.input_size)}", head, "-" * len(head)]
        for r in self.rows:
            shape = "×".join(map(str, r.output_shape))
            lines.append(f"{r.name:<{name_w}}  {r.kind:<{kind_w}}  {shape:<22}{r.params:>12,}{r.macs:>16,}")
        lines.append("-" * len(head))
        lines.append(f"{'total':<{name_w + kind_w + 24}}{self.total_params:>12,}{self.total_macs:>16,}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table, not the dataclass repr
        p.text(str(self))


def _check_input_size(input_size: Sequence[int], caller: str) -> tuple[int, ...]:
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if (not isinstance(input_size, (tuple, list)) or len(input_size) < 2
            or not all(isinstance(v, int) and v > 0 for v in input_size)):
        raise ValueError(f"{caller}: input_size must be a tuple of positive ints like (1, 3, 224, 224), "
                         f"got {input_size!r}")
    return tuple(input_size)


def _trace(model: nn.Module, input_size: tuple[int, ...], caller: str) -> list[LayerRow]:
    """Run one forward pass on zeros and record every leaf module's output shape, params and MACs."""
    rows: list[LayerRow] = []
    names = {m: n for n, m in model.named_modules()}
    device = next((p.device for p in model.parameters()), torch.device("cpu"))

    def hook(module: nn.Module, inputs: tuple, output) -> None:
        out = output[0] if isinstance(output, (tuple, list)) else output
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else ()
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(LayerRow(names.get(module, "?"), type(module).__name__, shape, own_params,
                             _module_macs(module, inputs, out)))

    leaves = [m for m in model.modules() if not list(m.children()) or hasattr(m, "macs")]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        # eval: no dropout, BN uses running stats, GoogLeNet/Inception skip their aux heads
        with evaluating(model), torch.no_grad():
            model(torch.zeros(input_size, device=device))
    except (RuntimeError, ValueError) as err:  # torch's shape errors, or a model's own input check
        first = str(err).strip().splitlines()[0]
        # ``from err`` keeps torch's full traceback for a maintainer; the first line is for the user
        raise ValueError(f"{caller}: {type(model).__name__} cannot run on an input of size {input_size}: {first}") from err
    finally:
        for h in handles:
            h.remove()
    return rows


def count_macs(model: nn.Module, input_size: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass (in eval mode) on an input of ``input_size``,
    e.g. ``(1, 3, 224, 224)``. Counts convolutions and linear layers; see the module docstring."""
    input_size = _check_input_size(input_size, "count_macs")
    return sum(r.macs for r in _trace(model, input_size, "count_macs"))


def summary(model: nn.Module, input_size: Sequence[int], skip_empty: bool = True) -> Summary:
    """Per-layer table: output shape, parameters and MACs of each leaf module.

    ``skip_empty`` hides rows with neither parameters nor MACs that do not change the shape
    (activations, dropout), which keeps the table to the layers a paper's table would list.
    """
    input_size = _check_input_size(input_size, "summary")
    rows = _trace(model, input_size, "summary")
    if skip_empty:
        kept, prev_shape = [], tuple(input_size)
        for r in rows:
            if r.params or r.macs or r.output_shape != prev_shape:
                kept.append(r)
            prev_shape = r.output_shape
        rows = kept
    return Summary(type(model).__name__, input_size, rows, count_params(model), sum(r.macs for r in rows))


# --- receptive fields -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RFLayer:
    """One row of receptive-field arithmetic: after ``name``, ``n`` features per axis, ``jump`` input
    pixels between neighbours, field ``size`` pixels wide, first field centred at ``start``."""
    name: str
    n: int
    jump: int
    size: int
    start: float


def _rf_spec(layer) -> tuple[str, int, int, int, int] | None:
    """(name, k, s, p, d) of a conv/pool module or a (k, s, p[, d]) tuple; None for other modules."""
    if isinstance(layer, (tuple, list)):
        if len(layer) not in (3, 4):
            raise ValueError(f"receptive_field: a layer tuple is (kernel, stride, padding[, dilation]), got {layer!r}")
        k, s, p, *d = layer
        return (f"k{k}s{s}p{p}" + (f"d{d[0]}" if d and d[0] != 1 else ""), k, s, p, d[0] if d else 1)
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = (pair(layer.kernel_size)[0], pair(layer.stride or layer.kernel_size)[0], pair(layer.padding)[0])
        d = pair(getattr(layer, "dilation", 1))[0]
        return (type(layer).__name__, k, s, p, d)
    return None


def receptive_field(layers: nn.Module | Iterable, input_size: int, start: float = 0.5) -> list[RFLayer]:
    """Receptive field of every layer of a stack, along one axis.

    ``layers`` is a list of ``(kernel, stride, padding[, dilation])`` tuples, or a module whose
    convolutions and poolings are applied in the order ``modules()`` lists them (true for
    ``nn.Sequential`` stacks; branches and skip connections are not followed). The first row is the
    input itself (n = input_size, jump 1, size 1, start 0.5: the centre of the first pixel).
    """
    if isinstance(layers, nn.Module):
        specs = [spec for m in layers.modules() if (spec := _rf_spec(m)) is not None]
    else:
        specs = [_rf_spec(layer) for layer in layers]
    rows = [RFLayer("input", input_size, 1, 1, start)]
    for i, (name, k, s, p, d) in enumerate(specs, start=1):
        prev = rows[-1]
        k_eff = d * (k - 1) + 1  # a dilated kernel covers d(k-1)+1 pixels
        try:
            n = conv_output_size(prev.n, k, s, p, d)
        except ValueError as err:
            raise ValueError(f"receptive_field: layer {i} ({name}): {err}") from None
        rows.append(RFLayer(
            name=f"{i}: {name}",
            n=n,
            jump=prev.jump * s,
            size=prev.size + (k_eff - 1) * prev.jump,
            start=prev.start + ((k_eff - 1) / 2 - p) * prev.jump,
        ))
    return rows


# --- latency --------------------------------------------------------------------------------------

def measure_latency(model: nn.Module, input_size: Sequence[int], device: str | torch.device | None = None,
                    warmup: int = 3, repeats: int = 10) -> float:
    """Median wall-clock time in milliseconds of one forward pass (eval mode, no grad) on ``device``
    (default: the best available). The model is moved there for the measurement and then back,
    in the train/eval mode it had."""
    from .device import get_device

    input_size = _check_input_size(input_size, "measure_latency")
    device = get_device(device)
    home = next((p.device for p in itertools.chain(model.parameters(), model.buffers())), None)
    x = torch.randn(input_size, device=device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()

    times = []
    try:
        model.to(device)
        with evaluating(model), torch.inference_mode():
            for i in range(warmup + repeats):
                sync()
                t0 = time.perf_counter()
                model(x)
                sync()
                if i >= warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
    finally:
        if home is not None:
            model.to(home)
    return statistics.median(times)
