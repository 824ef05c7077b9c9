"""Accuracy with defaults on real series: gruforecast against classical methods and the
peers' GRU models.

Series: the three shipped ones and seven more real series that PyPI packages carry
(pmdarima, statsmodels), monthly, quarterly and yearly, 100 to 600 values; with
``--held-out``, six others (89 to 309 values) that no default was chosen on. At each of the
last ``--origins`` origins, ``horizon`` apart (forecasts that do not overlap), every
model is fitted on the values before the origin only and forecasts ``horizon`` values
(a season: 12 months, 8 quarters, 10 years). Models, each with its own defaults except
the window and the horizon:

- ``snaive``: the value one season before (the last value for yearly series);
- ``ets``, ``arima``: statsforecast's ``AutoETS`` and ``AutoARIMA`` (season length m);
- ``gruforecast``: ``GRUForecaster(horizon=h)`` on a pandas series (window "auto");
- ``darts``: Darts' ``BlockRNNModel(model="GRU")``, input scaled to [0, 1] on the
  training part with Darts' ``Scaler`` as its guides do (an unscaled GRU is far worse);
- ``neuralforecast``: neuralforecast's ``GRU`` (its own robust scaler).

The neural models read the same window: gruforecast's ``window="auto"`` (two seasons,
24 for non-seasonal series, at most a third of the training part). Scores: MASE (scaled
by the in-sample seasonal naive error of period m) and sMAPE, averaged over origins;
the summary is the geometric mean over series of each model's MASE divided by seasonal
naive's (below 1: better than seasonal naive).

    python3 bench/peers_training.py --setup     # once: bench/.venv-peers, peers included
    bench/.venv-peers/bin/python bench/accuracy.py [--models ...] [--origins 4] [--jobs 2]

``--gru '{"hidden_size": 32}'`` passes other parameters to GRUForecaster (for trying
defaults); ``--label`` names that variant in the tables. Runs with only ``snaive`` and
``gruforecast`` on the shipped series (``--series air_passengers uk_driver_deaths
sunspots``) need nothing beyond gruforecast itself; the other series need pmdarima and
statsmodels. Every forecast goes to ``--csv`` (default bench/results/accuracy.csv) as
soon as it is made, so that a stopped run keeps what it finished and tables can be
remade with ``--from-csv`` without refitting.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from _peers import LIGHTNING_QUIET, silence_peers

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("snaive", "ets", "arima", "gruforecast", "darts", "neuralforecast")
# name: (seasonal period m, horizon)
SERIES = {
    "air_passengers": (12, 12),
    "uk_driver_deaths": (12, 12),
    "sunspots": (1, 12),
    "wineind": (12, 12),
    "co2": (12, 12),
    "elnino": (12, 12),
    "ausbeer": (4, 8),
    "woolyrnq": (4, 8),
    "nile": (1, 10),
    "lynx": (1, 10),
}
# Held out: chosen after the defaults were settled on the ten above and never used to
# choose anything (--held-out): quarterly US macro series (statsmodels macrodata,
# 1959-2009), Australian residents (pmdarima austres, quarterly), a heart rate
# recording (pmdarima heartrate, no season) and yearly sunspots (statsmodels).
HELD_OUT = {
    "us_cpi": (4, 8),
    "us_unemployment": (4, 8),
    "us_real_gdp": (4, 8),
    "austres": (4, 8),
    "heartrate": (1, 10),
    "sunspots_yearly": (1, 10),
}
DEVELOPMENT = list(SERIES)
SERIES.update(HELD_OUT)


def load(name: str) -> pd.Series:
    """The series with a regular pandas index (a DatetimeIndex with its frequency)."""
    from gruforecast.datasets import load_dataset

    if name in ("air_passengers", "uk_driver_deaths"):
        return load_dataset(name)
    if name == "sunspots":
        return load_dataset(name)[-600:]  # the last 50 years: enough cycles
    if name in ("wineind", "ausbeer", "woolyrnq", "lynx"):
        import pmdarima.datasets

        values = getattr(pmdarima.datasets, f"load_{name}")(as_series=True).dropna()
        start, freq = {
            "wineind": ("1980-01", "MS"), "ausbeer": ("1956-01", "QS"),
            "woolyrnq": ("1965-01", "QS"), "lynx": ("1821", "YS"),
        }[name]
        index = pd.date_range(start, periods=len(values), freq=freq)
        return pd.Series(values.to_numpy(float), index=index, name=name)
    if name in ("austres", "heartrate"):
        import pmdarima.datasets

        values = getattr(pmdarima.datasets, f"load_{name}")(as_series=True).to_numpy(float)
        if name == "austres":
            index = pd.date_range("1971-04", periods=len(values), freq="QS")
        else:  # a reading every half second: no calendar season
            index = pd.RangeIndex(len(values))
        return pd.Series(values, index=index, name=name)
    import statsmodels.api as sm

    if name.startswith("us_"):
        column = {"us_cpi": "cpi", "us_unemployment": "unemp", "us_real_gdp": "realgdp"}[name]
        data = sm.datasets.macrodata.load_pandas().data
        index = pd.date_range("1959-01", periods=len(data), freq="QS")
        return pd.Series(data[column].to_numpy(float), index=index, name=name)
    if name == "sunspots_yearly":
        data = sm.datasets.sunspots.load_pandas().data
        index = pd.date_range("1700", periods=len(data), freq="YS")
        return pd.Series(data["SUNACTIVITY"].to_numpy(float), index=index, name=name)
    if name == "co2":  # weekly with gaps: monthly means
        weekly = sm.datasets.co2.load_pandas().data["co2"]
        return weekly.resample("MS").mean().interpolate().rename(name)
    if name == "elnino":  # one row per year, one column per month: the last 30 years
        table = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
        values = table.to_numpy(float).ravel()[-360:]
        index = pd.date_range(f"{int(table.index[-1]) - 29}-01", periods=360, freq="MS")
        return pd.Series(values, index=index, name=name)
    if name == "nile":
        data = sm.datasets.nile.load_pandas().data
        index = pd.date_range(str(int(data["year"].iloc[0])), periods=len(data), freq="YS")
        return pd.Series(data["volume"].to_numpy(float), index=index, name=name)
    raise ValueError(f"unknown series {name!r}")


def window_for(train: pd.Series, horizon: int) -> int:
    """gruforecast's window="auto" for this training part, for every neural model."""
    from gruforecast._policy import auto_window

    freq = getattr(train.index, "freqstr", None)
    return auto_window(len(train), horizon, freq)


