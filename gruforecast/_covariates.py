"""Covariates: the columns beside the target that a forecast may use (what they are,
read and checked; NumPy and pandas only, no torch).

Nixtla's convention, which the long frame already follows:

- **future-known** covariates (``future_covariates``): their values for the steps ahead
  are known when the forecast is made (a price, a promotion, a holiday, a weather
  forecast). ``fit`` reads them from the frame's columns; ``forecast(h, X_future=...)``
  from a frame keyed like the target (id, time) that holds the next ``h`` steps.
- **past** covariates (``past_covariates``): observed only up to the forecast origin
  (another sensor, yesterday's traffic): read in the window only.
- **static** covariates (``static_covariates``): one value per series (a region, a
  category), numeric or categorical (text, category or bool columns: one indicator
  column per category seen in ``fit``).
- **calendar** covariates (``calendar``): made from the time labels, known ahead by
  construction. Each is a position in a cycle, given to the network as its sine and
  cosine (two columns each), so that December is next to January and Sunday to Monday:
  ``"time_of_day"``, ``"day_of_week"``, ``"day_of_year"``, ``"week_of_year"``,
  ``"month_of_year"``, ``"quarter_of_year"``. ``"auto"`` takes those the data's time
  step can see change (:func:`auto_calendar`).

What this module gives: :class:`CovariateSpec` (the names of each kind, checked once),
:func:`calendar_features`, :func:`read_time_varying` (the columns of a long frame
aligned row for row with the values of a ``Panel``), :func:`read_statics` and
:func:`read_future` (the frame of the steps ahead, each series' rows checked to be the
next ``h`` steps). Every failure is a ``ValueError``/``TypeError`` naming the column,
the series and the first time at fault.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._panel import Panel

__all__ = [
    "CALENDAR_FEATURES",
    "CovariateData",
    "CovariateScaler",
    "CovariateSpec",
    "CovariateState",
    "Statics",
    "as_long_frame",
    "auto_calendar",
    "calendar_features",
    "channels",
    "covariate_spec",
    "covariates_from_document",
    "covariates_to_document",
    "forecast_channels",
    "read_covariates",
    "read_future",
    "read_statics",
    "read_time_varying",
    "undeclared_columns",
]

# each calendar feature: its cycle, as a function of timestamps giving the position in
# the cycle in [0, 1)
CALENDAR_FEATURES = (
    "time_of_day",
    "day_of_week",
    "day_of_year",
    "week_of_year",
    "month_of_year",
    "quarter_of_year",
)


@dataclass(frozen=True)
class CovariateSpec:
    """The covariates a forecaster reads, by kind (column names, in the order given;
    ``calendar``: names from :data:`CALENDAR_FEATURES`, or ``("auto",)`` until the data's
    time step resolves it)."""

    future: tuple[str, ...] = ()
    past: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()

    @property
    def time_varying(self) -> tuple[str, ...]:
        """The columns read at every time step: the future-known ones, then the past ones."""
        return self.future + self.past

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the frame a covariate is read from."""
        return self.future + self.past + self.static

    def __bool__(self) -> bool:
        return bool(self.columns or self.calendar)


def covariate_spec(params: Mapping[str, Any], names: tuple[str, str, str]) -> CovariateSpec:
    """The covariates that ``params`` (``future_covariates``, ``past_covariates``,
    ``static_covariates``, ``calendar``) declare, checked: lists of column names, none
    declared twice or naming the id, time or target column (``names``).

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the value at fault.
    """
    kinds: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for kind in ("future", "past", "static"):
        parameter = f"{kind}_covariates"
        columns = _names(params.get(parameter), parameter)
        for column in columns:
            if column in names:
                role = ("id", "time", "target")[names.index(column)]
                raise ValueError(
                    f"{parameter} names {column!r}, the {role} column; covariates are the "
                    "other columns of the frame"
                )
            if column in seen:
                where = "twice" if seen[column] == parameter else f"in {seen[column]} too"
                raise ValueError(
                    f"{parameter} names {column!r} {where}: each column is one kind of "
                    "covariate (future-known, past or static)"
                )
            seen[column] = parameter
        kinds[kind] = columns
    calendar = params.get("calendar")
    if calendar is None:
        chosen: tuple[str, ...] = ()
    elif isinstance(calendar, str):
        if calendar != "auto":
            raise ValueError(
                f"calendar={calendar!r}; expected None, 'auto' or a list of "
                f"{', '.join(map(repr, CALENDAR_FEATURES))}"
            )
        chosen = ("auto",)
    else:
        chosen = _names(calendar, "calendar")
        unknown = [name for name in chosen if name not in CALENDAR_FEATURES]
        if unknown:
            raise ValueError(
                f"calendar names {unknown[0]!r}; the calendar features are "
                f"{', '.join(map(repr, CALENDAR_FEATURES))} (or calendar='auto')"
            )
        if len(set(chosen)) < len(chosen):
            raise ValueError(f"calendar names a feature twice: {list(chosen)!r}")
    return CovariateSpec(kinds["future"], kinds["past"], kinds["static"], chosen)


