"""What fit writes to stderr, by ``verbose`` and by where stderr goes.

0: nothing. 1 on a terminal: one live line, never measured against ``epochs`` when early
stopping decides the length. 1 in a file or pipe: a few plain lines. 2: a line per epoch.
The display is a listener of the Trainer (gruforecast._progress.Progress); the hooks a
Trainer calls, and when, are tested at the end.
"""

import io
import itertools
import re
import sys

import numpy as np
import pytest
import torch
from torch import nn

from conftest import FAST
from gruforecast import GRUForecaster
from gruforecast import _progress, _training
from gruforecast._progress import Progress
from gruforecast._history import History
from gruforecast._training import Listener, Trainer, TrainingDivergedError


class Terminal(io.StringIO):
    def isatty(self):
        return True


class LogFile(io.StringIO):
    def isatty(self):
        return False


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the width a Terminal() reports


def stderr_of(monkeypatch, stream_class):
    stream = stream_class()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def train(verbose, *, epochs, patience, tol=0.0, validation=True, listeners=None):
    """A linear model on 64 rows: 100 epochs take milliseconds. Shown by a Progress
    listener, or by ``listeners``."""
    torch.manual_seed(0)
    inputs = torch.randn(80, 4)
    targets = inputs.sum(1, keepdim=True)
    cut = 64 if validation else 80
    trainer = Trainer(
        nn.Linear(4, 1), epochs=epochs, batch_size=16, lr=1e-2, weight_decay=0.0,
        gradient_clip=None, patience=patience, tol=tol,
        generator=torch.Generator().manual_seed(0),
        listeners=[Progress(verbose)] if listeners is None else listeners,
    )
    trainer.fit(inputs[:cut], targets[:cut], inputs[cut:], targets[cut:])
    return trainer


def script_validation(monkeypatch, losses):
    """The validation loss of epoch n is losses[n - 1] (a value, or an exception to raise)."""
    sequence = iter(losses)

    def evaluate(self, inputs, targets):
        value = next(sequence)
        if isinstance(value, BaseException):
            raise value
        return value

    monkeypatch.setattr(Trainer, "evaluate", evaluate)


# 1/n for 30 epochs, then worse: the best epoch is 30; with patience 10 the fit stops
# after epoch 40, with 100 epochs allowed
THIRTY_GOOD = [1.0 / n for n in range(1, 31)] + [1.0] * 70


# ------------------------------------------------------------ stderr is not a terminal


def test_a_log_gets_a_few_plain_lines_for_a_100_epoch_fit(monkeypatch):
    log = stderr_of(monkeypatch, LogFile)
    trainer = train(1, epochs=100, patience=None)
    assert len(trainer.history) == 100
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert 2 <= len(lines) <= 5, lines
    assert lines[0] == "fit: 100 epochs (no early stopping)"
    assert lines[-1].startswith(f"fit: ran all 100 epochs | kept epoch {trainer.history.best_epoch}:")
    assert re.search(r"\| [\d.]+ s, [\d.e-]+ s/epoch$", lines[-1])


def test_a_log_with_early_stopping_says_why_it_stopped_and_what_it_kept(monkeypatch):
    log = stderr_of(monkeypatch, LogFile)
    script_validation(monkeypatch, THIRTY_GOOD)
    trainer = train(1, epochs=100, patience=10)
    assert trainer.stop_reason == "early stopping" and len(trainer.history) == 40
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) <= 5
    assert lines[0] == "fit: up to 100 epochs, stopping after 10 epochs without a lower valid_loss"
    assert lines[-1].startswith(
        "fit: stopped early after 40 epochs (10 epochs without a lower valid_loss) | "
        "kept epoch 30: train_loss "
    )
    assert "valid_loss 0.03333 |" in lines[-1]