def forecast(model: str, train: pd.Series, m: int, h: int, seed: int, gru: dict) -> np.ndarray:
    """``h`` values after ``train`` from ``model`` fitted on ``train`` alone."""
    values = train.to_numpy(float)
    if model == "snaive":
        return np.array([values[len(values) - m + (j % m)] for j in range(h)])
    if model in ("ets", "arima"):
        from statsforecast.models import AutoARIMA, AutoETS

        fitted = (AutoETS if model == "ets" else AutoARIMA)(season_length=m)
        return np.asarray(fitted.forecast(y=values, h=h)["mean"], float)
    window = window_for(train, h)
    if model == "gruforecast":
        from gruforecast import GRUForecaster

        fitted = GRUForecaster(**{"horizon": h, "random_state": seed, **gru}).fit(train)
        return np.asarray(fitted.forecast(h), float)
    if model == "darts":
        from darts import TimeSeries
        from darts.dataprocessing.transformers import Scaler
        from darts.models import BlockRNNModel

        scaler = Scaler()
        series = scaler.fit_transform(TimeSeries.from_values(values.astype(np.float32)))
        network = BlockRNNModel(
            model="GRU", input_chunk_length=window, output_chunk_length=h,
            random_state=seed, pl_trainer_kwargs=LIGHTNING_QUIET,
        )
        network.fit(series, verbose=False)
        predicted = scaler.inverse_transform(network.predict(n=h, verbose=False))
        return predicted.values()[:, 0].astype(float)
    if model == "neuralforecast":
        from neuralforecast import NeuralForecast
        from neuralforecast.models import GRU

        network = GRU(h=h, input_size=window, random_seed=seed, **LIGHTNING_QUIET)
        frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(values)), "y": values})
        fitted = NeuralForecast(models=[network], freq=1)
        fitted.fit(frame)
        return fitted.predict()["GRU"].to_numpy(float)
    raise ValueError(f"unknown model {model!r}")


