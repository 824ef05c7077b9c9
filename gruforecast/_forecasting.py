"""Forecasting from a window-predicting function: shared by the estimator and the runtime.

``GRUForecaster`` (PyTorch) and ``OnnxForecaster`` (ONNX Runtime) differ only in how
they map raw windows to raw predictions; how a history is continued, recursively past the
horizon, how intervals are added, and how pandas input becomes pandas output is written
once, here, so that the two give the same numbers and the same index. NumPy only
(pandas when the history is a pandas object, and then it is loaded already).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._state import FittedState
from ._time_index import TimeIndex, step_seconds
from ._validation import as_series, check_int
from .intervals import check_levels, level_label
from .windowing import PredictWindows, recursive_forecast

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["forecast_history"]


def _with_bounds(
    forecast: np.ndarray, half_widths: np.ndarray, levels: tuple[float, ...]
) -> tuple[np.ndarray, list[str]]:
    columns, names = [forecast], ["forecast"]
    for j, level in enumerate(levels):
        columns += [forecast - half_widths[:, j], forecast + half_widths[:, j]]
        names += [f"lower_{level_label(level)}", f"upper_{level_label(level)}"]
    return np.column_stack(columns), names


def _check_same_step(state: FittedState, context: TimeIndex) -> None:
    """Refuse a context whose time step is not the fitted series' (hourly history into
    a daily model): the network learned one step, and the forecast's timestamps would
    follow the other."""
    fitted = step_seconds(state.index_kind, state.frequency)
    given = step_seconds(context.kind, context.freq)
    if fitted is None or given is None or abs(given - fitted) <= 0.05 * fitted:
        return
    raise ValueError(
        f"context has a time step of {context.freq!r}, but this model was fitted on a "
        f"series with a step of {state.frequency!r}: its forecasts would be of the wrong "
        f"step. Resample the context to one value per {state.frequency!r} step first, "
        f"or fit a model on {context.freq!r} data"
    )


def forecast_history(
    state: FittedState,
    predict_windows: PredictWindows,
    steps: int,
    context: Any,
    interval: Any = None,
    *,
    missing: str,
) -> np.ndarray | pd.Series | pd.DataFrame:
    """Forecast after ``context``, or after the fitted series when ``context`` is None.

    ``state`` is the fitted model (its window, the end of its series, its calibration
    data, its index), ``predict_windows`` maps raw windows to raw predictions with
    that same model, and ``missing`` is the policy for NaN in ``context``. The index
    of the fitted series is decoded (an ONNX model loads pandas) only when it is
    continued.

    Returns
    -------
    Without ``interval``: a pd.Series indexed by the next labels when the history is a
    pandas object, else an ndarray of shape (steps,). With ``interval``: a pd.DataFrame
    (pandas history) or an ndarray of shape (steps, 1 + 2 * n_levels), columns
    ``forecast, lower_L, upper_L`` for each level L in the order given.
    """
    window, calibration = state.window, state.calibration
    steps = check_int(steps, "steps")
    levels = None if interval is None else check_levels(interval)
    if levels is not None and calibration is None:
        raise ValueError(
            "this model has no calibration data for intervals: fit it with calibration_fraction > 0"
        )
    if context is None:
        if state.last_window is None:
            raise ValueError(
                "this forecaster was fitted on windows (fit(X, y)), so it has no "
                "series to continue; pass the recent history: forecast(steps, "
                "context=recent_values)"
            )
        values, name, index = state.last_window, state.series_name, state.index
    else:
        history = as_series(context, what="context", missing=missing, regular=True)
        if len(history.values) < window:
            raise ValueError(
                f"context has {len(history.values)} values; at least window_={window} are needed"
            )
        values, name = history.values, history.name
        index = TimeIndex.from_index(history.index) if history.is_pandas else None
        if index is not None:
            _check_same_step(state, index)
    future_index = index.future(steps) if index is not None else None  # fail before work
    forecast = recursive_forecast(predict_windows, values[None, :], window, steps)[0]
    if levels is not None:
        assert calibration is not None
        half_widths = calibration.half_widths(predict_windows, steps, levels, values[-window:])
        table, columns = _with_bounds(forecast, half_widths, levels)
    if future_index is None:
        return forecast if levels is None else table
    import pandas as pd

    if levels is None:
        return pd.Series(forecast, index=future_index, name=name)
    return pd.DataFrame(table, index=future_index, columns=columns)
