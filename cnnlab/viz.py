"""Plots for the lectures: image grids, learned filters, feature maps and architecture diagrams.

Every function takes tensors or modules as they come out of ``cnnlab`` (NCHW, any device) and
returns the matplotlib ``Figure`` so a notebook can show it or a test can inspect it.

The architecture diagrams (``draw_network``, ``draw_block``) are traced from the model itself: one
forward pass with hooks records which modules run, in what order, and the shape of what each
returns, so a figure cannot drift from the code it shows.
"""
from __future__ import annotations

import contextlib
import copy
import math
import re
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyBboxPatch
from torch import nn

from ._utils import evaluating


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or min(n, 8)
    return math.ceil(n / ncols), ncols


def _to_image(t: torch.Tensor):
    """(C, H, W) tensor -> array for imshow: grey for one channel, RGB for three, scaled to [0, 1]."""
    t = t.detach().float().cpu()
    if t.shape[0] == 3:
        t = t.permute(1, 2, 0)
    elif t.shape[0] == 1:
        t = t[0]
    else:
        raise ValueError(f"cannot show an image with {t.shape[0]} channels (need 1 or 3)")
    lo, hi = t.min(), t.max()
    return ((t - lo) / (hi - lo + 1e-12)).numpy()


def show_images(images: torch.Tensor, labels: Sequence[int] | torch.Tensor | None = None,
                classes: Sequence[str] | None = None, ncols: int | None = None,
                title: str | None = None, size: float = 1.4) -> plt.Figure:
    """A grid of images ``(N, C, H, W)`` (C = 1 or 3), each scaled to its own range, with labels."""
    if images.dim() != 4:
        raise ValueError(f"show_images expects a batch (N, C, H, W), got shape {tuple(images.shape)}")
    n = images.shape[0]
    nrows, ncols = _grid(n, ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_to_image(images[i]), cmap="gray", interpolation="nearest")
        if labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_filters(layer: nn.Conv2d | torch.Tensor, ncols: int | None = None, size: float = 1.0,
                 title: str | None = None) -> plt.Figure:
    """The kernels of a convolution, one tile per output channel. Kernels with 3 input channels are
    drawn in colour (like AlexNet's first layer), others show the mean over input channels."""
    weight = layer.weight if isinstance(layer, nn.Conv2d) else layer
    if weight.dim() != 4:
        raise ValueError(f"plot_filters expects a conv weight (C_out, C_in, K, K), got shape {tuple(weight.shape)}")
    weight = weight.detach().cpu()
    tiles = weight if weight.shape[1] in (1, 3) else weight.mean(dim=1, keepdim=True)
    return show_images(tiles, ncols=ncols, size=size,
                       title=title or f"{weight.shape[0]} filters of {weight.shape[1]}×{weight.shape[2]}×{weight.shape[3]}")


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named sub-modules (names as in ``model.named_modules()``) for input ``x``."""
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"no layers named {unknown} in {type(model).__name__}; "
                         f"some names it has: {[n for n in modules if n][:12]}")
    out: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(lambda m, i, o, name=name: out.__setitem__(name, o.detach()))
               for name in layers]
    try:
        with evaluating(model):
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out


def plot_feature_maps(model: nn.Module, image: torch.Tensor, layers: Sequence[str], max_maps: int = 8,
                      size: float = 1.2) -> plt.Figure:
    """One row per layer: the input image's first ``max_maps`` feature maps at that layer.

    ``image`` is one image ``(C, H, W)`` or a batch of one; it must be on the model's device.
    """
    x = image.unsqueeze(0) if image.dim() == 3 else image
    maps = feature_maps(model, x, layers)
    fig, axes = plt.subplots(len(layers), max_maps + 1, figsize=(size * (max_maps + 1), size * len(layers) + 0.3),
                             squeeze=False)
    for row, name in zip(axes, layers):
        fmap = maps[name][0]
        row[0].imshow(_to_image(x[0]), cmap="gray")
        row[0].set_title("input", fontsize=8)
        for j, ax in enumerate(row[1:]):
            if j < fmap.shape[0]:
                ax.imshow(fmap[j].float().cpu().numpy(), cmap="viridis")
            if j == 0:
                ax.set_title(f"{name}: {fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[2]}", fontsize=8, loc="left")
        for ax in row:
            ax.axis("off")
    fig.tight_layout()
    return fig


# --- architecture diagrams ------------------------------------------------------------------------
# Drawn in a figure whose data units are inches, so that boxes can be sized to their text.

_FONT = 7.5  # points
_CHAR_W = 0.066  # inches per character at _FONT (DejaVu Sans, on the generous side)
_LINE_H = 0.15  # inches per text line
_PAD = 0.07  # inside a box
_GAP_Y = 0.26  # between boxes, room for an arrow
_GAP_X = 0.45  # between columns
_COLOURS = {"input": "#e8e8e8", "conv": "#d6e6f5", "pool": "#fde3c8", "fc": "#d9f0d3",
            "multi": "#e6dcf2", "side": "#f7d6d6", "merge": "#fff6bf", "other": "#f2f2f2"}

# Layers that do not deserve a box of their own: they join the box of the layer they follow
# (activations, normalisation, flatten) or, for dropout, of the layer they feed.
_JOIN_PREVIOUS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm, nn.Flatten)
_JOIN_NEXT = (nn.modules.dropout._DropoutNd,)


@dataclass
class _Call:
    """One forward call of a traced module: what went in and what came out (and their versions,
    which an in-place operation such as ``out += identity`` between two modules changes)."""
    name: str
    module: nn.Module
    inp: torch.Tensor | None
    in_version: int
    out: torch.Tensor | None
    out_version: int


@dataclass
class _Box:
    names: list[str]
    text: str
    shape: tuple[int, ...]
    calls: list[_Call]
    kind: str = "other"
    extra: str = ""
    count: int = 1


def _first_tensor(x) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (tuple, list)):
        for v in x:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _two(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _kernel(m: nn.Module) -> str:
    """``"3×3"``, ``"11×11/4"`` (kernel / stride) of a conv or pooling layer."""
    (kh, kw), (sh, sw) = _two(m.kernel_size), _two(m.stride if m.stride is not None else m.kernel_size)
    text = f"{kh}×{kw}"
    if (sh, sw) != (1, 1):
        text += f"/{sh}" if sh == sw else f"/{sh}×{sw}"
    return text


def _conv_spec(conv: nn.Conv2d | nn.ConvTranspose2d) -> str:
    text = f"{_kernel(conv)}, {conv.out_channels}"
    if _two(conv.dilation) != (1, 1):
        text += f", dilation {_two(conv.dilation)[0]}"
    if conv.groups > 1:
        text += f", groups {conv.groups}"
    return text


def _short(m: nn.Module) -> str:
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return "BN"
    if isinstance(m, nn.LocalResponseNorm):
        return "LRN"
    if isinstance(m, _JOIN_NEXT):
        return f"Dropout {m.p:g}"
    return type(m).__name__


def _is_activation(m: nn.Module) -> bool:
    return type(m).__module__ == "torch.nn.modules.activation" and not isinstance(m, nn.MultiheadAttention)


# torchvision's Inception v3 chains a branch's layers as siblings: branch7x7_1, branch7x7_2, ...; the
# letter marks layers that run side by side at the end of a branch (branch3x3_2a, branch3x3_2b)
_BRANCH_PART = re.compile(r"^(branch\w*?)_(\d+)([a-z]?)$")


def _branch_groups(m: nn.Module) -> dict[str, list[str]]:
    """The parallel branches of ``m``: children named ``branch*``, with ``<branch>_<k>`` siblings
    gathered into one branch ``<branch>`` (in definition order)."""
    groups: dict[str, list[str]] = {}
    for n, _ in m.named_children():
        if n.startswith("branch"):
            match = _BRANCH_PART.match(n)
            groups.setdefault(match.group(1) if match else n, []).append(n)
    return groups


def _branch_outputs(members: list[str]) -> list[str]:
    """The members whose outputs leave the branch: the last stage (``_2a`` and ``_2b`` both)."""
    stage = [int(m.group(2)) if (m := _BRANCH_PART.match(n)) else 0 for n in members]
    return [n for n, k in zip(members, stage) if k == max(stage)]


def _branch_names(m: nn.Module) -> list[str]:
    return list(_branch_groups(m))


def _describe(m: nn.Module) -> tuple[str, str]:
    """A short text for one module (type and key hyper-parameters) and its box colour."""
    if isinstance(m, nn.ConvTranspose2d):
        return "ConvTranspose " + _conv_spec(m), "conv"
    if isinstance(m, nn.Conv2d):
        return "Conv " + _conv_spec(m), "conv"
    if isinstance(m, nn.MaxPool2d):
        return "MaxPool " + _kernel(m), "pool"
    if isinstance(m, nn.AvgPool2d):
        return "AvgPool " + _kernel(m), "pool"
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        h, w = _two(m.output_size)
        kind = "Avg" if isinstance(m, nn.AdaptiveAvgPool2d) else "Max"
        return f"Adaptive{kind}Pool to {h}×{w}", "pool"
    if isinstance(m, nn.Linear):
        return f"FC {m.out_features}", "fc"
    if isinstance(m, nn.Upsample):
        how = f"×{m.scale_factor:g}" if m.scale_factor is not None else f"to {m.size}"
        return f"Upsample {m.mode} {how}", "pool"
    if not list(m.children()):
        return _short(m), "other"
    name = type(m).__name__
    children = list(m.children())
    if (isinstance(children[0], nn.Conv2d) and not list(children[0].children())
            and all(isinstance(c, _JOIN_PREVIOUS) or _is_activation(c) for c in children[1:])):
        # conv -> norm -> activation blocks (ConvNormAct, BasicConv2d) read as the layers they are
        text, kind = _describe(children[0])
        return " + ".join([text] + [_short(c) for c in children[1:]]), kind
    branches = _branch_names(m)
    if branches:
        return f"{name} ({len(branches)} branches)", "multi"
    convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
    fcs = [c for c in m.modules() if isinstance(c, nn.Linear)]
    if len(convs) == 1 and not fcs:
        return f"{name} {_conv_spec(convs[0])}", "conv"
    parts = ([f"{len(convs)} conv"] if convs else []) + ([f"{len(fcs)} FC"] if fcs else [])
    return (f"{name} ({', '.join(parts)})" if parts else name), ("conv" if convs else "fc" if fcs else "other")


def _shape(t: torch.Tensor | None) -> tuple[int, ...]:
    return tuple(t.shape[1:]) if t is not None else ()


def _shape_str(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape) if shape else "?"


def _count_str(n: int) -> str:
    for unit, scale in (("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def _check_size(input_size: Sequence[int], caller: str) -> tuple[int, ...]:
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if (not isinstance(input_size, (tuple, list)) or len(input_size) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_size)):
        raise ValueError(f"{caller}: input_size must be four positive ints (N, C, H, W) like (1, 3, 32, 32), "
                         f"got {input_size!r}")
    return tuple(input_size)


def _record_calls(root: nn.Module, targets: list[tuple[str, nn.Module]], input_size: tuple[int, ...],
                  caller: str, extra_hooks: Sequence = ()) -> tuple[list[_Call], torch.Tensor | None]:
    """Run ``root`` once on zeros (no gradients, in the mode it is in) and record each call of the
    ``targets`` in the order they finish. Returns the calls and the root's (first) output."""
    device = next((p.device for p in root.parameters()), torch.device("cpu"))
    calls: list[_Call] = []
    pending: dict[int, list] = {}

    def pre_hook(module, args):
        t = _first_tensor(args)
        pending.setdefault(id(module), []).append((t, t._version if t is not None else 0))

    def make_hook(name):
        def hook(module, args, output):
            t, version = pending[id(module)].pop()
            out = _first_tensor(output)
            calls.append(_Call(name, module, t, version, out, out._version if out is not None else 0))
        return hook

    handles = [h for name, m in targets
               for h in (m.register_forward_pre_hook(pre_hook), m.register_forward_hook(make_hook(name)))]
    handles += [m.register_forward_hook(fn) for m, fn in extra_hooks]
    try:
        with torch.no_grad():
            output = root(torch.zeros(input_size, device=device))
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{caller}: {type(root).__name__} cannot run on an input of size {input_size}: "
                         f"{first}") from err
    finally:
        for h in handles:
            h.remove()
    return calls, _first_tensor(output)


