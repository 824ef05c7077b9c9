"""Honest evaluation over time: a chronological split and a rolling-origin backtest.

A backtest forecasts from several origins (cutoffs) and compares with what happened.
Nothing after a cutoff is used for that cutoff: with ``refit``, a fresh clone of the
forecaster (its scaler included) is fitted on the series up to the cutoff; without, the
forecaster fitted once on the first ``initial`` values continues the history up to each
cutoff as ``context``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._covariates import CovariateSpec, as_long_frame, covariate_spec, read_time_varying
from ._intervals import check_levels, level_label
from ._panel import Panel, read_one_or_many, seasonal_period_of
from ._time_index import decode_labels
from ._validation import SeriesInput, as_series, check_int
from .metrics import mae, mape, mase, rmse, smape

__all__ = ["BacktestResult", "backtest", "temporal_train_test_split"]


def _select(series: Any, start: int, stop: int) -> Any:
    """Positions [start, stop) of a series in the type it came in."""
    if isinstance(series, (pd.Series, pd.DataFrame)):
        return series.iloc[start:stop]
    return np.asarray(series)[start:stop]


def _resolve_size(size: Any, length: int, name: str) -> int:
    """An int count, or a float fraction of ``length``."""
    if isinstance(size, numbers.Real) and not isinstance(size, (bool, numbers.Integral)):
        fraction = cast(float, size)  # a Real: compares and multiplies like a float
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"{name} as a fraction must be in (0, 1), got {size}")
        # round() of a Real that is not a float need not return an int
        return max(1, int(round(fraction * length)))  # noqa: RUF046
    return check_int(size, name)


def temporal_train_test_split(series: Any, test_size: int | float) -> tuple[Any, Any]:
    """Split a series chronologically: the last ``test_size`` values are the test part.

    Unlike scikit-learn's ``train_test_split`` nothing is shuffled. The test part is what
    ``forecaster.fit(train).forecast(len(test))`` should predict: the forecast continues
    the end of ``train``, and with pandas input its index is ``test``'s index.

    Parameters
    ----------
    series : list, array, pd.Series or single-column pd.DataFrame
    test_size : int or float
        Number of test values, or a fraction of the series in (0, 1).

    Returns
    -------
    train, test
        Of the input's type (pandas keeps its index).
    """
    values = as_series(series, what="series").values
    test = _resolve_size(test_size, len(values), "test_size")
    if test >= len(values):
        raise ValueError(
            f"test_size={test_size} leaves nothing to train on: the series has {len(values)} values"
        )
    cut = len(values) - test
    return _select(series, 0, cut), _select(series, cut, len(values))


@dataclass(frozen=True)
class BacktestResult:
    """What ``backtest`` measured.

    Attributes
    ----------
    metrics : pd.DataFrame
        One row per origin, in origin order: ``cutoff`` (the last value's label before
        the forecast), ``refitted`` (True where a clone was fitted anew on the values
        before this origin, False where the last fit was reused with a longer context;
        see ``refit``), then ``mae``, ``rmse``, ``mape``, ``smape``, ``mase``, and
        ``coverage_L`` (share of true values inside the L interval) for each interval
        level. Values that were missing in the series (filled by a forecaster with
        ``missing="interpolate"``) are not scored: the metrics are over the known ones.
    forecasts : pd.DataFrame
        ``horizon`` rows per origin, in origin order: ``cutoff``, ``step`` (1 to
        horizon), ``time`` (the forecast value's label), ``truth`` (NaN where the
        series had none), ``forecast``, and ``lower_L``/``upper_L`` per interval level.
    """

    metrics: pd.DataFrame
    forecasts: pd.DataFrame

    def summary(self) -> pd.Series:
        """The metrics averaged over origins (coverage over all forecast values)."""
        numeric = self.metrics.select_dtypes("number").drop(columns=["refitted"], errors="ignore")
        return numeric.mean()


def backtest(
    forecaster: Any,
    series: Any,
    horizon: int,
    *,
    initial: int | float,
    step: int | None = None,
    refit: bool | int = True,
    interval: Any = None,
    m: int | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of a forecaster on a series.

    Origins are at positions ``initial``, ``initial + step``, ... while ``horizon``
    true values follow. At each, the forecaster forecasts ``horizon`` values from the
    series up to the origin and is scored against the next ``horizon`` values.

    Parameters
    ----------
    forecaster : GRUForecaster
        The model to evaluate (not modified: clones are fitted). Its ``missing``
        policy applies to ``series``: with ``"interpolate"``, NaN are filled for the
        fits and contexts and left out of the scores.
    series : list, array, pd.Series or single-column pd.DataFrame
        Or many series, as ``fit`` reads them (a long frame, a dict, a list); with
        the forecaster's covariates, a long frame with their columns: each fit and
        context gets them up to its cutoff, each forecast the future-known ones of the
        ``horizon`` steps after it as the frame has them (nothing else after it).
    horizon : int
        Values forecast at each origin (recursive past the forecaster's own horizon).
    initial : int or float
        Length of the first training part: a count, or a fraction in (0, 1).
    step : int, optional
        Distance between origins; default ``horizon`` (forecasts that do not overlap).
    refit : bool or int, default=True
        True: refit at every origin on all values before it. False: fit once on the
        first ``initial`` values, then only extend the context. An int k: refit at
        every k-th origin (the first one included).
    interval : float or list of floats, optional
        Interval levels to forecast and score (``coverage_L`` columns).
    m : int, optional
        Seasonal period of MASE's naive forecast; default: the period implied by a
        pandas index's frequency (12 for monthly data), else 1.

    Returns
    -------
    BacktestResult
    """
    horizon = check_int(horizon, "horizon")
    step = horizon if step is None else check_int(step, "step")
    if isinstance(refit, (bool, np.bool_)):
        refit_every = 1 if refit else 0
    else:
        refit_every = check_int(refit, "refit")
    levels = () if interval is None else check_levels(interval)
    names = (
        getattr(forecaster, "id_col", "unique_id"),
        getattr(forecaster, "time_col", "ds"),
        getattr(forecaster, "target_col", "y"),
    )
    # the forecaster's own policy for NaN and rows missing from a time index: with
    # "interpolate", each fit fills its own past, and filled values are never truth
    missing = getattr(forecaster, "missing", "raise")
    params = forecaster.get_params() if hasattr(forecaster, "get_params") else {}
    spec = covariate_spec(params, names)
    series = as_long_frame(series, names, spec)  # one series' frame with its covariates
    panel, source, _ = read_one_or_many(series, names, missing=missing, what="series")
    extra = None
    if spec:
        extra = _covariate_columns(series, panel, spec, source, missing, horizon, params)
    return _rounds(
        forecaster, panel, source, names, horizon, initial, step, refit_every, levels, m, extra
    )


