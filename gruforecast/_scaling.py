"""The series scaler: one affine map ``(x - offset) / scale`` fitted on training data,
optionally after ``log1p``.

Every kind reduces to an offset and a scale, which keeps the exported ONNX graph to one
``Sub`` and one ``Div`` on the way in and one ``Mul`` and one ``Add`` on the way out
(with ``log``, a ``Log`` before and an ``Exp`` after). Only NumPy is imported here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._params import check_choice

__all__ = [
    "SeriesScaler",
    "check_in_domain",
    "check_scaler_kind",
    "log1p",
    "standard_deviation",
    "uses_log",
]


def check_scaler_kind(kind: Any) -> str | None:
    """``kind`` if it is a scaler kind (see gruforecast._params), else a clear error."""
    return check_choice("scaler", kind)


@dataclass(frozen=True)
class SeriesScaler:
    """An affine scaler for a univariate series.

    ``kind="standard"``: offset = mean, scale = standard deviation;
    ``kind="minmax"``: offset = min, scale = max - min (values map into [0, 1]);
    ``kind=None``: the identity. A constant series (zero spread) keeps scale 1, so it is
    only shifted, never divided by zero.

    ``log=True``: values are first mapped by ``log1p`` (and forecasts back by
    ``expm1``), so the network sees and learns relative changes: a model of many
    series of non-negative values, whose seasons are often multiplicative, learns
    them better (see ``target_transform`` on :class:`gruforecast.GRUForecaster`). Such a
    scaler takes only values above -1.
    """

    kind: str | None = "standard"
    offset: float = 0.0
    scale: float = 1.0
    log: bool = False

    @classmethod
    def fit(
        cls, values: np.ndarray, kind: str | None = "standard", log: bool = False
    ) -> SeriesScaler:
        """Fit on ``values`` (the training part only, after ``log1p`` with ``log``);
        computed in float64."""
        kind = check_scaler_kind(kind)
        values = np.asarray(values, dtype=np.float64)
        if log:
            values = log1p(values, "X (the series)")
        if kind is None or values.size == 0:
            return cls(kind=kind, log=log)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            if kind == "standard":
                offset = float(values.mean())
                spread = float(standard_deviation(values))
            else:
                offset = float(values.min())
                spread = float(values.max()) - offset
        if not (np.isfinite(offset) and np.isfinite(spread)):
            raise ValueError(
                f"the series is too large to scale in float64 (|values| up to "
                f"{np.abs(values).max():.3g}); rescale it first"
            )
        # A spread at the level of float64 rounding of the offset is a constant series
        # written with noise in its last bit: dividing by it would blow noise up to 1.
        if spread <= 8 * np.finfo(np.float64).eps * abs(offset) or spread == 0.0:
            spread = 1.0
        return cls(kind=kind, offset=offset, scale=spread, log=log)

    def transform(self, values: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Map raw values to the scaled space, returned as ``dtype``.

        Raises
        ------
        ValueError
            With ``log``, for a value of -1 or below (its ``log1p`` is not finite).
        """
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            values = log1p(values, "the values")
        scaled = (values - self.offset) / self.scale
        return scaled.astype(dtype, copy=False)

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Map scaled values (any float dtype) back to raw units, as float64."""
        raw = np.asarray(values, dtype=np.float64) * self.scale + self.offset
        if self.log:
            with np.errstate(over="ignore"):  # beyond float64: inf, as any overflow
                return np.expm1(raw)
        return raw

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, the inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeriesScaler:
        kind = check_scaler_kind(data.get("kind"))
        log = data.get("log", False)  # files written before log scaling have none
        if not isinstance(log, bool):
            raise TypeError(f"scaler: log must be true or false, got {log!r}")
        return cls(kind=kind, offset=float(data["offset"]), scale=float(data["scale"]), log=log)


def standard_deviation(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``np.std(values, axis=axis)``, computed through the largest magnitude along
    ``axis``: squares of values near 1e-170 or 1e170 would underflow or overflow."""
    values = np.asarray(values, dtype=np.float64)
    largest = np.max(np.abs(values), axis=axis, keepdims=True, initial=0.0)
    largest = np.where(largest > 0, largest, 1.0)
    return (values / largest).std(axis=axis) * np.squeeze(largest, axis=axis)


def log1p(values: np.ndarray, what: str) -> np.ndarray:
    """``np.log1p(values)``, or a ValueError naming the first value of -1 or below."""
    values = np.asarray(values, dtype=np.float64)
    _refuse_minus_one_or_below(values, what)
    return np.log1p(values)


def _refuse_minus_one_or_below(values: np.ndarray, what: str) -> None:
    """A ValueError naming the first value of ``what`` (1-D or 2-D) at -1 or below."""
    low = values <= -1.0
    if low.any():
        position = np.unravel_index(int(np.argmax(low)), values.shape)
        where = int(position[0]) if values.ndim == 1 else tuple(int(i) for i in position)
        raise ValueError(
            f"{what}: {float(values[position])!r} at position {where} is -1 or below, but "
            "this model works on log1p of the values (target_transform='log'), which needs "
            "every value above -1; use target_transform=None, or shift the values"
        )


def uses_log(
    target_transform: str | None, values: np.ndarray, many: bool, what: str = "X (the series)"
) -> bool:
    """Whether a fit on ``values`` maps them by ``log1p`` (``target_transform``, see
    gruforecast._params): "log" for values all above -1 (else a clear error), "auto"
    for many series (``many``) whose values are all 0 or more, None never."""
    values = np.asarray(values, dtype=np.float64)
    if target_transform == "log":
        _refuse_minus_one_or_below(values, what)
        return True
    return target_transform == "auto" and many and values.size > 0 and bool(values.min() >= 0)


def check_in_domain(scaler: SeriesScaler, values: np.ndarray, what: str) -> None:
    """For a scaler with ``log``: a ValueError naming the first value of ``what`` at -1
    or below (``values`` 1-D, or 2-D with one row per series or window), which the
    model (or its ONNX graph, silently: NaN) could not forecast from."""
    if scaler.log:
        _refuse_minus_one_or_below(np.asarray(values, dtype=np.float64), what)
