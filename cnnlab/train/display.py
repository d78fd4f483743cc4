"""What a run shows while it trains, and what it leaves behind.

In a notebook nothing here is a widget: the progress line and the live figure are two ordinary
outputs (text/HTML and a PNG image) that ``fit`` updates in place through IPython display
handles. When the run ends the progress line becomes a one-line summary and the figure stays as
the last PNG, so a saved, reopened or nbgrader-graded notebook shows exactly what was on screen
(tqdm's notebook bars are ipywidgets; without their state in the file every one of them reopens
as "Error displaying widget: model not found"). In a terminal there is one tqdm text bar per run
and one printed line per epoch.
"""
from __future__ import annotations

import html
import io
import math
import sys
import time
import warnings
from typing import Any

from .._utils import in_notebook
from .history import History, draw_curves

MIN_UPDATE_S = 0.25  # at most four progress updates a second: each one is a message to the front end


def epoch_line(h: History, epochs: int, label: str | None = None) -> str:
    """``[label: ]epoch e/E  train loss … acc …  test loss … acc …  lr …  time``."""
    line = f"epoch {h.epoch[-1]}/{epochs}  train loss {h.train_loss[-1]:.3f} acc {h.train_acc[-1]:.1%}"
    if not math.isnan(h.test_loss[-1]):
        line += f"  test loss {h.test_loss[-1]:.3f} acc {h.test_acc[-1]:.1%}"
    line += f"  lr {h.lr[-1]:.1e}  {h.epoch_time[-1]:.1f}s"
    return f"{label}: {line}" if label else line


class _Status:
    """A progress line: text/plain always, plus a <progress> bar in text/html while running."""

    def __init__(self, text: str, fraction: float | None = None) -> None:
        self.text, self.fraction = text, fraction

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        bar = "" if self.fraction is None else (
            f'<progress value="{self.fraction:.4f}" max="1" style="width: 16em; vertical-align: middle">'
            "</progress> ")
        return f'<div style="font-family: monospace">{bar}{html.escape(self.text)}</div>'


class Reporter:
    """Progress, per-epoch lines, live figure and closing summary of one ``fit`` run.

    ``enabled`` is False on every rank but 0 under DDP: those show nothing at all.
    """

    def __init__(self, *, label: str | None, title: str, epochs: int, steps: int | None, progress: bool,
                 plot: bool | str, verbose: bool, enabled: bool = True) -> None:
        self.label, self.title, self.epochs, self.steps = label, title, epochs, steps
        self.enabled = enabled
        self.notebook = enabled and in_notebook()
        self.progress = enabled and progress
        self.verbose = enabled and verbose
        self.total = epochs * steps if steps else None
        self.done = 0
        self.epoch = 0
        self.last_line = ""
        self.last_update = 0.0
        self.status = None  # notebook: display handle of the progress line
        self.bar = None  # terminal: tqdm bar
        self.figure = None
        if self.notebook and (self.progress or self.verbose):
            self.status = _display(_Status(f"{self.title}: starting", 0.0 if self.progress else None))
        if self.progress and not self.notebook:
            from tqdm.std import tqdm  # the text bar: never the notebook widget

            self.bar = tqdm(total=self.total, desc=self.title, unit="batch", leave=False, dynamic_ncols=True,
                            file=sys.stderr)
        if enabled and plot and self.notebook:
            try:
                self.figure = _LivePlot(epochs)
            except Exception as err:  # no matplotlib backend: lines instead
                warnings.warn(f"live plot unavailable ({err}); printing a line per epoch instead", stacklevel=3)

    def start(self, done_epochs: int) -> None:
        """Resuming: ``done_epochs`` are already behind us."""
        self.epoch = done_epochs
        self.done = done_epochs * (self.steps or 0)
        if self.bar is not None and self.done:
            self.bar.update(self.done)

    def batch(self) -> None:
        """One training batch done. Cheap: a counter and a clock, a redraw now and then."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.status is not None and self.progress:
            now = time.monotonic()
            if now - self.last_update >= MIN_UPDATE_S:
                self.last_update = now
                fraction = self.done / self.total if self.total else None
                text = f"{self.title}: epoch {self.epoch + 1}/{self.epochs}"
                if self.last_line:
                    text += f"  (last: {self.last_line})"
                self.status.update(_Status(text, fraction))

    def end_epoch(self, history: History) -> None:
        self.epoch = history.epoch[-1]
        line = epoch_line(history, self.epochs, self.label)
        self.last_line = epoch_line(history, self.epochs)
        shown = self.figure is not None and self.figure.update(history, f"{self.title}: {self.last_line}")
        if self.status is not None:
            fraction = self.epoch / self.epochs if self.progress else None
            self.status.update(_Status(f"{self.title}: {self.last_line}", fraction))
        elif self.verbose and not shown:
            if self.bar is not None:
                self.bar.write(line, file=sys.stdout)
            else:
                print(line, flush=True)

    def close(self, history: History, stopped: str | None = None) -> None:
        """Leave the static record: the summary line in place of the progress line."""
        if self.bar is not None:
            self.bar.close()
        if self.figure is not None:
            self.figure.close()
        if not self.enabled:
            return
        summary = f"{self.title}: {history.summary()}" + (f" ({stopped})" if stopped else "")
        if self.status is not None:
            self.status.update(_Status(summary if self.verbose else ""))
        elif self.verbose and not self.notebook and history.epoch:  # an error before epoch 1 speaks for itself
            print(summary, flush=True)


def _display(obj: Any) -> Any:
    """``display(obj, display_id=True)``; None outside a front end that can show it."""
    try:
        from IPython.display import display

        return display(obj, display_id=True)
    except Exception:
        return None


class _LivePlot:
    """The loss/accuracy figure, shown as a PNG image and replaced in place once per epoch."""

    def __init__(self, epochs: int) -> None:
        import matplotlib.pyplot as plt

        self.epochs = epochs
        self.fig, self.axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        plt.close(self.fig)  # ours to draw; the inline backend must not show it again at the cell's end
        self.handle = None
        self.ok = True

    def update(self, history: History, title: str) -> bool:
        """Redraw; False if the figure cannot be shown (the caller then prints the line)."""
        if not self.ok:
            return False
        try:
            from IPython.display import Image

            draw_curves(history, *self.axes, epochs=self.epochs)
            self.fig.suptitle(title, fontsize=10)
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png", dpi=80)
            image = Image(data=buffer.getvalue(), format="png")
            if self.handle is None:
                self.handle = _display(image)
                if self.handle is None:  # IPython without a front end to display in
                    raise RuntimeError("no display available")
            else:
                self.handle.update(image)
            return True
        except Exception as err:  # a broken display must never stop training
            self.ok = False
            warnings.warn(f"live plot unavailable ({err}); printing a line per epoch instead", stacklevel=3)
            return False

    def close(self) -> None:
        import matplotlib.pyplot as plt

        plt.close(self.fig)