def _covariate_columns(
    series: Any,
    panel: Panel,
    spec: CovariateSpec,
    source: SeriesInput | None,
    missing: str,
    horizon: int,
    params: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The covariate columns of ``series`` (a long frame) aligned with ``panel``'s values,
    which every fit and context of the backtest gets beside its values: each as read
    (a static one's values too, so that each fit reads its categories), the time-varying
    ones as numbers, filled as ``missing`` says."""
    if source is not None:
        raise TypeError(
            "a backtest of a forecaster with covariates reads a long frame with the "
            f"covariate columns ({', '.join(map(repr, spec.columns))}) beside the series"
        )
    if spec.past and horizon > params["horizon"]:
        raise ValueError(
            f"horizon={horizon} is beyond the forecaster's horizon={params['horizon']}: its "
            "recursive steps would read past covariates after each cutoff, which are not "
            "known there; backtest at most the forecaster's horizon"
        )
    columns = read_time_varying(series, panel, spec.time_varying, missing=missing, what="series")
    extra = {name: columns[:, j] for j, name in enumerate(spec.time_varying)}
    ids = series[panel.names[0]]
    for name in spec.static:  # each series' value (fit checks there is one)
        first = (
            series[name].groupby(ids.to_numpy(), sort=False).first().reindex(pd.Index(panel.ids))
        )
        extra[name] = np.repeat(first.to_numpy(dtype=object), panel.lengths)
    return extra


def _rounds(
    forecaster: Any,
    panel: Panel,
    source: SeriesInput | None,
    names: tuple[str, str, str],
    horizon: int,
    initial: int | float,
    step: int,
    refit_every: int,
    levels: tuple[float, ...],
    m: int | None,
    extra: dict[str, np.ndarray] | None = None,
) -> BacktestResult:
    """The rolling origins of every series: at ``initial`` (a count, or a fraction of
    each series' length) and every ``step`` after, per series. Round j fits one model
    (a clone) on every series cut at its j-th origin (series without one sit the round
    out) and forecasts them all; metrics are per series and cutoff (of one series
    given as one, ``source``: without an id column, on the series' own labels).

    ``extra``: covariate columns aligned with the values: each fit and context gets
    them up to its cutoff, and the forecast the future-known ones of the ``horizon``
    steps after it, as they turned out (the values in the data)."""
    lengths = panel.lengths
    observed = np.ones(len(panel.values), bool) if panel.filled is None else ~panel.filled
    raw = np.where(observed, panel.values, np.nan)  # the fits get gaps, not the filling
    times = decode_labels(panel.kind, panel.freq, panel.tz, panel.times)  # what fits read
    one = source is not None  # one series, given as one: its own labels in the tables
    if source is None:
        labels = times
    else:
        labels = source.index if source.is_pandas else pd.RangeIndex(len(source.values))
    firsts = np.array([_resolve_size(initial, int(n), "initial") for n in lengths])
    counts = np.maximum((lengths - horizon - firsts) // step + 1, 0)
    if not counts.any():
        if one:
            raise ValueError(
                f"no origin: the series has {lengths[0]} values, initial={initial} and "
                f"horizon={horizon} need at least {firsts[0] + horizon}"
            )
        raise ValueError(
            f"no origin: with initial={initial} and horizon={horizon}, every series is too "
            f"short (the longest has {lengths.max()} values)"
        )
    m = check_int(m, "m") if m is not None else (seasonal_period_of(panel) or 1)
    metric_rows, forecast_frames, fitted = [], [], None
    for number in range(int(counts.max())):
        taking = np.flatnonzero(counts > number)
        origins = firsts[taking] + number * step  # per series: values before the origin
        refitted = fitted is None or (refit_every > 0 and number % refit_every == 0)
        if refitted:
            past = _past(panel, taking, origins, times, raw, names, extra=extra)
            fitted = clone(forecaster).fit(past)
        assert fitted is not None
        # forecast() reads only the last window_ values of each: the whole past would be
        # read and checked again at every origin for nothing (but where values are
        # missing, which are filled from what comes before them)
        keep = fitted.window_ if panel.filled is None else None
        context = _past(panel, taking, origins, times, raw, names, keep, extra)
        ahead = {}
        if extra is not None and fitted.future_covariates:
            ahead["X_future"] = _ahead(panel, taking, origins, times, names, horizon, extra)
        table = fitted.forecast(horizon, context=context, interval=list(levels) or None, **ahead)
        columns = table.columns[2:]  # forecast, lower_L, upper_L, ...
        for position, (k, origin) in enumerate(zip(taking, origins, strict=True)):
            start = panel.offsets[k] + origin
            block = table[columns].to_numpy()[position * horizon : (position + 1) * horizon]
            truth = np.where(
                observed[start : start + horizon], panel.values[start : start + horizon], np.nan
            )
            row, frame = _scored(
                {} if one else {names[0]: panel.ids[k]},
                labels[start - 1],
                refitted,
                labels[start : start + horizon],
                truth,
                block,
                levels,
                panel.values[panel.offsets[k] : start],
                m,
            )
            metric_rows.append(row)
            forecast_frames.append(frame)
    return BacktestResult(
        metrics=pd.DataFrame(metric_rows),
        forecasts=pd.concat(forecast_frames, ignore_index=True),
    )


def _past(
    panel: Panel,
    taking: np.ndarray,
    origins: np.ndarray,
    times: Any,
    raw: np.ndarray,
    names: tuple[str, str, str],
    keep: int | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The long frame of series ``taking``, each up to its origin (only its last
    ``keep`` values with ``keep``), NaN where a value was missing; with the ``extra``
    columns (covariates) of those rows."""
    firsts = np.zeros_like(origins) if keep is None else np.maximum(origins - keep, 0)
    lows, counts = panel.offsets[taking] + firsts, origins - firsts
    rows = np.concatenate([np.arange(a, a + n) for a, n in zip(lows, counts, strict=True)])
    return pd.DataFrame(
        {
            names[0]: np.repeat(np.asarray(panel.ids, dtype=object)[taking], counts),
            names[1]: times[rows],
            names[2]: raw[rows],
            **{name: column[rows] for name, column in (extra or {}).items()},
        }
    )


def _ahead(
    panel: Panel,
    taking: np.ndarray,
    origins: np.ndarray,
    times: Any,
    names: tuple[str, str, str],
    horizon: int,
    extra: dict[str, np.ndarray],
) -> pd.DataFrame:
    """X_future of one round: the ``horizon`` rows after each series' origin, with
    the covariate columns (the future-known ones are read of them)."""
    lows = panel.offsets[taking] + origins
    rows = np.concatenate([np.arange(a, a + horizon) for a in lows])
    return pd.DataFrame(
        {
            names[0]: np.repeat(np.asarray(panel.ids, dtype=object)[taking], horizon),
            names[1]: times[rows],
            **{name: column[rows] for name, column in extra.items()},
        }
    )


def _scored(
    identity: dict[str, Any],
    cutoff: Any,
    refitted: bool,
    times: Any,
    truth: np.ndarray,
    table: np.ndarray,
    levels: tuple[float, ...],
    past: np.ndarray,
    m: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One origin's row of metrics and rows of forecasts; ``table`` holds the forecast
    and each level's lower and upper bounds as columns, ``truth`` NaN where unknown."""
    horizon = len(truth)
    point, known = table[:, 0], ~np.isnan(truth)
    row = {**identity, "cutoff": cutoff, "refitted": refitted, **_scores(truth, point, past, m)}
    frame = {
        **{name: [value] * horizon for name, value in identity.items()},
        "cutoff": [cutoff] * horizon,
        "step": np.arange(1, horizon + 1),
        "time": times,
        "truth": truth,
        "forecast": point,
    }
    for j, level in enumerate(levels):
        lower, upper = table[:, 1 + 2 * j], table[:, 2 + 2 * j]
        label = level_label(level)
        frame[f"lower_{label}"], frame[f"upper_{label}"] = lower, upper
        inside = (truth[known] >= lower[known]) & (truth[known] <= upper[known])
        row[f"coverage_{label}"] = float(np.mean(inside)) if known.any() else np.nan
    return row, pd.DataFrame(frame)


def _scores(truth: np.ndarray, point: np.ndarray, past: np.ndarray, m: int) -> dict[str, float]:
    """The point metrics of one origin over its known true values (NaN where the truth
    was missing and filled is skipped; all NaN if none is known)."""
    known = ~np.isnan(truth)
    if not known.any():
        return dict.fromkeys(("mae", "rmse", "mape", "smape", "mase"), np.nan)
    truth, point = truth[known], point[known]
    return {
        "mae": mae(truth, point),
        "rmse": rmse(truth, point),
        "mape": mape(truth, point) if (truth != 0).all() else np.nan,
        "smape": smape(truth, point),
        "mase": _mase_or_nan(truth, point, past, m),
    }


def _mase_or_nan(truth: np.ndarray, point: np.ndarray, past: np.ndarray, m: int) -> float:
    try:
        return mase(truth, point, y_train=past, m=m)
    except ValueError:  # a constant past: the scale is 0, MASE is undefined here
        return float("nan")