def _make_boxes(calls: list[_Call], show_params: bool) -> list[_Box]:
    """One box per call, with activations/norms/flatten joined to the box before and dropout to the
    box after; identities are dropped."""
    boxes: list[_Box] = []
    waiting: list[_Call] = []  # dropout calls waiting for the layer they feed
    for call in calls:
        m = call.module
        if isinstance(m, nn.Identity):
            continue
        if isinstance(m, _JOIN_NEXT):
            waiting.append(call)
            continue
        if boxes and not waiting and (isinstance(m, _JOIN_PREVIOUS) or _is_activation(m)):
            box = boxes[-1]
            box.text += " + " + _short(m)
            box.calls.append(call)
            box.shape = _shape(call.out)
            continue
        text, kind = _describe(m)
        prefix = "".join(_short(w.module) + " + " for w in waiting)
        boxes.append(_Box([call.name], prefix + text, _shape(call.out), waiting + [call], kind))
        waiting = []
    if waiting and boxes:  # dropout at the very end: join the last box
        boxes[-1].text += "".join(" + " + _short(w.module) for w in waiting)
        boxes[-1].calls += waiting
    elif waiting:
        boxes.append(_Box([waiting[0].name], " + ".join(_short(w.module) for w in waiting),
                          _shape(waiting[-1].out), waiting))
    for box in boxes:
        box.params = sum(p.numel() for m in {id(c.module): c.module for c in box.calls}.values()
                         for p in m.parameters())
    return boxes


