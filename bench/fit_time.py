"""Seconds of one fit with the defaults, on the real series of bench/accuracy.py.

``GRUForecaster(horizon=h, random_state=0).fit(series)`` on each whole series (the
horizon as in bench/accuracy.py: 12 months, 8 quarters, 10 years), one after another in
one process, with ``--threads`` torch threads; epochs run and the best epoch beside the
seconds. Needs the packages that carry the series (see bench/accuracy.py).

    bench/.venv-peers/bin/python bench/fit_time.py [--threads 2] [--series ...] [--gru JSON]
"""

from __future__ import annotations

import argparse
import json
import time

from accuracy import SERIES, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--series", nargs="+", choices=list(SERIES), default=list(SERIES))
    parser.add_argument("--gru", type=json.loads, default={}, help="GRUForecaster params (JSON)")
    arguments = parser.parse_args()
    import torch

    from gruforecast import GRUForecaster

    torch.set_num_threads(arguments.threads)
    GRUForecaster(epochs=2).fit(load("nile"))  # the process's one-off costs
    print("| series | values | horizon | fit s | epochs run | best epoch |")
    print("|---|---|---|---|---|---|")
    for name in arguments.series:
        series = load(name)
        horizon = SERIES[name][1]
        started = time.perf_counter()
        forecaster = GRUForecaster(**{"horizon": horizon, "random_state": 0, **arguments.gru})
        forecaster.fit(series)
        seconds = time.perf_counter() - started
        print(f"| {name} | {len(series)} | {horizon} | {seconds:.1f} | "
              f"{len(forecaster.history_)} | {forecaster.history_.best_epoch} |", flush=True)


if __name__ == "__main__":
    main()
