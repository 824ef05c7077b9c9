"""What fit writes to stderr, by ``verbose`` and by where stderr goes.

0: nothing. 1 on a terminal: one live line, never measured against ``epochs`` when early
stopping decides the length. 1 in a file or pipe: a few plain lines. 2: a line per epoch.
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
from gruforecast import training
from gruforecast.training import Trainer


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


def train(verbose, *, epochs, patience, tol=0.0, validation=True):
    """A linear model on 64 rows: 100 epochs take milliseconds."""
    torch.manual_seed(0)
    inputs = torch.randn(80, 4)
    targets = inputs.sum(1, keepdim=True)
    cut = 64 if validation else 80
    trainer = Trainer(
        nn.Linear(4, 1), epochs=epochs, batch_size=16, lr=1e-2, weight_decay=0.0,
        gradient_clip=None, patience=patience, tol=tol, verbose=verbose,
        generator=torch.Generator().manual_seed(0),
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
    progress = training.Progress(1, log, epochs=500, patience=40, tol=0.05, clock=lambda: next(now))
    history = training.History()
    for epoch in range(1, 201):
        history.append({"epoch": epoch, "train_loss": 0.5, "valid_loss": 0.25,
                        "seconds": 1.0, "best": epoch == 1})
        progress.update(history, 40 - (epoch - 1) % 41)
    progress.close(history, "early stopping")
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
    monkeypatch.setattr(training, "LIVE_INTERVAL_S", 0.0, raising=False)  # draw every epoch
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
    monkeypatch.setattr(training, "LIVE_INTERVAL_S", 0.0, raising=False)
    terminal = stderr_of(monkeypatch, Terminal)
    train(1, epochs=20, patience=None)  # runs all 20: a total and an ETA are honest
    shown = frames(terminal.getvalue())
    assert re.fullmatch(r"fit: epoch 5/20 \| train_loss .* \| best \d+ \| [\d.e-]+ s/epoch \| ETA [\d.]+ s",
                        next(frame for frame in shown if frame.startswith("fit: epoch 5/20 ")))
    assert shown[-1].startswith("fit: ran all 20 epochs | kept epoch")


def test_a_narrow_terminal_keeps_the_live_line_on_one_row_and_the_patience_on_it(monkeypatch):
    monkeypatch.setattr(training, "LIVE_INTERVAL_S", 0.0, raising=False)
    monkeypatch.setenv("COLUMNS", "72")
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, THIRTY_GOOD)
    train(1, epochs=100, patience=10)
    live = frames(terminal.getvalue())[:-1]  # the summary may wrap: nothing redraws it
    assert live and all(len(frame) <= 71 for frame in live)
    assert all("patience" in frame for frame in live if frame.startswith("fit: epoch"))


def test_a_terminal_line_ends_before_a_divergence_warning_and_the_summary_says_so(monkeypatch):
    monkeypatch.setattr(training, "LIVE_INTERVAL_S", 0.0, raising=False)
    terminal = stderr_of(monkeypatch, Terminal)
    script_validation(monkeypatch, [0.5, 0.4, 0.3, 0.2, float("nan")])
    written_before_warning = []
    monkeypatch.setattr(training.warnings, "warn",
                        lambda *a, **k: written_before_warning.append(terminal.getvalue()))
    trainer = train(1, epochs=100, patience=10)
    assert trainer.stop_reason == "diverged" and written_before_warning
    assert written_before_warning[0].endswith("\n")  # the warning starts a line of its own
    assert frames(terminal.getvalue())[-1].startswith(
        "fit: stopped after 4 epochs: epoch 5 diverged | kept epoch 4:"
    )


def test_an_interrupt_ends_the_line_and_says_so(monkeypatch):
    monkeypatch.setattr(training, "LIVE_INTERVAL_S", 0.0, raising=False)
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
