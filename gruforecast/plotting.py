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
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator

from ._io import atomic_path
from ._time_index import TimeIndex
from ._validation import as_series, check_int

__all__ = ["plot_forecast", "save_figure"]

# Lines of at most this many points get a marker on each: a history of one value, or a
# one-step forecast, is then a visible dot rather than an invisible line.
_FEW_POINTS = 40


def _bounds(forecast: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, lower, upper) for each interval level in a forecast table, widest first."""
    if not isinstance(forecast, pd.DataFrame):
        return []
    bands = []
    for column in forecast.columns:
        if column.startswith("lower_"):
            label = column[len("lower_") :]
            bands.append(
                (
                    label,
                    forecast[column].to_numpy(dtype=float),
                    forecast[f"upper_{label}"].to_numpy(dtype=float),
                )
            )
    return sorted(bands, key=_width, reverse=True)


def _is_named(label: str) -> bool:
    """Whether an interval label is a level in percent ("90", "97.5"), not the number
    given to a level of a NumPy table ("#1")."""
    return label.replace(".", "", 1).isdigit()


def _width(band: tuple[str, np.ndarray, np.ndarray]) -> float:
    """How wide a band is, to draw the widest first: its level, or for an unnamed one
    its mean finite width."""
    label, lower, upper = band
    if _is_named(label):
        return float(label)
    finite = np.isfinite(lower) & np.isfinite(upper)
    return float(np.mean((upper - lower)[finite])) if finite.any() else np.inf


def _labels(index: Any, *, forecast: bool = False) -> Any:
    """``index`` if its labels can place values on an x axis (dates, periods, whole
    numbers), else None. A forecast's default ``RangeIndex(0, n)`` says nothing about
    where it lies: None (the history's labels are continued instead)."""
    if index is None:
        return None
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        return index
    if not pd.api.types.is_integer_dtype(index.dtype):
        return None
    default = (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )
    return None if forecast and default else index


def _is_time(index: Any) -> bool:
    return isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex))


def _x_labels(
    past_index: Any, shown: int, total: int, future_index: Any, steps: int
) -> tuple[Any, Any]:
    """The x labels of the last ``shown`` of ``total`` history values and of the
    ``steps`` forecast values, in one system: the labels of both when they are of one
    kind (times, or whole numbers), else the forecast's continued backwards, else the
    history's continued forwards, else positions (0 for the first history value)."""
    past, future = _labels(past_index), _labels(future_index, forecast=True)
    if past is not None and future is not None and _is_time(past) == _is_time(future):
        return past[-shown:], future
    if future is not None:
        before = TimeIndex.from_index(future).past(steps + shown)
        if before is not None:
            return before[:shown], future
    if past is not None:
        try:
            return past[-shown:], TimeIndex.from_index(past).future(steps)
        except ValueError:  # no regular frequency or step to continue
            pass
    return pd.RangeIndex(total - shown, total), pd.RangeIndex(total, total + steps)