def evaluate(name: str, model: str, label: str, origin: int, seed: int, gru: dict) -> dict:
    """One model at one origin of one series: its forecasts, scores and fit seconds."""
    import torch

    from gruforecast.metrics import mase, smape

    torch.set_num_threads(1)  # one process per core
    silence_peers()
    series = load(name)
    m, h = SERIES[name]
    train, truth = series.iloc[:origin], series.to_numpy(float)[origin : origin + h]
    started = time.perf_counter()
    predicted = forecast(model, train, m, h, seed, gru)
    return {
        "series": name, "model": label, "origin": origin, "seed": seed,
        "seconds": time.perf_counter() - started,
        "mase": mase(truth, predicted, y_train=train.to_numpy(float), m=m),
        "smape": smape(truth, predicted),
        "forecast": json.dumps(np.round(predicted, 6).tolist()),
    }


def tables(results: pd.DataFrame) -> str:
    """Markdown: MASE per series and model, then the summary per model."""
    per_series = results.groupby(["series", "model"])[["mase", "smape", "seconds"]].mean()
    mase_table = per_series["mase"].unstack("model")
    order = [m for m in MODELS if m in mase_table] + sorted(set(mase_table) - set(MODELS))
    mase_table = mase_table[order].reindex([s for s in SERIES if s in mase_table.index])
    lines = ["MASE (mean over origins):", "", "| series | " + " | ".join(order) + " |",
             "|---" * (len(order) + 1) + "|"]
    for series, row in mase_table.iterrows():
        lines.append(f"| {series} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    lines += ["", "| model | geometric mean of MASE / seasonal naive's | mean sMAPE % "
              "| median fit s | series won against snaive |", "|---|---|---|---|---|"]
    smape_table = per_series["smape"].unstack("model")
    seconds = results.groupby("model")["seconds"].median()
    for model in order:
        if "snaive" not in mase_table:
            break
        mine, naive = mase_table[model], mase_table["snaive"]
        kept = mine.notna() & naive.notna()
        ratio = np.exp(np.mean(np.log(mine[kept] / naive[kept])))
        wins = int((mine[kept] < naive[kept]).sum())
        lines.append(
            f"| {model} | {ratio:.3f} | {smape_table[model].mean():.2f} "
            f"| {seconds[model]:.1f} | {wins} of {int(kept.sum())} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--series", nargs="+", choices=list(SERIES), default=DEVELOPMENT)
    parser.add_argument("--held-out", action="store_true",
                        help="the held-out series instead (default --csv accuracy_held_out.csv)")
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--gru", type=json.loads, default={}, help="GRUForecaster params (JSON)")
    parser.add_argument("--label", default="gruforecast", help="name of the gruforecast variant")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--from-csv", action="store_true", help="only print tables of --csv")
    arguments = parser.parse_args()
    if arguments.held_out:
        arguments.series = list(HELD_OUT)
    if arguments.csv is None:
        name = "accuracy_held_out.csv" if arguments.held_out else "accuracy.csv"
        arguments.csv = ROOT / "bench" / "results" / name
    if not arguments.from_csv:
        tasks = []
        for name in arguments.series:
            m, h = SERIES[name]
            length = len(load(name))
            for origin in range(length - arguments.origins * h, length, h):
                for model in arguments.models:
                    seeds = [0] if model in ("snaive", "ets", "arima") else arguments.seeds
                    label = arguments.label if model == "gruforecast" else model
                    tasks += [(name, model, label, origin, seed, arguments.gru) for seed in seeds]
        started = time.perf_counter()
        # earlier results of other models and variants are kept; those re-run are
        # replaced, and the file is rewritten (atomically) after every fit, so that a
        # run that is stopped keeps what it finished
        kept = pd.read_csv(arguments.csv) if arguments.csv.exists() else pd.DataFrame()
        if len(kept):
            rerun = {(task[0], task[2]) for task in tasks}
            kept = kept[[key not in rerun for key in zip(kept["series"], kept["model"])]]
        arguments.csv.parent.mkdir(parents=True, exist_ok=True)
        partial = arguments.csv.with_suffix(".partial")
        rows = []
        with ProcessPoolExecutor(arguments.jobs) as pool:
            for future in as_completed([pool.submit(evaluate, *task) for task in tasks]):
                rows.append(future.result())
                pd.concat([kept, pd.DataFrame(rows)], ignore_index=True).to_csv(partial, index=False)
                os.replace(partial, arguments.csv)
        print(f"{len(tasks)} fits in {time.perf_counter() - started:.0f} s\n")
    print(tables(pd.read_csv(arguments.csv)))


if __name__ == "__main__":
    main()
