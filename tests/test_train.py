"""cnnlab.train: fit learns and reports, fails early and clearly; evaluate is exact.

The data are small structured tensors ("bars": class k is a bright band in row band k), served
through a stand-in that follows the ``cnnlab.data.ImageData`` contract, or through torch
DataLoaders; one test at the end uses the real embedded digits when ``cnnlab.data`` is there.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.device import get_device
from cnnlab.train import History, accuracy, display, evaluate, fit, setup

QUIET = dict(progress=False, plot=False)


LINE = re.compile(r"(?:\w+: )?epoch (\d+)/(\d+)  train loss \d+\.\d{3} acc \d+\.\d%"
                  r"(  test loss \d+\.\d{3} acc \d+\.\d%)?  lr \d\.\de[-+]\d\d  \d+\.\ds")


def bars(n: int, num_classes: int = 3, channels: int = 1, size: int = 8, seed: int = 0):
    """x (n, channels, size, size), y (n,): a bright horizontal band whose row says the class."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (n,), generator=g)
    x = 0.3 * torch.randn(n, channels, size, size, generator=g)
    rows = max(size // num_classes, 1)
    for k in range(min(num_classes, size)):
        x[y == k, :, k * rows:(k + 1) * rows, 1:-1] += 2.0
    return x, y


class FakeLoader:
    """The ``TensorLoader`` contract: batches of in-memory tensors already on ``device``."""

    def __init__(self, x, y, batch_size, shuffle, device, augment, seed):
        self.device = torch.device(device or "cpu")
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.dataset_size, self.batch_size = len(x), batch_size
        self.shuffle, self.augment, self.seed, self.epoch = shuffle, augment, seed, 0

    def __len__(self):
        return math.ceil(self.dataset_size / self.batch_size)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        n = self.dataset_size
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        self.epoch += 1
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size].to(self.device)
            x = self.x[idx]
            yield (self.augment(x) if self.augment else x), self.y[idx]


