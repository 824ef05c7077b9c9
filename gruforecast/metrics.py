"""Forecast error metrics: MAE, RMSE, MAPE, sMAPE and MASE.

Each takes arrays, lists or pandas objects of equal length (pandas indexes are ignored:
values are compared by position) and returns a float. NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_series, check_int

__all__ = ["mae", "mape", "mase", "rmse", "smape"]


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = as_series(y_true, what="y_true").values
    prediction = as_series(y_pred, what="y_pred").values
    if len(truth) != len(prediction):
        raise ValueError(
            f"y_true and y_pred have different lengths: {len(truth)} and {len(prediction)}"
        )
    if len(truth) == 0:
        raise ValueError("y_true and y_pred are empty; at least one value is needed")
    return truth, prediction


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error."""
    truth, prediction = _pair(y_true, y_pred)
    return float(np.mean(np.abs(truth - prediction)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error."""
    truth, prediction = _pair(y_true, y_pred)
    errors = np.abs(truth - prediction)
    # through the largest error: squares of errors near 1e300 would overflow float64
    largest = float(errors.max())
    if not 0.0 < largest < np.inf:
        return largest
    return float(np.sqrt(np.mean((errors / largest) ** 2)) * largest)


def mape(y_true: Any, y_pred: Any) -> float:
    """Mean absolute percentage error, in percent: ``100 * mean(|y - ŷ| / |y|)``.

    Raises
    ------
    ValueError
        If ``y_true`` contains a zero (the percentage is undefined there).
    """
    truth, prediction = _pair(y_true, y_pred)
    if (truth == 0).any():
        position = int(np.argmax(truth == 0))
        raise ValueError(
            f"MAPE is undefined: y_true is 0 at position {position}; use smape or mase"
        )
    return float(100.0 * np.mean(np.abs(truth - prediction) / np.abs(truth)))


def smape(y_true: Any, y_pred: Any) -> float:
    """Symmetric MAPE in percent, from 0 to 200: ``100 * mean(2|y - ŷ| / (|y| + |ŷ|))``.

    A pair where both values are 0 counts as a perfect forecast (0), not as 0/0.
    """
    truth, prediction = _pair(y_true, y_pred)
    denominator = np.abs(truth) + np.abs(prediction)
    ratio = np.divide(
        2.0 * np.abs(truth - prediction),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(100.0 * np.mean(ratio))


def mase(y_true: Any, y_pred: Any, *, y_train: Any, m: int = 1) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample MAE of the seasonal naive
    forecast of period ``m`` on ``y_train`` (``mean |y_t - y_{t-m}|``).

    Below 1, the forecast beats what seasonal naive achieved in sample.

    Raises
    ------
    ValueError
        If ``y_train`` has ``m`` values or fewer, or its seasonal differences are all 0
        (a constant or exactly periodic training series: the scale is 0).
    """
    m = check_int(m, "m")
    history = as_series(y_train, what="y_train").values
    if len(history) <= m:
        raise ValueError(f"y_train has {len(history)} values; MASE with m={m} needs more than {m}")
    scale = float(np.mean(np.abs(history[m:] - history[:-m])))
    if scale == 0.0:
        raise ValueError(
            f"MASE is undefined: the seasonal naive forecast (m={m}) is exact on y_train, "
            "so its in-sample error, the scale, is 0; use mae or smape"
        )
    return mae(y_true, y_pred) / scale
