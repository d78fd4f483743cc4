"""Training *recipes* given as plain data, for the open-ended part of ex05_training.

The student returns a dict — peak learning rate, warm-up steps, final learning rate, label smoothing
ε — and nothing else. The grader trains one fixed small network with it (its own code, its own
installed copy, outside the sandbox): SGD with momentum, a fixed number of steps, the linear warm-up
+ cosine schedule (Goyal et al. 2017; Loshchilov & Hutter 2017) and the label-smoothed cross-entropy
(Szegedy et al. 2016, Sec. 7), all seeded, on one thread; then it measures the held-out accuracy.
Students call the same code through the visible check on a split of their own.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

KEYS = ("peak_lr", "warmup_steps", "min_lr", "label_smoothing")


class RecipeError(ValueError):
    """A recipe that is not a dict of the four numbers in range; the message says which key."""


def network(num_classes: int = 10) -> nn.Sequential:
    """The fixed network every recipe trains: two 3×3 conv + batch norm + ReLU + 2×2 max-pool stages
    (16 -> 8 -> 4) and a hidden fully connected layer. (N, 3, 16, 16) -> (N, num_classes); 38,618
    parameters."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, num_classes))


@dataclass
class Outcome:
    accuracy: float  # on the held-out split, in [0, 1]
    final_loss: float  # mean training loss of the last 20 steps (nan when it diverged)
    diverged_at: int | None  # the step whose loss was not finite, if any
    cpu_seconds: float


_DATA: dict = {}


def _data(split_seed: int):
    if split_seed not in _DATA:
        from cnnlab import data

        _DATA[split_seed] = data.load("shapes", image_size=16, n_train=1500, n_test=500, seed=split_seed,
                                      difficulty=0.0)
    return _DATA[split_seed]


@dataclass(frozen=True)
class RecipeTask:
    """The open-ended part: ``total_steps`` SGD steps (momentum, weight decay) of ``batch_size`` images,
    the required held-out accuracy and the allowed ranges. ``verdict`` is the judge's score on its own
    split (1); ``try_recipe`` what the visible check runs on the notebook's split (0)."""

    total_steps: int = 240
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    threshold: float = 0.65
    max_lr: float = 10.0
    seed: int = 0  # initialisation and batch order: the same for every recipe
    cpu_limit: float = 30.0

    def validate(self, recipe: Any) -> dict:
        """The recipe as four plain numbers, or ``RecipeError`` naming what is wrong."""
        if not isinstance(recipe, dict):
            raise RecipeError(f"RECIPE must be a dict with the keys {', '.join(KEYS)}; got {type(recipe).__name__}")
        missing = [k for k in KEYS if k not in recipe]
        unknown = sorted(str(k) for k in recipe if k not in KEYS)
        if missing or unknown:
            raise RecipeError("RECIPE " + "; ".join(
                ([f"is missing {', '.join(missing)}"] if missing else []) +
                ([f"has unknown keys {', '.join(unknown)}"] if unknown else [])) + f" (the keys are {', '.join(KEYS)})")

        def number(key: str, low: float, high: float, integer: bool = False):
            v = recipe[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
                kind = "an integer" if integer else "a number"
                raise RecipeError(f"RECIPE[{key!r}] must be {kind}, got {v!r}")
            if not (math.isfinite(v) and low <= v <= high):
                raise RecipeError(f"RECIPE[{key!r}] must be in [{low:g}, {high:g}], got {v!r}")
            return int(v) if integer else float(v)

        peak = number("peak_lr", 0.0, self.max_lr)
        if peak <= 0:
            raise RecipeError(f"RECIPE['peak_lr'] must be positive, got {recipe['peak_lr']!r}")
        return {"peak_lr": peak, "warmup_steps": number("warmup_steps", 0, self.total_steps, integer=True),
                "min_lr": number("min_lr", 0.0, peak), "label_smoothing": number("label_smoothing", 0.0, 0.5)}

    def train(self, recipe: Any, split_seed: int) -> Outcome:
        """Validate ``recipe``, train the fixed network with it and measure the held-out accuracy."""
        r = self.validate(recipe)
        from cnnlab.losses import label_smoothing_cross_entropy
        from cnnlab.train.schedules import warmup_cosine_lr

        data = _data(split_seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small tensors: as fast, the same result everywhere, honest CPU time
        try:
            torch.manual_seed(self.seed)
            model = network(data.num_classes)
            opt = torch.optim.SGD(model.parameters(), lr=r["peak_lr"], momentum=self.momentum,
                                  weight_decay=self.weight_decay)
            g = torch.Generator().manual_seed(self.seed)
            x, y = data.x_train, data.y_train
            start, order, pos, losses, diverged = time.process_time(), None, len(y), [], None
            model.train()
            for step in range(self.total_steps):
                lr = warmup_cosine_lr(step, self.total_steps, base_lr=r["peak_lr"], warmup_steps=r["warmup_steps"],
                                      min_lr=r["min_lr"])
                for group in opt.param_groups:
                    group["lr"] = lr
                if pos + self.batch_size > len(y):  # a new epoch: a fresh order, the last partial batch dropped
                    order, pos = torch.randperm(len(y), generator=g), 0
                idx = order[pos:pos + self.batch_size]
                pos += self.batch_size
                loss = label_smoothing_cross_entropy(model(x[idx]), y[idx], r["label_smoothing"])
                if not torch.isfinite(loss):
                    diverged = step
                    break
                losses.append(loss.item())
                opt.zero_grad()
                loss.backward()
                opt.step()
                if time.process_time() - start > self.cpu_limit:
                    break
            model.eval()
            with torch.no_grad():
                pred = model(data.x_test).argmax(1)
            acc = (pred == data.y_test).double().mean().item() if diverged is None else 0.0
            final = sum(losses[-20:]) / len(losses[-20:]) if losses and diverged is None else float("nan")
            return Outcome(acc if math.isfinite(acc) else 0.0, final, diverged, time.process_time() - start)
        finally:
            torch.set_num_threads(threads)

    def verdict(self, recipe: Any, check: str, split_seed: int = 1) -> tuple[bool, str]:
        """The judge's score of one recipe check: ``"valid"`` or ``"accuracy"`` (on ``split_seed``)."""
        try:
            r = self.validate(recipe)
        except RecipeError as err:
            return False, str(err)
        if check == "valid":
            return True, f"a valid recipe: {r}"
        out = self.train(r, split_seed)
        if out.diverged_at is not None:
            return False, (f"training diverged: the loss was not finite at step {out.diverged_at} of "
                           f"{self.total_steps} (lower the peak learning rate or warm up longer)")
        return out.accuracy >= self.threshold, (f"held-out accuracy {out.accuracy:.1%} after the grader's "
                                                f"training with your recipe; required {self.threshold:.0%}")

    def try_recipe(self, recipe: Any, split_seed: int = 0) -> Outcome:
        """What the student's visible check runs: the grader's training on the notebook's own split."""
        return self.train(recipe, split_seed)


TASK = RecipeTask()
