"""Peak memory of a fit on a large panel: 10^5 synthetic series of 200 values each (2 x
10^7 values), from building the long frame through 1,000 training steps.

    python3 bench/panel_memory.py [--series 100000] [--length 200] [--steps 1000]

The fit draws 25,600 windows an epoch in minibatches of 256 (100 steps) for
``steps / 100`` epochs, without early stopping (``patience=None``), so that exactly
``--steps`` optimizer steps run. What is measured is the process's peak resident memory
(``ru_maxrss``), which includes the long frame the user hands over (three columns of
2 x 10^7 rows: 480 MB by itself), Python, NumPy, pandas and torch. The target of
issue 21 is under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import numpy as np
import pandas as pd


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--steps", type=int, default=1000)
    arguments = parser.parse_args()
    n, length = arguments.series, arguments.length
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    t = np.arange(length)
    levels = rng.uniform(10, 1000, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    values = levels[:, None] * (1 + 0.3 * np.sin(2 * np.pi * t / 7 + phases[:, None]))
    values += rng.normal(0, 1, values.shape) * levels[:, None] * 0.05
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), length),
            "ds": np.tile(pd.date_range("2020-01-01", periods=length, freq="D").values, n),
            "y": values.ravel(),
        }
    )
    del values
    built = time.perf_counter()
    print(
        f"frame of {len(frame)} rows built in {built - started:.1f} s; peak {peak_mib():.0f} MiB",
        flush=True,
    )

    from gruforecast import GRUForecaster

    per_epoch, batch = 25_600, 256
    forecaster = GRUForecaster(
        horizon=7,
        window=14,
        epochs=max(1, arguments.steps * batch // per_epoch),
        batch_size=batch,
        windows_per_epoch=per_epoch,
        patience=None,
        calibration_fraction=0.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
    fitted = time.perf_counter()
    result = {
        "series": n,
        "length": length,
        "values": n * length,
        "optimizer_steps": len(forecaster.history_) * per_epoch // batch,
        "build_seconds": round(built - started, 1),
        "fit_seconds": round(fitted - built, 1),
        "peak_rss_mib": round(peak_mib()),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
