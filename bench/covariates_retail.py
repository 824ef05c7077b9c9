"""Covariates on a synthetic retail panel (issue 34): does `GRUForecaster` with
covariates beat the same model without them, and does it forecast a promotion's lift?

The panel (`retail(seed)`, fixed by its seed): 200 daily series of 730 days, levels
lognormal, a weekly pattern (weekends 1.3x) and a yearly one (+-20%), US holidays (the
`holidays` package) halving sales, promotions in runs of 3 to 7 days every 10 to 40
days with a lift by category (food 1.3, toys 1.6, garden 1.2), noise 10%. The last 14
days are the test.

    GRUForecaster(horizon=14, random_state=seed)                     # without
    GRUForecaster(horizon=14, random_state=seed, future_covariates=["promo", "holiday"],
                  static_covariates=["category"], calendar="auto")   # with

Scored: MASE against the in-sample seasonal naive (m=7) over the 14 test days, averaged
over the series; the lift the model forecasts (the 14 days all on promotion divided by
none, averaged over a category's series) against the true one; fit seconds (2 cores).

    python3 bench/covariates_retail.py [--seed 0] [--json bench/results/covariates_retail.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SERIES, DAYS, HORIZON = 200, 730, 14
LIFTS = {"food": 1.3, "toys": 1.6, "garden": 1.2}
COVARIATES = {
    "future_covariates": ["promo", "holiday"],
    "static_covariates": ["category"],
    "calendar": "auto",
}


def retail(seed: int = 0, series: int = SERIES, days: int = DAYS) -> pd.DataFrame:
    """The panel as a long frame: unique_id, ds, y, promo, holiday, category."""
    import holidays

    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2022-01-03", periods=days, freq="D")
    calendar = holidays.US(years=sorted(set(stamps.year)))
    holiday = np.array([day in calendar for day in stamps.date], float)
    categories = rng.choice(list(LIFTS), series)
    level = np.exp(rng.normal(3, 1, series))
    weekly = np.where(stamps.day_of_week >= 5, 1.3, 1.0)
    yearly = 1 + 0.2 * np.sin(2 * np.pi * stamps.day_of_year.to_numpy() / 365.25)
    promo = np.zeros((series, days))
    for k in range(series):
        t = 0
        while t < days:
            t += rng.integers(10, 40)
            promo[k, t : t + rng.integers(3, 8)] = 1
    lift = np.array([LIFTS[c] for c in categories])
    sales = (
        level[:, None]
        * weekly
        * yearly
        * np.where(promo > 0, lift[:, None], 1.0)
        * np.where(holiday > 0, 0.5, 1.0)
        * np.exp(rng.normal(0, 0.1, (series, days)))
    )
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"store{k:03d}" for k in range(series)], days),
            "ds": np.tile(stamps, series),
            "y": sales.ravel(),
            "promo": promo.ravel(),
            "holiday": np.tile(holiday, series),
            "category": np.repeat(categories, days),
        }
    )


def mase(train: pd.DataFrame, truth: pd.DataFrame, forecast: pd.DataFrame, m: int = 7) -> float:
    scored = forecast.merge(truth, on=["unique_id", "ds"])
    ratios = []
    for key, rows in scored.groupby("unique_id"):
        history = train.loc[train["unique_id"] == key, "y"].to_numpy()
        scale = np.mean(np.abs(history[m:] - history[:-m]))
        ratios.append(np.mean(np.abs(rows["forecast"] - rows["y"])) / scale)
    return float(np.mean(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    from gruforecast import GRUForecaster

    frame = retail(arguments.seed)
    test = frame.groupby("unique_id").tail(HORIZON)
    train = frame.drop(index=test.index)
    ahead = test[["unique_id", "ds", "promo", "holiday"]]
    results: dict = {
        "command": "python3 " + " ".join(sys.argv),
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
        "models": {},
    }
    for name, params in (("without covariates", {}), ("with covariates", COVARIATES)):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "not used" columns, without covariates
            model = GRUForecaster(horizon=HORIZON, random_state=arguments.seed, **params)
            model.fit(train if params else train[["unique_id", "ds", "y"]])
        seconds = time.perf_counter() - started
        extra = {"X_future": ahead} if params else {}
        forecast = model.forecast(HORIZON, interval=0.9, **extra)
        scored = forecast.merge(test, on=["unique_id", "ds"])
        row = {
            "mase": mase(train, test, forecast),
            "coverage_90": float(
                ((scored["y"] >= scored["lower_90"]) & (scored["y"] <= scored["upper_90"])).mean()
            ),
            "fit_seconds": seconds,
            "init": model.init_,
            "epochs": len(model.history_),
        }
        if params:
            on = model.forecast(HORIZON, X_future=ahead.assign(promo=1.0))
            off = model.forecast(HORIZON, X_future=ahead.assign(promo=0.0))
            ratio = on.assign(ratio=on["forecast"] / off["forecast"]).merge(
                test[["unique_id", "category"]].drop_duplicates(), on="unique_id"
            )
            row["lift"] = {
                category: {"forecast": float(rows["ratio"].mean()), "true": LIFTS[category]}
                for category, rows in ratio.groupby("category")
            }
        results["models"][name] = row
        print(name, json.dumps(row), flush=True)
    base = results["models"]["without covariates"]["mase"]
    cut = 1 - results["models"]["with covariates"]["mase"] / base
    results["mase_cut"] = cut
    print(f"covariates cut MASE by {cut:.1%}")
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
