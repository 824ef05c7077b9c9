"""Tuning runs for the many-series defaults, on validation parts only.

    python3 bench/tune_panel.py --dataset m3-monthly --params '{"window": 36}' --seeds 0 1 2
    python3 bench/tune_panel.py --dataset tourism-monthly --peer ets

``--split validation`` (the default) trains on each series' training part ``x`` without
its last h values and scores on those h values, so the competitions' test parts ``xx``
stay unseen while defaults are chosen; ``--split test`` is the competitions' protocol
(as ``bench/competitions.py``). ``--params`` are GRUForecaster parameters (JSON);
several ``--seeds`` fit one model each and average their forecasts (an ensemble);
``--peer ets|theta`` scores statsforecast's model on the same split instead. MAPE here
skips test values of 0 (a few Tourism training parts end in zeros). ``--refit``,
``--keep-calibration``, ``--blend`` and ``--log`` are the experiments that led to the
``refit`` and ``transform`` defaults (a second fit outside the estimator on every
window, or all but the calibration ones; averaging it with the first; log1p outside
the estimator); bench/README.md lists what each gave.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from competitions import DATASETS, load, long_frame, run_statsforecast
from competitions import scores as competition_scores


def scores(trains, tests, forecasts, m=12) -> dict:
    """The competitions' metrics; MAPE over the non-zero test values only (the last
    values of a few Tourism training parts are 0)."""
    result = competition_scores(trains, tests, forecasts, m)
    mapes = []
    for truth, point in zip(tests, forecasts, strict=True):
        keep = truth != 0
        mapes.append(np.mean(100 * np.abs(truth - point)[keep] / np.abs(truth[keep])))
    result["mape"] = float(np.mean(mapes))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="m3-monthly", choices=list(DATASETS))
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--params", default="{}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--keep-calibration", action="store_true")
    parser.add_argument("--blend", action="store_true", help="average first fit and refit")
    parser.add_argument("--log", action="store_true", help="fit on log1p values")
    parser.add_argument("--save", help="write trains, tests and forecasts here (.npz)")
    parser.add_argument("--refit-extra", type=int, default=0)
    parser.add_argument("--peer", choices=("ets", "theta"), help="score a peer instead")
    arguments = parser.parse_args()
    from gruforecast import GRUForecaster

    keys, trains, tests, h = load(arguments.dataset, arguments.limit)
    if arguments.split == "validation":
        tests = [train[-h:] for train in trains]
        trains = [train[:-h] for train in trains]
    _, _, m, freq, _ = DATASETS[arguments.dataset]
    frame = long_frame(keys, trains, freq)
    back = (lambda a: a) if not arguments.log else np.expm1
    if arguments.log:
        frame["y"] = np.log1p(frame["y"])
    if arguments.peer:
        result = run_statsforecast(arguments.peer, keys, trains, tests, h, m, freq)
        point = [np.asarray(p) for p in result.pop("forecasts")]
        print(
            json.dumps(
                {
                    "dataset": arguments.dataset,
                    "split": arguments.split,
                    "peer": arguments.peer,
                    **scores(trains, tests, point, m),
                }
            )
        )
        return
    params = json.loads(arguments.params)
    points, lowers, uppers, epochs = [], [], [], []
    started = time.perf_counter()
    for seed in arguments.seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = GRUForecaster(horizon=h, random_state=seed, **params).fit(frame)
            if arguments.refit:
                best = model.history_.best_epoch
                kept = (
                    params.get("calibration_fraction", 0.1) if arguments.keep_calibration else 0.0
                )
                refit = dict(
                    params,
                    validation_fraction=0.0,
                    calibration_fraction=kept,
                    epochs=best + arguments.refit_extra,
                )
                points_model = GRUForecaster(horizon=h, random_state=seed, **refit).fit(frame)
                print(f"  refit for {refit['epochs']} epochs", flush=True)
            table = model.forecast(h, interval=0.9)
        epochs.append(len(model.history_))
        by_key = {str(k): rows for k, rows in table.groupby("unique_id")}
        if arguments.refit:
            refit_table = points_model.forecast(h)
            by_refit = {str(k): rows for k, rows in refit_table.groupby("unique_id")}
            refit_points = np.stack([by_refit[k]["forecast"].to_numpy() for k in keys])
            if arguments.blend:
                first = np.stack([by_key[k]["forecast"].to_numpy() for k in keys])
                print(
                    "  refit alone:",
                    {
                        k: round(v, 3)
                        for k, v in scores(trains, tests, list(back(refit_points)), m).items()
                        if k in ("smape", "mape", "mase")
                    },
                    flush=True,
                )
                refit_points = (refit_points + first) / 2
            points.append(refit_points)
        else:
            points.append(np.stack([by_key[k]["forecast"].to_numpy() for k in keys]))
        lowers.append(np.stack([by_key[k]["lower_90"].to_numpy() for k in keys]))
        uppers.append(np.stack([by_key[k]["upper_90"].to_numpy() for k in keys]))
        single = scores(trains, tests, list(points[-1]), m)
        print(
            f"  seed {seed}: epochs {epochs[-1]} smape {single['smape']:.3f} "
            f"mape {single['mape']:.3f} mase {single['mase']:.4f}",
            flush=True,
        )
    point = back(np.mean(points, axis=0))
    lower, upper = back(np.mean(lowers, axis=0)), back(np.mean(uppers, axis=0))
    truth = np.stack(tests)
    result = scores(trains, tests, list(point), m)
    if arguments.save:
        np.savez(
            arguments.save,
            point=point,
            lower=lower,
            upper=upper,
            truth=truth,
            trains=np.array(trains, dtype=object),
            keys=np.array(keys),
        )
    result["coverage_90"] = float(((truth >= lower) & (truth <= upper)).mean())
    result["seconds"] = time.perf_counter() - started
    result["epochs"] = epochs
    print(
        json.dumps(
            {
                "dataset": arguments.dataset,
                "split": arguments.split,
                "params": params,
                "seeds": arguments.seeds,
                **result,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
