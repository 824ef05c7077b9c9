"""Time-to-accuracy: each library with its own training defaults, against the clock.

Same data and task for all: the seed's sine wave (1000 points) and the shipped sunspots
series (3297 months), window 50, one step ahead, fitted on the first 80% of the windows
(the raw series: each library scales it its own way), test MSE of one-step predictions
on the last 20% of the windows, in units of the training part's variance (1 = as good
as predicting the training mean). Everything else is each library's default:

- gruforecast: ``GRUForecaster(window=50)`` (GRU 64 x 2, Adam 1e-3, batches of up to
  256, early stopping on the last 10% of its training windows with patience 40, at most
  500 epochs);
- Darts: ``BlockRNNModel(model="GRU", input_chunk_length=50, output_chunk_length=1)``
  with Darts' ``Scaler`` (GRU 25 x 1, batch 32, 100 epochs);
- neuralforecast: ``GRU(h=1, input_size=50)`` (GRU 200 x 2 with an MLP decoder, robust
  scaler, 1000 steps).

Each library is fitted from scratch at increasing training budgets (epochs or steps,
the last being its default), timing ``fit``; a budget's point is (fit seconds, test
MSE). A library's time to an accuracy is its shortest fit that reaches that MSE plus
5% ("not reached" when none does within its default budget). The table gives each
library's time to each library's default-budget MSE; the best of those (in bold) is
the target of issue 7's time-to-accuracy. Seed 0 everywhere; one small warm-up fit of
each library first.

    bench/.venv-peers/bin/python bench/time_to_accuracy.py [--threads 2] [--json F]
    bench/.venv-peers/bin/python bench/time_to_accuracy.py --from-json F
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from _peers import LIGHTNING_QUIET, silence_peers
from peers_training import series_of

WINDOW = 50
BUDGETS = {
    "gruforecast": [2, 5, 10, 15, 20, 50, 500],  # epochs (early stopping stays on)
    "darts": [1, 3, 10, 20, 30, 100],  # epochs
    "neuralforecast": [30, 100, 200, 300, 1000],  # optimizer steps
}
SLACK = 1.05


def parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The raw training part, the test windows and targets, the training variance."""
    from gruforecast import make_windows

    X, y = make_windows(values, WINDOW)
    n_train = int(0.8 * len(X))
    train = values[: n_train + WINDOW]
    return train, X[n_train:], y[n_train:], float(train.var())


def fit_gruforecast(train, test_X, budget):
    from gruforecast import GRUForecaster

    forecaster = GRUForecaster(window=WINDOW, epochs=budget, random_state=0)
    started = time.perf_counter()
    forecaster.fit(train)
    seconds = time.perf_counter() - started
    return seconds, forecaster.predict(test_X)


def fit_darts(train, test_X, budget):
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel

    started = time.perf_counter()
    scaler = Scaler()
    series = scaler.fit_transform(TimeSeries.from_values(train.astype(np.float32)))
    model = BlockRNNModel(
        model="GRU", input_chunk_length=WINDOW, output_chunk_length=1, n_epochs=budget,
        random_state=0, pl_trainer_kwargs=LIGHTNING_QUIET,
    )
    model.fit(series, verbose=False)
    seconds = time.perf_counter() - started
    # the Scaler's map (min-max of the training part), applied to each test context
    low, span = float(train.min()), float(train.max() - train.min())
    contexts = [TimeSeries.from_values(((w - low) / span).astype(np.float32)) for w in test_X]
    predicted = model.predict(n=1, series=contexts, verbose=False, batch_size=1024)
    return seconds, np.array([p.values()[0, 0] for p in predicted], float) * span + low


def fit_neuralforecast(train, test_X, budget):
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import GRU

    model = GRU(h=1, input_size=WINDOW, max_steps=budget, random_seed=0, **LIGHTNING_QUIET)
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(train)), "y": train})
    forecaster = NeuralForecast(models=[model], freq=1)
    started = time.perf_counter()
    forecaster.fit(frame)
    seconds = time.perf_counter() - started
    frames = [
        pd.DataFrame({"unique_id": str(i), "ds": np.arange(WINDOW), "y": window})
        for i, window in enumerate(test_X)
    ]
    predicted = forecaster.predict(df=pd.concat(frames))
    column = [c for c in predicted.columns if c.startswith("GRU")][0]
    order = predicted.sort_values("unique_id", key=lambda ids: ids.astype(int))[column]
    return seconds, order.to_numpy(float)


FITS = {"gruforecast": fit_gruforecast, "darts": fit_darts, "neuralforecast": fit_neuralforecast}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--series", nargs="+", default=["sine", "sunspots"])
    parser.add_argument("--libraries", nargs="+", default=list(FITS))
    parser.add_argument("--json", type=Path, help="write the fits here")
    parser.add_argument("--from-json", type=Path, help="only print the table of such a file")
    arguments = parser.parse_args()
    if arguments.from_json:
        results = json.loads(arguments.from_json.read_text())
    else:
        results = run(arguments)
    print(table(results, arguments.series, arguments.libraries))


def run(arguments) -> list[dict]:
    import torch

    torch.set_num_threads(arguments.threads)
    silence_peers()
    warm = series_of("sine")[:300]
    for library in arguments.libraries:  # one-off costs of the process go here
        train, test_X, _, _ = parts(warm)
        FITS[library](train, test_X, BUDGETS[library][0])
    results = []
    for name in arguments.series:
        train, test_X, test_y, variance = parts(series_of(name))
        for library in arguments.libraries:
            for budget in BUDGETS[library]:
                seconds, predicted = FITS[library](train, test_X, budget)
                mse = float(np.mean((predicted - test_y) ** 2)) / variance
                results.append({"series": name, "library": library, "budget": budget,
                                "seconds": seconds, "mse": mse})
                print(json.dumps(results[-1]), flush=True)
                if arguments.json:  # after every fit: a stopped run keeps what it did
                    arguments.json.write_text(json.dumps(results, indent=1))
    return results


def table(results: list[dict], series: list[str], libraries: list[str]) -> str:
    """For each series: each library's default-budget fit, and its time to reach each
    library's default-budget MSE (x 1.05); the best of those MSEs is the issue's target."""
    names = {"gruforecast": "gruforecast", "darts": "Darts", "neuralforecast": "neuralforecast"}
    owners = {"gruforecast": "gruforecast's", "darts": "Darts'", "neuralforecast": "neuralforecast's"}
    head = " | ".join(f"s to {owners[lib]} MSE" for lib in libraries)
    lines = [f"| series | library | default: fit s | default: test MSE | {head} |",
             "|---|---|---|---|" + "---|" * len(libraries)]
    for name in series:
        rows = [r for r in results if r["series"] == name]
        finals = {lib: [r for r in rows if r["library"] == lib][-1] for lib in libraries}
        best = min(libraries, key=lambda lib: finals[lib]["mse"])
        for lib in libraries:
            cells = []
            for target_lib in libraries:
                target = finals[target_lib]["mse"] * SLACK
                reached = [r["seconds"] for r in rows if r["library"] == lib and r["mse"] <= target]
                cell = f"{min(reached):.1f}" if reached else "not reached"
                cells.append(f"**{cell}**" if target_lib == best else cell)
            lines.append(f"| {name} | {names[lib]} | {finals[lib]['seconds']:.1f} | "
                         f"{finals[lib]['mse']:.3g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
