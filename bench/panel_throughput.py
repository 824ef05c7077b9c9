"""Windows per second of global (many-series) training, at the default batch and at large
ones: the number issue 21 asks of the GPU machine, runnable on the CPU too.

    python3 bench/panel_throughput.py --device cuda [--batches auto 4096 16384]
                                      [--series 20000] [--length 200] [--epochs 3]

A synthetic panel (``--series`` daily series of ``--length`` values, window 14, horizon
7) is fitted for ``--epochs`` epochs of 32,768 windows (``windows_per_epoch``'s default
for many series) without early stopping; the median time of the epochs after the first
(which pays for warm-up) gives training windows per second, the validation loss of
each epoch (on up to 16,384 windows) included. One JSON line per batch size.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd

from gruforecast import GRUForecaster


def panel(n: int, length: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(length)
    levels = rng.uniform(10, 1000, n)
    values = levels[:, None] * (1 + 0.3 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 6, n)[:, None]))
    values += rng.normal(0, 1, values.shape) * levels[:, None] * 0.05
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), length),
            "ds": np.tile(pd.date_range("2020-01-01", periods=length, freq="D").values, n),
            "y": values.ravel(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batches", nargs="+", default=["auto", "4096", "16384"])
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--precision", default="float32")
    arguments = parser.parse_args()
    frame = panel(arguments.series, arguments.length)
    for batch in arguments.batches:
        forecaster = GRUForecaster(
            horizon=7,
            window=14,
            epochs=arguments.epochs,
            batch_size=batch if batch == "auto" else int(batch),
            patience=None,
            calibration_fraction=0.0,
            device=arguments.device,
            precision=arguments.precision,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forecaster.fit(frame)
        seconds = [row["seconds"] for row in forecaster.history_][1:] or [
            forecaster.history_[0]["seconds"]
        ]
        per_epoch = 32_768  # windows_per_epoch="auto" for many series
        print(
            json.dumps(
                {
                    "device": str(forecaster.device_),
                    "gru_backend": forecaster.gru_backend_,
                    "precision": arguments.precision,
                    "batch": batch,
                    "series": arguments.series,
                    "epoch_seconds": round(float(np.median(seconds)), 3),
                    "windows_per_second": round(per_epoch / float(np.median(seconds))),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
