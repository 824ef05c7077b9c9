"""TrainingPlan: what ``fit`` trains on, decided before anything touches torch.

From a series (or windows and targets) and the estimator's parameters, a plan fixes
the window, the chronological parts (training, then validation, then calibration, each
held-out part after a gap), the scaler fitted on the training part only, the calibration
data for intervals, and what the fitted model keeps of the series (its end, its index,
its span). NumPy and pandas only: every rule here is tested without training anything.

A series too short for the window, the horizon and both held-out parts is not refused:
:func:`adapt` gives up, in this order, the calibration part, then (``window="auto"``
only) window width down to one season, then the validation part, and ``fit`` says what
it gave up in one warning. Only a series shorter than two windows and their targets is
refused.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._time_index import TimeIndex, seasonal_period
from ._validation import SeriesInput
from .intervals import Calibration
from .scaling import SeriesScaler, uses_log
from .windowing import n_windows

if TYPE_CHECKING:  # pragma: no cover
    from ._panel import Panel

__all__ = [
    "Adapted",
    "TrainingPlan",
    "adapt",
    "auto_batch_size",
    "auto_window",
    "min_samples",
    "split",
]

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


def _blind(window: int, freq: str | None) -> str | None:
    """What a window is too short to see: one season of the index's frequency, or
    (under 3 values) a trend or a pattern; None when it sees enough."""
    period = seasonal_period(freq)
    seasonal = period is not None and period > 1
    if window < 3 or (seasonal and window < cast(int, period)):
        return f"one season of {period}" if seasonal else "a trend or a pattern"
    return None


def _warn_if_blind(window: int, length: int, horizon: int, freq: str | None) -> None:
    """A word when the series left window='auto' too short to see a season (or, under
    3 values, anything)."""
    sees = _blind(window, freq)
    if sees is not None:
        warnings.warn(
            f"X (the series) has {length} values, so window='auto' chose {window} past "
            f"value{'s' if window > 1 else ''} per forecast (at most a third of what the "
            f"horizon of {horizon} leaves; {_preferred_window(freq)} would be usual), too "
            f"few to see {sees}: forecasts will follow the last values. Give a longer "
            "series, or choose window= yourself",
            UserWarning,
            stacklevel=5,
        )


@dataclass(frozen=True)
class Adapted:
    """The window and held-out fractions a fit on a series uses (see :func:`adapt`).

    ``asked`` is the window the parameters ask for (``window="auto"`` resolved by
    :func:`auto_window`), ``needed`` the values that window, the horizon and the asked
    fractions need; ``given_up`` names what the series was too short for, in the order
    given up: ``"calibration"``, ``"validation"``, ``"window"`` (empty when nothing was).
    """

    window: int
    validation_fraction: float
    calibration_fraction: float
    asked: int
    needed: int
    given_up: tuple[str, ...]


# a fit that gives something up goes on only while the series holds this many windows
FEWEST_ADAPTED_WINDOWS = 2


def _fits(
    length: int, window: int, horizon: int, fractions: tuple[float, float], fewest: int = 1
) -> bool:
    """Whether a series of ``length`` values leaves a training window (one or more)
    after the held-out parts of ``fractions`` and their gaps, in ``fewest`` windows or
    more."""
    return n_windows(length, window, horizon) >= max(fewest, min_samples(horizon, *fractions))


def adapt(
    length: int,
    horizon: int,
    window: int | str,
    freq: str | None,
    validation_fraction: float,
    calibration_fraction: float,
) -> Adapted:
    """The window and held-out fractions for a series of ``length`` values.

    What the parameters ask for when the series is long enough for it (one training
    window or more after both held-out parts and their gaps of ``horizon - 1``
    windows). Otherwise the first of these that leaves a training window in a series
    of two windows or more (one window is one example: nothing to learn the shape of
    what follows from, nor to score a fit on):

    1. the same window without the calibration part (no intervals): early stopping
       matters more to the forecast than intervals do;
    2. ``window="auto"`` only: narrower windows, one value at a time, down to one
       season of the index's frequency (3 values without a season, the fewest that
       window normalisation applies to), keeping validation: a window that sees a
       season lets the seasonal skip start as seasonal naive;
    3. the window of 1. without the validation part either (training runs all
       ``epochs``, without early stopping).

    Narrowing an ``"auto"`` window further is never needed: it is at most a third of
    what the horizon leaves, so with nothing held out it fits any series longer than
    the horizon. A window the user chose is never narrowed, and an ``"auto"`` one never
    widened (not even to one season: a wider window leaves fewer windows to train on).

    Raises
    ------
    ValueError
        If the series is too short even so: fewer than two windows and their targets
        (``window + horizon + 1`` values for a window given, ``horizon + 2`` for
        ``"auto"``, whose narrowest window is 1).
    """
    asked = auto_window(length, horizon, freq) if window == "auto" else int(window)
    fractions = (validation_fraction, calibration_fraction)
    needed = asked + horizon - 1 + min_samples(horizon, *fractions)
    if _fits(length, asked, horizon, fractions):
        return Adapted(asked, *fractions, asked=asked, needed=needed, given_up=())
    no_calibration = (validation_fraction, 0.0)
    nothing = (0.0, 0.0)
    only = range(asked, asked + 1)
    narrower = only
    if window == "auto":
        period = seasonal_period(freq)
        floor = period if period is not None and period > 1 else MIN_NORMALIZED_WINDOW
        narrower = range(asked, min(asked, floor) - 1, -1)
    for chosen, windows in ((no_calibration, narrower), (nothing, only)):
        for width in windows:
            if _fits(length, width, horizon, chosen, FEWEST_ADAPTED_WINDOWS):
                given_up = tuple(
                    name
                    for name, wanted, kept in (
                        ("calibration", calibration_fraction, chosen[1]),
                        ("validation", validation_fraction, chosen[0]),
                    )
                    if wanted > 0 and kept == 0
                ) + (("window",) if width < asked else ())
                return Adapted(width, *chosen, asked=asked, needed=needed, given_up=given_up)
    # the fewest values: those the asked fractions need, or two windows and their targets
    width = 1 if window == "auto" else asked
    fewest = width + horizon - 1 + FEWEST_ADAPTED_WINDOWS
    asked_for = width + horizon - 1 + min_samples(horizon, *fractions)
    held_out = (
        "nothing held out for validation or calibration: two windows and their targets"
        if fewest < asked_for
        else ""
    )
    if window == "auto":
        raise ValueError(
            f"X (the series) has {_values(length)}, but horizon={horizon} needs at least "
            f"{min(fewest, asked_for)} (window='auto' at its narrowest, 1 value"
            + (f", and {held_out})" if held_out else ")")
            + ". Give a longer series, or a shorter horizon"
        )
    raise ValueError(
        f"X (the series) has {_values(length)}, but window={asked}, horizon={horizon}, "
        f"{_fractions_of(*fractions)} need at least {needed}"
        + (f" (and {fewest} even with {held_out})" if held_out else "")
        + ". Give a longer series, a shorter horizon or a smaller window (or window='auto', "
        "which narrows itself to fit)"
    )


def _warn_adapted(
    adapted: Adapted, length: int, horizon: int, params: Mapping[str, Any], freq: str | None
) -> None:
    """The one warning of a fit that gave something up (see :func:`adapt`): what, why,
    and what it trains on instead."""
    auto = params["window"] == "auto"
    n_train, n_valid, _, _ = split(
        n_windows(length, adapted.window, horizon),
        horizon,
        adapted.validation_fraction,
        adapted.calibration_fraction,
    )
    parts = []
    if "calibration" in adapted.given_up:
        parts.append("the calibration part (this model has no prediction intervals)")
    if "validation" in adapted.given_up:
        parts.append("the validation part (training runs all epochs, without early stopping)")
    if "window" in adapted.given_up:
        parts.append(f"window width (it reads {adapted.window} past values, not {adapted.asked})")
    trains = f"it trains on {_windows(n_train)}" + (
        f", with {n_valid} for early stopping" if n_valid else ""
    )
    sees = _blind(adapted.window, freq) if auto else None
    blind = (
        f". {adapted.window} past value{'s are' if adapted.window > 1 else ' is'} too few to "
        f"see {sees}: forecasts will follow the last values"
        if sees
        else ""
    )
    asked = f"window='auto' ({adapted.asked} here)" if auto else f"window={adapted.asked}"
    warnings.warn(
        f"X (the series) has {length} values, fewer than the {adapted.needed} that {asked}, "
        f"horizon={horizon}, {_fractions(params)} need, so fit gave up "
        f"{_listed(parts)}: {trains}{blind}. A longer series or a shorter horizon "
        f"keeps {'them' if len(parts) > 1 else 'it'}",
        UserWarning,
        stacklevel=5,
    )


def _values(n: int) -> str:
    return f"{n} value{'s' if n != 1 else ''}"


def _windows(n: int) -> str:
    return f"{n} window{'s' if n != 1 else ''}"


def _listed(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def auto_batch_size(n_train: int) -> int:
    """About AUTO_BATCH_STEPS minibatches per epoch, within [AUTO_BATCH_MIN, AUTO_BATCH_MAX]."""
    return int(min(AUTO_BATCH_MAX, max(AUTO_BATCH_MIN, n_train // AUTO_BATCH_STEPS)))


def _fractions(params: Mapping[str, Any]) -> str:
    return _fractions_of(params["validation_fraction"], params["calibration_fraction"])


def _fractions_of(validation_fraction: float, calibration_fraction: float) -> str:
    return (
        f"validation_fraction={validation_fraction} and calibration_fraction={calibration_fraction}"
    )


def _label(label: Any) -> Any:
    """An index label as JSON holds it: ints stay ints, the rest (timestamps, periods)
    their string form."""
    return int(label) if isinstance(label, (int, np.integer)) else str(label)


def series_span(series: SeriesInput) -> dict[str, Any]:
    """What a model of one series records of it: its length, first and last labels."""
    index = series.index
    return {
        "length": len(series.values),
        "start": _label(index[0]) if index is not None else None,
        "end": _label(index[-1]) if index is not None else None,
    }


@dataclass(frozen=True, eq=False)
class TrainingPlan:
    """The data of one fit and the decisions taken on it.

    What the network trains on is laid out as for many series (``PanelPlan``): the
    scaled values in one float32 array, ``scaled``, and each window a start position in
    it (``train_starts``, ``valid_starts``, and ``refit_starts`` for a refit on every
    window), its targets the ``horizon`` values after it. From a series, ``scaled`` is
    the series and the windows are its consecutive ones: training, then validation
    after a gap (the calibration windows are kept in ``calibration``, outside both).
    From ``fit(X, y)``, each row, its window then its targets, is a stretch of
    ``scaled`` of its own.
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
    scaled: np.ndarray  # float32: the series, or the rows of X and y, scaled
    train_starts: np.ndarray  # int64 positions in ``scaled``
    valid_starts: np.ndarray
    refit_starts: np.ndarray
    last_window: np.ndarray | None = None
    time_index: TimeIndex | None = None
    series_name: Any = None
    training_span: dict[str, Any] | None = None
    # the series as a long frame (or a dict, a list) gave it: the fitted model answers
    # forecast() in that shape (see gruforecast._panel.one_series)
    panel: Panel | None = None

    @property
    def normalize_applies(self) -> bool:
        return self.window >= MIN_NORMALIZED_WINDOW

    def to_raw(self, starts: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        """Values of the windows at ``starts`` (rows of ``scaled``) in raw units."""
        return self.scaler.inverse_transform(scaled)

    @classmethod
    def for_series(
        cls, series: SeriesInput, params: Mapping[str, Any], panel: Panel | None = None
    ) -> TrainingPlan:
        """Plan a fit on a series (``fit(series)``); ``panel``: the long frame, dict or
        list of one series it was read from, if it came so.

        A series too short for the window, the horizon and both held-out parts gives
        up what :func:`adapt` says, with one ``UserWarning`` naming it.

        Raises
        ------
        ValueError
            If the series is too short for one window and its horizon even so.
        """
        values, horizon = series.values, params["horizon"]
        time_index = TimeIndex.from_index(series.index) if series.is_pandas else None
        freq = time_index.freq if time_index is not None else None
        adapted = adapt(
            len(values),
            horizon,
            params["window"],
            freq,
            params["validation_fraction"],
            params["calibration_fraction"],
        )
        window = adapted.window
        fractions = (adapted.validation_fraction, adapted.calibration_fraction)
        if adapted.given_up:
            _warn_adapted(adapted, len(values), horizon, params, freq)
        elif params["window"] == "auto":
            _warn_if_blind(window, len(values), horizon, freq)
        n_train, n_valid, n_calibration, gap = split(
            n_windows(len(values), window, horizon), horizon, *fractions
        )
        calibration_start = n_train + n_valid + 2 * gap
        # scaling sees only what the training windows cover, inputs and targets
        scaler = SeriesScaler.fit(
            values[: n_train + window + horizon - 1],
            params["scaler"],
            log=uses_log(params["target_transform"], values, many=False),
        )
        return cls(
            window=window,
            horizon=horizon,
            n_train=n_train,
            n_valid=n_valid,
            n_calibration=n_calibration,
            gap=gap,
            scaler=scaler,
            # the stretch from the first calibration window on: its targets are unseen
            calibration=(
                Calibration(window, series=values[calibration_start:].copy())
                if n_calibration
                else None
            ),
            season=(seasonal_period(freq) or 1),
            scaled=scaler.transform(values, np.float32),
            train_starts=np.arange(n_train),
            valid_starts=np.arange(n_train + gap, n_train + gap + n_valid),
            refit_starts=np.arange(n_windows(len(values), window, horizon)),
            last_window=values[-window:].copy(),
            time_index=time_index,
            series_name=series.name,
            training_span=series_span(series),
            panel=panel,
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
        rows = np.concatenate([windows, targets], axis=1)  # a window, then its targets
        # windows overlap, so their values are the series many times over; scaling
        # statistics of the training rows are still those of the training period
        scaler = SeriesScaler.fit(
            np.concatenate([windows[:n_train].ravel(), targets[:n_train].ravel()]),
            params["scaler"],
            log=uses_log(params["target_transform"], rows.ravel(), many=False),
        )
        starts = np.arange(len(rows)) * rows.shape[1]
        return cls(
            window=windows.shape[1],
            horizon=horizon,
            n_train=n_train,
            n_valid=n_valid,
            n_calibration=n_calibration,
            gap=gap,
            scaler=scaler,
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
            scaled=scaler.transform(rows, np.float32).ravel(),
            train_starts=starts[:n_train],
            valid_starts=starts[n_train + gap : n_train + gap + n_valid],
            refit_starts=starts,
        )
