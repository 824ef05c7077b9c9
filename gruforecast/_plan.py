"""TrainingPlan: what ``fit`` trains on, decided before anything touches torch.

From a series (or windows and targets) and the estimator's parameters, a plan fixes
the window, the chronological parts (training, then validation, then calibration, each
held-out part after a gap), the scaler fitted on the training part only, the calibration
data for intervals, and what the fitted model keeps of the series (its end, its index,
its span). NumPy and pandas only: every rule here is tested without training anything.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ._time_index import TimeIndex, seasonal_period
from ._validation import SeriesInput
from .intervals import Calibration
from .scaling import SeriesScaler
from .windowing import n_windows

__all__ = ["TrainingPlan", "auto_batch_size", "auto_window", "min_samples", "split"]

# window="auto" without a known seasonal period
DEFAULT_WINDOW = 24
# batch_size="auto": about AUTO_BATCH_STEPS minibatches per epoch, within these bounds
AUTO_BATCH_STEPS = 16
AUTO_BATCH_MIN = 16
AUTO_BATCH_MAX = 256
# normalize="window" applies from this window width on: a window's own mean and spread
# leave (almost) nothing of 1 or 2 values
MIN_NORMALIZED_WINDOW = 3


def split(
    n_samples: int, horizon: int, validation_fraction: float, calibration_fraction: float
) -> tuple[int, int, int, int]:
    """Chronological parts of the windows: (n_train, n_valid, n_calibration, gap).

    Validation, then calibration, follow training, each after a gap of ``horizon - 1``
    windows: a window's targets are its next ``horizon`` values, so without the gap the
    first held-out windows would share targets with the last windows before them.
    """
    gap = horizon - 1
    n_valid = math.ceil(validation_fraction * n_samples)
    n_calibration = math.ceil(calibration_fraction * n_samples)
    gaps = gap * ((n_valid > 0) + (n_calibration > 0))
    return n_samples - n_valid - n_calibration - gaps, n_valid, n_calibration, gap


def min_samples(horizon: int, validation_fraction: float, calibration_fraction: float) -> int:
    """Fewest windows that leave one to train on after the held-out parts."""
    n_samples = 1
    while split(n_samples, horizon, validation_fraction, calibration_fraction)[0] < 1:
        n_samples += 1
    return n_samples


def auto_window(length: int, horizon: int, freq: str | None) -> int:
    """Two seasons of the index's frequency (else DEFAULT_WINDOW), at most a third of
    what the series leaves after the horizon, so that enough windows remain."""
    return max(1, min(_preferred_window(freq), (length - horizon) // 3))


def _preferred_window(freq: str | None) -> int:
    period = seasonal_period(freq)
    return 2 * period if period and period > 1 else DEFAULT_WINDOW


def _warn_if_blind(window: int, length: int, horizon: int, freq: str | None) -> None:
    """A word when the series left window='auto' too short to see a season (or, under
    3 values, anything)."""
    period = seasonal_period(freq)
    seasonal = period is not None and period > 1
    if window < 3 or (seasonal and window < cast(int, period)):
        sees = f"one season of {period}" if seasonal else "a trend or a pattern"
        warnings.warn(
            f"X (the series) has {length} values, so window='auto' chose {window} past "
            f"value{'s' if window > 1 else ''} per forecast (at most a third of what the "
            f"horizon of {horizon} leaves; {_preferred_window(freq)} would be usual), too "
            f"few to see {sees}: forecasts will follow the last values. Give a longer "
            "series, or choose window= yourself",
            UserWarning,
            stacklevel=5,
        )


def auto_batch_size(n_train: int) -> int:
    """About AUTO_BATCH_STEPS minibatches per epoch, within [AUTO_BATCH_MIN, AUTO_BATCH_MAX]."""
    return int(min(AUTO_BATCH_MAX, max(AUTO_BATCH_MIN, n_train // AUTO_BATCH_STEPS)))


def _fractions(params: Mapping[str, Any]) -> str:
    return (
        f"validation_fraction={params['validation_fraction']} and "
        f"calibration_fraction={params['calibration_fraction']}"
    )


def _label(label: Any) -> Any:
    """An index label as JSON holds it: ints stay ints, the rest (timestamps, periods)
    their string form."""
    return int(label) if isinstance(label, (int, np.integer)) else str(label)


@dataclass(frozen=True, eq=False)
class TrainingPlan:
    """The data of one fit, in raw units, and the decisions taken on it.

    From a series, ``values`` holds it and ``windows``/``targets`` are None; from
    ``fit(X, y)``, the reverse. Rows ``training``, then ``validation`` of the windows
    (in the order the series gives them) are what the network trains and stops on;
    the calibration windows are kept in ``calibration``, outside both.
    """

    window: int
    horizon: int
    n_train: int
    n_valid: int
    n_calibration: int
    gap: int
    scaler: SeriesScaler
    calibration: Calibration | None
    season: int  # the index's seasonal period; 1 if none is known
    values: np.ndarray | None = None
    windows: np.ndarray | None = None
    targets: np.ndarray | None = None
    last_window: np.ndarray | None = None
    time_index: TimeIndex | None = None
    series_name: Any = None
    training_span: dict[str, Any] | None = None

    @property
    def training(self) -> slice:
        return slice(0, self.n_train)

    @property
    def validation(self) -> slice:
        start = self.n_train + self.gap
        return slice(start, start + self.n_valid)

    @property
    def normalize_applies(self) -> bool:
        return self.window >= MIN_NORMALIZED_WINDOW

    def used_values(self) -> np.ndarray:
        """From a series: the values the training and validation windows cover (inputs
        and targets), where nothing held out for calibration is."""
        assert self.values is not None
        return self.values[: self.validation.stop + self.window + self.horizon - 1]

    @classmethod
    def for_series(cls, series: SeriesInput, params: Mapping[str, Any]) -> TrainingPlan:
        """Plan a fit on a series (``fit(series)``).

        Raises
        ------
        ValueError
            If the series is too short for the window, horizon and held-out parts.
        """
        values, horizon = series.values, params["horizon"]
        time_index = TimeIndex.from_index(series.index) if series.is_pandas else None
        freq = time_index.freq if time_index is not None else None
        window = params["window"]
        if window == "auto":
            window = auto_window(len(values), horizon, freq)
        fractions = (params["validation_fraction"], params["calibration_fraction"])
        minimum = window + horizon - 1 + min_samples(horizon, *fractions)
        if len(values) < minimum:
            raise ValueError(
                f"X (the series) has {len(values)} values, but window={window}, "
                f"horizon={horizon}, {_fractions(params)} need at least {minimum}"
            )
        if params["window"] == "auto":
            _warn_if_blind(window, len(values), horizon, freq)
        n_train, n_valid, n_calibration, gap = split(
            n_windows(len(values), window, horizon), horizon, *fractions
        )
        calibration_start = n_train + n_valid + 2 * gap
        index = series.index
        return cls(
            window=window,
            horizon=horizon,
            n_train=n_train,
            n_valid=n_valid,
            n_calibration=n_calibration,
            gap=gap,
            # scaling sees only what the training windows cover, inputs and targets
            scaler=SeriesScaler.fit(values[: n_train + window + horizon - 1], params["scaler"]),
            # the stretch from the first calibration window on: its targets are unseen
            calibration=(
                Calibration(window, series=values[calibration_start:].copy())
                if n_calibration
                else None
            ),
            season=(seasonal_period(freq) or 1),
            values=values,
            last_window=values[-window:].copy(),
            time_index=time_index,
            series_name=series.name,
            training_span={
                "length": len(values),
                "start": _label(index[0]) if index is not None else None,
                "end": _label(index[-1]) if index is not None else None,
            },
        )

    @classmethod
    def for_windows(
        cls, windows: np.ndarray, targets: np.ndarray, params: Mapping[str, Any]
    ) -> TrainingPlan:
        """Plan a fit on windows and targets (``fit(X, y)``).

        Raises
        ------
        ValueError
            If the windows' width contradicts ``window``, or there are too few rows.
        """
        horizon = params["horizon"]
        if params["window"] != "auto" and windows.shape[1] != params["window"]:
            raise ValueError(
                f"X has {windows.shape[1]} columns, but window={params['window']}: each row "
                "of X must be one window of that many past values (or use window='auto')"
            )
        fractions = (params["validation_fraction"], params["calibration_fraction"])
        fewest = min_samples(horizon, *fractions)
        if len(windows) < fewest:
            raise ValueError(
                f"X has {len(windows)} sample{'s' if len(windows) != 1 else ''}, but "
                f"{_fractions(params)} need at least {fewest}: one or more to "
                "train on, the last ones held out"
            )
        n_train, n_valid, n_calibration, gap = split(len(windows), horizon, *fractions)
        calibration_start = n_train + n_valid + 2 * gap
        return cls(
            window=windows.shape[1],
            horizon=horizon,
            n_train=n_train,
            n_valid=n_valid,
            n_calibration=n_calibration,
            gap=gap,
            # windows overlap, so their values are the series many times over; scaling
            # statistics of the training rows are still those of the training period
            scaler=SeriesScaler.fit(
                np.concatenate([windows[:n_train].ravel(), targets[:n_train].ravel()]),
                params["scaler"],
            ),
            calibration=(
                Calibration(
                    windows.shape[1],
                    windows=windows[calibration_start:].copy(),
                    targets=targets[calibration_start:].copy(),
                )
                if n_calibration
                else None
            ),
            season=1,
            windows=windows,
            targets=targets,
        )
