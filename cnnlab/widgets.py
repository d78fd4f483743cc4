"""Drawings and interactive explorers for convolution and receptive-field arithmetic (lecture 01).

- ``draw_convolution`` draws one output position of a convolution: the padded input grid, the
  kernel's taps (spaced ``dilation`` apart) and the output grid with the current cell.
- ``draw_receptive_field`` draws the receptive field of one feature of a layer stack over an image,
  next to a chart of the field size r and jump j per layer; ``receptive_field_table`` gives the
  same numbers as text.
- ``conv_explorer`` and ``receptive_field_explorer`` wrap them in ipywidgets sliders inside a
  Jupyter kernel, and fall back to one plain call (draw once, print the numbers) anywhere else.
  Their display data carries a static copy of the drawing next to the widget view, for saved
  notebooks and viewers without widgets (``_explorer_class`` says where each one shows).

Every number shown comes from ``cnnlab.analysis`` (``conv_output_size``, ``conv_params``,
``conv_macs``, ``receptive_field``), which follows the recurrences of V. Dumoulin, F. Visin, "A guide
to convolution arithmetic for deep learning" (2016) and D. H. T. Hien, "A guide to receptive field
arithmetic for CNNs" (2017):
https://medium.com/mlreview/a-guide-to-receptive-field-arithmetic-for-convolutional-neural-networks-e0f514068807

Coordinates in the drawings are input pixels: pixel ``i`` covers ``[i, i + 1)``, so a field
centred at ``start = 0.5`` is centred on the first pixel, as in Hien's article.
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._utils import in_notebook
from .analysis import RFLayer, conv_macs, conv_output_size, conv_params, receptive_field

if TYPE_CHECKING:  # matplotlib and ipywidgets are imported lazily: importing cnnlab stays cheap
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from torch import nn

__all__ = [
    "ConvSummary", "draw_convolution", "conv_explorer",
    "RF_PRESETS", "parse_layers", "format_layers",
    "receptive_field_table", "draw_receptive_field", "receptive_field_explorer",
]

# Colours shared by the drawings (colour-blind safe: blue taps, orange output, grey padding).
_PAD = "#d4d4d4"
_TAP = "#1f77b4"
_OUT = "#ff7f0e"
_GRID = "#9a9a9a"
_ERROR = "#b00020"


# --- mode detection -------------------------------------------------------------------------------

def _in_kernel() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed: the only place sliders can work."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return in_notebook()


def _use_plain(plain: bool | None) -> bool:
    if plain is None:
        return not _in_kernel()
    if not plain:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            raise ImportError("the interactive explorer needs ipywidgets: pip install 'cnnlab[course]', "
                              "or call it with plain=True") from None
    return bool(plain)


def _show_in(output, fig: Figure) -> str:
    """Replace what an ``ipywidgets.Output`` shows with ``fig`` as a PNG; returns the PNG (base64).

    The PNG is made here rather than by ``display(fig)``, which gives a PNG only where pyplot's
    inline backend has registered its formatter (not in a kernel that never imported pyplot); an
    unmanaged Figure, not pyplot's, so the inline backend does not show it again at the end of the
    cell."""
    import base64

    from IPython.display import Image, display

    png = _png_base64(fig)
    output.clear_output(wait=True)
    with output:
        display(Image(data=base64.b64decode(png), format="png"))
    return png


def _error_html(message: str) -> str:
    return f'<span style="color:{_ERROR}"><b>⚠</b> {html.escape(message)}</span>'


# --- display: a widget that leaves a drawing behind -----------------------------------------------

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@functools.cache
def _explorer_class() -> type:
    """The class of the explorers' boxes, made on first use (ipywidgets is imported lazily)."""
    import ipywidgets as w

    class Explorer(w.VBox):
        """An ``ipywidgets.VBox`` whose display data holds, next to the widget view, a static copy
        of what it shows: the drawing as ``image/png`` and its numbers as ``text/plain``.

        Why both. A saved notebook keeps the widget *view* (a model id), not the widget: once the
        kernel is gone, the view needs the model's state stored in the notebook. JupyterLab's
        widget renderer does not fall back to the other MIME types of an output; when the model is
        missing it writes "Error displaying widget: model not found". So

        * the course's JupyterLab saves widget state with the notebook (``saveState`` in
          ``jupyter-config/``), as nbclient and nbconvert ``--execute`` (hence nbgrader) do when
          they execute one: a saved lecture shows the explorer's last drawing, without a kernel;
        * every viewer that does not render the widget — GitHub, nbconvert and nbgrader exports,
          a notebook JupyterLab does not trust (it then prefers the safe MIME types), a console —
          shows the static copy: the drawing and numbers as they were when the cell ran.

        The copy is made once, when the box is displayed; moving a slider redraws the widget only.
        """

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            return _explorer_bundle(self)

    if hasattr(w.VBox, "_ipython_display_"):  # ipywidgets 7 (Colab) displays through this hook
        def _ipython_display_(self, **kwargs):
            from IPython.display import display

            display(_explorer_bundle(self), raw=True)

        Explorer._ipython_display_ = _ipython_display_
    return Explorer


