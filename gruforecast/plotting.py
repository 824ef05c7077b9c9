"""Plots built on matplotlib's object API (no pyplot): they work headless (Agg).

``save_figure`` writes atomically, so an interrupted save never leaves a broken image
where a good one was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from ._io import atomic_path
from ._validation import as_series

__all__ = ["plot_forecast", "save_figure"]


def _bounds(forecast: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, lower, upper) for each interval level in a forecast table, widest first."""
    if not isinstance(forecast, pd.DataFrame):
        return []
    bands = []
    for column in forecast.columns:
        if column.startswith("lower_"):
            label = column[len("lower_") :]
            bands.append(
                (label, forecast[column].to_numpy(), forecast[f"upper_{label}"].to_numpy())
            )
    return sorted(bands, key=lambda band: -float(band[0]))


@overload
def plot_forecast(
    history: Any,
    forecast: Any,
    *,
    truth: Any = ...,
    history_tail: int | None = ...,
    title: str | None = ...,
    ax: None = ...,
) -> Figure: ...


@overload
def plot_forecast(
    history: Any,
    forecast: Any,
    *,
    truth: Any = ...,
    history_tail: int | None = ...,
    title: str | None = ...,
    ax: Axes,
) -> Figure | SubFigure: ...


def plot_forecast(
    history: Any,
    forecast: Any,
    *,
    truth: Any = None,
    history_tail: int | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure | SubFigure:
    """Plot a history, its forecast, the forecast's interval bands and, optionally, the
    values that really came.

    Parameters
    ----------
    history : series (pd.Series, array, list)
        The past; with pandas, its index is the x axis.
    forecast : pd.Series, pd.DataFrame or array
        What ``forecast`` returned: a Series or 1-D array, or with intervals a
        DataFrame (columns ``forecast``, ``lower_L``, ``upper_L``) or 2-D array (first
        column the forecast; NumPy bounds are drawn too).
    truth : series, optional
        The true future values, aligned with the forecast.
    history_tail : int, optional
        Show only the last this many values of the history.
    title : str, optional
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the figure ``ax`` is in (a ``SubFigure`` if it is in one).
    """
    past = as_series(history, what="history")
    values = past.values if history_tail is None else past.values[-history_tail:]
    if isinstance(forecast, np.ndarray) and forecast.ndim == 2:
        columns = ["forecast"]
        for j in range((forecast.shape[1] - 1) // 2):
            columns += [f"lower_{j}", f"upper_{j}"]  # unnamed levels: only drawn
        forecast = pd.DataFrame(forecast, columns=columns)
    point = forecast["forecast"] if isinstance(forecast, pd.DataFrame) else forecast
    point_values = as_series(point, what="forecast").values
    if (
        past.index is not None  # past.is_pandas
        and isinstance(point, pd.Series)
        and not isinstance(point.index, pd.RangeIndex)
    ):
        history_x = past.index[-len(values) :]
        future_x = point.index
        if isinstance(future_x, pd.PeriodIndex):
            history_x, future_x = history_x.to_timestamp(), future_x.to_timestamp()
    else:
        start = len(past.values)
        history_x = np.arange(start - len(values), start)
        future_x = np.arange(start, start + len(point_values))

    figure: Figure | SubFigure
    if ax is None:
        figure = Figure(figsize=(10, 4), layout="constrained")
        ax = figure.subplots()
    else:
        figure = ax.figure
    ax.plot(history_x, values, color="black", linewidth=1.2, label="history")
    bands = _bounds(forecast)
    for shade, (label, lower, upper) in enumerate(bands):
        named = label.replace(".", "").isdigit()
        ax.fill_between(
            future_x,
            lower,
            upper,
            color="tab:blue",
            alpha=0.15 + 0.15 * shade,
            linewidth=0,
            label=f"{label}% interval" if named else "interval",
        )
    ax.plot(future_x, point_values, color="tab:blue", linewidth=1.8, label="forecast")
    if truth is not None:
        truth_values = as_series(truth, what="truth").values
        if len(truth_values) != len(point_values):
            raise ValueError(
                f"truth has {len(truth_values)} values but the forecast has "
                f"{len(point_values)}; pass the true values of the forecast's steps"
            )
        ax.plot(
            future_x, truth_values, color="tab:orange", linewidth=1.4, linestyle="--", label="truth"
        )
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    return figure


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Save ``figure`` to ``path`` atomically; the format follows the file's suffix.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    image_format = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=image_format, dpi=dpi)
    return path
