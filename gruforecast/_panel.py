"""Many series in one array: the data model of a global (many-series) fit.

A *panel* is what ``GRUForecaster.fit`` receives when the data is many series: a long
DataFrame with one row per (series, time) (columns ``unique_id``, ``ds``, ``y`` by
default, the convention of neuralforecast and statsforecast), a dict ``{id: series}``
or a list of series. :func:`as_panel` validates it and returns a :class:`Panel`: the
values of all series back to back in one float64 array, with ``offsets`` saying where
each series starts, so that windows of every series are index arithmetic on one array
(never copies), and memory grows with the number of values, not with windows x window.

Checked here, each failure naming the series: one frequency for the whole panel, no
duplicate (series, time) rows, no rows missing from a series' own step (or, with
``missing="interpolate"``, the missing rows inserted and filled with the series' NaN),
numbers only. NumPy and pandas only.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._time_index import calendar_offset, decode_labels, dominant_step, stamps
from ._validation import as_float, interpolate, pandas_to_numpy

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._time_index import TimeIndex
    from ._validation import SeriesInput

__all__ = [
    "Panel",
    "as_panel",
    "describe_label",
    "frame_times",
    "is_panel",
    "read_one_or_many",
]

# the column names of a long frame (id, time, value) where nothing named others
DEFAULT_NAMES = ("unique_id", "ds", "y")


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated series, back to back.

    Attributes
    ----------
    ids : tuple
        The series' ids, in the order of ``values`` (sorted, as given for a list).
    values : ndarray of float64
        All values; series ``k`` is ``values[offsets[k]:offsets[k + 1]]``, oldest first.
    offsets : ndarray of int64, shape (n_series + 1,)
    kind : {"datetime", "period", "integer"}
        What the time labels are (series without labels count 0, 1, 2, ...).
    freq : str or None
        The panel's one frequency (a pandas frequency string; the integer step as a
        string for "integer").
    times : ndarray of int64
        Every value's time label as a whole number: nanoseconds since the epoch (UTC)
        for datetimes, period ordinals, or the integer labels.
    names : tuple of str
        The column names the output frames use: id, time, target.
    filled : ndarray of bool or None
        Where ``missing="interpolate"`` filled a value (NaN in the data, or a row that
        was missing), None where nothing was filled.
    """

    ids: tuple[Hashable, ...]
    values: np.ndarray
    offsets: np.ndarray
    kind: str
    freq: str | None
    times: np.ndarray
    names: tuple[str, str, str]
    tz: Any = None
    filled: np.ndarray | None = None

    @property
    def last(self) -> np.ndarray:
        """Each series' last time label (as ``times``)."""
        return self.times[self.offsets[1:] - 1]

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def series(self, k: int) -> np.ndarray:
        return self.values[self.offsets[k] : self.offsets[k + 1]]