def _png_base64(fig: Figure) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plain_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def _explorer_bundle(box) -> dict[str, Any]:
    """Display data of an explorer: the widget view, its current drawing as PNG (when there is one)
    and its numbers as text. ``box.static()`` gives (PNG as base64 or None, text)."""
    png, text = box.static()
    data: dict[str, Any] = {"text/plain": text}
    if png is not None:
        data["image/png"] = png
    data[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": box.model_id}
    return data


# --- convolution ----------------------------------------------------------------------------------

@dataclass
class ConvSummary:
    """Numbers of one convolution setting: an ``output_size × output_size × out_channels`` output,
    ``params`` weights and biases, ``macs`` multiply–accumulates for one image.
    ``str()`` gives the line the explorer shows."""
    output_size: int
    out_channels: int
    params: int
    macs: int
    figure: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        n = self.output_size
        return f"output {n}×{n}×{self.out_channels} · params {self.params:,} · MACs {self.macs:,}"


def _conv_summary(size: int, kernel_size: int, stride: int, padding: int, dilation: int,
                  in_channels: int, out_channels: int) -> ConvSummary:
    """All numbers from ``cnnlab.analysis``; raises its ``ValueError`` for an empty output."""
    n = conv_output_size(size, kernel_size, stride, padding, dilation)
    return ConvSummary(n, out_channels, conv_params(in_channels, out_channels, kernel_size),
                       conv_macs(in_channels, out_channels, kernel_size, n))


def _conv_layout(size: int, padding: int, n_out: int) -> tuple[int, float, float]:
    """(padded width, x offset and y offset of the output grid) in cell units."""
    padded = size + 2 * padding
    gap = max(2.0, 0.25 * padded)  # room for the arrow between the grids
    return padded, padded + gap, (padded - n_out) / 2


def _conv_figsize(size: int, padding: int, n_out: int) -> tuple[float, float]:
    padded, ox, _ = _conv_layout(size, padding, n_out)
    width = ox + n_out + 1.5
    return (min(12.0, max(6.0, 0.5 * width)), min(6.5, max(3.8, 0.5 * padded + 1.6)))


def _grid_lines(ax: Axes, x0: float, y0: float, n: int, color: str = _GRID) -> None:
    """Cell borders of an n×n grid at (x0, y0); only the outline for big grids, where cells would smear."""
    if n > 48:
        ax.hlines([y0, y0 + n], x0, x0 + n, colors=color, linewidth=0.8, zorder=2)
        ax.vlines([x0, x0 + n], y0, y0 + n, colors=color, linewidth=0.8, zorder=2)
        return
    ticks = np.arange(n + 1)
    ax.vlines(x0 + ticks, y0, y0 + n, colors=color, linewidth=0.6, zorder=2)
    ax.hlines(y0 + ticks, x0, x0 + n, colors=color, linewidth=0.6, zorder=2)


def _channel_sheets(ax: Axes, x0: float, y0: float, n: int, channels: int, gid: str) -> None:
    """Up to three sheets peeking out behind a grid: a hint that it has several channels."""
    from matplotlib.patches import Rectangle

    shift = max(0.3, 0.04 * n)
    for c in range(min(channels, 4) - 1, 0, -1):
        ax.add_patch(Rectangle((x0 + c * shift, y0 - c * shift), n, n, facecolor="white",
                               edgecolor=_GRID, linewidth=0.8, zorder=0, gid=gid))


def draw_convolution(size: int = 7, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                     dilation: int = 1, in_channels: int = 1, out_channels: int = 1,
                     position: tuple[int, int] = (0, 0), ax: Axes | None = None) -> Figure:
    """Draw a 2-D convolution of a square ``size × size × in_channels`` input at one output position.

    Left: the padded input grid (padding cells grey), with the ``kernel_size²`` taps that produce
    output ``position = (row, col)`` in blue — ``dilation`` cells apart — and the window they span
    dashed. Right: the ``n × n`` output grid with that cell in orange. The title gives the output
    shape, parameters and MACs from ``cnnlab.analysis``.

    Patches carry a ``gid`` so that code can find them: ``"tap"`` (k² of them), ``"window"``,
    ``"output-cell"``, ``"input-channel"``/``"output-channel"`` (the sheets hinting at channels).
    Raises ``ValueError`` when the output is empty (from ``conv_output_size``) or ``position`` is
    outside it. Returns the Figure (``ax.figure`` when ``ax`` is given).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    numbers = _conv_summary(size, kernel_size, stride, padding, dilation, in_channels, out_channels)
    n_out = numbers.output_size
    row, col = (int(v) for v in position)
    if not (0 <= row < n_out and 0 <= col < n_out):
        raise ValueError(f"draw_convolution: position {(row, col)} is outside the {n_out}×{n_out} output "
                         f"(rows and columns run 0 … {n_out - 1})")
    padded, ox, oy = _conv_layout(size, padding, n_out)

    if ax is None:
        fig, ax = plt.subplots(figsize=_conv_figsize(size, padding, n_out))
    else:
        fig = ax.figure

    # input: an image of the padded grid, 1 where a cell is padding (zeros the kernel reads)
    is_pad = np.ones((padded, padded))
    is_pad[padding:padding + size, padding:padding + size] = 0
    _channel_sheets(ax, 0, 0, padded, in_channels, "input-channel")
    ax.imshow(is_pad, cmap=ListedColormap(["white", _PAD]), vmin=0, vmax=1, extent=(0, padded, padded, 0),
              interpolation="nearest", zorder=1, gid="input-grid")
    _grid_lines(ax, 0, 0, padded)
    if padding and padded <= 16:  # small grids: say what padding holds
        for r, c in zip(*np.nonzero(is_pad)):
            ax.text(c + 0.5, r + 0.5, "0", ha="center", va="center", fontsize=7, color="#707070", zorder=3)

    # taps of the kernel at this output position: tap (a, b) reads padded cell (row·s + a·d, col·s + b·d)
    top, left = row * stride, col * stride
    edge = 1.2 if padded <= 48 else 0.3  # thick tap borders would blot out taps on a big grid
    for a in range(kernel_size):
        for b in range(kernel_size):
            ax.add_patch(Rectangle((left + b * dilation, top + a * dilation), 1, 1, facecolor=_TAP, alpha=0.55,
                                   edgecolor=_TAP, linewidth=edge, zorder=4, gid="tap"))
    span = dilation * (kernel_size - 1) + 1  # the window the dilated taps spread over
    ax.add_patch(Rectangle((left, top), span, span, fill=False, edgecolor=_TAP, linestyle="--",
                           linewidth=1.5, zorder=5, gid="window"))

    # output grid, with the current cell
    _channel_sheets(ax, ox, oy, n_out, out_channels, "output-channel")
    ax.add_patch(Rectangle((ox, oy), n_out, n_out, facecolor="white", edgecolor="none", zorder=1))
    _grid_lines(ax, ox, oy, n_out)
    ax.add_patch(Rectangle((ox + col, oy + row), 1, 1, facecolor=_OUT, edgecolor="#b35500", linewidth=1.2,
                           zorder=4, gid="output-cell"))
    ax.annotate("", xy=(ox + col + 0.5, oy + row + 0.5), xytext=(left + span / 2, top + span / 2),
                arrowprops=dict(arrowstyle="->", color="#444444", linewidth=1.2, shrinkA=4, shrinkB=4,
                                connectionstyle="arc3,rad=-0.15"), zorder=6)

    # labels under the grids (y grows downwards: row 0 at the top, as in an image)
    label_y = max(padded, oy + n_out) + 0.4 + 0.02 * padded
    pad_note = f", padding {padding}" if padding else ""
    ax.text(padded / 2, label_y, f"input {size}×{size}×{in_channels}{pad_note}", ha="center", va="top", fontsize=9)
    ax.text(ox + n_out / 2, label_y, f"output {n_out}×{n_out}×{out_channels}\ncell {(row, col)}",
            ha="center", va="top", fontsize=9)
    ax.set_title(f"{numbers}\nkernel {kernel_size}×{kernel_size}, stride {stride}, padding {padding}, "
                 f"dilation {dilation}", fontsize=10)

    shift = max(0.3, 0.04 * max(padded, n_out)) * (min(max(in_channels, out_channels), 4) - 1)
    ax.set_xlim(-0.5, ox + n_out + shift + 0.5)
    ax.set_ylim(label_y + 0.08 * padded + 1.0, -0.5 - shift)  # inverted: row 0 on top
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def conv_explorer(size: int = 7, kernel_size: int = 3, stride: int = 1, padding: int = 0, dilation: int = 1,
                  in_channels: int = 3, out_channels: int = 8, plain: bool | None = None):
    """Explore a convolution's output size, parameters and MACs with sliders.

    In a Jupyter kernel with ipywidgets (or ``plain=False``): returns an ``ipywidgets.VBox`` of
    sliders for the input size, kernel, stride, padding, dilation and channels, plus output
    row/column sliders whose range follows the output size; every change redraws
    ``draw_convolution`` and the line "output 5×5×8 · params 224 · MACs 5,400". A setting with an
    empty output shows the error there instead. The box carries ``.sliders`` (name → slider),
    ``.status`` (the HTML line) and ``.result`` (the latest ``ConvSummary``, or None on error).
    Displayed, it also leaves a static copy of the drawing for a saved notebook (see ``_explorer_class``).

    Anywhere else (or ``plain=True``): draws the figure once, prints the line and returns a
    ``ConvSummary`` (``output_size``, ``out_channels``, ``params``, ``macs``, ``figure``); an empty
    output raises the ``ValueError`` of ``cnnlab.analysis``.
    """
    if _use_plain(plain):
        fig = draw_convolution(size, kernel_size, stride, padding, dilation, in_channels, out_channels)
        result = _conv_summary(size, kernel_size, stride, padding, dilation, in_channels, out_channels)
        result.figure = fig
        print(result)
        return result
    return _conv_widget(size, kernel_size, stride, padding, dilation, in_channels, out_channels)


def _conv_widget(size: int, kernel_size: int, stride: int, padding: int, dilation: int,
                 in_channels: int, out_channels: int):
    import ipywidgets as w
    from matplotlib.figure import Figure

    def slider(label: str, value: int, low: int, high: int) -> w.IntSlider:
        return w.IntSlider(value=value, min=low, max=max(high, value), description=label,
                           continuous_update=False, style={"description_width": "initial"})

    sliders = {
        "size": slider("input size", size, 1, 32),
        "kernel_size": slider("kernel", kernel_size, 1, 11),
        "stride": slider("stride", stride, 1, 5),
        "padding": slider("padding", padding, 0, 5),
        "dilation": slider("dilation", dilation, 1, 4),
        "in_channels": slider("in channels", in_channels, 1, 64),
        "out_channels": slider("out channels", out_channels, 1, 64),
        "row": slider("output row", 0, 0, 0),
        "col": slider("output col", 0, 0, 0),
    }
    status = w.HTML()
    plot = w.Output()
    box = _explorer_class()([
        w.HBox([w.VBox([sliders[k] for k in ("size", "kernel_size", "stride", "padding", "dilation")]),
                w.VBox([sliders[k] for k in ("in_channels", "out_channels", "row", "col")])]),
        status, plot,
    ])
    box.sliders, box.status, box.result = sliders, status, None
    box.png = None  # the drawing shown, as a PNG (base64)
    box.static = lambda: (box.png, _plain_text(status.value))
    busy = False  # moving the row/col ranges fires their observers: redraw once, not three times

    def update(_change=None) -> None:
        nonlocal busy
        if busy:
            return
        busy = True
        try:
            geometry = {k: sliders[k].value for k in ("size", "kernel_size", "stride", "padding", "dilation",
                                                      "in_channels", "out_channels")}
            try:
                numbers = _conv_summary(**geometry)
            except ValueError as err:
                box.result = None
                status.value = _error_html(str(err))
                sliders["row"].disabled = sliders["col"].disabled = True
                plot.clear_output()
                box.png = None
                return
            for k in ("row", "col"):  # positions follow the output size (max clamps the value)
                sliders[k].max = numbers.output_size - 1
                sliders[k].disabled = False
            fig = Figure(figsize=_conv_figsize(geometry["size"], geometry["padding"], numbers.output_size))
            draw_convolution(**geometry, position=(sliders["row"].value, sliders["col"].value),
                             ax=fig.add_subplot())
            numbers.figure = fig
            box.result = numbers
            status.value = f"<b>{html.escape(str(numbers))}</b>"
            box.png = _show_in(plot, fig)
        finally:
            busy = False

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    return box


# --- receptive fields -----------------------------------------------------------------------------

# name -> (layers as "k,s,p[,d]" text, input size); text, so that the explorer's Text box shows it
RF_PRESETS: dict[str, tuple[str, int]] = {
    "two 3×3 s2 (5×5 input)": ("3,2,1; 3,2,1", 5),
    "three 3×3 (VGG)": ("3,1,1; 3,1,1; 3,1,1", 32),
    "AlexNet conv1-pool1": ("11,4,0; 3,2,0", 227),
    "LeNet-5": ("5,1,0; 2,2,0; 5,1,0; 2,2,0", 32),
    "dilated 3×3 d2 (7×7 input)": ("3,1,0,2", 7),
}


def parse_layers(text: str) -> list[tuple[int, ...]]:
    """Parse ``"3,1,1; 3,2,1; 3,1,0,2"`` — layers separated by ``;`` or new lines, each
    ``kernel, stride, padding[, dilation]`` — into tuples for ``analysis.receptive_field``.
    Raises ``ValueError`` naming the layer it cannot read."""
    chunks = [c.strip() for c in re.split(r"[;\n]", text)]
    chunks = [c for c in chunks if c]
    if not chunks:
        raise ValueError("no layers: write one 'kernel,stride,padding[,dilation]' per layer, "
                         "separated by ';', e.g. '3,1,1; 3,2,1'")
    layers = []
    for i, chunk in enumerate(chunks, start=1):
        parts = [p for p in re.split(r"[,\s]+", chunk.strip("()[] ")) if p]
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            values = ()
        if len(values) not in (3, 4):
            raise ValueError(f"layer {i} '{chunk}': expected 3 or 4 whole numbers "
                             f"'kernel,stride,padding[,dilation]', e.g. '3,2,1'")
        k, s, p, d = (*values, 1)[:4]
        if k < 1 or s < 1 or p < 0 or d < 1:
            raise ValueError(f"layer {i} '{chunk}': need kernel >= 1, stride >= 1, padding >= 0, dilation >= 1")
        layers.append(values)
    return layers


def _layer_specs(layers) -> list[tuple[int, ...]] | nn.Module:
    """What ``receptive_field`` accepts, from text, tuples or a module."""
    if isinstance(layers, str):
        return parse_layers(layers)
    return layers


def format_layers(layers) -> str:
    """The inverse of ``parse_layers``: ``[(3, 1, 1), (3, 2, 1)]`` -> ``"3,1,1; 3,2,1"``; a module
    is read as ``analysis.receptive_field`` reads it (its convolutions and poolings, in order)."""
    from torch import nn

    from .analysis import _rf_spec  # one reading of modules, shared with receptive_field

    if isinstance(layers, str):
        layers = parse_layers(layers)
    if isinstance(layers, nn.Module):
        layers = [spec[1:] for m in layers.modules() if (spec := _rf_spec(m)) is not None]
    out = []
    for layer in layers:
        k, s, p, *d = layer
        out.append(",".join(map(str, (k, s, p) if not d or d[0] == 1 else (k, s, p, d[0]))))
    return "; ".join(out)


def receptive_field_table(layers, input_size: int) -> str:
    """Text table of ``analysis.receptive_field``: per layer the number of features n, jump j, field
    size r and the centre of the first field (start), all in input pixels. ``layers`` as
    ``receptive_field`` takes them, or text for ``parse_layers``."""
    return _format_rows(receptive_field(_layer_specs(layers), input_size))


def _format_rows(rows: Sequence[RFLayer], highlight: int | None = None) -> str:
    name_w = max(len("layer"), *(len(r.name) for r in rows))
    head = f"  {'layer':<{name_w}} {'n':>6} {'j':>6} {'r':>6} {'start':>8}"
    lines = [head, "  " + "-" * (len(head) - 2)]
    for i, r in enumerate(rows):
        mark = "▸ " if i == highlight else "  "
        lines.append(f"{mark}{r.name:<{name_w}} {r.n:>6} {r.jump:>6} {r.size:>6} {r.start:>8g}")
    return "\n".join(lines)


def _digit_8x8(index: int = 3) -> np.ndarray:
    """One of scikit-learn's embedded 8×8 digits (values 0…16). Reads the few lines needed from the
    file sklearn ships, because importing ``sklearn.datasets`` takes seconds; ``load_digits`` if
    that file has moved."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        try:
            with gzip.open(path, "rt") as f:
                for i, line in enumerate(f):
                    if i == index:
                        return np.array(line.split(",")[:64], dtype=float).reshape(8, 8)
        except (OSError, ValueError):
            pass
    from sklearn.datasets import load_digits

    return load_digits().images[index]


@functools.lru_cache(maxsize=8)
def _digit(size: int) -> np.ndarray:
    """A handwritten 3 from scikit-learn's embedded 8×8 digits, resized to size×size (bilinear)."""
    import torch
    import torch.nn.functional as F

    img = torch.tensor(_digit_8x8(3), dtype=torch.float32)[None, None] / 16
    return F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()


def _as_image(image) -> np.ndarray:
    """(H, W), (H, W, C) or (C, H, W) array or tensor -> something ``imshow`` takes."""
    arr = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=float)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)  # CHW (PyTorch) -> HWC (matplotlib)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"draw_receptive_field: image must be 2-D or 3-D, got shape {arr.shape}")
    if arr.ndim == 3:  # imshow wants RGB floats in [0, 1]
        lo, hi = arr.min(), arr.max()
        arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    return arr


