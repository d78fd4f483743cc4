"""cnnlab.train checkpoints: a run interrupted mid-way and resumed ends bit for bit where an
uninterrupted run ends; files are replaced atomically; resuming into another run is refused."""
from __future__ import annotations

import math
import os

import pytest
import torch
from torch import nn

from cnnlab.train import checkpoint as ckpt
from cnnlab.train import fit
from test_train import bars_data, small_net

QUIET = dict(progress=False, plot=False, verbose=False, device="cpu")


class Interrupted(Exception):
    """Stands for Ctrl-C, a killed job or a lost machine."""


class FlipAndMaybeCrash:
    """Random horizontal flips drawn from the global RNG (so the RNG state matters), and an
    interruption at the ``crash_at``-th training batch."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.calls, self.crash_at = 0, crash_at

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.crash_at:
            raise Interrupted
        flip = torch.rand(x.shape[0], 1, 1, 1) < 0.5
        return torch.where(flip, x.flip(-1), x)


def run(path, crash_at=None, init_seed=1, resume=False, **kwargs):
    torch.manual_seed(init_seed)
    model = small_net(dropout=0.3)  # dropout and flips: both draw from the RNGs a checkpoint must restore
    history = fit(model, bars_data(), epochs=4, lr=1e-2, batch_size=32, scheduler="cosine", seed=0,
                  augment=FlipAndMaybeCrash(crash_at), checkpoint=path, checkpoint_every=2, resume=resume,
                  **QUIET, **kwargs)
    return model, history


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    reference, ref_history = run(tmp_path / "a.pt")

    # 240 images in batches of 32: 8 batches an epoch. Batch 27 is in epoch 4, after the
    # checkpoint of epoch 2 (checkpoint_every=2) and three updates into the epoch.
    with pytest.raises(Interrupted):
        run(tmp_path / "b.pt", crash_at=27)
    saved = torch.load(tmp_path / "b.pt", weights_only=True)
    assert saved["epoch"] == 2 and saved["history"]["epoch"] == [1, 2]
    # A copy with other random generator states, for the control experiment at the end.
    for rank_state in saved["rng"]:
        rank_state["torch"] = torch.Generator().manual_seed(7).get_state()
    torch.save(saved, tmp_path / "c.pt")

    torch.rand(1000)  # the resumed run starts from other RNG states and other initial weights
    resumed, history = run(tmp_path / "b.pt", init_seed=99, resume=True)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key  # bit for bit
    assert history.epoch == [1, 2, 3, 4]
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        assert getattr(history, key) == getattr(ref_history, key), key

    # Control: the same checkpoint with other RNG states (as a plain reload of model and optimizer
    # would leave them) ends with other weights, so the test above can fail.
    other, _ = run(tmp_path / "c.pt", init_seed=99, resume=True)
    assert not all(torch.equal(v, other.state_dict()[k]) for k, v in reference.state_dict().items())


def test_resume_true_without_a_file_starts_afresh_and_a_finished_run_is_left_alone(tmp_path):
    model, history = run(tmp_path / "new.pt", resume=True)
    assert history.epoch == [1, 2, 3, 4] and (tmp_path / "new.pt").is_file()
    again, history2 = run(tmp_path / "new.pt", init_seed=5, resume=True)  # nothing left to train
    assert history2.epoch == [1, 2, 3, 4] and history2.train_loss == history.train_loss
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())


def test_a_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    ckpt.save(path, {"epoch": 1})
    real_save = torch.save

    def save_half_then_die(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", save_half_then_die)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(path, {"epoch": 2})
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert os.listdir(tmp_path) == ["run.pt"]  # no temporary file left behind


def test_resuming_into_a_different_run_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    fit(small_net(), bars_data(), epochs=1, checkpoint=path, **QUIET)

    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_net()

        def forward(self, x):
            return self.net(x)

    with pytest.raises(ValueError, match=r"is of a Sequential model, not Other; resume with the model"):
        fit(Other(), bars_data(), epochs=2, checkpoint=path, resume=True, **QUIET)
    wider = nn.Sequential(*small_net())
    wider[0] = nn.Conv2d(1, 16, 3, padding=1)
    with pytest.raises(ValueError, match=r"differently shaped Sequential.*0\.weight"):
        fit(wider, bars_data(), epochs=2, checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match=r"saved with the optimizer Adam, this run uses SGD"):
        fit(small_net(), bars_data(), epochs=2, optimizer="sgd", checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match=r"saved with the scheduler None, this run uses CosineAnnealingLR"):
        fit(small_net(), bars_data(), epochs=2, scheduler="cosine", checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match=r"batch_size=128, this run uses 32"):
        fit(small_net(), bars_data(), epochs=2, batch_size=32, checkpoint=path, resume=True, **QUIET)
    h = fit(small_net(), bars_data(), epochs=2, checkpoint=path, resume=True, **QUIET)  # the same run: fine
    assert h.epoch == [1, 2] and not math.isnan(h.train_loss[1])


def test_bad_checkpoint_settings_are_named(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ValueError, match=r"checkpoint path .* is not writable: .*a_file' is a file, not a folder"):
        fit(small_net(), bars_data(), epochs=1, checkpoint=blocker / "run.pt", **QUIET)
    with pytest.raises(ValueError, match=r"is a folder; give a file name"):
        fit(small_net(), bars_data(), epochs=1, checkpoint=tmp_path, **QUIET)
    with pytest.raises(ValueError, match=r"resume=True .* no checkpoint path"):
        fit(small_net(), bars_data(), epochs=1, resume=True, **QUIET)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*missing\.pt"):
        fit(small_net(), bars_data(), epochs=1, resume=tmp_path / "missing.pt", **QUIET)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match=r"not a cnnlab.train checkpoint"):
        fit(small_net(), bars_data(), epochs=1, resume=tmp_path / "plain.pt", **QUIET)
    with pytest.raises(ValueError, match=r"checkpoint_every must be .*>= 1, got 0"):
        fit(small_net(), bars_data(), epochs=1, checkpoint=tmp_path / "x.pt", checkpoint_every=0, **QUIET)
