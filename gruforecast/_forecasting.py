"""Forecasting from a window-predicting function: shared by the estimator and the runtime.

``GRUForecaster`` (PyTorch) and ``OnnxForecaster`` (ONNX Runtime) differ only in how
they map raw windows to raw predictions; how a history is continued, recursively past the
horizon, and how pandas input becomes pandas output is written once, here, so that the
two give the same numbers and the same index. NumPy only (pandas when the history is a
pandas object, and then it is loaded already).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from ._time_index import TimeIndex
from ._validation import as_series, check_int

__all__ = ["forecast_history", "recursive_forecast"]

PredictWindows = Callable[[np.ndarray], np.ndarray]  # (n, window) -> (n, horizon), raw units


def recursive_forecast(
    predict_windows: PredictWindows, history: np.ndarray, window: int, steps: int
) -> np.ndarray:
    """The ``steps`` values after ``history``: predict ``horizon`` values from the last
    ``window``, append them, and repeat (a direct multi-step head used block by block)."""
    buffer = np.asarray(history[-window:], dtype=np.float64)
    blocks, produced = [], 0
    while produced < steps:
        block = predict_windows(buffer[None, -window:])[0]
        blocks.append(block)
        buffer = np.concatenate([buffer[-window:], block])
        produced += len(block)
    return np.concatenate(blocks)[:steps]


def forecast_history(
    predict_windows: PredictWindows,
    steps: Any,
    context: Any,
    *,
    window: int,
    last_window: np.ndarray | None,
    time_index: Callable[[], TimeIndex | None],
    series_name: Hashable | None,
) -> Any:
    """Forecast after ``context``, or after the fitted series when ``context`` is None.

    ``time_index`` is called only when the fitted series is continued, so that a model
    whose metadata describes a pandas index loads pandas only when it is needed.
    Returns a pd.Series indexed by the next labels when the history is a pandas object,
    else an ndarray.
    """
    steps = check_int(steps, "steps")
    if context is None:
        if last_window is None:
            raise ValueError(
                "this forecaster was fitted on windows (fit(X, y)), so it has no "
                "series to continue; pass the recent history: forecast(steps, "
                "context=recent_values)"
            )
        values, name, index = last_window, series_name, time_index()
    else:
        history = as_series(context, what="context")
        if len(history.values) < window:
            raise ValueError(
                f"context has {len(history.values)} values; at least window_={window} "
                "are needed"
            )
        values, name = history.values, history.name
        index = TimeIndex.from_index(history.index) if history.is_pandas else None
    future_index = index.future(steps) if index is not None else None  # fail before work
    forecast = recursive_forecast(predict_windows, values, window, steps)
    if future_index is None:
        return forecast
    import pandas as pd

    return pd.Series(forecast, index=future_index, name=name)