def _rf_chart(ax: Axes, rows: Sequence[RFLayer], layer: int) -> None:
    """Bars of the field size r per layer (the shown one in orange) and a step line of the jump j."""
    x = np.arange(len(rows))
    r = np.array([row.size for row in rows])
    j = np.array([row.jump for row in rows])
    colors = [_OUT if i == layer else _TAP for i in x]
    bars = ax.bar(x, r, color=colors, alpha=0.8, label="field size r", gid="r-bar")
    ax.bar_label(bars, labels=[str(v) for v in r], fontsize=8, padding=2)
    ax.step(x, j, where="mid", color="#2ca02c", linewidth=2, label="jump j", zorder=3)
    ax.plot(x, j, "o", color="#2ca02c", markersize=4, zorder=3)
    ax.set_xticks(x, [row.name for row in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("input pixels")
    ax.set_ylim(0, r.max() * 1.15 + 1)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title("field size r and jump j per layer", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)


def draw_receptive_field(layers, input_size: int, ax: Axes | Sequence[Axes] | None = None,
                         image=None, layer: int | None = None,
                         feature: tuple[int, int] | None = None) -> Figure:
    """Draw the receptive field of one feature of a layer stack over an ``input_size²`` image.

    ``layers`` as ``analysis.receptive_field`` takes them (``(k, s, p[, d])`` tuples or a module), or
    text for ``parse_layers``. ``layer`` picks a row of ``receptive_field`` (0 = the input, default
    the last layer); ``feature = (row, col)`` picks a feature of it (default the centre one). The
    field — ``r × r`` pixels centred at ``start + index · j`` — is the rectangle with gid
    ``"receptive-field"``; dots mark the centres of the layer's features, ``j`` apart (for up to
    32×32 features). Where the field leaves the image it covers padding (hatched). ``image``: a 2-D
    or 3-D array (HWC or CHW) stretched over the ``input_size`` pixels; default a handwritten digit
    from scikit-learn resized to input_size.

    ``ax``: None (a new figure with the image and a chart of r and j per layer), two Axes (image,
    chart), or one Axes (the image only). Returns the Figure. Raises ``ValueError`` from
    ``receptive_field`` for unreadable layers or an empty output.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows = receptive_field(_layer_specs(layers), input_size)
    layer = len(rows) - 1 if layer is None else int(layer)
    if not 0 <= layer < len(rows):
        raise ValueError(f"draw_receptive_field: layer {layer} is not one of 0 (input) … {len(rows) - 1}")
    row = rows[layer]
    fr, fc = ((row.n - 1) // 2,) * 2 if feature is None else (int(v) for v in feature)
    if not (0 <= fr < row.n and 0 <= fc < row.n):
        raise ValueError(f"draw_receptive_field: feature {(fr, fc)} is outside the {row.n}×{row.n} features "
                         f"of layer {layer}")

    if ax is None:
        fig, (ax_img, ax_chart) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1, 1.1]})
    elif isinstance(ax, (list, tuple, np.ndarray)):
        ax_img, ax_chart = ax
        fig = ax_img.figure
    else:
        ax_img, ax_chart, fig = ax, None, ax.figure

    img = _digit(input_size) if image is None else _as_image(image)
    ax_img.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=(0, input_size, input_size, 0),
                  interpolation="nearest", zorder=0)
    # feature centres of this layer: start + i·j along each axis
    centres = row.start + row.jump * np.arange(row.n)
    if row.n <= 32:  # more dots would only be texture
        cx, cy = np.meshgrid(centres, centres)
        ax_img.scatter(cx.ravel(), cy.ravel(), s=float(np.clip(900 / row.n ** 2, 4, 30)), color="#39d353",
                       edgecolors="black", linewidths=0.4, zorder=2)
    x_c, y_c = centres[fc], centres[fr]
    x0, y0 = x_c - row.size / 2, y_c - row.size / 2
    ax_img.add_patch(Rectangle((x0, y0), row.size, row.size, fill=True, facecolor=_OUT, alpha=0.25,
                               edgecolor="none", zorder=3, gid="receptive-field-fill"))
    ax_img.add_patch(Rectangle((x0, y0), row.size, row.size, fill=False, edgecolor=_OUT, linewidth=2.2,
                               zorder=4, gid="receptive-field"))
    ax_img.plot([x_c], [y_c], marker="+", color=_OUT, markersize=12, markeredgewidth=2, zorder=5)
    # the image's border, visible where the field reaches into the padding
    ax_img.add_patch(Rectangle((0, 0), input_size, input_size, fill=False, edgecolor="#555555",
                               linewidth=1, linestyle=":", zorder=1, gid="input-border"))
    lo, hi = min(0.0, x0, y0), max(float(input_size), x0 + row.size, y0 + row.size)
    margin = 0.03 * (hi - lo)
    # outside the image is padding: hatch it, so a field that reaches there shows it
    ax_img.add_patch(Rectangle((lo - margin, lo - margin), hi - lo + 2 * margin, hi - lo + 2 * margin,
                               facecolor="#f2f2f2", edgecolor=_PAD, hatch="//", linewidth=0, zorder=-1,
                               gid="padding-area"))
    ax_img.set_xlim(lo - margin, hi + margin)
    ax_img.set_ylim(hi + margin, lo - margin)  # y down, as in an image
    ax_img.set_aspect("equal")
    ax_img.set_title(f"{row.name}: feature {(fr, fc)} of {row.n}×{row.n}\n"
                     f"r = {row.size}, j = {row.jump}, centre ({x_c:g}, {y_c:g}), start = {row.start:g}",
                     fontsize=10)
    ax_img.set_xlabel("input pixels")

    if ax_chart is not None:
        _rf_chart(ax_chart, rows, layer)
    if ax is None:
        fig.tight_layout()
    return fig


def receptive_field_explorer(layers=None, input_size: int = 32, plain: bool | None = None):
    """Explore receptive-field arithmetic over a layer stack.

    ``layers``: text such as ``"3,1,1; 3,2,1"`` (kernel, stride, padding[, dilation] per layer),
    ``(k, s, p[, d])`` tuples or a module; None starts from the first of ``RF_PRESETS`` (two 3×3
    stride-2 layers with padding 1 on a 5×5 input, the example of Hien's article) with its input size.

    In a Jupyter kernel with ipywidgets (or ``plain=False``): returns an ``ipywidgets.VBox`` with a
    preset dropdown, a Text box for the layers, an input-size slider and a slider for the layer to
    show; it shows the table and ``draw_receptive_field``, or a readable error for text it cannot read
    or layers whose output is empty. The box carries ``.controls`` (name → widget), ``.status``
    (the HTML line), ``.table`` (HTML), ``.rows`` and ``.figure`` (the latest, or None on error).
    Displayed, it also leaves a static copy of the drawing for a saved notebook (see ``_explorer_class``).

    Anywhere else (or ``plain=True``): prints the table, draws once and returns the rows of
    ``analysis.receptive_field`` (a list of ``RFLayer``, first the input).
    """
    if layers is None:
        layers, input_size = next(iter(RF_PRESETS.values()))
    if _use_plain(plain):
        rows = receptive_field(_layer_specs(layers), input_size)
        print(_format_rows(rows))
        draw_receptive_field(layers, input_size)
        return rows
    return _rf_widget(layers if isinstance(layers, str) else format_layers(layers), input_size)


def _rf_widget(text: str, input_size: int):
    import ipywidgets as w
    from matplotlib.figure import Figure

    custom = "(custom)"
    preset = next((name for name, (t, n) in RF_PRESETS.items() if t == text and n == input_size), custom)
    controls = {
        "preset": w.Dropdown(options=[custom, *RF_PRESETS], value=preset, description="preset"),
        "layers": w.Text(value=text, description="layers", continuous_update=False,
                         placeholder="k,s,p[,d]; k,s,p[,d]; …", layout=w.Layout(width="480px")),
        "input_size": w.IntSlider(value=input_size, min=1, max=max(256, input_size), description="input size",
                                  continuous_update=False),
        "layer": w.IntSlider(value=1, min=0, max=1, description="show layer", continuous_update=False),
    }
    help_line = w.HTML("<small>one <code>kernel,stride,padding[,dilation]</code> per layer, separated by "
                       "<code>;</code> — layer 0 is the input</small>")
    status, table, plot = w.HTML(), w.HTML(), w.Output()
    box = _explorer_class()([w.HBox([controls["preset"], controls["input_size"]]), controls["layers"],
                             help_line, controls["layer"], status, table, plot])
    box.controls, box.status, box.table, box.rows, box.figure = controls, status, table, None, None
    box.png = None  # the drawing shown, as a PNG (base64)
    box.static = lambda: (box.png, "\n".join(filter(None, (_plain_text(status.value), _plain_text(table.value)))))
    busy = False
    last_specs = None  # the stack last drawn: a new stack shows its last layer

    def fail(message: str) -> None:
        box.rows = box.figure = box.png = None
        status.value = _error_html(message)
        table.value = ""
        controls["layer"].disabled = True
        plot.clear_output()

    def update(_change=None) -> None:
        nonlocal busy, last_specs
        if busy:
            return
        busy = True
        try:
            size = controls["input_size"].value
            try:
                specs = parse_layers(controls["layers"].value)
                rows = receptive_field(specs, size)
            except ValueError as err:
                fail(str(err))
                return
            chooser = controls["layer"]
            chooser.disabled = False
            chooser.max = len(rows) - 1
            if specs != last_specs:
                chooser.value = len(rows) - 1
                last_specs = specs
            row = rows[chooser.value]
            box.rows = rows
            status.value = (f"<b>{html.escape(row.name)}</b>: {row.n}×{row.n} features, field "
                            f"r = {row.size} px, jump j = {row.jump} px, start = {row.start:g}")
            table.value = f"<pre style='line-height:1.25'>{html.escape(_format_rows(rows, chooser.value))}</pre>"
            fig = Figure(figsize=(11, 4.8))
            draw_receptive_field(specs, size, ax=fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.1]}),
                                 layer=chooser.value)
            fig.tight_layout()
            box.figure = fig
            box.png = _show_in(plot, fig)
        finally:
            busy = False

    def choose_preset(change) -> None:
        nonlocal busy
        if change["new"] == custom:
            return
        text, size = RF_PRESETS[change["new"]]
        busy = True  # two widgets change: redraw once, after both
        try:
            controls["input_size"].max = max(controls["input_size"].max, size)
            controls["layers"].value, controls["input_size"].value = text, size
        finally:
            busy = False
        update()

    def edited(_change) -> None:
        if not busy:  # the user typed: the dropdown no longer names what is shown
            name = controls["preset"].value
            if name != custom and RF_PRESETS[name] != (controls["layers"].value, controls["input_size"].value):
                controls["preset"].value = custom
            update()

    controls["preset"].observe(choose_preset, names="value")
    controls["layers"].observe(edited, names="value")
    controls["input_size"].observe(edited, names="value")
    controls["layer"].observe(update, names="value")
    update()
    return box