@dataclasses.dataclass
class FakeData:
    """The ``ImageData`` contract, small enough to build in a test; records its ``loader`` calls."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list
    calls: list = dataclasses.field(default_factory=list)

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def in_channels(self):
        return self.x_train.shape[1]

    @property
    def image_size(self):
        return tuple(self.x_train.shape[2:])

    def loader(self, split="train", batch_size=128, shuffle=None, device=None, augment=None, seed=0,
               drop_last=False):
        self.calls.append(dict(split=split, batch_size=batch_size, device=device, augment=augment, seed=seed))
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        shuffle = split == "train" if shuffle is None else shuffle
        return FakeLoader(x, y, batch_size, shuffle, device, augment, seed)


def bars_data(name="bars", num_classes=3, channels=1, n_train=240, n_test=120) -> FakeData:
    x_train, y_train = bars(n_train, num_classes, channels, seed=0)
    x_test, y_test = bars(n_test, num_classes, channels, seed=1)
    return FakeData(name, x_train, y_train, x_test, y_test, [f"c{k}" for k in range(num_classes)])


def small_net(num_classes=3, in_channels=1, dropout=0.0) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 8, 4, 4)
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * 4 * 4, num_classes),
    )


def test_fit_learns_an_easy_problem_and_fills_the_history():
    torch.manual_seed(0)
    h = fit(small_net(), bars_data(), epochs=4, lr=1e-2, batch_size=32, **QUIET)  # default device
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.test_acc[-1] >= 0.95 and h.train_acc[-1] >= 0.95
    for f in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "epoch_time", "train_time"):
        assert len(getattr(h, f)) == 4, f
    assert h.epoch == [1, 2, 3, 4] and h.train_samples == [240] * 4
    assert h.device == str(get_device()) and h.samples_per_s > 0
    assert h.best() == max(h.test_acc) and h.best("test_loss") == min(h.test_loss)
    assert "4 epochs" in repr(h) and "best test acc" in repr(h)
    json.dumps(h.as_dict())  # plain data
    assert h.as_dict()["train_loss"] == h.train_loss


def test_fit_asks_imagedata_for_loaders_on_the_device_and_augments_training_only():
    data = bars_data()
    calls = []

    def augment(x):
        calls.append(len(x))
        return x

    fit(small_net(), data, epochs=2, batch_size=64, augment=augment, device="cpu", seed=5, **QUIET)
    train_call, test_call = data.calls
    assert train_call["split"] == "train" and train_call["batch_size"] == 64 and train_call["seed"] == 5
    assert torch.device(train_call["device"]) == torch.device("cpu") and test_call["augment"] is None
    assert calls == [64, 64, 64, 48] * 2  # every training batch, no test batch


@pytest.mark.parametrize("kind", ["imagedata", "dataloader"])
def test_same_seed_gives_the_same_history(kind):
    def run(seed):
        if kind == "imagedata":
            data = bars_data()
        else:
            data = (DataLoader(TensorDataset(*bars(240)), batch_size=32, shuffle=True),
                    DataLoader(TensorDataset(*bars(120, seed=1)), batch_size=64))
        torch.manual_seed(123)  # the same initial weights; fit's seed decides the rest
        return fit(small_net(dropout=0.3), data, epochs=2, device="cpu", seed=seed, **QUIET)

    a, b, c = run(0), run(0), run(1)
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.train_loss != c.train_loss  # the seed does matter (shuffling, dropout)


def test_evaluate_matches_a_manual_computation_and_restores_the_mode():
    torch.manual_seed(0)
    data = bars_data()
    model = small_net(dropout=0.5)  # dropout and batch norm: train-mode outputs would differ
    fit(model, data, epochs=1, device="cpu", **QUIET)
    model.eval()
    with torch.no_grad():
        logits = model(data.x_test)
    manual_acc = (logits.argmax(1) == data.y_test).float().mean().item()
    manual_loss = F.cross_entropy(logits, data.y_test).item()

    model.train()
    for source, kwargs in ((data, {}), ((data.x_test, data.y_test), dict(batch_size=7)),
                           ((None, DataLoader(TensorDataset(data.x_test, data.y_test), batch_size=50)), {})):
        result = evaluate(model, source, **kwargs)
        assert result["n"] == len(data.y_test)
        assert result["acc"] == pytest.approx(manual_acc)
        assert result["loss"] == pytest.approx(manual_loss, rel=1e-5)
        assert model.training  # the mode it had before
    model.eval()
    evaluate(model, data, split="train")
    assert not model.training
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(logits, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])) == 1.0  # one-hot targets


def test_class_count_mismatch_is_named_before_training(capsys):
    data = bars_data("cifar100", num_classes=100, channels=3)
    model = small_net(num_classes=10, in_channels=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    message = ("the model outputs 10 class scores but the data set 'cifar100' has 100 classes; "
               "build the model with num_classes=100")
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(model, data, epochs=2, device="cpu", **QUIET)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # not one step taken
    assert capsys.readouterr().out == ""

    loaders = (DataLoader(TensorDataset(*bars(64, num_classes=10)), batch_size=64), None)  # labels 0..9
    with pytest.raises(ValueError, match=r"outputs 3 class scores.*labels up to 9.*num_classes=10"):
        fit(small_net(num_classes=3), loaders, epochs=1, device="cpu", **QUIET)


def test_channel_mismatch_and_wrong_output_shape_are_explained():
    with pytest.raises(ValueError) as err:
        fit(small_net(in_channels=1), bars_data("colours", channels=3), device="cpu", **QUIET)
    text = str(err.value)
    assert "1-channel" in text and "3 channels" in text and "'colours'" in text and "in_channels=3" in text

    with pytest.raises(ValueError, match=r"2-D.*\(2, 3, 6, 6\)"):  # a conv without a classifier head
        fit(nn.Conv2d(1, 3, 3), bars_data(), device="cpu", **QUIET)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(epochs=0), r"epochs must be .*>= 1, got 0"),
    (dict(epochs=2.5), r"epochs must be .* got 2\.5"),
    (dict(lr=0.0), r"lr .* > 0, got 0\.0"),
    (dict(lr=-1e-3), r"lr .* > 0, got -0\.001"),
    (dict(optimizer="adamm"), r"unknown optimizer 'adamm'; use one of adam, adamw, sgd"),
    (dict(scheduler="linear"), r"unknown scheduler 'linear'.*'cosine', 'onecycle'"),
    (dict(label_smoothing=0.1, loss_fn=nn.CrossEntropyLoss()), r"label_smoothing .* default loss"),
    (dict(plot="yes"), r"plot must be"),
])
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit(small_net(), bars_data(), **{"device": "cpu", **QUIET, **kwargs})


def test_wrong_data_types_raise_type_errors_with_a_hint():
    x, y = bars(32)
    with pytest.raises(TypeError, match=r"ImageData.*got int"):
        fit(small_net(), 42, **QUIET)
    with pytest.raises(TypeError, match=r"pair of tensors.*TensorDataset"):
        fit(small_net(), (x, y), **QUIET)
    with pytest.raises(TypeError, match=r"\(train_loader, None\)"):
        fit(small_net(), DataLoader(TensorDataset(x, y)), **QUIET)
    with pytest.raises(TypeError, match="optimizer must be"):
        fit(small_net(), bars_data(), optimizer=torch.optim.Adam, **QUIET)


def test_works_with_a_pair_of_dataloaders():
    torch.manual_seed(0)
    train_dl = DataLoader(TensorDataset(*bars(240)), batch_size=32, shuffle=True)
    test_dl = DataLoader(TensorDataset(*bars(120, seed=1)), batch_size=64)
    h = fit(small_net(), (train_dl, test_dl), epochs=3, lr=1e-2, optimizer="sgd", device="cpu", **QUIET)
    assert h.test_acc[-1] >= 0.95 and len(h.test_acc) == 3

    h = fit(small_net(), (train_dl, None), epochs=2, device="cpu", **QUIET)  # no test data
    assert all(math.isnan(v) for v in h.test_acc) and not math.isnan(h.train_acc[-1])
    with pytest.raises(ValueError, match="no test_acc"):
        h.best()


def test_label_smoothing_reaches_the_loss():
    def run(smoothing):
        torch.manual_seed(0)
        return fit(small_net(), bars_data(), epochs=4, lr=1e-2, label_smoothing=smoothing, device="cpu",
                   **QUIET)

    plain, smooth = run(0.0), run(0.2)
    assert plain.test_loss[-1] < 0.3 and smooth.test_acc[-1] >= 0.95
    # Cross-entropy against the smoothed targets (0.867, 0.067, 0.067) is at least their entropy, 0.485.
    assert smooth.train_loss[-1] > 0.48 and smooth.test_loss[-1] > 0.48


def test_schedulers_set_the_recorded_learning_rate():
    h = fit(small_net(), bars_data(), epochs=3, lr=1e-2, scheduler="cosine", device="cpu", **QUIET)
    assert h.lr[0] < 1e-2 and h.lr[0] > h.lr[1] > h.lr[2] and h.lr[-1] < 1e-8  # to ~0 at the end
    h = fit(small_net(), bars_data(), epochs=3, lr=1e-2, scheduler="onecycle", device="cpu", **QUIET)
    assert max(h.lr) <= 1e-2 and h.lr[0] > h.lr[1] > h.lr[2] and h.lr[-1] < 1e-5
    # 4 batches an epoch: the warm-up takes epoch 1, then 7 cosine steps; lr is read after each epoch
    h = fit(small_net(), bars_data(), epochs=3, lr=1e-2, batch_size=60, scheduler="warmup_cosine", device="cpu",
            **QUIET)
    assert h.lr == pytest.approx([1e-2, 1e-2 * 0.5 * (1 + math.cos(math.pi * 4 / 7)), 0.0], abs=1e-12)

    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)  # stepped once per epoch
    h = fit(model, bars_data(), epochs=3, optimizer=optimizer, scheduler=step, device="cpu", **QUIET)
    assert h.lr == pytest.approx([0.1, 0.05, 0.025])  # the rate each epoch trained with
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)
    with pytest.raises(ValueError, match="another optimizer"):
        fit(small_net(), bars_data(), epochs=1, scheduler=step, device="cpu", **QUIET)


def test_quiet_run_prints_one_plain_line_per_epoch(capsys):
    fit(small_net(), bars_data(), epochs=3, eval_every=2, device="cpu", **QUIET)
    captured = capsys.readouterr()
    *lines, summary = captured.out.splitlines()
    assert len(lines) == 3 and captured.err == ""  # no progress bar
    assert summary.startswith("Sequential on bars: 3 epochs in ") and "best test acc" in summary
    matches = [LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [m.group(1) for m in matches] == ["1", "2", "3"] and {m.group(2) for m in matches} == {"3"}
    assert [m.group(3) is not None for m in matches] == [False, True, True]  # evaluated at 2 and at the end


def test_amp_on_cpu_warns_and_trains_in_float32(monkeypatch):
    monkeypatch.setattr(setup, "_amp_warned", False)
    with pytest.warns(UserWarning, match="amp=True needs a CUDA GPU"):
        h = fit(small_net(), bars_data(), epochs=1, amp=True, device="cpu", **QUIET)
    assert math.isfinite(h.train_loss[0])


class FakeFrontEnd:
    """IPython's ``display(obj, display_id=True)`` as a notebook front end sees it: each call makes
    an output, each ``handle.update`` replaces that output's content."""

    def __init__(self):
        self.outputs = []  # the latest object of each output, in display order
        self.updates = 0

    def display(self, obj, display_id=False):
        assert display_id is True
        index = len(self.outputs)
        self.outputs.append(obj)
        front = self

        class Handle:
            def update(self, new):
                front.outputs[index] = new
                front.updates += 1

        return Handle()