def _names(value: Any, parameter: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{parameter}={value!r:.80}; expected a list of column names (or None)"
            + (f", for example [{value!r}]" if isinstance(value, str) else "")
        )
    for item in value:
        if not isinstance(item, str) or not item:
            raise TypeError(f"{parameter} holds {item!r:.80}; expected column names (text)")
    if len(set(value)) < len(value):
        duplicated = next(name for name in value if value.count(name) > 1)
        raise ValueError(f"{parameter} names {duplicated!r} twice")
    return tuple(value)


# ---------------------------------------------------------------------------- calendar

# the smallest step (in seconds) at which each feature changes between consecutive values,
# and the longest at which it still does: what "auto" takes for a step
_STEP_SECONDS = {
    "time_of_day": (0, 12 * 3600),  # up to half-daily steps
    "day_of_week": (0, 86400),  # steps of a day or less
    "day_of_year": (86400, 86400),  # daily steps (sub-daily data has time_of_day)
    "week_of_year": (7 * 86400, 7 * 86400),
    "month_of_year": (28 * 86400, 31 * 86400),
    "quarter_of_year": (89 * 86400, 92 * 86400),
}
# a yearly step sees no cycle; neither does a sub-daily one the day of the year (a year
# of hourly values would, but time_of_day and day_of_week are what such data shows)


def auto_calendar(kind: str, freq: str | None, tz: Any = None) -> tuple[str, ...]:
    """The calendar features ``calendar="auto"`` takes for series of this time ``kind``
    and step ``freq`` (a pandas frequency string): those that change from one step to
    the next and repeat within a few hundred steps; none for a yearly step.

    Raises
    ------
    ValueError
        For series without dates (integer labels or none): they have no calendar.
    """
    _need_dates(kind, "calendar='auto'")
    seconds = _step_seconds(freq)
    return tuple(name for name, (low, high) in _STEP_SECONDS.items() if low <= seconds <= high)


def _step_seconds(freq: str | None) -> float:
    """The typical length of one step of ``freq``, in seconds."""
    import pandas as pd

    if not freq:
        raise ValueError("the series have no regular time step, so calendar='auto' has none")
    offset = pd.tseries.frequencies.to_offset(freq)
    try:
        return float(pd.Timedelta(offset).total_seconds())
    except ValueError:  # calendar offsets (months, quarters, years) have no fixed length
        stamps = pd.date_range("2001-01-01", periods=13, freq=offset)
        return float(np.median((stamps[1:] - stamps[:-1]).total_seconds()))


def _need_dates(kind: str, what: str) -> None:
    if kind not in ("datetime", "period"):
        raise ValueError(
            f"{what} needs series labelled by dates or periods; these have "
            f"{'integer labels' if kind == 'integer' else 'no time labels'}, so there is no "
            "calendar to read (give the time column as dates, or calendar=None)"
        )


def calendar_features(
    times: np.ndarray, kind: str, freq: str | None, tz: Any, names: Sequence[str]
) -> np.ndarray:
    """The calendar ``names`` of time labels ``times`` (whole numbers, as ``Panel.times``
    holds them): float64, shape (len(times), 2 * len(names)), the sine and cosine of
    each feature's position in its cycle, in the series' own time zone."""
    import pandas as pd

    if not names:  # no calendar: series of any labels
        return np.zeros((len(times), 0))
    _need_dates(kind, "a calendar covariate")
    times = np.asarray(times, np.int64)
    if kind == "period":
        stamps = pd.PeriodIndex.from_ordinals(times, freq=freq).to_timestamp(how="start")
    else:
        stamps = pd.DatetimeIndex(times.astype("datetime64[ns]"))
        if tz is not None:
            stamps = stamps.tz_localize("UTC").tz_convert(tz)
    columns = []
    for name in names:
        position = _position(stamps, name)
        columns += [np.sin(2 * math.pi * position), np.cos(2 * math.pi * position)]
    return np.stack(columns, axis=1)


