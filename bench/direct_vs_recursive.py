"""Direct multi-step head against recursive one-step forecasting, 12 steps ahead.

On each shipped monthly series, the same network (defaults, window "auto") is fitted
once with ``horizon=12`` (one network call gives all 12 months) and once with
``horizon=1`` (12 calls, each forecast fed back), then backtested from rolling origins
over the last 30% of the series, every 12 months. MASE is scaled by the in-sample
seasonal naive error (m=12; m=1 for sunspots, whose 11-year cycle is not monthly).

    python bench/direct_vs_recursive.py [--seeds 0 1 2]

Prints a Markdown table; bench/README.md holds the results.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gruforecast import GRUForecaster, backtest
from gruforecast.datasets import load_dataset

SERIES = {"air_passengers": 12, "uk_driver_deaths": 12, "sunspots": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments = parser.parse_args()
    print("| series | seed | MASE direct (horizon 12) | MASE recursive (horizon 1) | ratio |")
    print("|---|---|---|---|---|")
    ratios = []
    for name, m in SERIES.items():
        series = load_dataset(name)
        if name == "sunspots":
            series = series[-600:]  # the last 50 years: enough cycles, minutes not hours
        initial = int(len(series) * 0.7)
        for seed in arguments.seeds:
            scores = {}
            for horizon in (12, 1):
                started = time.perf_counter()
                result = backtest(
                    GRUForecaster(horizon=horizon, random_state=seed, calibration_fraction=0.0),
                    series, 12, initial=initial, step=12, refit=False, m=m,
                )
                scores[horizon] = result.summary()["mase"]
                scores[f"{horizon}s"] = time.perf_counter() - started
            ratios.append(scores[12] / scores[1])
            print(f"| {name} | {seed} | {scores[12]:.3f} | {scores[1]:.3f} | {ratios[-1]:.2f} |", flush=True)
    print(f"\ngeometric mean of direct / recursive MASE: {np.exp(np.mean(np.log(ratios))):.3f}")


if __name__ == "__main__":
    main()
