"""The series scaler: one affine map ``(x - offset) / scale`` fitted on training data.

Every kind reduces to an offset and a scale, which keeps the exported ONNX graph to one
``Sub`` and one ``Div`` on the way in and one ``Mul`` and one ``Add`` on the way out.
Only NumPy is imported here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._params import check_choice

__all__ = ["SeriesScaler", "check_scaler_kind"]


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
    """

    kind: str | None = "standard"
    offset: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, values: np.ndarray, kind: str | None = "standard") -> SeriesScaler:
        """Fit on ``values`` (the training part only); computed in float64."""
        kind = check_scaler_kind(kind)
        values = np.asarray(values, dtype=np.float64)
        if kind is None or values.size == 0:
            return cls(kind=kind)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            if kind == "standard":
                offset = float(values.mean())
                # through the largest magnitude: squares of 1e-170 or 1e170 would
                # underflow or overflow float64
                magnitude = float(np.abs(values).max())
                spread = float((values / magnitude).std()) * magnitude if magnitude else 0.0
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
        return cls(kind=kind, offset=offset, scale=spread)

    def transform(self, values: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Map raw values to the scaled space, returned as ``dtype``."""
        scaled = (np.asarray(values, dtype=np.float64) - self.offset) / self.scale
        return scaled.astype(dtype, copy=False)

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Map scaled values (any float dtype) back to raw units, as float64."""
        return np.asarray(values, dtype=np.float64) * self.scale + self.offset

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, the inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeriesScaler:
        kind = check_scaler_kind(data.get("kind"))
        return cls(kind=kind, offset=float(data["offset"]), scale=float(data["scale"]))