def test_a_long_fit_in_a_log_gets_a_line_every_interval_not_every_epoch():
    now = itertools.count(0.0, 1.0)  # each epoch takes one second
    log = LogFile()
    progress = Progress(1, log, clock=lambda: next(now))
    progress.on_train_begin(500, 40, 0.05)
    history = History()
    for epoch in range(1, 201):
        history.append({"epoch": epoch, "train_loss": 0.5, "valid_loss": 0.25,
                        "seconds": 1.0, "best": epoch == 1})
        progress.on_epoch_end(history, 40 - (epoch - 1) % 41)
    progress.on_train_end(history, "early stopping")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "fit: up to 500 epochs, stopping after 40 epochs without a 5% gain in valid_loss"
    epochs_shown = [int(re.match(r"fit: epoch (\d+) \|", line)[1]) for line in lines[1:-1]]
    assert epochs_shown == [30, 60, 90, 120, 150, 180]  # one line per LOG_INTERVAL_S (30 s)
    assert lines[-1].startswith("fit: stopped early after 200 epochs (40 epochs without a 5% gain")
    assert lines[-1].endswith("| 3:21, 1 s/epoch")


def test_a_closed_stderr_never_stops_training(monkeypatch):
    log = stderr_of(monkeypatch, LogFile)
    log.close()  # a closed pipe or file
    trainer = train(1, epochs=5, patience=None)
    assert len(trainer.history) == 5 and trainer.stop_reason == "completed"


# ----------------------------------------------------------------- stderr is a terminal


def frames(text):
    """What the live line showed, update by update (padding stripped)."""
    return [frame.rstrip() for frame in text.split("\r") if frame.strip()]


def test_a_terminal_with_early_stopping_shows_best_and_patience_not_a_total(monkeypatch):
    monkeypatch.setattr(_progress, "LIVE_INTERVAL_S", 0.0)  # draw every epoch
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, THIRTY_GOOD)
    trainer = train(1, epochs=100, patience=10)
    assert len(trainer.history) == 40
    text = terminal.getvalue()
    # nothing measured against the 100 epochs that early stopping will not run
    assert "/100" not in text and "ETA" not in text and "%|" not in text and " of 100" not in text
    shown = frames(text)
    epoch_37 = next(frame for frame in shown if frame.startswith("fit: epoch 37 |"))
    assert re.fullmatch(
        r"fit: epoch 37 \| train_loss [\d.e-]+ \| valid_loss 1 \| best 30 \| "
        r"patience 3/10 left \| [\d.e-]+ s/epoch",
        epoch_37,
    ), epoch_37
    assert "best 30 | patience 10/10 left" in next(f for f in shown if f.startswith("fit: epoch 30 |"))
    # the live line ends as the summary, on a line of its own
    assert text.count("\n") == 1 and text.endswith("\n")
    assert shown[-1].startswith("fit: stopped early after 40 epochs") and "kept epoch 30:" in shown[-1]


def test_a_terminal_without_early_stopping_counts_to_epochs_with_an_eta(monkeypatch):
    monkeypatch.setattr(_progress, "LIVE_INTERVAL_S", 0.0)
    terminal = stderr_of(monkeypatch, Terminal)
    train(1, epochs=20, patience=None)  # runs all 20: a total and an ETA are honest
    shown = frames(terminal.getvalue())
    assert re.fullmatch(r"fit: epoch 5/20 \| train_loss .* \| best \d+ \| [\d.e-]+ s/epoch \| ETA [\d.]+ s",
                        next(frame for frame in shown if frame.startswith("fit: epoch 5/20 ")))
    assert shown[-1].startswith("fit: ran all 20 epochs | kept epoch")


def test_a_narrow_terminal_keeps_the_live_line_on_one_row_and_the_patience_on_it(monkeypatch):
    monkeypatch.setattr(_progress, "LIVE_INTERVAL_S", 0.0)
    monkeypatch.setenv("COLUMNS", "72")
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, THIRTY_GOOD)
    train(1, epochs=100, patience=10)
    live = frames(terminal.getvalue())[:-1]  # the summary may wrap: nothing redraws it
    assert live and all(len(frame) <= 71 for frame in live)
    assert all("patience" in frame for frame in live if frame.startswith("fit: epoch"))


