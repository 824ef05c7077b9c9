"""Training cost and peak memory of ``fit`` as the series grows (10^3 to 10^6 points).

Each size runs in a fresh process: the seed tutorial's network (window 50, hidden 64,
2 layers, horizon 1), ``batch_size="auto"`` (256 windows from about 4,000 windows on),
one epoch, no early stopping. Peak memory is the process's maximum resident set size
(``ru_maxrss``); "fit's own" subtracts the peak before ``fit`` (Python, torch, the
series). The windows are views of the series on the device (``Tensor.unfold``), so
memory should grow with the series, not with window x series.

    python bench/fit_scaling.py [--sizes 1000 10000 100000 1000000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads({threads})
from gruforecast import GRUForecaster
n = {n}
series = np.sin(np.arange(n) / 20.0) + 0.1 * np.random.default_rng(0).standard_normal(n)
forecaster = GRUForecaster(window=50, epochs=1, patience=None, validation_fraction=0.1,
                           calibration_fraction=0.0, random_state=0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
forecaster.fit(series)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
windows = len(series) - 50
print(json.dumps({{"n": n, "seconds": seconds, "epoch_seconds": forecaster.history_[0]["seconds"],
    "windows": windows, "peak_mib": after / 1024, "fit_mib": (after - before) / 1024,
    "series_mib": series.nbytes / 2**20, "window_copies_mib": windows * 50 * 4 / 2**20}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    print("| points | windows | fit s (1 epoch) | µs per window | peak RSS MiB | fit's own MiB | series MiB | windows as copies would be MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for n in arguments.sizes:
        code = CHILD.format(n=n, threads=arguments.threads)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {n:,} | {row['windows']:,} | {row['epoch_seconds']:.2f} | "
            f"{1e6 * row['epoch_seconds'] / row['windows']:.0f} | {row['peak_mib']:.0f} | "
            f"{row['fit_mib']:.0f} | {row['series_mib']:.1f} | {row['window_copies_mib']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