def _position(stamps: pd.DatetimeIndex, name: str) -> np.ndarray:
    """Where each timestamp is in the cycle ``name``, in [0, 1)."""
    if name == "time_of_day":
        seconds = stamps.hour * 3600 + stamps.minute * 60 + stamps.second
        return np.asarray(seconds, np.float64) / 86400
    if name == "day_of_week":
        return np.asarray(stamps.day_of_week, np.float64) / 7
    if name == "day_of_year":
        length = np.where(stamps.is_leap_year, 366.0, 365.0)
        return (np.asarray(stamps.day_of_year, np.float64) - 1) / length
    if name == "week_of_year":
        weeks = np.asarray(stamps.isocalendar().week, np.float64)
        return (weeks - 1) / 53
    if name == "month_of_year":
        return (np.asarray(stamps.month, np.float64) - 1) / 12
    if name == "quarter_of_year":
        return (np.asarray(stamps.quarter, np.float64) - 1) / 4
    raise ValueError(f"unknown calendar feature {name!r}")  # covariate_spec checked it


# ----------------------------------------------------------------- columns of a frame


def read_time_varying(
    frame: pd.DataFrame,
    panel: Panel,
    columns: Sequence[str],
    *,
    missing: str = "raise",
    what: str = "X (the series)",
) -> np.ndarray:
    """The ``columns`` of the long ``frame`` that ``panel`` was read from, aligned row
    for row with ``panel.values`` (float64, shape (n_values, len(columns))).

    The rows are matched by (id, time), so the panel's order and the rows that
    ``missing="interpolate"`` inserted are followed; an inserted row, and a NaN, is
    filled as the target is (``missing="interpolate"``: linearly within the series,
    the ends by the nearest value) or refused (``"raise"``).

    Raises
    ------
    ValueError, TypeError
        A column the frame lacks; text or another non-number in a column; a NaN or a
        missing row under ``missing="raise"``; an infinite value. Each names the column,
        the series and the time.
    """
    _check_present(frame, columns, what)
    out = np.empty((len(panel.values), len(columns)))
    if not len(columns):
        return out
    keys = _keys(panel)
    index = _frame_keys(frame, panel, what)
    for j, column in enumerate(columns):
        values = _numbers(frame[column], column, what)
        aligned = _aligned(values, index, keys)
        out[:, j] = _filled(aligned, panel, column, missing, what)
    return out


@dataclass(frozen=True)
class Statics:
    """Static covariates of a panel's series: ``values`` (n_series, n_columns) float64,
    numeric columns as they are and each categorical column as indicator columns, one
    per category seen (``categories[name]``, sorted; None for a numeric column)."""

    names: tuple[str, ...]
    categories: dict[str, tuple[Any, ...] | None]
    values: np.ndarray


def read_statics(
    frame: pd.DataFrame,
    panel: Panel,
    columns: Sequence[str],
    categories: Mapping[str, tuple[Any, ...] | None] | None = None,
    *,
    what: str = "X (the series)",
) -> Statics:
    """The static ``columns`` of each series of ``panel`` (in the order of
    ``panel.ids``), which must hold one value per series. A column of text, category
    or bool values is categorical: one indicator column per category, the categories
    those of ``categories`` when given (those ``fit`` saw: another is an error), else
    those found. Numeric columns are read as they are.

    Raises
    ------
    ValueError, TypeError
        A column the frame lacks; a series with two values in a static column; a
        missing value; a category ``fit`` did not see; a non-finite number.
    """
    import pandas as pd

    id_col = panel.names[0]
    _check_present(frame, columns, what)
    blocks = []
    found: dict[str, tuple[Any, ...] | None] = {}
    ids = pd.Index(panel.ids)
    for column in columns:
        data = frame[column]
        if data.isna().any():
            row = int(data.isna().to_numpy().argmax())
            raise ValueError(
                f"{what}: static covariate {column!r} has no value (NaN) for series "
                f"{frame[id_col].iloc[row]!r}; a static covariate needs one value per series"
            )
        groups = data.groupby(frame[id_col].to_numpy(), sort=False)
        counts = groups.nunique()
        if (counts > 1).any():
            series = counts.index[int(np.argmax(counts.to_numpy() > 1))]
            seen = list(groups.get_group(series).unique()[:3])
            raise ValueError(
                f"{what}: static covariate {column!r} changes within series {series!r} "
                f"({', '.join(map(repr, seen))}); a static covariate holds one value per "
                "series (a value that changes is a past or future covariate)"
            )
        per_series = groups.first().reindex(ids)
        absent = per_series.isna()
        if absent.any():
            raise ValueError(
                f"{what}: static covariate {column!r} has no value for series "
                f"{ids[int(np.argmax(absent.to_numpy()))]!r}"
            )
        categorical = _is_categorical(data)
        known = None if categories is None else categories.get(column)
        if categorical:
            levels = tuple(sorted(per_series.unique(), key=str)) if known is None else known
            if known is not None:
                unseen = ~per_series.isin(list(known))
                if unseen.any():
                    k = int(np.argmax(unseen.to_numpy()))
                    raise ValueError(
                        f"{what}: static covariate {column!r} of series {ids[k]!r} is "
                        f"{per_series.iloc[k]!r}, a category fit did not see (it saw "
                        f"{', '.join(map(repr, known[:10]))}{', ...' if len(known) > 10 else ''})"
                    )
            codes = pd.Categorical(per_series, categories=list(levels)).codes
            blocks.append(np.eye(len(levels))[codes])
            found[column] = levels
        else:
            if known is not None:
                raise TypeError(
                    f"{what}: static covariate {column!r} holds numbers; fit saw categories "
                    f"({', '.join(map(repr, known[:10]))})"
                )
            numbers = _numbers(per_series, column, what)
            if not np.isfinite(numbers).all():
                k = int(np.argmax(~np.isfinite(numbers)))
                raise ValueError(
                    f"{what}: static covariate {column!r} of series {ids[k]!r} is "
                    f"{numbers[k]}; expected a finite number"
                )
            blocks.append(numbers[:, None])
            found[column] = None
    values = np.concatenate(blocks, axis=1) if blocks else np.zeros((panel.n_series, 0))
    return Statics(tuple(columns), found, values)