def _x_values(index: Any) -> np.ndarray:
    """What matplotlib plots for these labels: datetime64, aware datetimes or integers."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        return np.asarray(index.to_pydatetime())  # matplotlib keeps the zone
    return index.to_numpy()


def _levels(labels: list[str]) -> tuple[str, bool]:
    """('80% and 95%', True) for named levels, ('2', False) for unnamed ones."""
    if not all(_is_named(label) for label in labels):
        return str(len(labels)), False
    named = [f"{label}%" for label in sorted(labels, key=float)]
    if len(named) == 1:
        return named[0], True
    return f"{', '.join(named[:-1])} and {named[-1]}", True


def _article(percent: str) -> str:
    """The article before a level said aloud: "an" 8%, 11%, 18%, 80-89% interval."""
    whole = percent.rstrip("%").split(".")[0]
    return "an" if whole.startswith("8") or whole in ("11", "18") else "a"


def _default_title(name: Any, steps: int, drawn: list[str], unbounded: list[str]) -> str:
    """'air_passengers: 12-step forecast with 80% and 95% intervals'."""
    text = f"{steps}-step forecast"
    if drawn:
        words, named = _levels(drawn)
        if len(drawn) > 1:
            text += f" with {words} intervals"
        else:
            text += f" with {_article(words)} {words} interval" if named else " with an interval"
    if unbounded:
        words, _ = _levels(unbounded)
        plural = "s" if len(unbounded) > 1 else ""
        text += f" ({words} interval{plural} unbounded, not drawn)"
    return f"{name}: {text}" if name is not None else text[0].upper() + text[1:]


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

    The x axis uses the labels of the history and of the forecast: dates and periods
    (ticks by matplotlib's concise date formatter), or whole numbers (such as the
    positions a series without dates is labelled with). Where only one of the two has
    labels, they are continued to the other (a NumPy forecast after a pandas history,
    say); where neither has, the x axis is the position in the history, and the
    forecast follows its last value. The forecast, its bands and the truth start at the
    last value shown of the history, so the lines join.

    Parameters
    ----------
    history : series (pd.Series, array, list)
        The past; with pandas, its index is the x axis. Missing values (NaN) are
        gaps in its line.
    forecast : pd.Series, pd.DataFrame or array
        What ``forecast`` returned: a Series or 1-D array, or with intervals a
        DataFrame (columns ``forecast``, ``lower_L``, ``upper_L``) or 2-D array (first
        column the forecast; NumPy bounds are drawn too). Infinite bounds (a level
        the calibration data cannot honour) are left out: a band is drawn where it is
        finite, and a band infinite at every step is not drawn (the title says so).
    truth : series, optional
        The true future values, aligned with the forecast.
    history_tail : int, optional
        Show only the last this many values of the history.
    title : str, optional
        Default: what was forecast, such as "passengers: 12-step forecast with 80%
        and 95% intervals"; ``""`` for none.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the figure ``ax`` is in (a ``SubFigure`` if it is in one).
    """
    # missing values are drawn as gaps in the history's line
    past = as_series(history, what="history", missing="interpolate")
    total = len(past.values)
    shown = total if history_tail is None else min(check_int(history_tail, "history_tail"), total)
    known = past.values if past.filled is None else np.where(past.filled, np.nan, past.values)
    values = known[total - shown :]
    if isinstance(forecast, np.ndarray) and forecast.ndim == 2:
        columns = ["forecast"]
        for j in range((forecast.shape[1] - 1) // 2):
            columns += [f"lower_#{j + 1}", f"upper_#{j + 1}"]  # unnamed levels
        forecast = pd.DataFrame(forecast, columns=columns)
    point = forecast["forecast"] if isinstance(forecast, pd.DataFrame) else forecast
    future = as_series(point, what="forecast")
    point_values = future.values
    steps = len(point_values)
    future_index = forecast.index if isinstance(forecast, (pd.Series, pd.DataFrame)) else None
    past_labels, future_labels = _x_labels(past.index, shown, total, future_index, steps)
    history_x, future_x = _x_values(past_labels), _x_values(future_labels)
    # the forecast, its bands and the truth start where the history ends
    joined_x = np.concatenate([history_x[-1:], future_x])
    last = values[-1]

    figure: Figure | SubFigure
    if ax is None:
        figure = Figure(figsize=(10, 4), layout="constrained")
        ax = figure.subplots()
    else:
        figure = ax.figure
    few: dict[str, Any] = {"marker": "o", "markersize": 4}
    ax.plot(
        history_x,
        values,
        color="black",
        linewidth=1.2,
        label="history",
        zorder=3,  # its last value over the start of the forecast
        **(few if shown <= _FEW_POINTS else {}),
    )
    drawn, unbounded = [], []
    bands = _bounds(forecast)
    for shade, (label, lower, upper) in enumerate(bands):
        finite = np.isfinite(lower) & np.isfinite(upper)
        if not finite.any():
            unbounded.append(label)
            continue
        drawn.append(label)
        ax.fill_between(
            joined_x,
            np.concatenate([[last], np.where(finite, lower, np.nan)]),
            np.concatenate([[last], np.where(finite, upper, np.nan)]),
            where=np.concatenate([finite[:1], finite]),
            color="tab:blue",
            alpha=0.15 + 0.15 * shade,
            linewidth=0,
            label=f"{label}% interval" if _is_named(label) else "interval",
        )
    ax.plot(
        joined_x,
        np.concatenate([[last], point_values]),
        color="tab:blue",
        linewidth=1.8,
        label="forecast",
        **({**few, "markevery": slice(1, None)} if steps <= _FEW_POINTS else {}),
    )
    if truth is not None:
        truth_values = as_series(truth, what="truth").values
        if len(truth_values) != steps:
            raise ValueError(
                f"truth has {len(truth_values)} values but the forecast has "
                f"{steps}; pass the true values of the forecast's steps"
            )
        ax.plot(
            joined_x,
            np.concatenate([[last], truth_values]),
            color="tab:orange",
            linewidth=1.4,
            linestyle="--",
            label="truth",
        )

    name = past.name
    if name is None and isinstance(forecast, pd.Series):
        name = forecast.name
    if _is_time(future_labels):
        zone = getattr(future_labels, "tz", None)
        locator = AutoDateLocator(tz=zone)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=zone))
        x_name = "time"
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        x_name = "position"
    index_name = future_labels.name if future_labels.name is not None else past_labels.name
    ax.set_xlabel(str(index_name) if index_name is not None else x_name)
    ax.set_ylabel(str(name) if name is not None else "value")
    if title is None:
        title = _default_title(name, steps, drawn, unbounded)
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
