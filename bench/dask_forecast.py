"""Batch forecasting of many series: OnnxForecaster in one process against
gruforecast.distributed.forecast_dask on a Dask LocalCluster, same model, same frame.

    python3 bench/dask_forecast.py [--series 100000] [--length 60] [--workers 2] [--steps 12]

A model of 200 monthly series (window 24, horizon 12, a quick fit: the timing is of
forecasting) is exported to ONNX; then ``--series`` series of ``--length`` values, none
seen in fit, are forecast ``--steps`` ahead with a 90% interval: once by
``OnnxForecaster(path, threads=workers).forecast(steps, context=frame)`` and once by
``forecast_dask`` on ``--workers`` worker processes of one thread each, from a Dask frame
of the same rows in 16 partitions (the shuffle by series is part of the timing). The
two results must be equal. Needs ``dask[dataframe,distributed]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def panel(n_series: int, length: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(10, 1000, (n_series, 1))
    season = 1 + 0.3 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6, (n_series, 1)))
    values = level * season * np.exp(rng.normal(0, 0.05, (n_series, length)))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n_series), length),
            "ds": np.tile(pd.date_range("2000-01-01", periods=length, freq="MS"), n_series),
            "y": values.ravel(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    arguments = parser.parse_args()

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from gruforecast import GRUForecaster, OnnxForecaster
    from gruforecast.distributed import forecast_dask

    folder = Path(tempfile.mkdtemp())
    model = GRUForecaster(horizon=12, window=24, epochs=3, random_state=0).fit(panel(200, 96, 1))
    path = model.export_onnx(folder / "m.onnx")
    frame = panel(arguments.series, arguments.length, 2)
    print(f"{arguments.series:,} series x {arguments.length} values ({len(frame):,} rows), "
          f"{arguments.steps} steps, 90% interval; {os.cpu_count()} cores", flush=True)

    served = OnnxForecaster(path, threads=arguments.workers)
    started = time.perf_counter()
    expected = served.forecast(arguments.steps, context=frame, interval=0.9)
    alone = time.perf_counter() - started
    print(f"OnnxForecaster, one process, {arguments.workers} threads: {alone:.1f} s "
          f"({arguments.series / alone:,.0f} series/s)", flush=True)

    parts = dd.from_pandas(frame, npartitions=16)
    with LocalCluster(n_workers=arguments.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        started = time.perf_counter()
        got = forecast_dask(path, parts, arguments.steps, interval=0.9).compute()
        on_dask = time.perf_counter() - started
    print(f"forecast_dask, {arguments.workers} workers x 1 thread: {on_dask:.1f} s "
          f"({arguments.series / on_dask:,.0f} series/s); ratio to one process "
          f"{on_dask / alone:.2f}", flush=True)
    key = ["unique_id", "ds"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    print("results equal", flush=True)


if __name__ == "__main__":
    main()