def _is_categorical(data: pd.Series) -> bool:
    import pandas as pd

    dtype = data.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def read_future(
    frame: Any,
    ids: Sequence[Hashable],
    labels: np.ndarray,
    columns: Sequence[str],
    names: tuple[str, str, str],
    *,
    decode: Any,
    what: str = "X_future",
) -> np.ndarray:
    """The future-known ``columns`` for the steps ahead: ``frame`` (a long frame with
    the id and time columns of ``names``) must hold, for every series of ``ids``, a row
    at each of its next labels, ``labels`` (n_series, steps; whole numbers as
    ``Panel.times`` holds them); rows for other series or times are ignored. Returns
    float64 (n_series, steps, len(columns)).

    ``decode`` maps whole-number labels to the labels the user sees (for errors).

    Raises
    ------
    TypeError, ValueError
        Not a long frame; a column missing; a series or a step missing (naming the
        series and its first missing time); a NaN, text or an infinite value.
    """
    import pandas as pd

    id_col, time_col, _ = names
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{what} is {type(frame).__name__}; expected a DataFrame with the columns "
            f"{id_col!r}, {time_col!r} and {', '.join(map(repr, columns))} for the steps "
            "ahead"
        )
    if id_col not in frame.columns and len(ids) == 1:
        frame = frame.assign(**{id_col: [ids[0]] * len(frame)})
    for column in (id_col, time_col):
        if column not in frame.columns:
            raise ValueError(
                f"{what} has no column {column!r}; it is keyed like the series: "
                f"{id_col!r} and {time_col!r}"
            )
    _check_present(frame, columns, what)
    steps = labels.shape[1]
    from ._panel import frame_times

    times = frame_times(frame[time_col], f"{what} column {time_col!r}")
    lookup = pd.MultiIndex.from_arrays([frame[id_col].to_numpy(), times])
    if lookup.has_duplicates:
        row = int(np.argmax(lookup.duplicated()))
        raise ValueError(
            f"{what}: series {frame[id_col].iloc[row]!r} has two rows at "
            f"{decode(np.array([times[row]]))[0]}; each step needs one row"
        )
    wanted = pd.MultiIndex.from_arrays(
        [np.repeat(np.asarray(pd.Index(ids), dtype=object), steps), labels.ravel()]
    )
    position = lookup.get_indexer(wanted)
    gone = position < 0
    if gone.any():
        k, step = divmod(int(np.argmax(gone)), steps)
        n_missing = int(gone.reshape(len(ids), steps)[k].sum())
        own = frame[id_col].to_numpy() == ids[k]
        if own.any() and n_missing == steps:  # rows of the series, none at its steps
            given = decode(np.sort(times[own])[:1])[0]
            raise ValueError(
                f"{what}: the rows of series {ids[k]!r} are not at its next steps: the first "
                f"is at {given}, the next step is {decode(labels[k, :1])[0]} (is {what} on "
                "another time step than the series?)"
            )
        raise ValueError(
            f"{what} has no row for series {ids[k]!r} at "
            f"{decode(labels[k, step : step + 1])[0]} (step {step + 1} of {steps}; "
            f"{n_missing} of its {steps} steps are missing): the future-known covariates "
            f"{', '.join(map(repr, columns))} are needed for every step forecast"
        )
    out = np.empty((len(ids), steps, len(columns)))
    for j, column in enumerate(columns):
        values = _numbers(frame[column], column, what)[position]
        bad = ~np.isfinite(values)
        if bad.any():
            k, step = divmod(int(np.argmax(bad)), steps)
            problem = "no value (NaN)" if np.isnan(values[int(np.argmax(bad))]) else "inf"
            raise ValueError(
                f"{what}: column {column!r} has {problem} for series {ids[k]!r} at "
                f"{decode(labels[k, step : step + 1])[0]}; future values must be known "
                "numbers"
            )
        out[:, :, j] = values.reshape(len(ids), steps)
    return out