def test_notebook_run_leaves_a_summary_line_and_a_png_figure(monkeypatch, capsys):
    pytest.importorskip("IPython")
    import matplotlib.pyplot as plt
    from IPython.display import Image

    front = FakeFrontEnd()
    monkeypatch.setattr(display, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", front.display)
    figures = set(plt.get_fignums())
    h = fit(small_net(), bars_data(), epochs=3, device="cpu")  # progress on, plot="auto"
    status, figure = front.outputs  # two outputs for the whole run, however many epochs
    assert repr(status) == f"Sequential on bars: {h.summary()}"  # the progress line became the summary
    assert "<progress" not in status._repr_html_()
    assert isinstance(figure, Image) and figure.data[:8] == b"\x89PNG\r\n\x1a\n"  # a static image
    assert front.updates >= 3  # redrawn in place, once per epoch at least
    assert set(plt.get_fignums()) == figures  # closed, so the cell does not show it twice
    assert capsys.readouterr().out == ""  # the outputs replace the printed lines


def test_several_runs_in_one_cell_are_labelled_and_quiet(monkeypatch, capsys):
    pytest.importorskip("IPython")
    front = FakeFrontEnd()
    monkeypatch.setattr(display, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", front.display)
    for name in ("relu", "tanh"):
        fit(small_net(), bars_data(), epochs=2, device="cpu", progress=False, plot=False, label=name)
    fit(small_net(), bars_data(), epochs=2, device="cpu", progress=False, plot=False, verbose=False)
    texts = [repr(o) for o in front.outputs]
    assert len(texts) == 2 and texts[0].startswith("relu: 2 epochs") and texts[1].startswith("tanh: 2 epochs")
    assert capsys.readouterr().out == ""


def test_live_plot_without_a_display_falls_back_to_lines(monkeypatch, capsys):
    pytest.importorskip("IPython")
    monkeypatch.setattr(display, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, display_id=False: None)
    with pytest.warns(UserWarning, match="live plot unavailable"):
        fit(small_net(), bars_data(), epochs=2, device="cpu", progress=False)
    assert len([line for line in capsys.readouterr().out.splitlines() if LINE.fullmatch(line)]) == 2


def test_live_figure_has_whole_epoch_ticks_over_the_planned_run():
    import matplotlib.pyplot as plt

    h = History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_loss=[1.1], test_acc=[0.4], lr=[1e-3],
                epoch_time=[1.0], train_time=[0.5], train_samples=[100])
    fig, axes = plt.subplots(1, 2)
    display.draw_curves(h, *axes, epochs=10)
    for ax in axes:
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ax.get_xlim() == (0.5, 10.5) and ticks and all(float(t).is_integer() for t in ticks)
    h.plot(ax=axes)  # one epoch and no plan: still whole epochs, around the one point
    assert axes[0].get_xlim() == (0.5, 1.5)
    assert [t for t in axes[0].get_xticks() if 0.5 <= t <= 1.5] == [1.0]
    plt.close("all")


def test_history_plot_draws_loss_and_accuracy():
    import matplotlib.pyplot as plt

    h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.5, 0.8], test_loss=[1.1, 0.6],
                test_acc=[0.4, 0.7], lr=[1e-3] * 2, epoch_time=[1.0] * 2, train_time=[0.5] * 2,
                train_samples=[100] * 2)
    ax_loss, ax_acc = h.plot()
    assert [list(line.get_ydata()) for line in ax_loss.get_lines()] == [[1.0, 0.5], [1.1, 0.6]]
    assert [list(line.get_ydata()) for line in ax_acc.get_lines()] == [[50.0, 80.0], [40.0, 70.0]]
    assert h.samples_per_s == pytest.approx(200.0) and h.best() == 0.7
    plt.close("all")


