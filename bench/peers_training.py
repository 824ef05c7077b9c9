"""Training speed against Darts and neuralforecast: the same series, network and work.

The peers are never dependencies of gruforecast: ``--setup`` makes a virtual
environment of their own (``bench/.venv-peers``: torch 2.13.0, this repository, Darts,
neuralforecast, and for ``bench/accuracy.py`` statsforecast, pmdarima, statsmodels), and
the measurement runs inside it, all libraries in one process, in turn, on the same
threads.

The work: the seed tutorial's network (window 50, GRU hidden 64, 2 layers, horizon 1),
batch 32, ``--epochs`` passes over the training windows (the first 80% of the windows of
the standardised series), no validation, no early stopping, on the seed's sine wave
(1000 points) and on the shipped sunspots series (3297 months), after one small warm-up
fit of each library. Reported: seconds per epoch (the whole ``fit`` divided by the
epochs), and the MSE of one-step predictions on the last 20% of the windows (standardised
units). neuralforecast has no epochs: its GRU is trained for as many optimizer steps of
32 windows as one epoch has minibatches, times ``--epochs``; its network adds an MLP
decoder (hidden 64 here), so its work is close to, not exactly, the others'.

    python3 bench/peers_training.py --setup          # once: the peers' environment
    bench/.venv-peers/bin/python bench/peers_training.py [--epochs 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _peers import LIGHTNING_QUIET, silence_peers

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-peers"
WINDOW, HIDDEN, LAYERS, BATCH = 50, 64, 2, 32


def setup() -> None:
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)  # the CPU build, as .ci/run does
    subprocess.run(
        [*pip, "-e", str(ROOT), "u8darts[torch]", "neuralforecast",
         # for bench/accuracy.py: classical peers and the packages that carry its series
         "statsforecast", "pmdarima", "statsmodels"],
        check=True,
    )
    print(f"ready: {VENV / 'bin' / 'python'} {Path(__file__).relative_to(ROOT)}")


def series_of(name: str) -> np.ndarray:
    if name == "sine":
        return np.sin(np.linspace(0, 100, 1000))
    from gruforecast.datasets import load_sunspots

    return load_sunspots().to_numpy()


def split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Standardised series (statistics of the training part), windows, targets, n_train."""
    from gruforecast import make_windows

    n_windows = len(values) - WINDOW
    n_train = int(0.8 * n_windows)
    train_part = values[: n_train + WINDOW]
    scaled = (values - train_part.mean()) / train_part.std()
    X, y = make_windows(scaled, WINDOW)
    return scaled, X, y, n_train


def run_gruforecast(values: np.ndarray, epochs: int) -> tuple[float, float]:
    from gruforecast import GRUForecaster

    scaled, X, y, n_train = split(values)
    forecaster = GRUForecaster(
        window=WINDOW, hidden_size=HIDDEN, num_layers=LAYERS, batch_size=BATCH, epochs=epochs,
        patience=None, validation_fraction=0.0, calibration_fraction=0.0, scaler=None,
        normalize=None, random_state=0,
    )
    started = time.perf_counter()
    forecaster.fit(scaled[: n_train + WINDOW])
    seconds = (time.perf_counter() - started) / epochs
    mse = float(np.mean((forecaster.predict(X[n_train:]) - y[n_train:]) ** 2))
    return seconds, mse


def run_darts(values: np.ndarray, epochs: int) -> tuple[float, float]:
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    scaled, X, y, n_train = split(values)
    model = BlockRNNModel(
        model="GRU", input_chunk_length=WINDOW, output_chunk_length=1, hidden_dim=HIDDEN,
        n_rnn_layers=LAYERS, batch_size=BATCH, n_epochs=epochs, random_state=0,
        pl_trainer_kwargs=LIGHTNING_QUIET,
    )
    train = TimeSeries.from_values(scaled[: n_train + WINDOW].astype(np.float32))
    started = time.perf_counter()
    model.fit(train, verbose=False)
    seconds = (time.perf_counter() - started) / epochs
    contexts = [TimeSeries.from_values(window.astype(np.float32)) for window in X[n_train:]]
    predicted = model.predict(n=1, series=contexts, verbose=False, batch_size=1024)
    forecast = np.array([p.values()[0, 0] for p in predicted])
    return seconds, float(np.mean((forecast - y[n_train:]) ** 2))


def run_neuralforecast(values: np.ndarray, epochs: int) -> tuple[float, float]:
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import GRU

    scaled, X, y, n_train = split(values)
    steps = epochs * int(np.ceil(n_train / BATCH))
    model = GRU(
        h=1, input_size=WINDOW, encoder_hidden_size=HIDDEN, encoder_n_layers=LAYERS,
        decoder_hidden_size=HIDDEN, decoder_layers=1, batch_size=1, windows_batch_size=BATCH,
        max_steps=steps, scaler_type="identity", random_seed=0, val_check_steps=steps + 1,
        **LIGHTNING_QUIET,
    )
    train = pd.DataFrame({
        "unique_id": "s", "ds": np.arange(n_train + WINDOW), "y": scaled[: n_train + WINDOW],
    })
    forecaster = NeuralForecast(models=[model], freq=1)
    started = time.perf_counter()
    forecaster.fit(train)
    seconds = (time.perf_counter() - started) / epochs
    frames = [
        pd.DataFrame({"unique_id": str(i), "ds": np.arange(WINDOW), "y": window})
        for i, window in enumerate(X[n_train:])
    ]
    predicted = forecaster.predict(df=pd.concat(frames))
    column = [c for c in predicted.columns if c.startswith("GRU")][0]
    order = predicted.sort_values("unique_id", key=lambda ids: ids.astype(int))[column].to_numpy()
    return seconds, float(np.mean((order - y[n_train:]) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create bench/.venv-peers and exit")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--series", nargs="+", default=["sine", "sunspots"])
    parser.add_argument("--libraries", nargs="+", default=["gruforecast", "darts", "neuralforecast"])
    arguments = parser.parse_args()
    if arguments.setup:
        setup()
        return
    import torch

    torch.set_num_threads(arguments.threads)
    silence_peers()
    runners = {"gruforecast": run_gruforecast, "darts": run_darts, "neuralforecast": run_neuralforecast}
    print(f"torch {torch.__version__}, {arguments.threads} threads, {arguments.epochs} epochs\n")
    print("| series | library | s per epoch | test MSE | time vs gruforecast |")
    print("|---|---|---|---|---|")
    # one small fit of each library first, so that no library pays the process's
    # one-off costs (torch kernels' first use, imports, Lightning's set-up) in its timing
    for library in arguments.libraries:
        runners[library](series_of("sine")[:300], 1)
    for series_name in arguments.series:
        values = series_of(series_name)
        results = {}
        for library in arguments.libraries:
            results[library] = runners[library](values, arguments.epochs)
        base = results.get("gruforecast", (None,))[0]
        for library, (seconds, mse) in results.items():
            ratio = f"{seconds / base:.2f}x" if base else ""
            print(f"| {series_name} | {library} | {seconds:.3f} | {mse:.3g} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
