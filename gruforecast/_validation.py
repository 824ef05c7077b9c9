"""Turn user input into float arrays, or raise an error that names the problem.

Every public entry point funnels its data through these functions, so that a user who
passes NaN, text, the wrong shape or a DataFrame with two columns reads which value is
wrong, where, and what was expected, instead of a traceback from deep inside torch.
Only NumPy is imported here. pandas objects are recognised without importing pandas: an
object can only be a pandas object if pandas is already loaded, so a serving process that
passes NumPy arrays never pays for importing it.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "SeriesInput",
    "as_float",
    "as_series",
    "as_targets",
    "as_windows",
    "check_int",
    "check_real",
    "interpolate",
    "pandas_to_numpy",
]

_EXPECTED_SERIES = (
    "a 1-D sequence of numbers: a list, a 1-D or (n, 1) NumPy array, "
    "a pandas Series or a single-column DataFrame"
)


@dataclass(frozen=True)
class SeriesInput:
    """A validated series: its values and, for pandas input, its index and name."""

    values: np.ndarray
    index: pd.Index | None = None
    name: Hashable | None = None
    #: where ``missing="interpolate"`` filled a NaN (a boolean mask), None if nowhere
    filled: np.ndarray | None = None

    @property
    def is_pandas(self) -> bool:
        return self.index is not None


def _loaded_pandas():
    """The pandas module if it was imported already, else None."""
    return sys.modules.get("pandas")


def _is_missing(value: Any) -> bool:
    pd = _loaded_pandas()
    return value is None or (pd is not None and (value is pd.NA or value is pd.NaT))


def check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` or raise a clear ``TypeError``/``ValueError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral)):
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    low: float,
    high: float = np.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a ``float`` inside the given interval, or raise clearly."""
    left, right = "[" if low_inclusive else "(", "]" if high_inclusive else ")"
    interval = f"{left}{low}, {high}{right}" if np.isfinite(high) else f"{left}{low}, inf)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number in {interval}, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    inside = (low < value or (low_inclusive and value == low)) and (
        value < high or (high_inclusive and value == high)
    )
    if not (inside and np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def _describe_position(position: tuple[int, ...], index: pd.Index | None) -> str:
    if len(position) == 2:
        return f"row {position[0]}, column {position[1]}"
    where = f"position {position[0]}"
    if index is not None and type(index).__name__ != "RangeIndex":
        where += f" (index {index[position[0]]})"
    return where


def _first_position(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _check_finite(values: np.ndarray, what: str, index: pd.Index | None = None) -> None:
    # np.isfinite over the whole array is one vectorised pass; the position is only
    # searched for when something is wrong.
    if values.size and not np.isfinite(values).all():
        nan = np.isnan(values)
        mask = nan if nan.any() else ~np.isfinite(values)
        position = _first_position(mask)
        kind = "NaN (a missing value)" if nan.any() else f"{values[position]}"
        raise ValueError(
            f"{what} contains {kind} at {_describe_position(position, index)}; "
            "expected finite numbers. Fill missing values first (for example "
            "series.interpolate()), or let GRUForecaster(missing='interpolate') fill them."
        )


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_float(
    raw: np.ndarray, what: str, index: pd.Index | None, dtype: npt.DTypeLike | None
) -> np.ndarray:
    """Convert a NumPy array of any dtype to floats, refusing what is not numeric."""
    kind = raw.dtype.kind
    if kind == "b":
        raise TypeError(f"{what} has boolean values; expected numbers (int or float)")
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {what} has complex values; expected real numbers"
        )
    if kind in "mM":
        raise TypeError(
            f"{what} has {raw.dtype} values (dates or durations); expected numbers. "
            "Put timestamps in the index of a pandas Series, not in its values."
        )
    if kind in "US":
        # a list mixing numbers and text becomes all text: name the first real text
        flat = [str(value) for value in raw.flat]
        first = next((i for i, value in enumerate(flat) if not _is_number_text(value)), 0)
        position = tuple(int(i) for i in np.unravel_index(first, raw.shape))
        raise TypeError(
            f"{what} has text values (first at {_describe_position(position, index)}: "
            f"{flat[first]!r}); expected numbers. Convert with pd.to_numeric first."
        )
    if kind == "O":
        first_text = None  # numbers held as text ("0.489"): refused after a real non-number
        for flat_position, value in enumerate(raw.flat):
            if _is_missing(value):
                continue  # a missing value: reported by the finiteness check as NaN
            if isinstance(value, str) and _is_number_text(value):
                first_text = flat_position if first_text is None else first_text
                continue
            # Real numbers, and Decimal (a Number that is not Complex) convert exactly
            is_real = isinstance(value, numbers.Real) or (
                isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex)
            )
            if isinstance(value, (bool, np.bool_)) or not is_real:
                position = tuple(int(i) for i in np.unravel_index(flat_position, raw.shape))
                try:
                    float(value)
                    reason = f"a {type(value).__name__}, not a number"
                except (TypeError, ValueError) as error:
                    reason = str(error)
                raise TypeError(
                    f"{what} has a non-numeric value at "
                    f"{_describe_position(position, index)}: {value!r} ({reason}); "
                    "expected numbers"
                    + (
                        " (the numbers are text too: pd.to_numeric(values, errors="
                        "'coerce') reads them and makes the other cells NaN)"
                        if first_text is not None
                        else ""
                    )
                )
        if first_text is not None:
            position = tuple(int(i) for i in np.unravel_index(first_text, raw.shape))
            raise TypeError(
                f"{what} holds numbers as text (first at "
                f"{_describe_position(position, index)}: {raw.flat[first_text]!r}); "
                "expected numbers. Convert with pd.to_numeric first."
            )
        missing = np.frompyfunc(_is_missing, 1, 1)
        raw = np.where(missing(raw).astype(bool), np.nan, raw)
        return raw.astype(dtype or np.float64)
    if kind in "iu":
        return raw.astype(dtype or np.float64)
    if kind == "f":
        if dtype is not None:
            return raw.astype(dtype, copy=False)
        # keep float32/float64 as they are (no copy); float16 and exotic widths widen
        if raw.dtype in (np.float32, np.float64):
            return raw
        return raw.astype(np.float64)
    raise TypeError(f"{what} has values of dtype {raw.dtype}; expected numbers")


