"""Where a series ends in time, and the index of the values that come after it.

A forecast of a pandas series is a pandas series indexed by the next timestamps (or
periods, or integers). :class:`TimeIndex` keeps the little it takes to build that index
(kind, frequency, last label, name) and is small enough to pickle with the estimator
and to write into ONNX metadata. pandas is imported only when an index is read or
built, so the ONNX serving path can use this module without it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "TimeIndex",
    "calendar_offset",
    "check_round_trip",
    "decode_labels",
    "frequency_problem",
    "future_labels",
    "regular_grid",
    "seasonal_period",
    "stamps",
    "step_seconds",
    "tz_key",
    "tz_problem",
]

# Seasonal period implied by a pandas frequency (its base code, without anchor such as
# "-DEC" or "-SUN"); used to choose a default window.
_SEASONAL_PERIODS = {
    "Y": 1, "YS": 1, "YE": 1, "A": 1, "AS": 1, "BY": 1, "BYS": 1, "BYE": 1,
    "Q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQS": 4, "BQE": 4,
    "M": 12, "MS": 12, "ME": 12, "BM": 12, "BMS": 12, "BME": 12, "SM": 24, "SMS": 24,
    "W": 52,
    "D": 7, "B": 5, "C": 5,
    "H": 24, "h": 24, "BH": 8, "bh": 8,
    "T": 60, "min": 60,
}  # fmt: skip


def seasonal_period(freq: str | None) -> int | None:
    """The number of steps in one season for a frequency string, or None if unknown.

    Multiples (``"2h"``, ``"15min"``, ``"10D"``) have no conventional season: None.
    """
    if not freq:
        return None
    match = re.fullmatch(r"(\d*)(.*)", freq)
    assert match is not None  # a frequency string has no line breaks
    multiple, code = match.groups()
    if multiple not in ("", "1"):
        return None
    return _SEASONAL_PERIODS.get(code.split("-")[0])


def regular_grid(index: pd.Index) -> pd.Index | None:
    """The regular index that ``index`` (sorted, unique) is part of with some labels
    missing: for a DatetimeIndex without a frequency, the range at the step most of its
    stretches have (hourly data with a missing hour: every hour from first to last);
    for a PeriodIndex, all periods from first to last. None when there is no gap, or
    no step that all labels lie on (then the index is irregular, not gappy)."""
    import pandas as pd

    if isinstance(index, pd.PeriodIndex):
        if len(index) < 2:
            return None
        grid = pd.period_range(index[0], index[-1], freq=index.freq, name=index.name)
        return grid if len(grid) > len(index) else None
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 4 or index.freq is not None:
        return None
    if pd.DatetimeIndex(index, freq="infer").freq is not None:
        return None
    code = dominant_step(index)
    if code is None:
        return None
    grid = pd.date_range(index[0], index[-1], freq=code, name=index.name)
    if len(grid) > 2 * len(index) or not index.isin(grid).all():
        return None  # mostly gaps, or labels off the step: irregular
    return grid


def dominant_step(index: pd.DatetimeIndex) -> str | None:
    """The frequency most short stretches (5 labels) of ``index`` have, where gaps are
    rare; None if none has one."""
    import pandas as pd

    if len(index) < 3:
        return None
    # a series on one step throughout (the usual case) needs no vote: one inference
    # (each of its stretches would infer that step; 25 inferences of 20 series took
    # 0.12 s of a 0.7 s fit of M1 yearly)
    whole = pd.DatetimeIndex(index, freq="infer").freq
    if whole is not None:
        return str(whole.freqstr)
    size = min(5, len(index))
    count = min(25, len(index) - size + 1)
    starts = np.unique(np.linspace(0, len(index) - size, num=count).astype(int))
    found = [pd.DatetimeIndex(index[start : start + size], freq="infer").freq for start in starts]
    codes = [offset.freqstr for offset in found if offset is not None]
    return max(set(codes), key=codes.count) if codes else None


def step_seconds(kind: str | None, freq: str | None) -> float | None:
    """The mean length of one step of a datetime or period frequency, in seconds (a
    month: about 30.4 days, whichever day it is anchored on); None for other kinds or
    a frequency pandas cannot read."""
    import pandas as pd

    if kind not in ("datetime", "period") or not freq:
        return None
    try:
        if kind == "period":
            stamps = pd.period_range("2001-01-01", periods=25, freq=freq).to_timestamp()
        else:
            stamps = pd.date_range("2001-01-01", periods=25, freq=freq)
    except (TypeError, ValueError):
        return None
    return float((stamps[-1] - stamps[0]).total_seconds()) / 24


# Frequencies read from a file are checked without pandas when they are one of these
# codes (with a multiple and an anchor: "15min", "W-SUN", "QS-OCT"); pandas decides the
# rest (then it is imported). Datetime offsets, then period frequencies.
_COMMON_CODES = {
    "datetime": frozenset(
        "YS YE QS QE MS ME SMS SME BYS BYE BQS BQE BMS BME W D B h min s".split()
    ),
    "period": frozenset("Y Q M W D B h min s".split()),
}
_FREQUENCY = re.compile(r"([1-9][0-9]{0,5})?([A-Za-z]+)(-[A-Z]{3})?")


def frequency_problem(kind: str, freq: str) -> str | None:
    """Why ``freq`` cannot step a ``kind`` index ("integer": a positive whole step as
    text; "datetime": a pandas offset; "period": a period frequency), or None."""
    if kind == "integer":
        return None if freq.isdigit() and 0 < int(freq) < 2**62 else "not a positive whole step"
    match = _FREQUENCY.fullmatch(freq)
    if match is not None and match[2] in _COMMON_CODES.get(kind, ()):
        return None
    import pandas as pd

    try:
        if kind == "period":
            pd.period_range("2000-01-01", periods=2, freq=freq)
            return None
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError, OverflowError):
        return "not a pandas frequency"
    return None if offset.n > 0 else "not a step forward"


def tz_problem(tz: str) -> str | None:
    """Why ``tz`` is not a time zone's IANA name known here, or None."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return "not a time zone known here (an IANA name such as 'Europe/Paris')"
    return None


