"""Forecasting from a window-predicting function: shared by the estimator and the runtime.

``GRUForecaster`` (PyTorch) and ``OnnxForecaster`` (ONNX Runtime) differ only in how
they map raw windows to raw predictions; how a history is continued, recursively past the
horizon, how intervals are added, and how pandas input becomes pandas output is written
once, here, so that the two give the same numbers and the same index. NumPy only
(pandas when the history is a pandas object, and then it is loaded already).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._covariates import CovariateState, as_long_frame, forecast_channels
from ._intervals import (
    CONTEXT_ORIGINS,
    Calibration,
    check_levels,
    context_calibration,
    level_label,
)
from ._panel import DEFAULT_NAMES, Panel, frame_times, last_windows, read_one_or_many
from ._scaling import check_in_domain
from ._state import FittedState, PanelState
from ._time_index import decode_labels, future_labels, seasonal_period, step_seconds, tz_key
from ._validation import check_int
from ._windowing import PredictWindows, recursive_forecast

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["NonFiniteForecastError", "check_finite", "forecast_history", "prior_calibration"]


def _with_bounds(
    forecast: np.ndarray, half_widths: np.ndarray, levels: tuple[float, ...]
) -> tuple[np.ndarray, list[str]]:
    columns, names = [forecast], ["forecast"]
    for j, level in enumerate(levels):
        columns += [forecast - half_widths[:, j], forecast + half_widths[:, j]]
        names += [f"lower_{level_label(level)}", f"upper_{level_label(level)}"]
    return np.column_stack(columns), names


def _check_same_step(state: FittedState, kind: str | None, freq: str | None) -> None:
    """Refuse a context whose time step is not the fitted series' (hourly history into
    a daily model): the network learned one step, and the forecast's timestamps would
    follow the other. A pretrained prior has no fitted series: a context of another
    season than the prior's is refused instead (quarterly data into the monthly prior)."""
    if state.prior is not None:
        season = state.prior.get("season")
        given = seasonal_period(freq) if kind in ("datetime", "period") else None
        if given is not None and season is not None and given != season:
            raise ValueError(
                f"context has a frequency of {freq!r}, a season of {given}, but the "
                f"pretrained prior {state.prior.get('name')!r} was trained on series of "
                f"season {season}: use the prior of season {given} "
                f"(from_pretrained({given}); gruforecast.priors.shipped() lists them)"
            )
        return
    fitted_freq = state.frequency
    fitted = step_seconds(state.index_kind, fitted_freq)
    given_step = step_seconds(kind, freq)
    if fitted is None or given_step is None or abs(given_step - fitted) <= 0.05 * fitted:
        return
    raise ValueError(
        f"context has a time step of {freq!r}, but this model was fitted on a "
        f"series with a step of {fitted_freq!r}: its forecasts would be of the wrong "
        f"step. Resample the context to one value per {fitted_freq!r} step first, "
        f"or fit a model on {freq!r} data"
    )


def _request(state: FittedState, steps: Any, interval: Any) -> tuple[int, tuple[float, ...] | None]:
    """``steps`` and the interval levels, checked (a model without calibration data
    has no intervals)."""
    steps = check_int(steps, "steps")
    levels = None if interval is None else check_levels(interval)
    if levels is not None and state.calibration is None:
        if state.panel is not None:
            why = (
                "it was fitted with calibration_fraction=0, or no series was long enough "
                "to hold windows out for calibration"
            )
        elif state.last_window is not None:  # fit(series): too short, or asked for none
            why = (
                "it was fitted with calibration_fraction=0, or on a series too short to "
                "hold windows out for calibration (fit said so in a warning)"
            )
        else:
            why = "it was fitted with calibration_fraction=0"
        raise ValueError(
            f"this model has no calibration data for intervals: {why}. Leave out "
            "interval= or fit with calibration_fraction > 0 on a longer series"
        )
    return steps, levels


class NonFiniteForecastError(ValueError):
    """A forecast that is not a finite number (the model's weights, or its history,
    overflow float64)."""