def _refuse_sparse(data: Any, what: str) -> None:
    if type(data).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{what} is a sparse matrix; sparse input is not supported (a series or its "
            "windows are dense). Convert it with .toarray() first."
        )


def pandas_to_numpy(data: pd.Series | pd.DataFrame) -> np.ndarray:
    import pandas as pd

    # Nullable extension dtypes (Int64, Float64) carry pd.NA: map it to NaN so that the
    # finiteness check names its position.
    dtypes = [data.dtype] if isinstance(data, pd.Series) else list(data.dtypes)
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in dtypes):
        return data.to_numpy(dtype=np.float64, na_value=np.nan)
    return data.to_numpy()


def interpolate(values: np.ndarray, index: pd.Index | None, what: str) -> np.ndarray:
    """Fill NaN linearly between their neighbours: in time for a DatetimeIndex (a gap of
    three days weighs three times a gap of one), by position otherwise; NaN before the
    first or after the last known value take that value. Returns a copy if it fills."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    if missing.all():
        raise ValueError(f"{what} has only missing values (NaN); nothing to interpolate from")
    pd = _loaded_pandas()
    if pd is not None and isinstance(index, pd.DatetimeIndex):
        positions = index.asi8.astype(np.float64)
    else:
        positions = np.arange(len(values), dtype=np.float64)
    filled = values.copy()
    filled[missing] = np.interp(positions[missing], positions[~missing], values[~missing])
    return filled


def as_series(
    data: Any,
    *,
    what: str = "series",
    dtype: npt.DTypeLike | None = np.float64,
    missing: str = "raise",
    regular: bool = False,
) -> SeriesInput:
    """Validate a univariate series and return its values (1-D floats) and index.

    Parameters
    ----------
    data : list, 1-D or (n, 1) array, pd.Series or single-column pd.DataFrame
        The series.
    what : str
        How the error messages name this input.
    dtype : NumPy dtype or None
        The dtype of the returned values; ``None`` keeps float32/float64 input as it is.
    missing : {"raise", "interpolate"}
        What to do with NaN (and None, pd.NA): raise an error naming the first
        position, or fill them by linear interpolation (in time for a DatetimeIndex).
        Infinite values are always an error.
    regular : bool
        Whether a time index must be regular (the series is fitted or continued): rows
        missing from its step (a DatetimeIndex whose stretches are hourly, with an hour
        absent; a PeriodIndex that skips a period) are an error, or with
        ``missing="interpolate"`` inserted as NaN and filled. An index on no regular
        step at all is left as it is.

    Returns
    -------
    SeriesInput

    Raises
    ------
    TypeError
        If ``data`` is not array-like or holds values that are not numbers.
    ValueError
        If ``data`` has the wrong shape, more than one column, or NaN/inf values.
    """
    index = name = None
    pd = _loaded_pandas()
    _refuse_sparse(data, what)
    if data is None or isinstance(data, (str, bytes, dict)):
        raise TypeError(f"{what} must be {_EXPECTED_SERIES}; got {type(data).__name__}")
    if pd is not None and isinstance(data, pd.DataFrame):
        if data.shape[1] != 1:
            columns = ", ".join(repr(c) for c in data.columns[:5])
            more = ", ..." if data.shape[1] > 5 else ""
            raise ValueError(
                f"{what} is a DataFrame with {data.shape[1]} columns ({columns}{more}); "
                "expected a single column. Select one, for example df['value']."
                if data.shape[1]
                else f"{what} is a DataFrame with no columns; expected a single column"
            )
        data = data.iloc[:, 0]
    if pd is not None and isinstance(data, pd.Series):
        index, name = data.index, data.name
        raw = pandas_to_numpy(data)
    else:
        try:
            raw = np.asarray(data)
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"{what} must be {_EXPECTED_SERIES}: {error}") from None
        if raw.ndim == 0:
            raise TypeError(
                f"{what} must be {_EXPECTED_SERIES}; got a single {type(data).__name__} ({data!r})"
            )
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        elif raw.ndim != 1:
            raise ValueError(
                f"{what} must be {_EXPECTED_SERIES}; got an array of shape {raw.shape}. "
                "To fit on windows, pass the targets too: fit(X, y)."
            )
    values = as_float(raw, what, index, dtype)
    if index is not None:
        _check_time_index_order(index, what)
        if regular:
            values, index = _fill_time_gaps(values, index, what, missing)
    filled = None
    if missing == "interpolate":
        gaps = np.isnan(values)
        filled = gaps if gaps.any() else None
        values = interpolate(values, index, what)
    _check_finite(values, what, index)
    return SeriesInput(values=values, index=index, name=name, filled=filled)


def _fill_time_gaps(
    values: np.ndarray, index: pd.Index, what: str, missing: str
) -> tuple[np.ndarray, pd.Index]:
    """A time index with labels missing from its regular step (an hour without a row):
    an error naming the first, or with ``missing="interpolate"`` the labels inserted
    with NaN values (filled afterwards like any other NaN)."""
    from ._time_index import regular_grid

    grid = regular_grid(index)
    if grid is None:
        return values, index
    absent = grid.difference(index)
    step = grid.freqstr
    if missing != "interpolate":
        n = len(absent)
        raise ValueError(
            f"{what} has gaps in its time index: {n} {step!r} step{'s' if n > 1 else ''} "
            f"between {grid[0]} and {grid[-1]} {'have' if n > 1 else 'has'} no row (the "
            f"first: {absent[0]}); insert them and fill their values (series.resample("
            f"{step!r}).mean().interpolate()), or let GRUForecaster(missing='interpolate') "
            "do both"
        )
    regular = np.full(len(grid), np.nan, dtype=values.dtype)
    regular[grid.get_indexer(index)] = values
    return regular, grid


def _check_time_index_order(index: pd.Index, what: str) -> None:
    import pandas as pd

    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and len(index) > 1:
        if not index.is_monotonic_increasing:
            raise ValueError(
                f"{what} has a time index that is not sorted; sort it first (series.sort_index())"
            )
        if not index.is_unique:
            duplicated = index[index.duplicated()][0]
            raise ValueError(
                f"{what} has a duplicated timestamp in its index ({duplicated}); "
                "each time step must appear once (aggregate duplicates first, for "
                "example series.groupby(level=0).mean())"
            )


def as_windows(
    X: Any, *, what: str = "X", width: int | None = None, owner: str = "GRUForecaster"
) -> np.ndarray:
    """Validate windows: a 2-D array of numbers, one window a row.

    With ``width``, rows must have that many values; the message then has
    scikit-learn's form ("X has 9 features, but GRUForecaster is expecting 10 ...").

    Raises
    ------
    TypeError
        If ``X`` is not array-like or holds values that are not numbers.
    ValueError
        If ``X`` is not 2-D, is empty, or holds NaN/inf.
    """
    _refuse_sparse(X, what)
    if X is None or isinstance(X, (str, bytes, dict)):
        raise TypeError(
            f"{what} must be a 2-D array of windows (n_samples, window); got {type(X).__name__}"
        )
    pd = _loaded_pandas()
    if pd is not None and isinstance(X, pd.DataFrame):
        raw = pandas_to_numpy(X)
    else:
        try:
            raw = np.asarray(X)
        except ValueError as error:
            raise ValueError(
                f"{what} must be a 2-D array of windows (n_samples, window): {error}"
            ) from None
    if raw.ndim != 2:
        got = "a scalar" if raw.ndim == 0 else f"a {raw.ndim}D array of shape {raw.shape}"
        raise ValueError(
            f"Expected 2D array, got {got} instead. Reshape your data: each row of "
            f"{what} is one window (n_samples, window); use X.reshape(1, -1) for a "
            "single window. To fit on a series, pass it alone: fit(series)."
        )
    if raw.shape[0] == 0:
        raise ValueError(f"{what} has 0 samples (shape {raw.shape}); at least 1 is required")
    if raw.shape[1] == 0:
        raise ValueError(
            f"{what} has 0 feature(s) (shape={raw.shape}) while a minimum of 1 is "
            "required: each row must be a window of past values"
        )
    if width is not None and raw.shape[1] != width:
        raise ValueError(
            f"{what} has {raw.shape[1]} features, but {owner} is expecting {width} "
            f"features as input: each row must be a window of {width} consecutive values"
        )
    values = as_float(raw, what, None, np.float64)
    _check_finite(values, what)
    return values


def as_targets(y: Any, *, n_samples: int, horizon: int, what: str = "y") -> np.ndarray:
    """Validate targets for ``n_samples`` windows and return them as (n_samples, horizon)."""
    pd = _loaded_pandas()
    if pd is not None and isinstance(y, (pd.Series, pd.DataFrame)):
        raw = pandas_to_numpy(y)
    else:
        try:
            raw = np.asarray(y)
        except ValueError as error:
            raise ValueError(f"{what} must be an array of numbers: {error}") from None
    expected = f"({n_samples},)" if horizon == 1 else f"({n_samples}, {horizon})"
    if raw.ndim == 1 and horizon == 1:
        raw = raw[:, None]
    if raw.ndim != 2 or raw.shape[1] != horizon:
        raise ValueError(
            f"{what} has shape {raw.shape}, but horizon={horizon} expects {expected}: "
            "one row of targets per window, one column per step ahead"
        )
    if raw.shape[0] != n_samples:
        raise ValueError(
            f"X and {what} have different numbers of samples: X has {n_samples} windows "
            f"but {what} has {raw.shape[0]} rows"
        )
    values = as_float(raw, what, None, np.float64)
    _check_finite(values, what)
    return values
