"""cnnlab.widgets: drawings and explorers show exactly the numbers of cnnlab.analysis, in plain and
widget mode, and report bad settings as readable text instead of raising in the UI."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from torch import nn

from cnnlab import widgets
from cnnlab.analysis import conv_macs, conv_output_size, conv_params, receptive_field
from cnnlab.widgets import (
    RF_PRESETS, ConvSummary, conv_explorer, draw_convolution, draw_receptive_field, format_layers,
    parse_layers, receptive_field_explorer, receptive_field_table,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def patches(fig: Figure, gid: str) -> list:
    return [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]


# --- draw_convolution -----------------------------------------------------------------------------

@pytest.mark.parametrize("kernel_size, stride, padding, dilation", [(3, 1, 0, 1), (3, 2, 1, 1), (3, 1, 0, 2), (5, 1, 2, 1)])
def test_draw_convolution_taps(kernel_size, stride, padding, dilation):
    position = (1, 1)
    fig = draw_convolution(7, kernel_size, stride, padding, dilation, position=position)
    assert isinstance(fig, Figure)
    taps = patches(fig, "tap")
    assert len(taps) == kernel_size ** 2
    # tap (a, b) sits on padded cell (row*s + a*d, col*s + b*d): dilated taps are d cells apart
    xs = sorted({p.get_x() for p in taps})
    ys = sorted({p.get_y() for p in taps})
    expected = [position[1] * stride + b * dilation for b in range(kernel_size)]
    assert xs == expected and ys == expected
    (window,) = patches(fig, "window")
    assert window.get_width() == dilation * (kernel_size - 1) + 1
    assert len(patches(fig, "output-cell")) == 1


def test_draw_convolution_padding_and_output_cell():
    fig = draw_convolution(5, 3, stride=2, padding=1, position=(2, 1))
    ax = fig.axes[0]
    (grid,) = [im for im in ax.images if im.get_gid() == "input-grid"]
    is_pad = np.asarray(grid.get_array())
    assert is_pad.shape == (7, 7) and is_pad.sum() == 7 * 7 - 5 * 5  # padding cells shaded apart
    (cell,) = patches(fig, "output-cell")
    n = conv_output_size(5, 3, 2, 1)
    assert n == 3
    # the output grid's cell (row 2, col 1) is one cell wide and sits to the right of the input
    assert cell.get_width() == 1 and cell.get_x() > 7
    assert "output 3×3×1" in ax.get_title()


def test_draw_convolution_title_numbers_and_channels():
    fig = draw_convolution(7, 3, in_channels=3, out_channels=8)
    assert fig.axes[0].get_title().splitlines()[0] == "output 5×5×8 · params 224 · MACs 5,400"
    assert len(patches(fig, "input-channel")) == 2 and len(patches(fig, "output-channel")) == 3


def test_draw_convolution_into_given_axes():
    fig, ax = plt.subplots()
    assert draw_convolution(ax=ax) is fig


def test_draw_convolution_errors():
    with pytest.raises(ValueError, match="empty"):
        draw_convolution(size=5, kernel_size=7)
    with pytest.raises(ValueError, match="empty"):  # a dilated 3×3 spans 5 cells
        draw_convolution(size=4, kernel_size=3, dilation=2)
    with pytest.raises(ValueError, match="outside the 5×5 output"):
        draw_convolution(size=7, kernel_size=3, position=(5, 0))


# --- conv_explorer --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    dict(size=227, kernel_size=11, stride=4, in_channels=3, out_channels=96),  # AlexNet conv1 (seed 002)
    dict(size=7, kernel_size=3),
    dict(size=5, kernel_size=3, stride=2, padding=1, in_channels=1, out_channels=1),  # seed 004
    dict(size=7, kernel_size=3, dilation=2, in_channels=4, out_channels=2),  # seed 004 dilated
])
def test_conv_explorer_plain_matches_analysis(args, capsys):
    result = conv_explorer(**args, plain=True)
    full = dict(size=7, kernel_size=3, stride=1, padding=0, dilation=1, in_channels=3, out_channels=8) | args
    n = conv_output_size(full["size"], full["kernel_size"], full["stride"], full["padding"], full["dilation"])
    params = conv_params(full["in_channels"], full["out_channels"], full["kernel_size"])
    macs = conv_macs(full["in_channels"], full["out_channels"], full["kernel_size"], n)
    assert isinstance(result, ConvSummary)
    assert (result.output_size, result.params, result.macs) == (n, params, macs)
    assert isinstance(result.figure, Figure) and len(patches(result.figure, "tap")) == full["kernel_size"] ** 2
    assert capsys.readouterr().out.strip() == f"output {n}×{n}×{full['out_channels']} · params {params:,} · MACs {macs:,}"


def test_conv_explorer_alexnet_conv1(capsys):
    result = conv_explorer(227, 11, 4, 0, 1, 3, 96, plain=True)
    assert (result.output_size, result.params) == (55, 34_944)  # 55×55×96, ~35K params
    assert "output 55×55×96 · params 34,944" in capsys.readouterr().out


def test_conv_explorer_auto_is_plain_outside_a_kernel(capsys):
    result = conv_explorer()
    assert isinstance(result, ConvSummary)
    assert str(result) == "output 5×5×8 · params 224 · MACs 5,400"


def test_conv_explorer_plain_empty_output_raises():
    with pytest.raises(ValueError, match="empty"):
        conv_explorer(size=3, kernel_size=5, plain=True)


def test_conv_explorer_widget_updates():
    ipywidgets = pytest.importorskip("ipywidgets")
    box = conv_explorer(plain=False)
    assert isinstance(box, ipywidgets.VBox)
    s = box.sliders
    assert "output 5×5×8 · params 224 · MACs 5,400" in box.status.value
    assert (s["row"].max, s["col"].max) == (4, 4)  # positions follow the output size

    s["out_channels"].value = 16
    assert "output 5×5×16 · params 448 · MACs 10,800" in box.status.value
    s["padding"].value = 1
    assert "output 7×7×16" in box.status.value and s["row"].max == 6
    s["row"].value, s["col"].value = 6, 3
    assert len(patches(box.result.figure, "tap")) == 9
    s["stride"].value = 2  # output 4×4: the row slider's value is clamped into range
    assert s["row"].max == 3 and s["row"].value == 3
    assert box.result.output_size == conv_output_size(7, 3, 2, 1)

    s["kernel_size"].value = 11  # 7 + 2 < 11: empty output -> an error line, not an exception
    assert box.result is None and "empty" in box.status.value and s["row"].disabled
    s["kernel_size"].value = 5
    assert box.result is not None and not s["row"].disabled
    assert f"output {conv_output_size(7, 5, 2, 1)}×" in box.status.value


# --- receptive fields -----------------------------------------------------------------------------

def test_parse_and_format_layers():
    assert parse_layers("3,1,1; 3,2,1 ;\n(3, 1, 0, 2)") == [(3, 1, 1), (3, 2, 1), (3, 1, 0, 2)]
    assert format_layers([(3, 1, 1), (3, 1, 0, 2), (5, 1, 0, 1)]) == "3,1,1; 3,1,0,2; 5,1,0"
    stack = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, dilation=2))
    assert format_layers(stack) == "3,2,1; 2,2,0; 3,1,0,2"


@pytest.mark.parametrize("text, words", [
    ("", "no layers"),
    ("3,1,1; 3,x,1", "layer 2 '3,x,1'"),
    ("3,1", "expected 3 or 4 whole numbers"),
    ("3,0,1", "stride >= 1"),
])
def test_parse_layers_errors_are_readable(text, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        parse_layers(text)


def test_receptive_field_explorer_plain_seed004(capsys):
    layers, size = RF_PRESETS["two 3×3 s2 (5×5 input)"]
    rows = receptive_field_explorer(layers, size, plain=True)
    assert rows == receptive_field([(3, 2, 1), (3, 2, 1)], 5)
    assert [r.n for r in rows] == [5, 3, 2]
    assert [r.size for r in rows] == [1, 3, 7]
    assert [r.jump for r in rows] == [1, 2, 4]
    assert [r.start for r in rows] == [0.5, 0.5, 0.5]
    out = capsys.readouterr().out
    assert out.strip() == receptive_field_table(layers, size).strip()
    assert plt.get_fignums()  # drew once


def test_receptive_field_table_columns():
    table = receptive_field_table([(11, 4, 0), (3, 2, 0)], 227)  # AlexNet conv1 + pool1
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "n", "j", "r", "start"]
    assert lines[-2].split()[-4:] == ["55", "4", "11", "5.5"]
    assert lines[-1].split()[-4:] == ["27", "8", "19", "9.5"]


@pytest.mark.parametrize("layers, size", [([(3, 2, 1), (3, 2, 1)], 5), ([(11, 4, 0), (3, 2, 0)], 227),
                                          ("3,1,0,2", 7), ("5,1,0; 2,2,0; 5,1,0; 2,2,0", 32)])
def test_draw_receptive_field_rectangle(layers, size):
    rows = receptive_field(parse_layers(layers) if isinstance(layers, str) else layers, size)
    fig = draw_receptive_field(layers, size)
    (rect,) = patches(fig, "receptive-field")
    last = rows[-1]
    assert rect.get_width() == rect.get_height() == last.size  # r pixels of the last layer
    centre = last.start + (last.n - 1) // 2 * last.jump  # the centre feature
    assert rect.get_x() + rect.get_width() / 2 == pytest.approx(centre)
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) >= len(rows)  # one r bar per row


def test_draw_receptive_field_layer_feature_and_image():
    image = np.indices((5, 5)).sum(0) % 2  # a checkerboard
    fig, ax = plt.subplots()
    draw_receptive_field([(3, 2, 1), (3, 2, 1)], 5, ax=ax, image=image, layer=1, feature=(0, 2))
    (rect,) = patches(fig, "receptive-field")
    assert rect.get_width() == 3 and (rect.get_x(), rect.get_y()) == (3.0, -1.0)  # centre (0.5 + 2·2, 0.5)
    assert ax.images[0].get_array().shape == (5, 5)
    with pytest.raises(ValueError, match="layer 3"):
        draw_receptive_field([(3, 2, 1)], 5, layer=3)
    with pytest.raises(ValueError, match="layer 2"):
        draw_receptive_field([(3, 1, 0), (9, 1, 0)], 5)  # empty output, from analysis


def test_draw_receptive_field_accepts_chw_images():
    image = np.random.default_rng(0).random((3, 16, 16))
    fig = draw_receptive_field([(3, 1, 1)], 16, image=image)
    assert fig.axes[0].images[0].get_array().shape == (16, 16, 3)


def test_receptive_field_explorer_widget():
    pytest.importorskip("ipywidgets")
    box = receptive_field_explorer(plain=False)
    c = box.controls
    assert c["preset"].value == "two 3×3 s2 (5×5 input)"
    assert (c["layer"].max, c["layer"].value) == (2, 2)
    assert "r = 7 px" in box.status.value and "jump j = 4 px" in box.status.value

    c["layer"].value = 1
    assert "r = 3 px" in box.status.value and "▸ 1: k3s2p1" in box.table.value

    c["preset"].value = "AlexNet conv1-pool1"
    assert c["input_size"].value == 227 and c["layers"].value == "11,4,0; 3,2,0"
    assert [r.size for r in box.rows] == [1, 11, 19] and "r = 19 px" in box.status.value

    c["layers"].value = "3,1,1; 3,x,1"  # unreadable text -> readable error, no exception
    assert box.rows is None and "layer 2 &#x27;3,x,1&#x27;" in box.status.value
    assert c["preset"].value == "(custom)"

    c["input_size"].value = 5
    c["layers"].value = "3,1,0; 9,1,0"  # 5 -> 3 -> empty
    assert box.rows is None and "layer 2" in box.status.value and "empty" in box.status.value

    c["layers"].value = "3,1,1; 3,1,1; 3,1,1"
    assert [r.size for r in box.rows] == [1, 3, 5, 7] and c["layer"].max == 3 and c["layer"].value == 3


def test_receptive_field_explorer_from_tuples_and_module():
    pytest.importorskip("ipywidgets")
    box = receptive_field_explorer([(3, 1, 1)] * 3, 32, plain=False)
    assert box.controls["layers"].value == "3,1,1; 3,1,1; 3,1,1"
    assert box.controls["preset"].value == "three 3×3 (VGG)"
    rows = receptive_field_explorer(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2)), 8, plain=True)
    assert [r.size for r in rows] == [1, 3, 4]


def test_interactive_needs_a_kernel(monkeypatch):
    assert widgets._use_plain(None) is True  # pytest has no IPython kernel

    class FakeShell:
        kernel = object()

    import IPython
    monkeypatch.setattr(IPython, "get_ipython", lambda: FakeShell())
    assert widgets._use_plain(None) is False


# --- display data and saved notebooks -------------------------------------------------------------

def _png_shape(b64: str) -> tuple[int, ...]:
    import base64
    import io

    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(base64.b64decode(b64)), format="png").shape


def test_conv_explorer_display_data_carries_a_static_copy():
    pytest.importorskip("ipywidgets")
    box = conv_explorer(plain=False)
    data = box._repr_mimebundle_()
    assert data[widgets.WIDGET_VIEW] == {"version_major": 2, "version_minor": 0, "model_id": box.model_id}
    assert data["text/plain"] == "output 5×5×8 · params 224 · MACs 5,400"
    height, width, _ = _png_shape(data["image/png"])
    fig_w, fig_h = box.result.figure.get_size_inches() * box.result.figure.dpi
    assert 0.5 * fig_w < width <= fig_w + 2 and 0.5 * fig_h < height <= fig_h + 2  # the drawing, cropped tight

    box.sliders["kernel_size"].value = 11  # empty output: no drawing, the error in words
    data = box._repr_mimebundle_()
    assert "image/png" not in data and "empty" in data["text/plain"] and "<" not in data["text/plain"]


def test_receptive_field_explorer_display_data_carries_a_static_copy():
    pytest.importorskip("ipywidgets")
    box = receptive_field_explorer(plain=False)
    data = box._repr_mimebundle_()
    assert data[widgets.WIDGET_VIEW]["model_id"] == box.model_id
    text = data["text/plain"]
    assert "r = 7 px, jump j = 4 px" in text
    assert receptive_field_table("3,2,1; 3,2,1", 5).splitlines()[0].split() == text.splitlines()[1].split()
    assert _png_shape(data["image/png"])[0] > 100


def _run_and_save(cells: list[str], path) -> dict:
    """Execute a notebook of ``cells`` in a fresh kernel as nbclient (nbconvert --execute, nbgrader)
    does, save it to ``path`` and read it back: what a reopened notebook holds."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=300, startup_timeout=180, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    return json.loads(path.read_text())