# -------------------------------------------------------------------------- helpers


def _check_present(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        listed = ", ".join(repr(str(c)) for c in frame.columns[:12])
        raise ValueError(
            f"{what} has no column{'s' if len(absent) > 1 else ''} "
            f"{', '.join(map(repr, absent))} (declared as covariates); its columns are "
            f"{listed}"
        )


def _numbers(data: pd.Series, column: str, what: str) -> np.ndarray:
    """A covariate column as float64: numbers and bools only (NaN kept)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(data.dtype):
        return data.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(data.dtype):
        return data.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(data, errors="coerce")
    bad = converted.isna() & data.notna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise TypeError(
            f"{what}: column {column!r} holds {data.iloc[row]!r:.40} (row {row}); a "
            "covariate read at every step must be a number (encode categories as numbers, "
            "or declare a per-series one as a static covariate)"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _keys(panel: Panel) -> pd.MultiIndex:
    import pandas as pd

    ids = np.repeat(np.asarray(pd.Index(panel.ids), dtype=object), panel.lengths)
    return pd.MultiIndex.from_arrays([ids, panel.times])


def _frame_keys(frame: pd.DataFrame, panel: Panel, what: str) -> pd.MultiIndex:
    import pandas as pd

    from ._panel import frame_times

    id_col, time_col, _ = panel.names
    times = frame_times(frame[time_col], f"{what} column {time_col!r}")
    return pd.MultiIndex.from_arrays([frame[id_col].to_numpy(), times])


def _aligned(values: np.ndarray, index: pd.MultiIndex, keys: pd.MultiIndex) -> np.ndarray:
    """``values`` (one per row of the frame, ``index``) at the panel's ``keys``; NaN
    where the frame has no row (one that missing="interpolate" inserted)."""
    position = index.get_indexer(keys)
    out = np.full(len(keys), np.nan)
    found = position >= 0
    out[found] = values[position[found]]
    return out


def _filled(values: np.ndarray, panel: Panel, column: str, missing: str, what: str) -> np.ndarray:
    """NaN in a covariate column (or rows the panel inserted), as ``missing`` says."""
    from ._panel import describe_label

    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    row = int(np.argmax(bad))
    k = int(np.searchsorted(panel.offsets, row, side="right") - 1)
    label = describe_label(panel, row)
    if not np.isnan(values[row]):
        raise ValueError(
            f"{what}: covariate {column!r} of series {panel.ids[k]!r} is {values[row]} at "
            f"{label}; expected finite numbers"
        )
    if missing != "interpolate":
        raise ValueError(
            f"{what}: covariate {column!r} of series {panel.ids[k]!r} has no value (NaN, or "
            f"no row) at {label}; fill it first, or let GRUForecaster(missing='interpolate') "
            "fill such values"
        )
    out = values.copy()
    for j in range(panel.n_series):
        part = out[panel.offsets[j] : panel.offsets[j + 1]]
        gaps = np.isnan(part)
        if gaps.all():
            raise ValueError(
                f"{what}: covariate {column!r} of series {panel.ids[j]!r} has no value at "
                "all; there is nothing to fill it from"
            )
        if gaps.any():
            positions = np.arange(len(part))
            part[gaps] = np.interp(positions[gaps], positions[~gaps], part[~gaps])
    return out


_UNUSED = re.compile(r"^Unnamed: \d+$")  # an index written by to_csv, read back as a column


def undeclared_columns(frame: Any, names: tuple[str, str, str], spec: CovariateSpec) -> list[str]:
    """The columns of a long ``frame`` that are neither the id, time or target column nor
    a declared covariate (``fit`` warns of them: they are not used)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return []
    used = set(names) | set(spec.columns)
    return [
        str(column)
        for column in frame.columns
        if column not in used and not _UNUSED.match(str(column))
    ]


# ------------------------------------------------------------------- the data of a fit


@dataclass(frozen=True, eq=False)
class CovariateData:
    """The covariates of a panel's values, as read (raw): ``time_varying`` (n_values,
    future + past columns, in ``spec.time_varying``'s order), ``calendar`` (n_values,
    two columns per feature of ``spec.calendar``, already in [-1, 1]) and ``statics``
    (one row per series). ``spec.calendar`` is resolved (never ``"auto"``)."""

    spec: CovariateSpec
    time_varying: np.ndarray
    calendar: np.ndarray
    statics: Statics

    @property
    def n_future(self) -> int:
        return len(self.spec.future)


def read_covariates(
    frame: Any,
    panel: Panel,
    spec: CovariateSpec,
    *,
    missing: str = "raise",
    categories: Mapping[str, tuple[Any, ...] | None] | None = None,
    what: str = "X (the series)",
) -> CovariateData:
    """The covariates ``spec`` declares, for the series of ``panel`` read from the long
    ``frame`` (``calendar="auto"`` resolved from the panel's step; ``categories``: the
    static categories ``fit`` saw, where a fitted model reads new series).

    Raises
    ------
    TypeError, ValueError
        Covariates declared for data that is not a long frame; and what the readers
        raise (see :func:`read_time_varying`, :func:`read_statics`, :func:`auto_calendar`).
    """
    import pandas as pd

    if spec.columns and not (isinstance(frame, pd.DataFrame) and panel.names[0] in frame):
        raise TypeError(
            f"covariates ({', '.join(map(repr, spec.columns))}) are columns of a long frame "
            f"(columns {panel.names[0]!r}, {panel.names[1]!r}, {panel.names[2]!r} and the "
            f"covariates); {what.split(' ')[0]} is a {type(frame).__name__}"
        )
    calendar = spec.calendar
    if calendar == ("auto",):
        calendar = auto_calendar(panel.kind, panel.freq, panel.tz)
    resolved = CovariateSpec(spec.future, spec.past, spec.static, calendar)
    time_varying = read_time_varying(
        frame, panel, resolved.time_varying, missing=missing, what=what
    )
    statics = (
        read_statics(frame, panel, resolved.static, categories, what=what)
        if resolved.static
        else Statics((), {}, np.zeros((panel.n_series, 0)))
    )
    return CovariateData(
        spec=resolved,
        time_varying=time_varying,
        calendar=calendar_features(panel.times, panel.kind, panel.freq, panel.tz, calendar),
        statics=statics,
    )


@dataclass(frozen=True)
class CovariateScaler:
    """How the network scales the covariate channels it reads (``GRUNet``'s
    ``set_covariate_scaling``): each time-varying column by its mean and standard
    deviation over the training part of every series (pooled: one scaling for all
    series, so a price means the same in any of them), each numeric static column by
    its mean and standard deviation across the series; indicator columns and the
    calendar's sines and cosines as they are (a constant column is divided by 1)."""

    centres: np.ndarray  # per time-varying column
    spreads: np.ndarray
    static_centres: np.ndarray  # per column of Statics.values (0 for indicators)
    static_spreads: np.ndarray  # (1 for indicators)
    n_future: int  # the first time-varying columns are the future-known ones
    calendar_columns: int

    @classmethod
    def fit(cls, data: CovariateData, offsets: np.ndarray, covered: np.ndarray) -> CovariateScaler:
        """Fitted on the first ``covered[k]`` values of each series (``offsets`` as
        ``Panel.offsets``): the part the training windows read."""
        lengths = np.diff(offsets)
        inside = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths) < np.repeat(
            covered, lengths
        )
        columns = data.time_varying[inside]
        centres = columns.mean(axis=0) if len(columns) else np.zeros(columns.shape[1])
        spreads = columns.std(axis=0) if len(columns) else np.ones(columns.shape[1])
        statics = data.statics.values
        static_centres = np.zeros(statics.shape[1])
        static_spreads = np.ones(statics.shape[1])
        column = 0
        for name in data.statics.names:
            categories = data.statics.categories[name]
            if categories is None:
                values = statics[:, column]
                static_centres[column], static_spreads[column] = values.mean(), values.std()
                column += 1
            else:
                column += len(categories)
        return cls(
            centres=centres,
            spreads=np.where(spreads > 0, spreads, 1.0),
            static_centres=static_centres,
            static_spreads=np.where(static_spreads > 0, static_spreads, 1.0),
            n_future=data.n_future,
            calendar_columns=data.calendar.shape[1],
        )

    def window_scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """The centres and spreads of the channels in a window (as :func:`channels`
        lays them out: future-known, past, calendar, statics)."""
        none = np.zeros(self.calendar_columns)
        return (
            np.concatenate([self.centres, none, self.static_centres]),
            np.concatenate([self.spreads, none + 1.0, self.static_spreads]),
        )

    def ahead_scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """The centres and spreads of the channels over a horizon (future-known,
        calendar, statics)."""
        none, future = np.zeros(self.calendar_columns), slice(0, self.n_future)
        return (
            np.concatenate([self.centres[future], none, self.static_centres]),
            np.concatenate([self.spreads[future], none + 1.0, self.static_spreads]),
        )