def json_name(name: Any) -> Any:
    """A series or index name as JSON can hold it (other hashables as their str)."""
    return name if isinstance(name, (str, int, float, type(None))) else str(name)


def tz_key(tz: Any) -> str | None:
    """The IANA name of a time zone (zoneinfo, pytz or dateutil), or None."""
    if tz is None:
        return None
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    filename = getattr(tz, "_filename", None)  # dateutil.tz.tzfile
    if key is None and isinstance(filename, str) and "zoneinfo/" in filename:
        key = filename.split("zoneinfo/", 1)[1]
    if key is None and str(tz) == "UTC":
        key = "UTC"
    return key


@dataclass(frozen=True)
class TimeIndex:
    """The end of a series' index and how to continue it.

    Attributes
    ----------
    kind : {"datetime", "period", "integer", "other"}
    last : the last label (Timestamp, Period or int), or None for "other"
    freq : pandas frequency string for "datetime"/"period" (None if none could be
        inferred), the integer step as a string for "integer"
    name : the index's name
    """

    kind: str
    last: Any = None
    freq: str | None = None
    name: Hashable | None = None
    # the pandas DateOffset itself: a custom business day's holidays or business hours
    # live there, not in ``freq``
    offset: Any = field(default=None, compare=False)

    @classmethod
    def from_index(cls, index: pd.Index) -> TimeIndex:
        """Describe the end of ``index`` (already checked to be sorted and unique)."""
        import pandas as pd

        name = index.name
        if len(index) == 0:
            return cls("other", None, None, name)
        if isinstance(index, pd.DatetimeIndex):
            # freq="infer" sets the inferred frequency, or None when there is none
            offset = index.freq or pd.DatetimeIndex(index, freq="infer").freq
            return cls("datetime", index[-1], offset and offset.freqstr, name, offset)
        if isinstance(index, pd.PeriodIndex):
            return cls("period", index[-1], index.freqstr, name)
        if isinstance(index, pd.RangeIndex):
            return cls("integer", int(index[-1]), str(index.step), name)
        if pd.api.types.is_integer_dtype(index.dtype) and len(index) >= 1:
            steps = np.diff(index.to_numpy())
            regular = len(steps) == 0 or (steps[0] > 0 and (steps == steps[0]).all())
            step = str(int(steps[0])) if len(steps) else "1"
            return cls("integer", int(index[-1]), step if regular else None, name)
        return cls("other", None, None, name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ONNX metadata); the inverse of :meth:`from_dict`."""
        last, tz = self.last, None
        if self.kind == "datetime":
            tz = tz_key(last.tz)  # None for naive, and for unnamed fixed offsets
            last = last.isoformat()  # keeps the UTC offset
        elif self.kind == "period":
            last = str(last)
        return {
            "kind": self.kind,
            "last": last,
            "freq": self.freq,
            "tz": tz,
            "name": json_name(self.name),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeIndex:
        import pandas as pd

        kind, last = data["kind"], data.get("last")
        if kind == "datetime":
            last = pd.Timestamp(last)
            if data.get("tz"):
                last = last.tz_convert(data["tz"])
        elif kind == "period":
            last = pd.Period(last, freq=data["freq"])
        elif kind not in ("integer", "other"):
            raise ValueError(f"unknown time index kind {kind!r}")
        return cls(kind, last, data.get("freq"), data.get("name"))

    def past(self, length: int) -> pd.Index | None:
        """The index of the last ``length`` values (ending with ``last``), or None when
        it cannot be rebuilt (no regular frequency, or an index of another kind)."""
        import pandas as pd

        if self.kind == "datetime" and self.freq is not None:
            offset = self.offset or pd.tseries.frequencies.to_offset(self.freq)
            return pd.date_range(end=self.last, periods=length, freq=offset, name=self.name)
        if self.kind == "period":
            return pd.period_range(end=self.last, periods=length, freq=self.freq, name=self.name)
        if self.kind == "integer" and self.freq is not None:
            step = int(self.freq)
            return pd.RangeIndex(
                self.last - step * (length - 1), self.last + 1, step, name=self.name
            )
        return None

    def future(self, steps: int) -> pd.Index:
        """The index of the ``steps`` values after the last label.

        Raises
        ------
        ValueError
            If the index has no regular frequency to continue.
        """
        import pandas as pd

        if self.kind == "datetime":
            if self.freq is None:
                raise ValueError(
                    "the series has a DatetimeIndex on no regular step (pd.infer_freq "
                    "found none, and it is not a regular index with rows missing), so "
                    "the timestamps of the forecast are unknown; resample it to one "
                    "value per step first (series.resample(step).mean(), with the step "
                    "the data is meant to have: 'h', 'D', 'MS', ...), or pass a NumPy "
                    "array to get an array back"
                )
            offset = self.offset or pd.tseries.frequencies.to_offset(self.freq)
            try:
                return pd.date_range(
                    start=self.last + offset, periods=steps, freq=offset, name=self.name
                )
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                raise _beyond_labels(self.kind, steps, self.last) from None
        if self.kind == "period":
            try:
                return pd.period_range(
                    start=self.last + 1, periods=steps, freq=self.freq, name=self.name
                )
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                raise _beyond_labels(self.kind, steps, self.last) from None
        if self.kind == "integer":
            if self.freq is None:
                raise ValueError(
                    "the series has an integer index with uneven steps, so the index of "
                    "the forecast is unknown; reset it (series.reset_index(drop=True)) "
                    "or pass a NumPy array"
                )
            step = int(self.freq)
            start = self.last + step
            return pd.RangeIndex(start, start + step * steps, step, name=self.name)
        raise ValueError(
            "the series' index is neither a DatetimeIndex, a PeriodIndex nor an integer "
            "index, so the index of the forecast is unknown; convert it (for example "
            "series.index = pd.to_datetime(series.index)) or pass a NumPy array"
        )


def check_round_trip(time_index: TimeIndex | None, described: dict[str, Any] | None) -> None:
    """Refuse to write ``described`` (``time_index.to_dict()``) to a file if the index
    rebuilt from it would label forecasts differently from ``time_index`` itself (a
    custom business day's holidays, for example, do not survive)."""
    if time_index is None or time_index.kind == "other":
        return
    try:
        expected = time_index.future(3)
    except ValueError:
        return  # no regular frequency: neither side can give future labels
    assert described is not None  # the callers pass time_index.to_dict()
    served = TimeIndex.from_dict(described).future(3)
    if [str(t) for t in expected] != [str(t) for t in served]:  # str keeps UTC offsets
        raise ValueError(
            f"the fitted series' index (frequency {time_index.freq!r}) cannot be written "
            f"to a model file faithfully: its forecasts would be labelled {list(served)} "
            f"instead of {list(expected)}; fit on a series with a standard frequency, or "
            "on a NumPy array"
        )


# ------------------------------------------- time labels as whole numbers (many series)


def stamps(times: np.ndarray, tz: Any) -> pd.DatetimeIndex:
    """Time labels as whole numbers (nanoseconds since the epoch, UTC) as timestamps in
    the time zone ``tz`` (naive without one)."""
    import pandas as pd

    stamps = pd.DatetimeIndex(np.asarray(times, np.int64).astype("datetime64[ns]"))
    return stamps if tz is None else stamps.tz_localize("UTC").tz_convert(tz)


def calendar_offset(freq: str, tz: Any) -> Any:
    """The pandas offset of ``freq``; in a time zone, days are calendar days (pandas 2
    takes ``Day`` for 24 hours, which a day across a change to summer time is not)."""
    import pandas as pd

    offset = pd.tseries.frequencies.to_offset(freq)
    if tz is not None and isinstance(offset, pd.offsets.Day):
        return pd.DateOffset(days=offset.n)
    return offset


def decode_labels(kind: str, freq: str | None, tz: Any, labels: np.ndarray) -> Any:
    """Time labels as whole numbers (see ``PanelState``) as pandas labels."""
    import pandas as pd

    labels = np.asarray(labels, np.int64)
    if kind == "integer":
        return labels
    if kind == "period":
        return pd.PeriodIndex.from_ordinals(labels, freq=freq)
    return stamps(labels, tz)


def future_labels(kind: str, freq: str | None, tz: Any, last: np.ndarray, steps: int) -> Any:
    """The labels of the ``steps`` values after each series' last label (``last`` as
    whole numbers, see ``PanelState``), series after series: a pandas array of
    len(last) * steps.

    Raises
    ------
    ValueError
        If the labels would run past what 64-bit labels (pandas' nanosecond timestamps:
        up to 2262-04-11) can hold: nothing is forecast then.
    """

    import pandas as pd

    last = np.asarray(last, np.int64)
    if kind in ("integer", "period"):
        step = int(freq or 1) if kind == "integer" else 1
        if len(last) and (
            int(last.max()) + step * steps >= 2**63 or int(last.min()) + step < -(2**63)
        ):
            raise _beyond_labels(kind, steps)
        labels = (last[:, None] + step * np.arange(1, steps + 1)).ravel()
        return labels if kind == "integer" else decode_labels(kind, freq, tz, labels)
    if freq is None:
        raise ValueError(
            "the series have no regular frequency, so the timestamps of the forecast are unknown"
        )
    base = stamps(last, tz)
    offset = calendar_offset(freq, tz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "non-vectorized DateOffset" for calendar steps
        try:
            (base.max() + steps * offset).as_unit("ns")  # the farthest label, first
            if steps <= len(base):
                columns = [(base + k * offset).as_unit("ns").asi8 for k in range(1, steps + 1)]
                labels = np.column_stack(columns).ravel()
            else:  # a long horizon for few series: a range per series
                labels = np.concatenate(
                    [
                        pd.date_range(start + offset, periods=steps, freq=offset).as_unit("ns").asi8
                        for start in base
                    ]
                )
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            raise _beyond_labels(kind, steps) from None
    return decode_labels(kind, freq, tz, labels)


def _beyond_labels(kind: str, steps: int, after: Any = "the series' last ones") -> ValueError:
    """The error of a forecast whose labels would run past what 64-bit labels (pandas'
    nanosecond timestamps: up to 2262-04-11) can hold."""
    what = "timestamps (up to 2262-04-11)" if kind == "datetime" else f"{kind} labels"
    return ValueError(
        f"steps={steps}: the labels of that many steps after {after} run past what 64-bit "
        f"{what} can hold; ask for fewer steps"
    )
