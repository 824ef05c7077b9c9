"""Sliding windows over a series: the supervised form a GRU trains on.

The seed tutorial built windows in a Python loop and forgot to append them to its lists;
here one call to ``sliding_window_view`` returns read-only *views* of the series, so a
series of 10^7 points costs no window copies at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import as_series, check_int

__all__ = [
    "SEASONS_TO_ESTIMATE",
    "PredictWindows",
    "can_deseasonalize",
    "last_window",
    "make_windows",
    "n_windows",
    "recursive_forecast",
]

# Maps raw windows (n, window) to raw predictions (n, horizon): a network, or an ONNX session
PredictWindows = Callable[[np.ndarray], np.ndarray]


# A window estimates a season from this many of them (the M3 benchmarks' decomposition
# needs a moving average over one season and phases seen more than once)
SEASONS_TO_ESTIMATE = 3


def can_deseasonalize(window: int, season: int | None) -> bool:
    """Whether windows of ``window`` values can have their own seasonal pattern of
    ``season`` estimated and removed (``deseasonalize``): a season of 2 or more, and
    :data:`SEASONS_TO_ESTIMATE` of them in the window. Every check of it asks here."""
    return season is not None and season >= 2 and window >= SEASONS_TO_ESTIMATE * season


def n_windows(length: int, window: int, horizon: int = 1) -> int:
    """Number of (window, target) pairs a series of ``length`` values gives."""
    return max(0, length - window - horizon + 1)


def make_windows(series: Any, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into input windows and the values that follow each of them.

    Row ``i`` of ``X`` is ``series[i : i + window]``; row ``i`` of ``y`` is the next
    ``horizon`` values, ``series[i + window : i + window + horizon]``.

    Parameters
    ----------
    series : list, 1-D or (n, 1) array, pd.Series or single-column pd.DataFrame
        The series, oldest value first.
    window : int
        Number of past values in each input window.
    horizon : int, default=1
        Number of future values each window is paired with.

    Returns
    -------
    X : ndarray of shape (n_samples, window)
        ``n_samples = len(series) - window - horizon + 1``.
    y : ndarray of shape (n_samples,) if ``horizon == 1`` else (n_samples, horizon)
        Both are read-only views of the series' values when the input already is a
        float32 or float64 NumPy array (other input is converted to float64 once).
        Copy them (``X.copy()``) before writing into them.

    Raises
    ------
    TypeError, ValueError
        If the series is not numeric, holds NaN/inf, or is too short for one window.

    Examples
    --------
    >>> X, y = make_windows([1, 2, 3, 4, 5], window=3)
    >>> X
    array([[1., 2., 3.],
           [2., 3., 4.]])
    >>> y
    array([4., 5.])
    """
    window = check_int(window, "window")
    horizon = check_int(horizon, "horizon")
    values = as_series(series, what="series", dtype=None).values
    count = n_windows(len(values), window, horizon)
    if count == 0:
        raise ValueError(
            f"series has {len(values)} values, but window={window} and horizon={horizon} "
            f"need at least {window + horizon} for one window and its target"
        )
    X = sliding_window_view(values[: len(values) - horizon], window)
    future = values[window:]
    y = future if horizon == 1 else sliding_window_view(future, horizon)
    if horizon == 1:
        # a plain slice is writable; make it read-only like X so both behave alike
        y = y.view()
        y.flags.writeable = False
    return X, y


def last_window(series: Any, window: int) -> np.ndarray:
    """The last ``window`` values of a series (a view), the context of the next forecast."""
    window = check_int(window, "window")
    values = as_series(series, what="series", dtype=None).values
    if len(values) < window:
        raise ValueError(f"series has {len(values)} values; at least window={window} are needed")
    return values[-window:]


def recursive_forecast(
    predict_windows: PredictWindows,
    histories: np.ndarray,
    window: int,
    steps: int,
) -> np.ndarray:
    """Forecast ``steps`` values after each row of ``histories`` by sliding the window
    over the forecasts: predict ``horizon`` values from the last ``window``, append them,
    repeat (a direct multi-step head used block by block).

    Parameters
    ----------
    predict_windows : callable
        Maps raw windows (n, window) to raw predictions (n, horizon).
    histories : ndarray of shape (n, at least window)
        One history per row, oldest value first.

    Returns
    -------
    ndarray of shape (n, steps)
    """
    buffer = np.asarray(histories, dtype=np.float64)[:, -window:]
    blocks, produced = [], 0
    while produced < steps:
        block = predict_windows(np.ascontiguousarray(buffer[:, -window:]))
        blocks.append(block)
        buffer = np.concatenate([buffer[:, -window:], block], axis=1)
        produced += block.shape[1]
    return np.concatenate(blocks, axis=1)[:, :steps]