def _widget_outputs(nb: dict) -> list[tuple[int, dict]]:
    return [(i, out) for i, cell in enumerate(nb["cells"]) for out in cell.get("outputs", [])
            if widgets.WIDGET_VIEW in out.get("data", {})]


def _dead_views(nb: dict) -> list[tuple[int, str]]:
    """(cell, model id) of every widget view whose model state is not saved in the notebook: what
    JupyterLab shows as "Error displaying widget: model not found" once the kernel is gone."""
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"the notebook failed: {errors[0]['ename']}: {errors[0]['evalue']}" if errors else ""
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [(i, out["data"][widgets.WIDGET_VIEW]["model_id"]) for i, out in _widget_outputs(nb)
            if out["data"][widgets.WIDGET_VIEW]["model_id"] not in state]


def test_saved_notebook_keeps_the_explorers(tmp_path):
    """Both explorers, executed and saved: each widget view has its model's state saved with it,
    the saved state of each explorer's output area holds its drawing (JupyterLab restores it without
    a kernel), and each explorer's output also carries the drawing as a PNG and its numbers as text
    for viewers without widget state."""
    nb = _run_and_save(["from cnnlab import widgets", "widgets.conv_explorer(227, 11, 4, 0, 1, 3, 96)",
                        "widgets.receptive_field_explorer()"], tmp_path / "explorers.ipynb")
    assert not _dead_views(nb), f"widget views whose model is not saved (cell, model id): {_dead_views(nb)}"
    views = _widget_outputs(nb)
    assert [i for i, _ in views] == [1, 2], "each explorer cell shows one widget"
    for i, out in views:
        assert _png_shape("".join(out["data"]["image/png"]))[0] > 100, f"cell {i}: no static drawing"
    text = ["".join(out["data"]["text/plain"]) for _, out in views]
    assert text[0] == f"output 55×55×96 · params 34,944 · MACs {conv_macs(3, 96, 11, 55):,}"
    assert "r = 7 px" in text[1]
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    drawings = [o for m in state.values() if m["model_name"] == "OutputModel"
                for o in m["state"].get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(drawings) == 2, "each explorer's output area keeps its drawing in the saved state"


def test_saved_notebook_of_a_training_run_has_no_dead_widget_views(tmp_path):
    """A short training run with its progress display and live plot, executed and saved: no output
    is a widget view whose model is not saved (lecture 02's 25 dead progress bars)."""
    nb = _run_and_save(["from cnnlab import data, models, train",
                        "ds = data.load('digits', n_train=128, n_test=64)\n"
                        "net = models.get_model('lenet5', num_classes=10)\n"
                        "history = train.fit(net, ds, epochs=3, batch_size=32, device='cpu')"],
                       tmp_path / "training.ipynb")
    assert nb["cells"][1]["outputs"], "fit showed nothing"
    assert not _dead_views(nb), f"widget views whose model is not saved (cell, model id): {_dead_views(nb)}"
