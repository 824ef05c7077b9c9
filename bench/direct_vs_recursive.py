"""Direct multi-step head against recursive one-step forecasting, 12 steps ahead.

On each shipped monthly series, the same network (defaults, window "auto") is fitted
once with ``horizon=12`` (one network call gives all 12 months) and once with
``horizon=1`` (12 calls, each forecast fed back), on the first 70% of the series, then
forecasts 12 months from rolling origins over the rest (every ``--step`` months; the
context grows, the model is not refitted). MASE is scaled by the in-sample seasonal
naive error (m=12; m=1 for sunspots, whose 11-year cycle is not monthly). Several seeds,
because a short series makes one training run noisy.

    python bench/direct_vs_recursive.py [--seeds 0 1 2] [--step 3] [--jobs 2]

Prints a Markdown table; bench/README.md holds the results.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

SERIES = {"air_passengers": 12, "uk_driver_deaths": 12, "sunspots": 1}


def evaluate(name: str, seed: int, step: int, normalize: str | None) -> dict:
    """MASE and seconds of the direct and the recursive model for one series and seed."""
    import torch

    from gruforecast import GRUForecaster, backtest
    from gruforecast.datasets import load_dataset

    torch.set_num_threads(1)  # one process per core
    series = load_dataset(name)
    if name == "sunspots":
        series = series[-600:]  # the last 50 years: enough cycles, minutes not hours
    row = {"series": name, "seed": seed}
    for horizon, label in ((12, "direct"), (1, "recursive")):
        started = time.perf_counter()
        result = backtest(
            GRUForecaster(
                horizon=horizon, normalize=normalize, random_state=seed, calibration_fraction=0.0
            ),
            series, 12, initial=int(len(series) * 0.7), step=step, refit=False,
            m=SERIES[name],
        )
        row[label] = result.summary()["mase"]
        row[f"{label}_seconds"] = time.perf_counter() - started
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--step", type=int, default=3, help="months between origins")
    parser.add_argument("--normalize", choices=["window", "none"], default="window")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    arguments = parser.parse_args()
    normalize = None if arguments.normalize == "none" else "window"
    tasks = [(name, seed) for name in SERIES for seed in arguments.seeds]
    with ProcessPoolExecutor(arguments.jobs) as pool:
        futures = [pool.submit(evaluate, name, seed, arguments.step, normalize) for name, seed in tasks]
        rows = [future.result() for future in futures]
    print("| series | seed | MASE direct (horizon 12) | MASE recursive (horizon 1) | ratio | fit s direct | fit s recursive |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['series']} | {row['seed']} | {row['direct']:.3f} | {row['recursive']:.3f} "
            f"| {row['direct'] / row['recursive']:.2f} | {row['direct_seconds']:.0f} "
            f"| {row['recursive_seconds']:.0f} |"
        )
    print("\n| series | mean MASE direct | mean MASE recursive | geometric mean of ratios |")
    print("|---|---|---|---|")
    ratios = np.array([row["direct"] / row["recursive"] for row in rows])
    for name in SERIES:
        mine = [row for row in rows if row["series"] == name]
        series_ratios = [row["direct"] / row["recursive"] for row in mine]
        print(
            f"| {name} | {np.mean([r['direct'] for r in mine]):.3f} "
            f"| {np.mean([r['recursive'] for r in mine]):.3f} "
            f"| {np.exp(np.mean(np.log(series_ratios))):.3f} |"
        )
    print(f"\ngeometric mean of direct / recursive MASE over all runs: {np.exp(np.mean(np.log(ratios))):.3f}")


if __name__ == "__main__":
    main()
