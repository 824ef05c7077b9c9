"""The progress display: what ``fit`` writes to stderr while it trains.

:class:`Progress` is a listener of :class:`gruforecast._training.Trainer` (it has the
hooks of :class:`gruforecast._training.Listener`): the trainer tells it when training
begins, each epoch's end, a divergence and the end, and it alone decides what a
terminal, a log file or a pipe is shown. Nothing here imports torch.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from ._history import History

__all__ = ["LIVE_INTERVAL_S", "LOG_INTERVAL_S", "Progress"]

# How often the progress display writes: a live line on a terminal is redrawn at most
# every LIVE_INTERVAL_S seconds; a log (verbose=1, stderr not a terminal) gets an epoch
# line at most every LOG_INTERVAL_S seconds between its first line and its summary.
LIVE_INTERVAL_S = 0.1
LOG_INTERVAL_S = 30.0


def _duration(seconds: float) -> str:
    """``"6.8 s"`` under a minute, then ``"2:05"`` or ``"1:02:05"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, whole = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes}:{whole:02d}"


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """What ``fit`` writes to stderr, by ``verbose``:

    - 0: nothing.
    - 1 on a terminal: one live line, redrawn in place (at most every LIVE_INTERVAL_S),
      then a summary line in its place.
    - 1 elsewhere (a file, a pipe, CI logs): plain lines only, no carriage returns: one
      at the start, an epoch line at most every LOG_INTERVAL_S, and the summary.
    - 2 or more, anywhere: the start line, one plain line per epoch, the summary.

    An epoch line reads ``fit: epoch 37 | train_loss 0.0123 | valid_loss 0.015 | best 30
    | patience 3/10 left | 0.05 s/epoch``. With early stopping (``patience`` given) the
    number of epochs the fit will run is unknown, so nothing is shown against
    ``epochs``; without it the fit runs them all, and the line shows ``epoch 37/500``
    and an ETA. The summary says how many epochs ran, why training stopped, the epoch
    whose weights are kept, and the time. A stream that cannot be written to (a closed
    pipe) silences the display; it never stops training.

    ``stream`` None writes to ``sys.stderr`` as it is when training begins; ``label``
    starts each line (``"fit"``, or ``"refit"``); ``clock`` times the epochs. The
    trainer calls the hooks below (:class:`gruforecast._training.Listener`'s); one
    ``Progress`` may watch one fit after another.
    """

    def __init__(
        self,
        verbose: int,
        stream: TextIO | None = None,
        *,
        label: str = "fit",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.verbose = verbose
        self.label = label  # what each line starts with: "fit", or "refit"
        self.target = stream  # None: sys.stderr, looked up as each fit begins
        self.stream: TextIO | None = None  # where this fit's lines go
        self.clock = clock
        self.mode = "off"  # until training begins
        self.epochs = 0
        self.patience: int | None = None  # None: no early stopping
        self.tol = 0.0
        self.started = self._last_write = 0.0
        self._shown = 0  # characters of the live line now on the terminal

    # ---------------------------------------------------------------- the hooks

    def on_train_begin(self, epochs: int, patience: int | None, tol: float) -> None:
        """Choose the mode for where the stream points now, and write the start line."""
        self.epochs, self.patience, self.tol = epochs, patience, tol
        self.stream = self.target if self.target is not None else sys.stderr
        if not self.verbose or self.stream is None:
            self.mode = "off"
        elif self.verbose >= 2:
            self.mode = "lines"
        else:
            self.mode = "live" if _is_terminal(self.stream) else "log"
        self.started = self._last_write = self.clock()
        self._shown = 0
        if self.mode == "live":
            self._draw(self._narrowed([self._opening()]))
        elif self.mode != "off":
            self._write(f"{self.label}: {self._opening()}\n")

    def on_epoch_end(self, history: History, patience_left: int | None) -> None:
        """Show the epoch just appended to ``history`` (as often as the mode allows)."""
        if self.mode == "off":
            return
        now = self.clock()
        if self.mode == "live" and now - self._last_write < LIVE_INTERVAL_S:
            return
        if self.mode == "log" and now - self._last_write < LOG_INTERVAL_S:
            return
        fields = self._epoch_fields(history, patience_left, now)
        if self.mode == "live":
            self._draw(self._narrowed(fields))
        else:
            self._write(f"{self.label}: " + " | ".join(fields) + "\n")
        self._last_write = now

    def on_diverged(self, epoch: int, train_loss: float, valid_loss: float | None) -> None:
        """End the live line: the trainer's warning or error starts a line of its own."""
        self.break_line()

    def on_train_end(self, history: History, stop_reason: str | None) -> None:
        """Write the summary; ``stop_reason`` None (an error is on its way up) only ends
        the live line."""
        if self.mode == "off":
            return
        if stop_reason is None or not history:
            self.break_line()
            return
        text = self._summary(history, stop_reason)
        if self.mode == "live":
            self._draw(text)
            self._shown = 0
            self._write("\n")
        else:
            self._write(text + "\n")

    def break_line(self) -> None:
        """End the live line, so that what is printed next starts a line of its own."""
        if self.mode == "live" and self._shown:
            self._write("\n")
            self._shown = 0

    # ---------------------------------------------------------------- the texts

    def _opening(self) -> str:
        if self.patience is None:
            return f"{self.epochs} epochs (no early stopping)"
        return f"up to {self.epochs} epochs, stopping after {self._rule()}"

    def _rule(self) -> str:
        gain = f"a {self.tol * 100:.3g}% gain in valid_loss" if self.tol else "a lower valid_loss"
        return f"{self.patience} epochs without {gain}"

    def _epoch_fields(self, history: History, patience_left: int | None, now: float) -> list[str]:
        row = history[-1]
        epoch = row["epoch"]
        fields = [f"epoch {epoch}" if self.patience is not None else f"epoch {epoch}/{self.epochs}"]
        fields.append(f"train_loss {row['train_loss']:.4g}")
        if row["valid_loss"] is not None:
            fields.append(f"valid_loss {row['valid_loss']:.4g}")
        fields.append(f"best {history.best_epoch}")
        if patience_left is not None:
            fields.append(f"patience {patience_left}/{self.patience} left")
        per_epoch = (now - self.started) / len(history)
        fields.append(f"{per_epoch:.3g} s/epoch")
        if self.patience is None and epoch < self.epochs:
            fields.append(f"ETA {_duration(per_epoch * (self.epochs - epoch))}")
        return fields

    def _narrowed(self, fields: list[str]) -> str:
        """The epoch line, short enough for the terminal (a line that wraps cannot be
        redrawn in place): the ETA, the speed, then the training loss go first."""
        width = self._width() - 1
        dropped = ["ETA ", " s/epoch"]
        if any(field.startswith("valid_loss ") for field in fields):
            dropped.append("train_loss ")
        for unwanted in ("", *dropped):
            fields = [field for field in fields if not unwanted or unwanted not in field]
            text = f"{self.label}: " + " | ".join(fields)
            if len(text) <= width:
                return text
        return text[: max(width - 3, 0)] + "..."

    def _summary(self, history: History, stop_reason: str) -> str:
        ran = len(history)
        what = {
            "completed": f"ran all {ran} epochs",
            "early stopping": f"stopped early after {ran} epochs ({self._rule()})",
            "diverged": f"stopped after {ran} epochs: epoch {ran + 1} diverged",
            "interrupted": f"interrupted after {ran} epochs",
        }.get(stop_reason, f"{stop_reason} after {ran} epochs")
        best = history.best_epoch
        kept = next((row for row in history if row["epoch"] == best), history[-1])
        losses = f"train_loss {kept['train_loss']:.4g}"
        if kept["valid_loss"] is not None:
            losses += f", valid_loss {kept['valid_loss']:.4g}"
        elapsed = self.clock() - self.started
        return (
            f"{self.label}: {what} | kept epoch {kept['epoch']}: {losses} | "
            f"{_duration(elapsed)}, {elapsed / ran:.3g} s/epoch"
        )

    # ---------------------------------------------------------------- the writing

    def _draw(self, text: str) -> None:
        """Replace the live line with ``text``."""
        self._write("\r" + text + " " * max(self._shown - len(text), 0))
        self._shown = len(text)

    def _width(self) -> int:
        if self.stream is not None:
            try:
                return os.get_terminal_size(self.stream.fileno()).columns
            except (AttributeError, OSError, ValueError):  # no descriptor, or no terminal's
                pass
        return shutil.get_terminal_size().columns

    def _write(self, text: str) -> None:
        assert self.stream is not None
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe or file: go quiet, keep training
            self.mode = "off"