def check_finite(forecasts: np.ndarray, model: str, ids: Any = None) -> None:
    """Refuse forecasts (one row per series, ``ids`` naming them) that are not finite:
    ``model``'s weights, or the history it was given, overflow float64 there."""
    bad = ~np.isfinite(forecasts)
    if not bad.any():
        return
    row, step = np.unravel_index(int(np.argmax(bad)), bad.shape)
    series = f"of series {ids[row]!r} " if ids is not None else ""
    raise NonFiniteForecastError(
        f"{model} forecast {forecasts[row, step]} {series}at step {step + 1}: a forecast "
        "that is not a finite number (its weights, or the history it was given, overflow "
        "float64 there), so none is given; a model with such weights is damaged or "
        "diverged: fit it again"
    )


def _forecast_histories(
    state: FittedState,
    predict_windows: PredictWindows,
    histories: np.ndarray,
    steps: int,
    levels: tuple[float, ...] | None,
    *,
    ids: Any,
    context: Panel | None,
    model: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The forecasts (n, steps) of each row of ``histories`` (n, at least window raw
    values), one network call per block of ``horizon`` steps for all rows, and with
    ``levels`` the intervals' half-widths (n, steps, len(levels)): what one series and
    many share. ``ids`` name the rows in errors (None: one series); the series of a
    ``context`` the caller was given are first checked to be ones the model can read,
    and a pretrained prior calibrates its intervals on them too."""
    given = context is not None
    window = state.window
    if given and state.scaler.log:  # name a series the model cannot read
        low = (histories[:, -window:] <= -1.0).any(axis=1)
        if low.any():
            k = int(np.argmax(low))
            what = "context" if ids is None else f"context, series {ids[k]!r}"
            check_in_domain(state.scaler, histories[k, -window:], f"{what} (its last values)")
    forecast = recursive_forecast(predict_windows, histories, window, steps)
    check_finite(forecast, model, ids)
    if levels is None:
        return forecast, None
    assert state.calibration is not None  # checked by _request
    calibration = state.calibration
    if state.prior is not None and context is not None:
        calibration = prior_calibration(state, predict_windows, context)
    windows = histories[:, -window:]
    return forecast, calibration.half_widths(predict_windows, steps, levels, windows)


def prior_calibration(
    state: FittedState, predict_windows: PredictWindows, context: Panel
) -> Calibration:
    """A pretrained prior's calibration for ``context``: its errors on the context's own
    last origins (it never trained on them), pooled with its corpus' errors scaled to
    them; the corpus' errors alone where the context is too short for an origin.
    Series the model cannot read in full (values at or below -1 under a log transform,
    non-finite values) lend no origins."""
    prior = state.calibration
    assert prior is not None
    rows = np.arange(context.n_series)
    if len(rows) > CONTEXT_ORIGINS:  # one origin a series at most: some series only
        rows = np.sort(np.random.default_rng(0).choice(len(rows), CONTEXT_ORIGINS, False))
    series = [context.series(int(k)) for k in rows]
    low = -1.0 if state.scaler.log else -np.inf
    readable = [values for values in series if np.isfinite(values).all() and (values > low).all()]
    own = context_calibration(readable, state.window, state.horizon)
    return prior if own is None else own.with_prior(prior, predict_windows)


def _series_ends(
    state: FittedState, panel: Panel | None
) -> tuple[Any, str, str | None, Any, np.ndarray]:
    """The ids, time kind, step, time zone and last labels of the series forecast:
    those of ``panel`` (a context), or with None those the model of many series holds."""
    if panel is None:
        fitted = state.panel
        assert fitted is not None  # the callers' rule: a model of many series
        return fitted.ids, fitted.kind, fitted.freq, fitted.tz, np.asarray(fitted.last_labels)
    return panel.ids, panel.kind, panel.freq, tz_key(panel.tz), panel.last


def _forecast_table(
    state: FittedState,
    predict_windows: PredictWindows,
    steps: int,
    levels: tuple[float, ...] | None,
    panel: Panel | None,
    *,
    names: tuple[str, str, str],
    model: str,
) -> pd.DataFrame:
    """Forecast every series: those of ``panel`` (series never seen in fit too), or
    with None those of a model of many series, in one batch per step block.

    Returns a long frame: the id and time columns (named as in fit), ``forecast`` and,
    with ``levels``, ``lower_L``/``upper_L`` for each level L; ``steps`` rows per
    series, series in the order of their ids.
    """
    import pandas as pd

    ids, kind, freq, tz, last = _series_ends(state, panel)
    if panel is None:
        histories = cast(PanelState, state.panel).last_windows
    else:
        _check_same_step(state, kind, freq)
        histories = last_windows(panel, state.window)
    labels = future_labels(kind, freq, tz, last, steps)  # fail before any work
    forecast, half_widths = _forecast_histories(
        state,
        predict_windows,
        histories,
        steps,
        levels,
        ids=ids,
        context=panel,
        model=model,
    )
    columns: dict[str, Any] = {
        names[0]: pd.Index(ids).repeat(steps),  # the ids' own dtype
        names[1]: labels,
        "forecast": forecast.ravel(),
    }
    if levels is not None:
        assert half_widths is not None
        for j, level in enumerate(levels):
            label = level_label(level)
            columns[f"lower_{label}"] = (forecast - half_widths[:, :, j]).ravel()
            columns[f"upper_{label}"] = (forecast + half_widths[:, :, j]).ravel()
    return pd.DataFrame(columns)


def _with_covariates(
    predict: Callable[..., np.ndarray],
    state: FittedState,
    covariates: CovariateState,
    panel: Panel | None,
    *,
    steps: int,
    names: tuple[str, str, str],
    future: Any,
) -> PredictWindows:
    """``predict`` (raw windows and their covariate channels, in the window and ahead,
    to raw predictions) as the map of raw windows that a forecast of ``steps`` values
    after the series of ``panel`` (a context; None: the fitted series; ``covariates``
    holds their last windows of channels) calls block by block (see
    ``recursive_forecast``): each call takes the next block's channels, made from
    ``future`` (X_future)."""
    import pandas as pd

    ids, kind, freq, tz, last = _series_ends(state, panel)
    ahead = -(-steps // state.horizon) * state.horizon  # whole blocks
    labels = future_labels(kind, freq, tz, last, ahead)
    numbers = frame_times(pd.Series(labels), "the labels ahead").reshape(len(ids), -1)
    channels = iter(
        forecast_channels(
            covariates,
            future,
            ids,
            numbers,
            kind=kind,
            freq=freq,
            tz=tz,
            steps=steps,
            horizon=state.horizon,
            names=names,
            decode=lambda values: decode_labels(kind, freq, tz, values),
        )
    )

    def predict_block(windows: np.ndarray) -> np.ndarray:
        return predict(windows, *next(channels))

    return predict_block


def _forecast_with_covariates(
    state: FittedState,
    predict: Callable[..., np.ndarray],
    steps: int,
    levels: tuple[float, ...] | None,
    context: Any,
    future: Any,
    *,
    names: tuple[str, str, str],
    missing: str,
    model: str,
) -> pd.DataFrame:
    """The forecast table of a model with covariates: of the fitted series, or of a
    ``context``, a long frame with the covariate columns (series never seen in fit
    too), each continued with ``future`` (X_future)."""
    covariates = cast(CovariateState, state.covariates)
    panel = None
    if context is not None:
        context = as_long_frame(context, names, covariates.spec)  # one series' frame too
        panel, history, _ = read_one_or_many(context, names, missing=missing, what="context")
        if history is not None:
            raise TypeError(
                "the context of a model with covariates is a long frame with the id, time "
                f"and target columns and the covariates' ({names[0]!r}, {names[1]!r}, "
                f"{names[2]!r}, {', '.join(map(repr, covariates.spec.columns))})"
            )
        _check_same_step(state, panel.kind, panel.freq)
        covariates = covariates.of_context(context, panel, state.window, missing=missing)
    predict_windows = _with_covariates(
        predict, state, covariates, panel, steps=steps, names=names, future=future
    )
    return _forecast_table(state, predict_windows, steps, levels, panel, names=names, model=model)


def forecast_history(
    state: FittedState,
    predict_windows: Callable[..., np.ndarray],
    steps: int,
    context: Any,
    interval: Any = None,
    *,
    missing: str,
    model: str = "the model's",
    future: Any = None,
) -> np.ndarray | pd.Series | pd.DataFrame:
    """Forecast after ``context``, or after the fitted series when ``context`` is None.

    ``state`` is the fitted model (its window, the end of its series, its calibration
    data, its index), ``predict_windows`` maps raw windows to raw predictions with
    that same model, ``missing`` is the policy for NaN in ``context``, and ``model``
    names the model in errors. The index of the fitted series is decoded (an ONNX
    model loads pandas) only when it is continued.

    Returns
    -------
    Without ``interval``: a pd.Series indexed by the next labels when the history is a
    pandas object, else an ndarray of shape (steps,). With ``interval``: a pd.DataFrame
    (pandas history) or an ndarray of shape (steps, 1 + 2 * n_levels), columns
    ``forecast, lower_L, upper_L`` for each level L in the order given.

    Many series (a model of many series without ``context``, or a ``context`` of many
    series, or of one given as a long frame, a dict or a list): a long frame, see
    :func:`_forecast_table`.

    A model with covariates (``state.covariates``): ``predict_windows`` takes the
    windows' covariate channels too (in the window and ahead, in their own units), and
    ``future`` (X_future) gives the covariates' values ahead; the fitted series, or a
    ``context`` given as a long frame with the covariate columns.
    """
    fitted = state.panel
    names = fitted.names if fitted is not None else DEFAULT_NAMES
    window = state.window
    steps, levels = _request(state, steps, interval)
    if state.covariates is not None:
        return _forecast_with_covariates(
            state,
            predict_windows,
            steps,
            levels,
            context,
            future,
            names=names,
            missing=missing,
            model=model,
        )
    if future is not None:
        raise ValueError(
            "X_future gives covariates of the steps ahead, but this model was fitted "
            "without any (see future_covariates, past_covariates, calendar)"
        )
    history = None
    if context is not None:
        panel, history, index = read_one_or_many(context, names, missing=missing, what="context")
        if history is None:
            return _forecast_table(
                state, predict_windows, steps, levels, panel, names=names, model=model
            )
    elif fitted is not None:
        return _forecast_table(
            state, predict_windows, steps, levels, None, names=names, model=model
        )
    if history is None:
        if state.prior is not None:
            raise ValueError(
                f"the pretrained prior {state.prior.get('name')!r} holds no series of its "
                "own: pass the series to forecast, forecast(steps, context=series)"
            )
        if state.last_window is None:
            raise ValueError(
                "this forecaster was fitted on windows (fit(X, y)), so it has no "
                "series to continue; pass the recent history: forecast(steps, "
                "context=recent_values)"
            )
        values, name, index = state.last_window, state.series_name, state.index
    else:
        # the part of the window the GRU reads must be there; what the seasonal estimate
        # reads before it is padded with the first value, as a short series' is in fit
        needed = state.shape.gru_window or window
        if len(history.values) < needed:
            what = (
                f"window_={window}"
                if needed == window
                else f"{needed} (what the GRU reads of its window_={window}; the values "
                "before them are padded with the first)"
            )
            raise ValueError(
                f"context has {len(history.values)} values; at least {what} are needed"
            )
        values, name = last_windows(panel, window)[0], history.name
        if index is not None:
            _check_same_step(state, index.kind, index.freq)
    future_index = index.future(steps) if index is not None else None  # fail before work
    forecasts, half_widths = _forecast_histories(
        state,
        predict_windows,
        values[None, -window:],
        steps,
        levels,
        ids=None,
        context=panel if context is not None else None,
        model=model,
    )
    forecast = forecasts[0]
    if levels is not None:
        assert half_widths is not None
        table, columns = _with_bounds(forecast, half_widths[0], levels)
    if future_index is None:
        return forecast if levels is None else table
    import pandas as pd

    if levels is None:
        return pd.Series(forecast, index=future_index, name=name)
    return pd.DataFrame(table, index=future_index, columns=columns)