def is_panel(data: Any, id_col: str) -> bool:
    """Whether ``data`` is many series: a DataFrame with the id column, a dict of
    series, or a list whose items are series (arrays, lists, pd.Series) rather than
    numbers (a list of one-value lists stays one series, the ``(n, 1)`` form)."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return id_col in data.columns
    if isinstance(data, Mapping):
        return True
    if isinstance(data, (list, tuple)) and data:
        series_like = (list, tuple, np.ndarray) + ((pd.Series,) if pd is not None else ())
        if all(isinstance(item, series_like) for item in data):
            # all of one value each: the (n, 1) form of one series
            return not all(np.ndim(item) == 1 and len(item) == 1 for item in data)
    return False


def as_panel(
    data: Any,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    missing: str = "raise",
    what: str = "X (the series)",
) -> Panel:
    """Validate many series (see the module's notes) and put them back to back.

    Raises
    ------
    TypeError, ValueError
        Naming the series (and the row) at fault: a missing column, a value that is not
        a number, NaN (with ``missing="raise"``), duplicate times, mixed frequencies,
        rows missing from a series' step (with ``missing="raise"``).
    """
    import pandas as pd

    names = (id_col, time_col, target_col)
    frame = _long_frame(data, names, what)
    if len(frame) == 0:
        raise ValueError(f"{what} holds no values: no series to read")
    ids = frame[id_col]
    if ids.isna().any():
        row = int(ids.isna().to_numpy().argmax())
        raise ValueError(f"{what}: column {id_col!r} has no series id in row {row}")
    _refuse_ids_that_merge(ids, what, id_col)
    codes, uniques = pd.factorize(ids, sort=True)
    values = as_float(
        pandas_to_numpy(frame[target_col]), f"{what} column {target_col!r}", None, np.float64
    )
    times, kind, extra = _times(frame[time_col], f"{what} column {time_col!r}")
    if not _in_order(codes, times):  # rows of a series together, in time order
        order = np.lexsort((times, codes))
        codes, values, times = codes[order], values[order], times[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])
    offsets = offsets.astype(np.int64)
    del codes
    tz = extra if kind == "datetime" else None
    ids_tuple = tuple(uniques)
    freq = extra if kind == "period" else None  # until the step is inferred below
    _refuse_duplicates(times, kind, freq, tz, offsets, ids_tuple, what, time_col)
    if kind != "period":
        freq = _panel_frequency(times, kind, offsets, ids_tuple, what, tz)
    values, times, offsets, filled = _regularise(
        values, times, kind, freq, offsets, ids_tuple, missing, what, tz
    )
    if missing == "interpolate" and np.isnan(values).any():
        values = values.copy()  # it may be a view of the caller's frame
        gaps = np.isnan(values)
        filled = gaps if filled is None else (filled | gaps)
        for k in np.flatnonzero(np.add.reduceat(gaps, offsets[:-1]) > 0):
            part = slice(offsets[k], offsets[k + 1])
            index = pd.DatetimeIndex(times[part]) if kind == "datetime" else None
            values[part] = interpolate(values[part], index, f"{what} series {ids_tuple[k]!r}")
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(bad.argmax())
        series = series_of(row, offsets)
        label = _label(times[row], kind, freq, tz)
        problem = "no value (NaN)" if np.isnan(values[row]) else f"{values[row]}"
        advice = (
            "; fill it first, or let GRUForecaster(missing='interpolate') fill such values"
            if np.isnan(values[row])
            else "; expected finite numbers"
        )
        raise ValueError(f"{what}: series {ids_tuple[series]!r} has {problem} at {label}{advice}")
    return Panel(
        ids=ids_tuple,
        values=values,
        offsets=offsets,
        kind=kind,
        freq=freq,
        names=names,
        tz=tz,
        filled=filled,
        times=times,
    )


def _long_frame(data: Any, names: tuple[str, str, str], what: str) -> pd.DataFrame:
    """``data`` as a long frame with the id, time and target columns."""
    import pandas as pd

    id_col, time_col, target_col = names
    if isinstance(data, pd.DataFrame):
        absent = [name for name in (time_col, target_col) if name not in data.columns]
        if absent:
            listed = ", ".join(repr(str(c)) for c in data.columns[:8])
            raise ValueError(
                f"{what} is a long frame (it has the id column {id_col!r}) without the "
                f"column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))}; "
                f"its columns are {listed}. Name the time and target columns with "
                "GRUForecaster(time_col=..., target_col=...)"
            )
        return data  # its three columns are read where they are: no copy
    items = data.items() if isinstance(data, Mapping) else enumerate(data)
    parts = []
    for key, series in items:
        if isinstance(series, pd.DataFrame) and series.shape[1] == 1:
            series = series.iloc[:, 0]
        if isinstance(series, pd.Series):
            time = series.index
            if isinstance(time, pd.RangeIndex) or not len(time):
                time = pd.RangeIndex(len(series))
            target = series.to_numpy()
        else:
            target = np.asarray(series)
            if target.ndim == 2 and target.shape[1] == 1:
                target = target[:, 0]
            if target.ndim != 1:
                raise ValueError(
                    f"{what}: series {key!r} has shape {target.shape}; expected 1-D values"
                )
            time = pd.RangeIndex(len(target))
        columns = {id_col: [key] * len(target), time_col: time, target_col: target}
        parts.append(pd.DataFrame(columns))
    if not parts:
        raise ValueError(f"{what} holds no series")
    return pd.concat(parts, ignore_index=True)


def _refuse_ids_that_merge(ids: pd.Series, what: str, id_col: str) -> None:
    """Refuse ids of mixed types that compare equal (True and 1, False and 0, 1 and
    1.0): pandas would take them for one series and merge two series into one."""
    if ids.dtype != object:
        return  # one type: equal ids are the same id
    types = ids.map(type)
    numeric = [kind for kind in types.unique() if issubclass(kind, (bool, int, float, np.number))]
    seen: dict[Any, Any] = {}
    for kind in numeric if len(numeric) > 1 else ():
        for value in ids[types == kind].unique():
            other = seen.setdefault(value, value)
            if type(other) is not type(value):
                raise ValueError(
                    f"{what}: column {id_col!r} holds the ids {other!r} and {value!r}, which "
                    "are equal to Python and pandas, so their two series would merge into "
                    "one; give the ids one type (for example df[id].astype(str))"
                )


def _in_order(codes: np.ndarray, times: np.ndarray) -> bool:
    """Whether the rows are sorted by series (by their sorted ids) and by time within."""
    if len(codes) < 2:
        return True
    if (codes[1:] < codes[:-1]).any():
        return False
    same = codes[1:] == codes[:-1]
    return bool((times[1:][same] > times[:-1][same]).all())


def _times(column: pd.Series, what: str) -> tuple[np.ndarray, str, Any]:
    """The time labels as int64 (nanoseconds since the epoch, UTC, for datetimes;
    period ordinals; integers) and their kind; and the time zone of datetimes or the
    frequency of periods."""
    import pandas as pd

    if isinstance(column.dtype, pd.PeriodDtype):
        return column.array.asi8.astype(np.int64), "period", column.array.freqstr
    if isinstance(column.dtype, pd.ArrowDtype) and column.dtype.kind == "M":
        # timestamps held by pyarrow (read_parquet(dtype_backend="pyarrow"), Ray Data)
        tz = getattr(column.dtype.pyarrow_dtype, "tz", None)
        column = column.astype(pd.DatetimeTZDtype("ns", tz) if tz else "datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.DatetimeIndex(column)
        tz = stamps.tz
        if tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        return stamps.as_unit("ns").asi8.astype(np.int64), "datetime", tz
    if pd.api.types.is_integer_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.int64), "integer", None
    raise TypeError(
        f"{what} holds {column.dtype} values; expected timestamps (datetime64), periods "
        "or whole numbers (parse dates first: pd.to_datetime(df[...]))"
    )


def frame_times(column: pd.Series, what: str) -> np.ndarray:
    """A time column as the whole numbers ``Panel.times`` holds (see :func:`_times`)."""
    return _times(column, what)[0]


def describe_label(panel: Panel, row: int) -> str:
    """The time label of ``panel``'s value ``row`` as a user would write it."""
    return _label(panel.times[row], panel.kind, panel.freq, panel.tz)


def _label(value: Any, kind: str, freq: str | None, tz: Any = None) -> str:
    import pandas as pd

    if kind == "datetime":
        return str(stamps(np.array([value]), tz)[0])
    if kind == "period":
        return str(pd.Period(ordinal=int(value), freq=freq))
    return f"time {int(value)}"


def series_of(row: int, offsets: np.ndarray) -> int:
    return int(np.searchsorted(offsets, row, side="right") - 1)


def _refuse_duplicates(
    times: np.ndarray,
    kind: str,
    freq: str | None,
    tz: Any,
    offsets: np.ndarray,
    ids: tuple[Hashable, ...],
    what: str,
    time_col: str,
) -> None:
    within = np.ones(len(times), bool)
    within[offsets[:-1]] = False  # a series' first row has no predecessor in it
    repeated = within & (np.concatenate([[False], times[1:] == times[:-1]]))
    if repeated.any():
        row = int(repeated.argmax())
        k = series_of(row, offsets)
        raise ValueError(
            f"{what}: series {ids[k]!r} has two rows at the same time ({time_col} "
            f"{_label(times[row], kind, freq, tz)}); each series "
            "needs one row per time step (aggregate duplicates first, for example "
            "df.groupby([id, time]).mean())"
        )


def _panel_frequency(
    times: np.ndarray,
    kind: str,
    offsets: np.ndarray,
    ids: tuple[Hashable, ...],
    what: str,
    tz: Any = None,
) -> str | None:
    """The one step of all series: inferred from the longest series, then every series'
    steps are checked to be multiples of it (a multiple is a gap, filled or refused by
    :func:`_regularise`); a series on another step is an error naming it. Steps are
    those of the series' own time zone ``tz``: a day across a change to summer time is
    23 hours, and still a day."""
    lengths = np.diff(offsets)
    longest = int(np.argmax(lengths))
    part = times[offsets[longest] : offsets[longest + 1]]
    if len(part) < 2:
        return "1" if kind == "integer" else None
    if kind == "integer":
        steps = np.diff(part)
        step = int(np.min(steps[steps > 0])) if (steps > 0).any() else 1
        return str(step)
    # the step most of the longest series' stretches have (gaps are rare)
    codes = [
        dominant_step(stamps(times[offsets[k] : offsets[k + 1]], tz))
        for k in np.argsort(-lengths, kind="stable")[:20]
    ]
    found = [code for code in codes if code is not None]
    if not found:
        raise ValueError(
            f"{what}: the series are on no regular time step (not even the longest, "
            f"{ids[longest]!r}); resample them to one step first"
        )
    return max(set(found), key=found.count)


def _regularise(
    values: np.ndarray,
    times: np.ndarray,
    kind: str,
    freq: str | None,
    offsets: np.ndarray,
    ids: tuple[Hashable, ...],
    missing: str,
    what: str,
    tz: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Every series on the panel's step: rows missing from it are refused, or with
    ``missing="interpolate"`` inserted (as NaN, filled later); a series off the step
    (another frequency) is refused."""
    if freq is None:
        return values, times, offsets, None
    # the label after each label, on the panel's step
    if kind == "datetime":
        following = (stamps(times[:-1], tz) + calendar_offset(freq, tz)).as_unit("ns").asi8
    else:  # integer steps, period ordinals
        following = times[:-1] + _integer_step(kind, freq)
    within = np.ones(len(times) - 1, bool)
    within[offsets[1:-1] - 1] = False  # the last row of a series is followed by another's
    broken = within & (times[1:] != following)
    if not broken.any():
        return values, times, offsets, None
    # a series whose labels are not all on the step from its first: another frequency
    grids = {}
    for k in sorted({series_of(int(row), offsets) for row in np.flatnonzero(broken)}):
        part = times[offsets[k] : offsets[k + 1]]
        grid = _grid(part, kind, freq, tz)
        if grid is None or not np.isin(part, grid).all():
            raise ValueError(
                f"{what}: series {ids[k]!r} is not on the panel's time step {freq!r} "
                f"(from {_label(part[0], kind, freq, tz)} its labels are not all one {freq!r} "
                "apart); one frequency per model: resample it, or fit it apart"
            )
        grids[k] = grid
    if missing != "interpolate":
        k = min(grids)
        part = times[offsets[k] : offsets[k + 1]]
        absent = np.setdiff1d(grids[k], part)
        n = len(absent)
        raise ValueError(
            f"{what}: series {ids[k]!r} has {n} {freq!r} step{'s' if n > 1 else ''} with no "
            f"row (the first: {_label(absent[0], kind, freq, tz)}); insert them and fill their "
            "values, or let GRUForecaster(missing='interpolate') do both"
        )
    pieces_values, pieces_times, lengths = [], [], []
    for k in range(len(ids)):
        rows = slice(offsets[k], offsets[k + 1])
        if k in grids:
            full = np.full(len(grids[k]), np.nan)
            full[np.searchsorted(grids[k], times[rows])] = values[rows]
            pieces_values.append(full)
            pieces_times.append(grids[k])
        else:
            pieces_values.append(values[rows])
            pieces_times.append(times[rows])
        lengths.append(len(pieces_times[-1]))
    new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate(pieces_values)
    return values, np.concatenate(pieces_times), new_offsets, np.isnan(values)


def _grid(part: np.ndarray, kind: str, freq: str, tz: Any = None) -> np.ndarray | None:
    """All labels on the step from the first of ``part`` to its last (int64)."""
    import pandas as pd

    if kind == "datetime":
        ends = stamps(part[[0, -1]], tz)
        grid = pd.date_range(ends[0], ends[1], freq=calendar_offset(freq, tz))
        return grid.as_unit("ns").asi8.astype(np.int64)
    step = _integer_step(kind, freq)
    if (part[-1] - part[0]) % step:
        return None
    return np.arange(part[0], part[-1] + 1, step, dtype=np.int64)


def _integer_step(kind: str, freq: str) -> int:
    return 1 if kind == "period" else int(freq)  # period labels are ordinals


# ---------------------------------------------------------------------- forecasting


def read_one_or_many(
    data: Any,
    names: tuple[str, str, str],
    *,
    missing: str,
    what: str = "X (the series)",
) -> tuple[Panel, SeriesInput | None, TimeIndex | None]:
    """The one place that asks whether ``data`` is one series or many (see
    :func:`is_panel`): ``fit``, ``score``, ``forecast(context=...)`` and ``backtest`` read
    their series here. Returns them as a panel; and for one series given as one (not as
    a long frame, a dict or a list) the series as read and how its index continues,
    which label what is made of it."""
    from ._time_index import TimeIndex
    from ._validation import as_series

    if is_panel(data, names[0]):
        panel = as_panel(
            data,
            id_col=names[0],
            time_col=names[1],
            target_col=names[2],
            missing=missing,
            what=what,
        )
        return panel, None, None
    series = as_series(data, what=what, missing=missing, regular=True)
    time_index = TimeIndex.from_index(series.index) if series.is_pandas else None
    return panel_of_one(series, time_index), series, time_index


def panel_of_one(series: SeriesInput, time_index: TimeIndex | None) -> Panel:
    """One validated series (and how its index continues) as a panel of one, so that
    the many-series plan can take it: its labels as whole numbers where it has dates,
    periods or integers, its positions 0, 1, ... where it has none (the series' own
    index stays what labels its forecasts)."""
    values, tz = series.values, None
    kind = "other" if time_index is None else time_index.kind
    freq = None if time_index is None else time_index.freq
    if kind in ("datetime", "period", "integer"):
        times, _, extra = _times(cast(Any, series.index).to_series(), "the series' index")
        tz = extra if kind == "datetime" else None
    else:  # no index, or one of other labels: positions 0, 1, ...
        kind, freq, times = "integer", "1", np.arange(len(values), dtype=np.int64)
    name = series.name if isinstance(series.name, Hashable) and series.name is not None else 0
    return Panel(
        ids=(name,),
        values=values,
        offsets=np.array([0, len(values)], dtype=np.int64),
        kind=kind,
        freq=freq,
        times=times,
        names=DEFAULT_NAMES,
        tz=tz,
        filled=series.filled,
    )


def one_series(panel: Panel) -> pd.Series:
    """The one series of ``panel`` as a pd.Series indexed by its time labels and named by
    its id, NaN where it had no value (where ``missing="interpolate"`` filled one): what
    ``fit`` reads of one series, so that one series gives one model whatever holds it
    (a Series, a one-id long frame, a one-key dict, a one-element list)."""
    import pandas as pd

    values = panel.values if panel.filled is None else np.where(panel.filled, np.nan, panel.values)
    labels = decode_labels(panel.kind, panel.freq, panel.tz, panel.times)
    return pd.Series(values, index=pd.Index(labels), name=panel.ids[0])


def last_windows(panel: Panel, window: int) -> np.ndarray:
    """The last ``window`` values of every series (n_series, window); a shorter series
    padded on the left with its first value (a flat start: its window's level and
    spread are those of what it has)."""
    ends = panel.offsets[1:]
    positions = ends[:, None] - window + np.arange(window)
    return panel.values[np.maximum(positions, panel.offsets[:-1, None])]


def seasonal_period_of(panel: Panel) -> int | None:
    """The seasonal period the panel's frequency implies (12 for monthly), or None."""
    from ._time_index import seasonal_period

    return seasonal_period(panel.freq) if panel.kind in ("datetime", "period") else None