def test_real_digits_mismatch_is_caught_and_evaluate_counts_the_test_set():
    data_module = pytest.importorskip("cnnlab.data")
    from cnnlab.models import get_model

    data = data_module.load("digits")
    with pytest.raises(ValueError, match=r"outputs 5 class scores but the data set 'digits' has 10 classes"):
        fit(get_model("lenet5", num_classes=5), data, device="cpu", **QUIET)
    assert evaluate(get_model("lenet5"), data)["n"] == len(data.y_test)


def test_auxiliary_heads_are_trained_and_weighted():
    """A model returning (logits, aux) in training gets loss + aux_weight * aux loss; eval uses logits."""
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
            self.aux = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))

        def forward(self, x):
            return (self.body(x), self.aux(x)) if self.training else self.body(x)

    torch.manual_seed(0)
    x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 4, (64,))
    loader = [(x, y)]
    losses = {}
    for w in (0.0, 1.0):
        torch.manual_seed(0)
        model = TwoHeads()
        h = fit(model, (loader, None), epochs=1, lr=1e-9, aux_weight=w, device="cpu", progress=False, plot=False)
        losses[w] = h.train_loss[0]
    torch.manual_seed(0)
    model = TwoHeads()
    ce = nn.CrossEntropyLoss()
    main, aux = ce(model.body(x), y).item(), ce(model.aux(x), y).item()
    assert losses[0.0] == pytest.approx(main, rel=1e-4)
    assert losses[1.0] == pytest.approx(main + aux, rel=1e-4)