def test_a_terminal_line_ends_before_a_divergence_warning_and_the_summary_says_so(monkeypatch):
    monkeypatch.setattr(_progress, "LIVE_INTERVAL_S", 0.0)
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, [0.5, 0.4, 0.3, 0.2, float("nan")])
    written_before_warning = []
    monkeypatch.setattr(_training.warnings, "warn",
                        lambda *a, **k: written_before_warning.append(terminal.getvalue()))
    trainer = train(1, epochs=100, patience=10)
    assert trainer.stop_reason == "diverged" and written_before_warning
    assert written_before_warning[0].endswith("\n")  # the warning starts a line of its own
    assert frames(terminal.getvalue())[-1].startswith(
        "fit: stopped after 4 epochs: epoch 5 diverged | kept epoch 4:"
    )


def test_an_interrupt_ends_the_line_and_says_so(monkeypatch):
    monkeypatch.setattr(_progress, "LIVE_INTERVAL_S", 0.0)
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, [0.5, 0.4, 0.3, KeyboardInterrupt()])
    with pytest.warns(RuntimeWarning, match="interrupted by the user after 3 complete"):
        trainer = train(1, epochs=100, patience=10)
    assert trainer.stop_reason == "interrupted"
    text = terminal.getvalue()
    assert text.endswith("\n") and frames(text)[-1].startswith("fit: interrupted after 3 epochs | kept epoch 3:")

    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, [KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):  # nothing to keep: the interrupt goes on up
        train(1, epochs=100, patience=10)
    assert terminal.getvalue().endswith("\n") and "interrupted after" not in terminal.getvalue()


# ------------------------------------------------------------------------- the levels


@pytest.mark.parametrize("stream_class", [Terminal, LogFile])
def test_verbose_0_prints_nothing(monkeypatch, stream_class):
    stream = stderr_of(monkeypatch, stream_class)
    script_validation(monkeypatch, THIRTY_GOOD)
    train(0, epochs=100, patience=10)
    train(0, epochs=5, patience=None, validation=False)
    assert stream.getvalue() == ""


@pytest.mark.parametrize("stream_class", [Terminal, LogFile])
def test_verbose_2_prints_one_plain_line_per_epoch(monkeypatch, stream_class):
    stream = stderr_of(monkeypatch, stream_class)
    script_validation(monkeypatch, THIRTY_GOOD)
    train(2, epochs=100, patience=10)
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 1 + 40 + 1  # the start, each epoch, the summary
    assert [line.split(" |")[0] for line in lines[1:-1]] == [f"fit: epoch {n}" for n in range(1, 41)]
    assert "best 30 | patience 3/10 left" in lines[37]
    assert lines[-1].startswith("fit: stopped early after 40 epochs")


def test_the_estimator_in_a_log(monkeypatch, sine):
    log = stderr_of(monkeypatch, LogFile)
    forecaster = GRUForecaster(**{**FAST, "epochs": 4}, window=10, gru_backend="torch", verbose=1)
    forecaster.fit(sine)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 4
    assert lines[0] == "fit: up to 4 epochs, stopping after 10 epochs without a 5% gain in valid_loss"
    best = forecaster.history_.best_epoch
    assert lines[1].startswith(f"fit: ran all 4 epochs | kept epoch {best}: train_loss ")
    np.testing.assert_allclose(
        float(re.search(r"valid_loss ([\d.e-]+) \|", lines[1])[1]),
        forecaster.history_[best - 1]["valid_loss"], rtol=1e-3,
    )
    # then the refit on every window, 1.5 times the epochs the first fit chose
    refit = forecaster.refit_epochs_
    assert lines[2] == f"refit: {refit} epochs (no early stopping)"
    assert lines[3].startswith(f"refit: ran all {refit} epochs | kept epoch {refit}: train_loss ")


# ------------------------------------------------------------------- the listener hooks