def channels(data: CovariateData, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every value's covariate channels in their own units (float32), as the network
    reads them (it scales them itself): in a window (n_values, features: future-known,
    past, calendar, the series' statics) and over a horizon (n_values, ahead_features:
    the same without the past ones); statics repeated along each series (``offsets`` as
    ``Panel.offsets``)."""
    statics = np.repeat(data.statics.values, np.diff(offsets), axis=0)
    future = data.time_varying[:, : data.n_future]
    window = np.concatenate([data.time_varying, data.calendar, statics], axis=1)
    ahead = np.concatenate([future, data.calendar, statics], axis=1)
    return window.astype(np.float32), ahead.astype(np.float32)


@dataclass(frozen=True, eq=False)
class CovariateState:
    """What a fitted model keeps of its covariates (the network keeps how it scales
    them): what they are (``spec``, resolved), the static categories ``fit`` saw, and
    for the series it was fitted on, each one's last window of channels in their own
    units ((n_series, window, features), float32) and its static values
    ((n_series, width), as ``Statics.values``)."""

    spec: CovariateSpec
    categories: dict[str, tuple[Any, ...] | None]
    last_features: np.ndarray
    statics: np.ndarray

    @property
    def features(self) -> int:
        return self.last_features.shape[2]

    @property
    def ahead_features(self) -> int:
        return len(self.spec.future) + 2 * len(self.spec.calendar) + self.statics.shape[1]

    def of_context(
        self, frame: Any, panel: Panel, window: int, *, missing: str = "raise"
    ) -> CovariateState:
        """These covariates, read for the series of a context (``panel``, read from the
        long ``frame``): each series' last ``window`` rows of channels (a series
        shorter than that padded on the left with its first row, as its values are)."""
        data = read_covariates(
            frame, panel, self.spec, missing=missing, categories=self.categories, what="context"
        )
        window_channels, _ = channels(data, panel.offsets)
        rows = panel.offsets[1:, None] - window + np.arange(window)
        rows = np.maximum(rows, panel.offsets[:-1, None])
        return CovariateState(
            self.spec, self.categories, window_channels[rows], data.statics.values
        )


def forecast_channels(
    state: CovariateState,
    future: Any,
    ids: Sequence[Hashable],
    labels: np.ndarray,
    *,
    kind: str,
    freq: str | None,
    tz: Any,
    steps: int,
    horizon: int,
    names: tuple[str, str, str],
    decode: Any,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The covariate channels of each block of ``horizon`` steps that a forecast of
    ``steps`` values after the fitted series runs (recursively past the first): the
    window's (n_series, window, features) and the horizon's (n_series, horizon,
    ahead_features), float32. ``labels`` (n_series, blocks * horizon) are the series'
    next time labels; ``future`` (X_future) gives the future-known covariates for the
    first ``steps`` of them and, where a later block's window reaches them, the past
    covariates too. The channels are in their own units (the network scales them);
    those of steps beyond ``steps`` (which only the discarded part of the last block
    reads) are zero.

    Raises
    ------
    TypeError, ValueError
        ``future`` missing where it is needed, or as :func:`read_future` says.
    """
    spec = state.spec
    n_series, window = len(ids), state.last_features.shape[1]
    blocks = -(-steps // horizon)
    # the steps that a later block's window reads: their past covariates are needed
    read_back = (blocks - 1) * horizon
    needs = list(spec.future) + (list(spec.past) if read_back else [])
    if needs and future is None:
        wanted = ", ".join(map(repr, needs))
        raise ValueError(
            f"this model reads covariates of the steps ahead ({wanted}): give their values "
            f"for the next {steps if spec.future else read_back} steps of each series as "
            f"forecast(steps, X_future=frame), a frame with the columns {names[0]!r}, "
            f"{names[1]!r} and {wanted}"
        )
    n_future, n_past = len(spec.future), len(spec.past)
    time_varying = np.zeros((n_series, blocks * horizon, n_future + n_past))
    if spec.future:
        time_varying[:, :steps, :n_future] = read_future(
            future, ids, labels[:, :steps], spec.future, names, decode=decode
        )
    if spec.past and read_back:
        time_varying[:, :read_back, n_future:] = read_future(
            future, ids, labels[:, :read_back], spec.past, names, decode=decode
        )
    calendar = calendar_features(labels.ravel(), kind, freq, tz, spec.calendar).reshape(
        n_series, blocks * horizon, -1
    )
    statics = np.repeat(state.statics[:, None, :], blocks * horizon, axis=1)
    rows = np.concatenate([time_varying, calendar, statics], axis=2).astype(np.float32)
    ahead = np.concatenate([time_varying[:, :, :n_future], calendar, statics], axis=2).astype(
        np.float32
    )
    history = np.concatenate([state.last_features, rows], axis=1)
    return [
        (
            history[:, j * horizon : j * horizon + window],
            ahead[:, j * horizon : (j + 1) * horizon],
        )
        for j in range(blocks)
    ]


_STATE_ARRAYS = ("last_features", "statics")


def covariates_to_document(state: CovariateState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``state`` as a JSON-ready document and its arrays (float64), by name (prefixed
    ``covariates.``): what a model file keeps of its covariates."""
    document = {
        "future": list(state.spec.future),
        "past": list(state.spec.past),
        "static": list(state.spec.static),
        "calendar": list(state.spec.calendar),
        "categories": {
            name: None if levels is None else [_json_level(level) for level in levels]
            for name, levels in state.categories.items()
        },
    }
    values = {"last_features": state.last_features, "statics": state.statics}
    return document, {f"covariates.{k}": np.asarray(v, np.float64) for k, v in values.items()}


def _json_level(level: Any) -> Any:
    """A category as JSON keeps it: text, a whole number, a bool or a float as it is."""
    if isinstance(level, (bool, np.bool_)):
        return bool(level)
    if isinstance(level, (int, np.integer)):
        return int(level)
    if isinstance(level, (float, np.floating)):
        return float(level)
    return str(level)


def covariates_from_document(
    document: Any, arrays: Mapping[str, np.ndarray], where: str
) -> CovariateState:
    """The inverse of :func:`covariates_to_document`, checked against itself (each
    name a text, the arrays of the shapes the names imply, finite numbers).

    Raises
    ------
    ValueError
        Naming the file (``where``) and the field at fault.
    """
    if not isinstance(document, Mapping):
        raise ValueError(f"{where!r}: covariates is not a JSON object")

    def names(field: str) -> tuple[str, ...]:
        value = document.get(field)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{where!r}: covariates.{field} must be a list of names")
        return tuple(value)

    spec = CovariateSpec(names("future"), names("past"), names("static"), names("calendar"))
    unknown = [name for name in spec.calendar if name not in CALENDAR_FEATURES]
    if unknown:
        raise ValueError(f"{where!r}: covariates.calendar names {unknown[0]!r:.40}")
    given = document.get("categories")
    if not isinstance(given, Mapping) or set(given) != set(spec.static):
        raise ValueError(
            f"{where!r}: covariates.categories must name the static covariates {list(spec.static)}"
        )
    categories: dict[str, tuple[Any, ...] | None] = {}
    width = 0
    for name in spec.static:
        levels = given[name]
        if levels is not None and not (
            isinstance(levels, list)
            and levels
            and all(isinstance(v, (str, int, float, bool)) for v in levels)
        ):
            raise ValueError(f"{where!r}: covariates.categories[{name!r}] is not a list of values")
        categories[name] = None if levels is None else tuple(levels)
        width += 1 if levels is None else len(levels)
    missing = [name for name in _STATE_ARRAYS if f"covariates.{name}" not in arrays]
    if missing:
        raise ValueError(f"{where!r}: the file has no array covariates.{missing[0]}")
    got = {name: np.asarray(arrays[f"covariates.{name}"], np.float64) for name in _STATE_ARRAYS}
    varying = len(spec.future) + len(spec.past)
    features = varying + 2 * len(spec.calendar) + width
    last = got["last_features"]
    n_series = last.shape[0] if last.ndim == 3 else -1
    shapes = {
        "last_features": (n_series, last.shape[1] if last.ndim == 3 else -1, features),
        "statics": (n_series, width),
    }
    for name, shape in shapes.items():
        if got[name].shape != shape or not np.isfinite(got[name]).all():
            raise ValueError(
                f"{where!r}: covariates.{name} has shape {got[name].shape}; expected {shape} "
                "of finite numbers"
            )
    return CovariateState(
        spec=spec,
        categories=categories,
        last_features=got["last_features"].astype(np.float32),
        statics=got["statics"],
    )


def as_long_frame(data: Any, names: tuple[str, str, str], spec: CovariateSpec) -> Any:
    """``data`` as the long frame that covariates are read from: a DataFrame of one
    series with its covariate columns (no id column; the time in the time column or
    the index) gets an id column, the target column's name; a pd.Series with only a
    calendar declared becomes such a frame too (its id its name); anything else is
    returned as it is (a long frame already, or data without covariates)."""
    import pandas as pd

    id_col, time_col, target_col = names
    if spec and isinstance(data, pd.Series) and not spec.columns:  # a calendar only
        name = data.name if isinstance(data.name, str) else target_col
        data = data.rename(target_col).to_frame()
        return data.rename_axis(time_col).reset_index().assign(**{id_col: name})
    if not spec or not isinstance(data, pd.DataFrame) or id_col in data.columns:
        return data
    if target_col not in data.columns:
        listed = ", ".join(repr(str(c)) for c in data.columns[:12])
        raise ValueError(
            f"a frame of one series with covariates needs its target column {target_col!r} "
            f"(target_col=...) beside them; its columns are {listed}"
        )
    frame = data if time_col in data.columns else data.rename_axis(time_col).reset_index()
    return frame.assign(**{id_col: target_col})
