"""``History``: what ``fit`` measured, one entry per epoch, and its loss/accuracy curves."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SERIES = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "epoch_time", "train_time",
          "train_samples")


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch. Accuracies are fractions in [0, 1]; test
    entries are ``nan`` for epochs without evaluation (``eval_every``, or no test data)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # at the end of the epoch's training pass
    epoch_time: list[float] = field(default_factory=list)  # seconds: training and evaluation
    train_time: list[float] = field(default_factory=list)  # seconds: the training pass only
    train_samples: list[int] = field(default_factory=list)  # all ranks together under DDP
    device: str = "cpu"

    @property
    def samples_per_s(self) -> float:
        """Training throughput over all epochs, images per second (evaluation excluded)."""
        seconds = sum(self.train_time)
        return sum(self.train_samples) / seconds if seconds > 0 else float("nan")

    def append(self, **values: Any) -> None:
        """Add one epoch: a value for each per-epoch list."""
        for key, value in values.items():
            getattr(self, key).append(value)

    def best(self, key: str = "test_acc") -> float:
        """The best value of a per-epoch series: the highest accuracy or the lowest loss."""
        if key not in ("train_loss", "train_acc", "test_loss", "test_acc"):
            raise ValueError(f"unknown key {key!r}; use train_loss, train_acc, test_loss or test_acc")
        values = [v for v in getattr(self, key) if not math.isnan(v)]
        if not values:
            raise ValueError(f"no {key} was recorded (no test data, or no epoch evaluated)")
        return max(values) if key.endswith("acc") else min(values)

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, e.g. for ``json.dump`` or ``pandas.DataFrame``."""
        return asdict(self) | {"samples_per_s": self.samples_per_s}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> History:
        """The inverse of ``as_dict`` (extra keys such as ``samples_per_s`` are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (list(v) if isinstance(v, (list, tuple)) else v)
                      for k, v in values.items() if k in names})

    def summary(self) -> str:
        """One line: epochs, time, final training metrics, best test accuracy, throughput."""
        if not self.epoch:
            return "no epoch finished"
        parts = [f"{len(self.epoch)} epoch{'s' if len(self.epoch) != 1 else ''} in {sum(self.epoch_time):.1f}s",
                 f"train loss {self.train_loss[-1]:.3f} acc {self.train_acc[-1]:.1%}"]
        if any(not math.isnan(v) for v in self.test_acc):
            parts.append(f"best test acc {self.best('test_acc'):.1%}")
        parts.append(f"{self.samples_per_s:,.0f} samples/s on {self.device}")
        return ", ".join(parts)

    def plot(self, ax: Any = None) -> tuple[Any, Any]:
        """Loss and accuracy curves. ``ax``: None (a new figure), a pair of Axes (loss, accuracy),
        or one Axes (accuracy on a twin y axis). Returns the (loss, accuracy) Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        elif isinstance(ax, (tuple, list)) or getattr(ax, "ndim", 0) == 1:  # also numpy arrays of Axes
            ax_loss, ax_acc = ax
        else:
            ax_loss, ax_acc = ax, ax.twinx()
        draw_curves(self, ax_loss, ax_acc)
        return ax_loss, ax_acc

    def __repr__(self) -> str:
        if not self.epoch:
            return f"History(0 epochs on {self.device})"
        parts = [f"{len(self.epoch)} epochs on {self.device}",
                 f"train loss {self.train_loss[-1]:.3f} acc {self.train_acc[-1]:.1%}"]
        if any(not math.isnan(v) for v in self.test_acc):
            parts.append(f"best test acc {self.best('test_acc'):.1%}")
        parts.append(f"{self.samples_per_s:,.0f} samples/s")
        return f"History({', '.join(parts)})"


def draw_curves(history: History, ax_loss: Any, ax_acc: Any, epochs: int | None = None) -> None:
    """Loss on ``ax_loss``, accuracy (%) on ``ax_acc``, against the epoch. ``epochs``: the planned
    length of the run, so that a live figure keeps one x axis from the first epoch to the last."""
    from matplotlib.ticker import MaxNLocator

    h = history
    has_test = any(not math.isnan(v) for v in h.test_loss)
    last = max(epochs or 0, h.epoch[-1] if h.epoch else 1)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy (%)")):
        ax.clear()
        scale = 100 if key == "acc" else 1
        # markers, because epochs without evaluation are nan and leave gaps in the lines
        ax.plot(h.epoch, [scale * v for v in getattr(h, f"train_{key}")], ".-", label=f"train {key}")
        if has_test:
            ax.plot(h.epoch, [scale * v for v in getattr(h, f"test_{key}")], ".-", label=f"test {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        # Whole epochs only, over the whole run: with one point matplotlib would otherwise pick a
        # range like 0.945..1.055 and label it in hundredths.
        ax.set_xlim(0.5, last + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
        ax.legend()