class Recorder(Listener):
    """Every hook call, in order (the base class's hooks do nothing)."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, epochs, patience, tol):
        self.calls.append(("begin", epochs, patience, tol))

    def on_epoch_end(self, history, patience_left):
        self.calls.append(("epoch", history[-1]["epoch"], patience_left))

    def on_diverged(self, epoch, train_loss, valid_loss):
        self.calls.append(("diverged", epoch, valid_loss))

    def on_train_end(self, history, stop_reason):
        self.calls.append(("end", len(history), stop_reason))


def test_a_trainer_tells_its_listeners_each_epoch_a_divergence_and_the_end(monkeypatch):
    script_validation(monkeypatch, [0.5, 0.4, 0.6, float("nan")])
    recorder = Recorder()
    with pytest.warns(RuntimeWarning, match="diverged in epoch 4"):
        trainer = train(0, epochs=100, patience=10, tol=0.05, listeners=[recorder])
    assert trainer.stop_reason == "diverged"
    assert recorder.calls[0] == ("begin", 100, 10, 0.05)
    assert recorder.calls[1:4] == [("epoch", 1, 10), ("epoch", 2, 10), ("epoch", 3, 9)]
    assert recorder.calls[4][:2] == ("diverged", 4) and np.isnan(recorder.calls[4][2])
    assert recorder.calls[5:] == [("end", 3, "diverged")]


def test_listeners_hear_of_no_early_stopping_and_of_an_error_on_its_way_up(monkeypatch):
    recorder = Recorder()
    train(0, epochs=3, patience=10, validation=False, listeners=[recorder])
    assert recorder.calls == [("begin", 3, None, 0.0), ("epoch", 1, None), ("epoch", 2, None),
                              ("epoch", 3, None), ("end", 3, "completed")]

    recorder = Recorder()
    script_validation(monkeypatch, [0.5, RuntimeError("disk gone")])
    with pytest.raises(RuntimeError, match="disk gone"):
        train(0, epochs=100, patience=10, listeners=[recorder])
    assert recorder.calls[-1] == ("end", 1, None)

    recorder = Recorder()
    script_validation(monkeypatch, [float("nan")])
    with pytest.raises(TrainingDivergedError):  # nothing to keep: an error, not a warning
        train(0, epochs=100, patience=10, listeners=[recorder])
    assert [call[0] for call in recorder.calls] == ["begin", "diverged", "end"]
    assert recorder.calls[-1] == ("end", 0, None)


def test_a_listener_needs_only_the_hooks_it_uses(monkeypatch):
    class Epochs(Listener):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, history, patience_left):
            self.seen.append(history[-1]["epoch"])

    listener = Epochs()
    train(0, epochs=4, patience=None, listeners=[listener])
    assert listener.seen == [1, 2, 3, 4]


def test_the_display_is_one_listener_among_others_and_the_trainer_has_none_by_default(monkeypatch):
    log = stderr_of(monkeypatch, LogFile)
    recorder = Recorder()
    trainer = Trainer(
        nn.Linear(4, 1), epochs=2, batch_size=16, lr=1e-2, weight_decay=0.0, gradient_clip=None,
        patience=None, generator=torch.Generator().manual_seed(0),
        listeners=[Progress(2, label="refit"), recorder],
    )
    trainer.fit(torch.randn(32, 4), torch.randn(32, 1), torch.zeros(0, 4), torch.zeros(0, 1))
    lines = log.getvalue().splitlines()
    assert lines[0] == "refit: 2 epochs (no early stopping)" and len(lines) == 4
    assert recorder.calls[-1] == ("end", 2, "completed")

    quiet = Trainer(
        nn.Linear(4, 1), epochs=2, batch_size=16, lr=1e-2, weight_decay=0.0, gradient_clip=None,
        patience=None, generator=torch.Generator(),
    )
    assert quiet.listeners == []  # the trainer writes nothing of its own


def test_one_progress_watches_fit_after_fit_on_the_stderr_of_each(monkeypatch):
    progress = Progress(1)
    first = stderr_of(monkeypatch, LogFile)
    train(0, epochs=2, patience=None, listeners=[progress])
    second = stderr_of(monkeypatch, LogFile)
    train(0, epochs=3, patience=None, listeners=[progress])
    assert first.getvalue().startswith("fit: 2 epochs") and "ran all 2 epochs" in first.getvalue()
    assert second.getvalue().startswith("fit: 3 epochs") and "ran all 3 epochs" in second.getvalue()
