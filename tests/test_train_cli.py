"""python -m cnnlab.train: help, bad names, a run's files, resuming, refused configurations.

The command runs in this process (``main(argv)``); the torchrun test in
test_train_distributed.py starts it as ``-m cnnlab.train`` in subprocesses."""
from __future__ import annotations

import csv
import json

import pytest
import torch

from cnnlab.data import list_datasets
from cnnlab.models import list_models
from cnnlab.train.__main__ import main

TINY = ["--model", "lenet5", "--data", "digits", "--n-train", "128", "--n-test", "40", "--batch-size", "64",
        "--device", "cpu", "--no-progress"]


def test_help_lists_every_model_and_data_set(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for name in list_models() + list_datasets():
        assert name in text, name
    for flag in ("--epochs", "--lr", "--optimizer", "--scheduler", "--label-smoothing", "--amp", "--compile",
                 "--threads", "--stream", "--checkpoint-every", "--resume", "--aux-weight", "--eval-every"):
        assert flag in text, flag


@pytest.mark.parametrize("argv, message", [
    (["--model", "lenet", "--data", "digits"], "unknown model 'lenet'; did you mean 'lenet5'"),
    (["--model", "lenet5", "--data", "digitz"], "unknown data set 'digitz'; did you mean 'digits'"),
    (["--model", "lenet5", "--data", "digits", "--threads", "many"], "--threads must be auto, none or a number"),
])
def test_unknown_names_stop_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_run_writes_metrics_checkpoint_weights_and_summary_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(TINY + ["--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(printed[printed.index("{"):]) == summary  # the same summary, printed
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and all(int(r["train_samples"]) == 128 for r in rows)
    assert summary["epochs"] == 2 and summary["final"]["test_acc"] == pytest.approx(float(rows[-1]["test_acc"]))
    assert summary["best_test_acc"] == max(float(r["test_acc"]) for r in rows)
    weights = torch.load(out / "model.pt", weights_only=True)
    assert weights["features.0.weight"].shape == (6, 1, 5, 5)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 2

    assert main(TINY + ["--epochs", "3", "--out", str(out), "--resume"]) == 0  # one more epoch
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3
    capsys.readouterr()

    assert main(TINY + ["--epochs", "4", "--out", str(out), "--resume", "--optimizer", "sgd"]) == 2
    assert "saved with the optimizer Adam, this run uses SGD" in capsys.readouterr().err
    argv = ["--model", "alexnet_cifar"] + TINY[2:] + ["--epochs", "4", "--out", str(out), "--resume"]
    assert main(argv) == 2
    assert "is of a LeNet5 model, not AlexNet" in capsys.readouterr().err


def test_an_unwritable_checkpoint_path_stops_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(TINY + ["--epochs", "1", "--out", str(tmp_path / "o"), "--checkpoint", str(blocker / "c.pt")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint path" in err and "is not writable" in err
    assert not (tmp_path / "o" / "metrics.csv").exists()
