"""fit in a real notebook kernel leaves a static record: saved and reopened, the notebook has no
widget view whose state it lacks ("Error displaying widget: model not found"), the live figure
is a PNG, each run is one labelled summary line, and no per-epoch lines are printed."""
from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

CELLS = [
    "import torch\nfrom cnnlab import data, models, train\n"
    "digits = data.load('digits', n_train=200, n_test=60)\ntorch.manual_seed(0)",
    "history = train.fit(models.get_model('lenet5'), digits, epochs=3, batch_size=50)",
    "for act in ('relu', 'tanh'):\n"
    "    train.fit(models.get_model('lenet5'), digits, epochs=2, batch_size=50, plot=False, label=act)",
    # The control: a tqdm notebook bar, as fit drew one per epoch before, is a widget view.
    "from tqdm.auto import tqdm\nfor _ in tqdm(range(2)):\n    pass",
]


def dead_widget_views(nb) -> list[int]:
    """Indices of the cells with a widget view whose model state is not saved in the notebook."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return [i for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
            if WIDGET_VIEW in out.get("data", {}) and out["data"][WIDGET_VIEW]["model_id"] not in state]


def texts(cell) -> list[str]:
    return [out["data"]["text/plain"] for out in cell.outputs if "text/plain" in out.get("data", {})]


def test_saved_notebook_has_no_dead_widgets_and_static_training_output(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS])
    # JupyterLab saves no widget state unless told to ("Save Widget State Automatically" is off):
    # so neither does this client.
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)

    assert dead_widget_views(saved) == [3]  # only the control cell: fit's cells have none
    setup, single, loop = saved.cells[:3]
    for cell in (single, loop):
        assert not [o for o in cell.outputs if o.output_type in ("stream", "error")], cell.outputs  # no lines

    # One run: its progress line, now the summary, and one figure, a PNG image.
    summary, figure = single.outputs
    assert texts(single)[0].startswith("LeNet5 on digits: 3 epochs in ") and "best test acc" in texts(single)[0]
    assert set(figure["data"]) == {"image/png", "text/plain"}
    assert "<progress" not in summary["data"].get("text/html", "")  # the bar is gone, the line stays

    # Two labelled runs in one cell: two summary lines, nothing else.
    lines = texts(loop)
    assert len(loop.outputs) == 2 and lines[0].startswith("relu: 2 epochs") and lines[1].startswith("tanh: 2 epochs")