def _collapse_repeats(boxes: list[_Box]) -> list[_Box]:
    """Consecutive boxes with the same text and output shape become one box "n × ..."."""
    out: list[_Box] = []
    for box in boxes:
        prev = out[-1] if out else None
        if prev is not None and prev.text == box.text and prev.shape == box.shape and not box.extra:
            prev.count += 1
            prev.names.append(box.names[-1])
            prev.calls += box.calls
            prev.params += box.params
        else:
            out.append(box)
    return out


def _produced_by(t: torch.Tensor | None, box: _Box) -> bool:
    return t is not None and any(c.out is t for c in box.calls)


def _box_lines(box: _Box, show_params: bool) -> tuple[str, list[str]]:
    names = box.names[0] if box.count == 1 else f"{box.names[0]} … {box.names[-1]}"
    text = box.text if box.count == 1 else f"{box.count} × {box.text}"
    shape = f"→ {_shape_str(box.shape)}"
    if show_params and box.params:
        shape += f"   ({_count_str(box.params)} params)"
    return names, [text] + ([box.extra] if box.extra else []) + [shape]


def _text_width(lines: Sequence[str]) -> float:
    return max(len(s) for s in lines) * _CHAR_W + 2 * _PAD


def _draw_box(ax, x: float, y_top: float, w: float, h: float, title: str, lines: Sequence[str],
              colour: str, dashed: bool = False) -> None:
    """A rounded box with its top-left corner at (x, y_top): ``title`` in bold, then ``lines``."""
    ax.add_patch(FancyBboxPatch((x, y_top - h), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                facecolor=colour, edgecolor="#555555", linewidth=0.8,
                                linestyle="--" if dashed else "-"))
    if title:
        ax.text(x + w / 2, y_top - _PAD, title, ha="center", va="top", fontsize=_FONT, fontweight="bold")
    ax.text(x + w / 2, y_top - _PAD - (_LINE_H if title else 0), "\n".join(lines), ha="center", va="top",
            fontsize=_FONT, linespacing=1.25)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], dashed: bool = False,
           label: str = "") -> None:
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color="#444444", lw=0.9, shrinkA=0, shrinkB=0,
                                linestyle="--" if dashed else "-"))
    if label:
        ax.text((start[0] + end[0]) / 2 + 0.05, (start[1] + end[1]) / 2, label, fontsize=_FONT - 0.5,
                ha="left", va="center", style="italic")