def test_verbose_false_is_silent(capsys):
    torch.manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8), torch.randint(0, 4, (32,))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
    fit(model, ([(x, y)], [(x, y)]), epochs=2, device="cpu", progress=False, plot=False, verbose=False)
    assert capsys.readouterr().out == ""
    fit(model, ([(x, y)], [(x, y)]), epochs=2, device="cpu", progress=False, plot=False, label="probe")
    lines = capsys.readouterr().out.strip().splitlines()
    assert [LINE.fullmatch(line) is not None for line in lines] == [True, True, False]
    assert all(line.startswith("probe: ") for line in lines) and "2 epochs" in lines[-1]


def test_threads_are_set_for_the_run_and_restored(monkeypatch):
    from cnnlab.device import threads_for

    assert threads_for(2) == 1 and threads_for(1) == 1 and threads_for(8) is None
    before = torch.get_num_threads()
    seen = []
    for threads in (2, "auto", None):
        fit(small_net(), bars_data(), epochs=1, device="cpu", threads=threads, verbose=False,
            on_epoch=lambda h: seen.append(torch.get_num_threads()), **QUIET)
        assert torch.get_num_threads() == before
    assert seen == [2, threads_for() or before, before]
    with pytest.raises(ValueError, match=r"threads must be 'auto', None .* got 0"):
        fit(small_net(), bars_data(), threads=0, **QUIET)


def test_channels_last_and_compile_options_reach_the_model(monkeypatch):
    torch.manual_seed(0)
    plain = fit(small_net(), bars_data(), epochs=2, device="cpu", verbose=False, **QUIET)
    torch.manual_seed(0)
    model = small_net()
    nhwc = fit(model, bars_data(), epochs=2, device="cpu", channels_last=True, verbose=False, **QUIET)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert nhwc.train_loss == pytest.approx(plain.train_loss, rel=1e-4)  # the same arithmetic, another layout

    compiled = []

    def fake_compile(module, **kwargs):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = small_net()
    fit(model, bars_data(), epochs=1, device="cpu", compile=True, verbose=False, **QUIET)
    assert compiled == [model]