def _new_figure(width: float, height: float) -> tuple[plt.Figure, plt.Axes]:
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.axis("off")
    return fig, ax


def _targets_at_depth(model: nn.Module, depth: int, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """Modules ``depth`` levels below ``model`` (a leaf above that depth counts as itself);
    ``ModuleList``/``ModuleDict`` containers, which have no forward, are always opened."""
    out: list[tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        full = f"{prefix}{name}"
        opens = isinstance(child, (nn.ModuleList, nn.ModuleDict))
        if list(child.children()) and (depth > 1 or opens):
            out += _targets_at_depth(child, depth - (0 if opens else 1), full + ".")
        else:
            out.append((full, child))
    return out


def draw_network(model: nn.Module, input_size: Sequence[int] | None = None, depth: int = 1,
                 training: bool = False, collapse: bool = True, show_params: bool = True,
                 per_column: int = 9, title: str | None = None) -> plt.Figure:
    """A diagram of ``model`` traced from one forward pass on zeros of ``input_size`` ``(N, C, H, W)``
    (default: the model's ``default_input_size`` with N = 1).

    One box per module ``depth`` levels down (``depth=1``: the model's children, e.g. GoogLeNet's
    ``conv1`` ... ``inception5b``; ``depth=2`` opens ``features``/``classifier`` into layers, as
    for LeNet, AlexNet and VGG), in the order they run, with its type, kernel/stride and channels,
    and its output shape (C×H×W, or features). Activations, normalisation and flatten join the
    box before them, dropout the box after; with ``collapse``, repeated identical boxes (VGG's
    stacks of 3×3 convolutions) become one "n × ..." box. A module whose output feeds nothing that
    follows while its input also feeds a later module (GoogLeNet's auxiliary heads, run with
    ``training=True`` on a copy of the model) is drawn beside the main path. Only modules are
    seen: an operation called as a function in ``forward`` (``F.relu``, ``torch.flatten``, an
    addition) has no box. Returns the Figure.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"draw_network: expected an nn.Module, got {type(model).__name__}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"draw_network: depth must be an integer >= 1, got {depth!r}")
    if input_size is None:
        default = getattr(model, "default_input_size", None)
        if default is None:
            raise ValueError(f"draw_network: {type(model).__name__} has no default_input_size; "
                             "pass input_size=(1, C, H, W)")
        input_size = (1, *default)
    input_size = _check_size(input_size, "draw_network")
    # training=True runs a copy in training mode (auxiliary heads run; BN statistics of the model stay)
    net = copy.deepcopy(model).train() if training else model
    targets = _targets_at_depth(net, depth)
    if not targets:
        raise ValueError(f"draw_network: {type(model).__name__} has no sub-modules to draw")

    # the channels each branch of a multi-branch module (Inception) contributes
    branch_channels: dict[int, list[int]] = {}
    extra_hooks = []
    for _, m in targets:
        for members in _branch_groups(m).values():
            for bname in _branch_outputs(members):
                def hook(module, args, output, parent=id(m)):
                    out = _first_tensor(output)
                    if out is not None and out.dim() > 1:
                        branch_channels.setdefault(parent, []).append(out.shape[1])
                extra_hooks.append((getattr(m, bname), hook))

    with contextlib.nullcontext() if training else evaluating(net):
        calls, _ = _record_calls(net, targets, input_size, "draw_network", extra_hooks)

    boxes = _make_boxes(calls, show_params)
    for box in boxes:
        chans = [branch_channels.get(id(c.module)) for c in box.calls]
        chans = next((c for c in chans if c), None)
        if chans:
            n = sum(len(_branch_outputs(g)) for g in _branch_groups(box.calls[-1].module).values())
            parts = [str(c) for c in chans[:n]]
            rest = box.shape[0] - sum(chans[:n]) if box.shape else 0
            if rest > 0:  # a branch that is a function in forward (torchvision's F.max_pool2d), not a child
                parts.append(f"{rest} (unnamed)")
            box.extra = "concat " + " + ".join(parts)
    if collapse:
        boxes = _collapse_repeats(boxes)
    ran = {id(c.module) for c in calls}
    not_run = [name for name, m in targets if id(m) not in ran]

    # side branches: a box whose input also feeds a later box and whose output feeds nothing later
    side_of: dict[int, int] = {}
    for i, box in enumerate(boxes):
        inp = box.calls[0].inp
        producer = next((j for j in range(i - 1, -1, -1) if _produced_by(inp, boxes[j])), None)
        if producer is None or i == len(boxes) - 1:
            continue
        shared = any(_produced_by(b.calls[0].inp, boxes[producer]) for b in boxes[i + 1:])
        feeds = any(c.inp is not None and _produced_by(c.inp, box) for b in boxes[i + 1:] for c in b.calls[:1])
        if shared and not feeds:
            side_of[i] = producer
    main = [i for i in range(len(boxes)) if i not in side_of]

    # text and sizes
    input_box = _Box(["input"], "", tuple(input_size[1:]), [], "input")
    items = {i: _box_lines(b, show_params) for i, b in enumerate(boxes)}
    items[-1] = ("input", [f"{_shape_str(input_box.shape)}"])
    order = [-1] + main
    n_lines = max(len(lines) for _, lines in items.values()) + 1
    box_h = n_lines * _LINE_H + 2 * _PAD
    main_w = max(_text_width([t, *ls]) for k, (t, ls) in items.items() if k not in side_of)
    side_w = max((_text_width([items[i][0], *items[i][1]]) for i in side_of), default=0.0)
    side_lane = side_w + 0.35 if side_of else 0.0
    ncols = max(1, math.ceil(len(order) / per_column))
    nrows = math.ceil(len(order) / ncols)
    col_w = main_w + side_lane + _GAP_X
    head = 0.6
    height = head + nrows * (box_h + _GAP_Y) + 0.35
    width = ncols * col_w + 0.25
    fig, ax = _new_figure(width, height)
    name = getattr(model, "name", None) or type(model).__name__
    ax.text(width / 2, -0.1, title or f"{name}, input {_shape_str(input_size[1:])}", ha="center", va="top",
            fontsize=_FONT + 2, fontweight="bold")

    pos: dict[int, tuple[float, float]] = {}  # box index -> (x left, y top)
    for k, i in enumerate(order):
        col, row = divmod(k, nrows)
        pos[i] = (0.2 + col * col_w, -head - row * (box_h + _GAP_Y))
    for i in order:
        title_i, lines = items[i]
        kind = "input" if i == -1 else boxes[i].kind
        _draw_box(ax, *pos[i], main_w, box_h, title_i, lines, _COLOURS[kind])
    for a, b in zip(order, order[1:]):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if xa == xb:
            _arrow(ax, (xa + main_w / 2, ya - box_h), (xb + main_w / 2, yb))
        else:  # next column: down, right through the gap, up, into the top of the next column
            x_gap = xa + main_w + side_lane + _GAP_X / 2
            y_low, y_high = ya - box_h - _GAP_Y / 2, yb + _GAP_Y / 2
            ax.plot([xa + main_w / 2, xa + main_w / 2, x_gap, x_gap, xb + main_w / 2],
                    [ya - box_h, y_low, y_low, y_high, y_high], color="#444444", lw=0.9)
            _arrow(ax, (xb + main_w / 2, y_high), (xb + main_w / 2, yb))
    used: set[tuple[float, float]] = set()
    for i, producer in side_of.items():
        x, y = pos[producer]
        y_side = y
        while (x, y_side) in used:
            y_side -= box_h + _GAP_Y
        used.add((x, y_side))
        title_i, lines = items[i]
        _draw_box(ax, x + main_w + 0.3, y_side, side_w, box_h, title_i, lines, _COLOURS["side"], dashed=True)
        _arrow(ax, (x + main_w, y - box_h / 2), (x + main_w + 0.3, y_side - box_h / 2), dashed=True)
    if not_run:
        mode = "training" if training else "eval"
        ax.text(0.2, -height + 0.12, f"not run in {mode} mode: " + ", ".join(not_run)
                + ("" if training else " (draw with training=True to show them)"),
                fontsize=_FONT - 0.5, ha="left", va="bottom", style="italic")
    return fig


def _open(name: str, m: nn.Module) -> list[tuple[str, nn.Module]]:
    """A branch's layers: the children of a plain ``nn.Sequential``, else the branch itself."""
    if type(m) in (nn.Sequential, nn.ModuleList) and len(m):
        return [(f"{name}.{n}", c) for n, c in m.named_children()]
    return [(name, m)]


def draw_block(module: nn.Module, input_size: Sequence[int], branches: Sequence[str] | None = None,
               shortcut: str | None = None, show_params: bool = True, title: str | None = None) -> plt.Figure:
    """A diagram of one multi-branch block traced from a forward pass on zeros of ``input_size``
    ``(N, C, H, W)``: the input, each parallel branch's layers in its own column with their output
    shapes (sibling children ``branch5x5_1, branch5x5_2`` form one branch ``branch5x5``, as in
    torchvision's Inception v3; a last stage ``_2a, _2b`` forks into columns of its own), the merge (concatenation when the branch channels add up to the merged channels, as in
    Inception; a sum when the shapes are equal) and what follows it.

    ``branches`` names the parallel children (default: children named ``branch*``). ``shortcut``
    names a child that runs beside the main path and is added to it (default: a child called
    ``shortcut`` or ``downsample`` if there is one; the identity for a ResNet block whose
    ``downsample`` is None), or is ``"identity"`` for a shortcut without layers; the children that are neither branches nor the shortcut form the main path (ResNet's
    ``conv1, bn1, relu, conv2, bn2``), and the addition is placed where the main path's next input
    is not the previous layer's unchanged output. Returns the Figure.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"draw_block: expected an nn.Module, got {type(module).__name__}")
    input_size = _check_size(input_size, "draw_block")
    children = dict(module.named_children())
    kind_name = type(module).__name__
    groups = _branch_groups(module)
    branches = list(branches) if branches is not None else list(groups)
    members = {b: groups.get(b, [b]) for b in branches}  # a branch is one child or a chain of siblings
    branch_of = {child: b for b, names in members.items() for child in names}
    unknown = [b for b in branches if not all(n in children for n in members[b])]
    if shortcut is None:
        shortcut = next((n for n in ("shortcut", "downsample") if n in children), None)
        if shortcut is None and not branches and "downsample" in vars(module) and module.downsample is None \
                and getattr(module, "residual", True):
            shortcut = "identity"  # a ResNet block whose shape does not change (downsample=None)
    elif shortcut != "identity" and shortcut not in children:
        unknown.append(shortcut)
    if unknown:
        raise ValueError(f"draw_block: {kind_name} has no children named {unknown}; it has {list(children)}")
    if not branches and shortcut is None:
        raise ValueError(f"draw_block: {kind_name} has no parallel branches (children named branch*) and no "
                         f"shortcut/downsample; pass branches=[...] or shortcut=... naming some of {list(children)}")
    if shortcut in branches or shortcut in branch_of:
        raise ValueError(f"draw_block: {shortcut!r} cannot be both a branch and the shortcut")

    group_of: dict[str, str] = {}
    targets: list[tuple[str, nn.Module]] = []
    for name, child in children.items():
        group = branch_of.get(name, name if name == shortcut else "main")
        for full, m in (_open(name, child) if group != "main" else [(name, child)]):
            group_of[full] = group
            targets.append((full, m))
    with evaluating(module):
        calls, output = _record_calls(module, targets, input_size, "draw_block")
    for c in calls:  # a layer whose output feeds one branch only is part of it (Inception v3's pool before branch_pool)
        users = {group_of[d.name] for d in calls if d is not c and c.out is not None and d.inp is c.out}
        if group_of[c.name] == "main" and len(users) == 1 and next(iter(users)) in branches:
            group_of[c.name] = next(iter(users))

    def boxes_of(group: str, which: Sequence[_Call] = calls) -> list[_Box]:
        return _make_boxes([c for c in which if group_of[c.name] == group], show_params)

    columns: dict[str, list[_Box]] = {}
    forks: dict[str, tuple[int, str]] = {}  # a column that starts below row k of another column's layers
    for b in branches:
        outs_b = _branch_outputs(members[b])
        if len(outs_b) < 2:
            columns[b] = boxes_of(b)
            continue
        # the branch forks at its end (Fig. 7's 1×3 and 3×1 side by side): one column per last layer
        own = [c for c in calls if group_of[c.name] == b]
        shared = _make_boxes([c for c in own if c.name.split(".")[0] not in outs_b], show_params)
        for k, out in enumerate(outs_b):
            tail = _make_boxes([c for c in own if c.name.split(".")[0] == out], show_params)
            if k == 0:
                columns[b] = shared + tail
            else:
                columns[out] = tail
                forks[out] = (len(shared), b)
    idle = [b for b, col in columns.items() if not col]
    if idle:
        raise ValueError(f"draw_block: branches {idle} of {kind_name} did not run on this input")
    short_col = boxes_of(shortcut) if shortcut not in (None, "identity") else []
    main_calls = [c for c in calls if group_of[c.name] == "main"]
    post_after, added = None, ()  # the layers after a shortcut that joins below the merge, and the sum's shape
    if branches:
        positions = [i for i, c in enumerate(calls) if group_of[c.name] in branches]
        pre = _make_boxes([c for c in main_calls if calls.index(c) < positions[0]], show_params)
        post_calls = [c for c in main_calls if calls.index(c) > positions[-1]]
        post = _make_boxes(post_calls, show_params)
        merged = _shape(post[0].calls[0].inp) if post else _shape(output)
        if shortcut is not None:  # Inception-ResNet: concatenate, 1×1 conv, *then* add the shortcut
            add_at = next((k for k in range(1, len(post_calls)) if not (
                post_calls[k].inp is post_calls[k - 1].out
                and post_calls[k].in_version == post_calls[k - 1].out_version)), None)
            if add_at is not None:
                post, post_after = (_make_boxes(post_calls[:add_at], show_params),
                                    _make_boxes(post_calls[add_at:], show_params))
                added = _shape(post_calls[add_at].inp)
        outs = [col[-1].shape for col in columns.values()]  # what each column hands to the merge
        if merged and all(len(o) == len(merged) and o[1:] == merged[1:] for o in outs) \
                and sum(o[0] for o in outs) <= merged[0]:
            rest = merged[0] - sum(o[0] for o in outs)  # a branch computed by a function, not a child
            merge_text = "concatenate " + " + ".join([str(o[0]) for o in outs] + ([f"{rest} (unnamed)"] if rest else []))
        elif all(o == merged for o in outs):
            merge_text = "add"
        else:
            merge_text = "merge"
    else:
        # the addition happens where the next input is not the previous output, unchanged
        cut = next((k for k in range(1, len(main_calls))
                    if not (main_calls[k].inp is main_calls[k - 1].out
                            and main_calls[k].in_version == main_calls[k - 1].out_version)), len(main_calls))
        columns = {"main path": _make_boxes(main_calls[:cut], show_params)}
        pre, post = [], _make_boxes(main_calls[cut:], show_params)
        merged = _shape(main_calls[cut].inp) if cut < len(main_calls) else _shape(output)
        merge_text = "add"
    if shortcut is not None and branches and post_after is None:
        merge_text += " (+ shortcut)"

    # layout: input, pre, columns side by side (shortcut last), merge, post, output
    cols = list(columns.items()) + ([(f"shortcut: {shortcut}", short_col)] if shortcut is not None else [])
    all_boxes = pre + post + [b for _, col in cols for b in col]
    items = {id(b): _box_lines(b, show_params) for b in all_boxes}
    n_lines = max([len(ls) for _, ls in items.values()] + [2]) + 1
    box_h = n_lines * _LINE_H + 2 * _PAD
    merge_lines = [merge_text, f"→ {_shape_str(merged)}"]
    w = max([_text_width([t, *ls]) for t, ls in items.values()]
            + [_text_width(merge_lines), _text_width([c for c, _ in cols])] + [1.4])
    step_y = box_h + _GAP_Y
    head = 0.6
    depth = max(forks.get(name, (0,))[0] + len(col) for name, col in cols) or 1
    rows = 1 + len(pre) + 0.35 + depth + 1 + len(post) + 1  # input, pre, column titles, columns, merge, post, output
    if post_after is not None:
        rows += 1 + len(post_after)
        for b in post_after:
            items[id(b)] = _box_lines(b, show_params)
    width = len(cols) * (w + _GAP_X) + 0.2
    height = head + rows * step_y + 0.2
    fig, ax = _new_figure(width, height)
    ax.text(width / 2, -0.1, title or f"{kind_name}, input {_shape_str(input_size[1:])}", ha="center",
            va="top", fontsize=_FONT + 2, fontweight="bold")
    xs = [0.1 + _GAP_X / 2 + k * (w + _GAP_X) for k in range(len(cols))]
    n_par = len(cols) - (1 if shortcut is not None else 0)
    x_mid = (xs[0] + xs[n_par - 1]) / 2
    y = -head

    def centre_box(title_: str, lines: list[str], colour: str) -> tuple[float, float]:
        nonlocal y
        _draw_box(ax, x_mid, y, w, box_h, title_, lines, colour)
        top = y
        y -= step_y
        return top, top - box_h

    in_top, in_bottom = centre_box("input", [_shape_str(input_size[1:])], _COLOURS["input"])
    last_bottom = in_bottom
    for b in pre:
        top, bottom = centre_box(*items[id(b)], _COLOURS[b.kind])
        _arrow(ax, (x_mid + w / 2, last_bottom), (x_mid + w / 2, top))
        last_bottom = bottom
    split_y = last_bottom
    y_cols = y - 0.35 * step_y
    merge_top = y_cols - depth * step_y
    x_of = {name: x for (name, _), x in zip(cols, xs)}
    for k, ((cname, col), x) in enumerate(zip(cols, xs)):
        is_short = shortcut is not None and k == len(cols) - 1
        row, source = forks.get(cname, (0, None))
        yc, prev = y_cols - row * step_y, None
        ax.text(x + 0.04, yc + 0.04, cname, ha="left", va="bottom", fontsize=_FONT, style="italic")
        for b in col:
            _draw_box(ax, x, yc, w, box_h, *items[id(b)], _COLOURS["side" if is_short else b.kind], dashed=is_short)
            if prev is not None:
                start = (x + w / 2, prev)
            elif source is not None:  # a fork: from the last shared layer in the column it splits from
                start = (x_of[source] + w / 2, y_cols - (row - 1) * step_y - box_h)
            else:
                start = (x_mid + w / 2, split_y)
            _arrow(ax, start, (x + w / 2, yc), dashed=is_short)
            prev = yc - box_h
            yc -= step_y
        if is_short and post_after is not None:
            short_end = (x, prev)  # joins the sum drawn below the merge
        elif prev is None:  # an identity shortcut: out of the input's side, down, into the merge's side
            y0, y1 = in_top - box_h / 2, merge_top - box_h / 2
            ax.plot([x_mid + w, x + w / 2, x + w / 2], [y0, y0, y1], color="#444444", lw=0.9, linestyle="--")
            ax.text(x + w / 2 + 0.05, (y0 + y1) / 2, "identity", fontsize=_FONT, style="italic")
            _arrow(ax, (x + w / 2, y1), (x_mid + w, y1), dashed=True)
        else:  # down to the level of the longest column's end, then into the merge
            low = merge_top + _GAP_Y
            ax.plot([x + w / 2, x + w / 2], [prev, low], color="#444444", lw=0.9, linestyle="--" if is_short else "-")
            _arrow(ax, (x + w / 2, low), (x_mid + w / 2, merge_top), dashed=is_short)
    y = merge_top
    _, last_bottom = centre_box("", merge_lines, _COLOURS["merge"])
    for b in post:
        top, bottom = centre_box(*items[id(b)], _COLOURS[b.kind])
        _arrow(ax, (x_mid + w / 2, last_bottom), (x_mid + w / 2, top))
        last_bottom = bottom
    if post_after is not None:
        scale = getattr(module, "scale", None)  # Inception-ResNet scales the residual before the sum
        text = f"add shortcut + {scale:g} × residual" if isinstance(scale, (int, float)) else "add shortcut"
        top, bottom = centre_box("", [text, f"→ {_shape_str(added)}"], _COLOURS["merge"])
        _arrow(ax, (x_mid + w / 2, last_bottom), (x_mid + w / 2, top))
        sx, s_prev = short_end
        start_y = in_top - box_h / 2 if s_prev is None else s_prev
        if s_prev is None:
            ax.plot([x_mid + w, sx + w / 2], [start_y, start_y], color="#444444", lw=0.9, linestyle="--")
            ax.text(sx + w / 2 + 0.05, (start_y + top) / 2, "identity", fontsize=_FONT, style="italic")
        ax.plot([sx + w / 2, sx + w / 2], [start_y, top - box_h / 2], color="#444444", lw=0.9, linestyle="--")
        _arrow(ax, (sx + w / 2, top - box_h / 2), (x_mid + w, top - box_h / 2), dashed=True)
        last_bottom = bottom
        for b in post_after:
            top, bottom = centre_box(*items[id(b)], _COLOURS[b.kind])
            _arrow(ax, (x_mid + w / 2, last_bottom), (x_mid + w / 2, top))
            last_bottom = bottom
    top, _ = centre_box("output", [_shape_str(_shape(output))], _COLOURS["input"])
    _arrow(ax, (x_mid + w / 2, last_bottom), (x_mid + w / 2, top))
    return fig
