"""Prediction intervals from split-conformal residuals, per step ahead.

``fit`` holds out the last ``calibration_fraction`` of the windows: the network neither
trains on them nor uses them for early stopping, so their errors are honest samples of
the errors of new forecasts (errors on the validation part would be optimistic: the
model was *chosen* for doing well there).

The errors are *normalised*: each calibration origin's absolute ``k``-step error is
divided by the spread (standard deviation) of its input window, plus a floor of a tenth
of the median spread so that a flat window cannot make the ratio explode. For step ``k``
of a new forecast the interval is ``forecast ± q_k * spread(its window)``, where ``q_k``
is the conformal quantile of the ``n`` normalised errors: the ``ceil((n + 1) * level)``-th
smallest. Normalising keeps split conformal's coverage guarantee (the scores stay
exchangeable) and lets the width follow the series' local variability: a series whose
swings grow (sunspot cycles, AirPassengers) gets wide intervals where it is volatile and
narrow ones where it is calm, instead of one width calibrated on whatever the last
stretch happened to be. Past the horizon, calibration forecasts are recursive like the
forecast itself, so intervals widen as errors compound; and a step's interval is never
narrower than an earlier step's (the quantiles are made non-decreasing over steps: with
few calibration errors, sampling noise alone could make step 15 narrower than step 11).

``n`` errors honour levels up to ``n / (n + 1)``: 3 errors give at most a 75% interval.
For a higher level the conformal quantile is infinite, and so are the bounds: the
forecast is still given, its bounds for that level are ``-inf`` and ``inf``, and an
:class:`IntervalWarning` says which levels could be honoured (a later step has fewer
errors: the last origins have no truth that far ahead).

:class:`Calibration` keeps the raw values it needs (a stretch of the series, or the
held-out windows and targets), small enough for the ONNX metadata, so the exported model
gives the same bounds. NumPy only.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._scaling import standard_deviation
from ._windowing import PredictWindows, recursive_forecast

# a calibration computed once (Calibration.scored) keeps at most this many origins:
# quantiles of 16,384 errors honour any level up to 99.99%, in a few MiB per model
MAX_SCORED_ORIGINS = 16_384
# a pretrained prior asked for intervals of a context scores itself on at most this
# many of the context's own last origins (context_calibration): one more network call
# of at most this many windows
CONTEXT_ORIGINS = 512

__all__ = [
    "CONTEXT_ORIGINS",
    "Calibration",
    "IntervalWarning",
    "check_levels",
    "conformal_quantile",
    "context_calibration",
    "highest_level",
    "level_label",
    "minimum_residuals",
]


def check_levels(interval: Any) -> tuple[float, ...]:
    """``0.9`` or ``[0.8, 0.95]`` -> a tuple of levels, each strictly between 0 and 1."""
    levels = interval if isinstance(interval, (list, tuple, np.ndarray)) else [interval]
    if len(levels) == 0:
        raise ValueError("interval must be a level in (0, 1) or a non-empty list of them")
    checked = []
    for level in levels:
        if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real):
            raise TypeError(f"interval levels must be numbers in (0, 1), got {level!r}")
        if not 0.0 < float(level) < 1.0:
            raise ValueError(
                f"interval levels must be in (0, 1), got {level} (for a 90% interval write 0.9)"
            )
        checked.append(float(level))
    if len(set(checked)) != len(checked):
        raise ValueError(f"interval levels must be distinct, got {list(checked)}")
    return tuple(checked)


def level_label(level: float) -> str:
    """0.9 -> "90", 0.975 -> "97.5": the suffix of the bound columns."""
    return f"{level * 100:.10g}"


def minimum_residuals(level: float) -> int:
    """The fewest residuals for which a conformal quantile at ``level`` is finite."""
    n = 1
    while math.ceil((n + 1) * level) > n:
        n += 1
    return n


def highest_level(n: int) -> float:
    """The highest level ``n`` calibration errors honour, ``n / (n + 1)``, rounded down
    to a tenth of a percent (3 errors: 0.75; 8 errors: 0.888)."""
    return math.floor(n / (n + 1) * 1000) / 1000


def errors(n: int) -> str:
    return f"{n} calibration error{'' if n == 1 else 's'}"


def conformal_quantile(absolute_errors: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) * level)``-th smallest of ``n`` absolute errors; ``inf`` when
    there are too few errors for ``level`` (fewer than ``minimum_residuals(level)``):
    no finite bound is then guaranteed to cover."""
    n = len(absolute_errors)
    rank = math.ceil((n + 1) * level)
    if rank > n:
        return math.inf
    return float(np.partition(absolute_errors, rank - 1)[rank - 1])


class IntervalWarning(UserWarning):
    """An interval level cannot be honoured with the model's calibration errors: its
    bounds are infinite from ``step`` on.

    Attributes: ``level``, ``step`` (the first step without enough errors for it),
    ``n_errors`` (the errors at that step) and ``honoured`` (the highest level those
    honour), for callers (the command line) that phrase their own advice.
    """

    def __init__(self, level: float, step: int, n_errors: int) -> None:
        self.level, self.step, self.n_errors = level, step, n_errors
        self.honoured = highest_level(n_errors)
        super().__init__(
            f"the {level_label(level)}% interval cannot be honoured from step {step} on: "
            f"it needs at least {errors(minimum_residuals(level))} per step, and this "
            f"model has {n_errors} at step {step}, so its bounds are -inf and inf from "
            f"there. {self.advice('interval=', 'steps=')}, or fit on a longer series (a "
            "larger calibration_fraction takes the errors from training)"
        )

    def advice(self, interval: str, steps: str) -> str:
        """What would be honoured, with the caller's names for the level and the steps
        (``"interval="``, ``"steps="`` in Python; ``"--interval "``, ``"--steps "`` on
        the command line)."""
        options = []
        if self.honoured > 0:
            options.append(f"{interval}{self.honoured:g} or lower")
        if self.step > 1:
            options.append(f"{steps}{self.step - 1} or fewer")
        return "Ask for " + " or ".join(options) if options else "Ask for no interval"


def _origins(stretch: np.ndarray, window: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The calibration windows of one stretch and their next ``steps`` true values
    (NaN beyond the stretch)."""
    origins = sliding_window_view(stretch[:-1], window)
    future = np.concatenate([stretch[window:], np.full(steps - 1, np.nan)])
    return origins, sliding_window_view(future, steps)[: len(origins)]


def _spread_floor(spreads: np.ndarray, origins: np.ndarray) -> float:
    """A tenth of the median window spread; for flat calibration windows, a tiny
    fraction of their level, so that no division is by zero."""
    floor = 0.1 * float(np.median(spreads))
    return floor if floor > 0 else 1e-9 * (1.0 + float(np.abs(origins).mean()))


@dataclass(frozen=True)
class Calibration:
    """The held-out data that intervals are calibrated on, in raw units.

    Either ``series``: the stretch of the fitted series that starts with the first
    held-out window (every window in it whose next value is held out is an origin), or
    ``windows`` and ``targets``: the held-out rows of ``fit(X, y)``. A model of many
    series keeps one such stretch per series, back to back in ``series``, with
    ``segments`` (offsets, like ``Panel.offsets``) saying where each starts: their
    normalised errors are pooled.

    Or ``scores`` and ``floor``: those errors already computed (:meth:`scored`), one
    row per origin and one column per step ahead (NaN where the truth is beyond the
    held-out data), and the spread floor they were normalised with. A model refitted
    on the held-out windows keeps the errors of the network that had not seen them.

    ``relative``: the floor is a share of each window's own spread, not a spread in the
    units of the fitted series. A pretrained prior's errors are relative: they serve
    series of any scale (its corpus' floor, a tenth of the corpus' median spread, meant
    nothing for a series of another scale: a series of values near 0.4 got bounds of
    +-45 from the monthly prior).
    """

    window: int
    series: np.ndarray | None = None
    windows: np.ndarray | None = None
    targets: np.ndarray | None = None
    segments: np.ndarray | None = None
    scores: np.ndarray | None = None
    floor: float | None = None
    relative: bool = False

    def __post_init__(self) -> None:
        if self.segments is not None:  # read from a file as floats
            object.__setattr__(self, "segments", np.asarray(self.segments).astype(np.int64))

    def _stretches(self) -> list[np.ndarray]:
        assert self.series is not None
        if self.segments is None:
            return [self.series]
        bounds = self.segments
        return [self.series[a:b] for a, b in itertools.pairwise(bounds)]

    def _origins_and_truth(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Calibration windows (n, window) and the true next ``steps`` values (n, steps),
        NaN where the truth is beyond the held-out data."""
        if self.series is not None:
            pairs = [_origins(stretch, self.window, steps) for stretch in self._stretches()]
            if len(pairs) == 1:
                return pairs[0]
            return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        # no series: windows and targets are set (see the class's notes)
        windows, targets = cast(np.ndarray, self.windows), cast(np.ndarray, self.targets)
        if steps > targets.shape[1]:
            raise ValueError(
                f"intervals for {steps} steps need errors of {steps}-step forecasts, but "
                f"this model was fitted on windows with {targets.shape[1]} targets "
                "each and has no series to check longer forecasts on; fit it on a series "
                "(fit(series)) or ask for fewer steps"
            )
        return windows, targets[:, :steps]

    def half_widths(
        self,
        predict_windows: PredictWindows,
        steps: int,
        levels: Sequence[float],
        window_values: np.ndarray,
    ) -> np.ndarray:
        """Interval half-widths around the forecast from ``window_values`` (the last
        ``window`` values of the history), shape (steps, len(levels)); for windows of
        many series (n, window), shape (n, steps, len(levels))."""
        if self.scores is not None:
            floor = cast(float, self.floor)
            scores = self.scores[:, :steps]
            if scores.shape[1] < steps:  # beyond the steps the held-out data reach
                missing = np.full((len(scores), steps - scores.shape[1]), np.nan)
                scores = np.concatenate([scores, missing], axis=1)
        else:
            scores, floor = self._scores(predict_windows, steps)
        quantiles = np.empty((steps, len(levels)))
        for k in range(steps):
            known = scores[:, k][~np.isnan(scores[:, k])]
            for j, level in enumerate(levels):
                quantiles[k, j] = conformal_quantile(known, level)
        # no step narrower than an earlier one (and infinite from the first infinite on)
        quantiles = np.maximum.accumulate(quantiles, axis=0)
        self._warn_unhonoured(levels, quantiles, self.errors_per_step(steps))
        spreads = standard_deviation(window_values)
        scale = spreads * (1.0 + floor) if self.relative else spreads + floor
        if np.ndim(window_values) == 2:
            return quantiles[None] * scale[:, None, None]
        return quantiles * scale

    def _scores(
        self, predict_windows: PredictWindows, steps: int, share: float | None = None
    ) -> tuple[np.ndarray, float]:
        """The normalised errors (n_origins, steps) of ``predict_windows`` on the
        held-out data, and the spread floor they are normalised with: ``share`` of each
        window's own spread where given (``relative``; a flat window has no score)."""
        origins, truth = self._origins_and_truth(steps)
        forecasts = recursive_forecast(predict_windows, origins, self.window, steps)
        spreads = standard_deviation(origins)  # through the largest value: no overflow
        if share is None:
            floor = _spread_floor(spreads, origins)
            scale = spreads + floor
        else:
            floor, scale = share, spreads * (1.0 + share)
            scale = np.where(scale > 0, scale, np.nan)
        return np.abs(truth - forecasts) / scale[:, None], floor

    def scored(
        self, predict_windows: PredictWindows, seed: int = 0, share: float | None = None
    ) -> Calibration:
        """This calibration with its errors computed now by ``predict_windows``, for
        every step ahead the held-out data reach, keeping at most
        MAX_SCORED_ORIGINS origins (drawn at random, which keeps them exchangeable);
        normalised by ``share`` of each window's spread where given (``relative``)."""
        if self.scores is not None:
            return self
        if self.series is not None:
            steps = max(len(stretch) - self.window for stretch in self._stretches())
        else:
            steps = cast(np.ndarray, self.targets).shape[1]
        scores, floor = self._scores(predict_windows, max(1, steps), share)
        if len(scores) > MAX_SCORED_ORIGINS:
            keep = np.random.default_rng(seed).choice(
                len(scores), MAX_SCORED_ORIGINS, replace=False
            )
            scores = scores[np.sort(keep)]
        return Calibration(self.window, scores=scores, floor=floor, relative=share is not None)

    def with_prior(
        self, prior: Calibration, predict_windows: PredictWindows, seed: int = 0
    ) -> Calibration:
        """This calibration's errors, computed now by ``predict_windows`` and normalised
        as ``prior``'s relative errors are, pooled with them: a fit that started from a
        pretrained prior has few held-out errors of its own (a series' last windows), too
        few for a 90% interval at later steps, and its intervals were wide or infinite;
        the prior's errors, of thousands of series, fill in, scaled to this data's own
        errors (see :func:`_prior_scale`): the prior's corpus is no measure of how
        predictable this data is (unscaled, its errors gave zero-shot 90% intervals
        that held up to 0.97 of the fpp2 development series' test values, and as few as
        0.74 of M1 quarterly's)."""
        if self.scores is not None or not prior.relative or prior.scores is None:
            raise ValueError("with_prior pools a calibration's data with a prior's errors")
        own = cast(np.ndarray, self.scored(predict_windows, seed, prior.floor).scores)
        theirs = prior.scores * _prior_scale(own, prior.scores)
        width = max(own.shape[1], theirs.shape[1])
        pooled = np.full((len(own) + len(theirs), width), np.nan)
        pooled[: len(own), : own.shape[1]] = own
        pooled[len(own) :, : theirs.shape[1]] = theirs
        return Calibration(self.window, scores=pooled, floor=prior.floor, relative=True)

    @staticmethod
    def _warn_unhonoured(
        levels: Sequence[float], quantiles: np.ndarray, counts: np.ndarray
    ) -> None:
        for j, level in enumerate(levels):
            infinite = np.isinf(quantiles[:, j])
            if infinite.any():
                step = int(np.argmax(infinite))
                warnings.warn(IntervalWarning(level, step + 1, int(counts[step])), stacklevel=5)

    def origin_windows(self) -> np.ndarray | None:
        """The held-out windows (n, window) in raw units; None for a calibration kept
        only as scores."""
        if self.series is None and self.windows is None:
            return None
        return self._origins_and_truth(1)[0]

    def errors_per_step(self, steps: int) -> np.ndarray:
        """How many calibration errors each step 1..``steps`` ahead has: the origins
        whose truth that far ahead is known (fewer for later steps of a series)."""
        if self.scores is not None:
            known = (~np.isnan(self.scores[:, :steps])).sum(axis=0)
            return np.concatenate([known, np.zeros(steps - len(known), np.int64)])
        if self.series is not None:
            origins = [max(0, len(stretch) - self.window) for stretch in self._stretches()]
            return np.sum([np.maximum(n - np.arange(steps), 0) for n in origins], axis=0)
        return np.full(steps, self.n_origins)

    @property
    def n_origins(self) -> int:
        if self.scores is not None:
            return len(self.scores)
        if self.series is not None:
            return sum(max(0, len(stretch) - self.window) for stretch in self._stretches())
        return len(cast(np.ndarray, self.windows))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ONNX metadata); the inverse of :meth:`from_dict`."""
        if self.scores is not None:  # NaN (truth unknown) as null
            rows = [[None if np.isnan(v) else v for v in row] for row in self.scores.tolist()]
            data = {"window": self.window, "scores": rows, "floor": self.floor}
            return {**data, "relative": True} if self.relative else data
        if self.series is not None:
            data = {"window": self.window, "series": self.series.tolist()}
            if self.segments is not None:
                data["segments"] = self.segments.tolist()
            return data
        windows, targets = cast(np.ndarray, self.windows), cast(np.ndarray, self.targets)
        return {"window": self.window, "windows": windows.tolist(), "targets": targets.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if "scores" in data:
            return cls(
                int(data["window"]),
                scores=np.array(data["scores"], dtype=np.float64, ndmin=2),
                floor=float(data["floor"]),
                relative=data.get("relative", False) is True,
            )
        if "series" in data:
            segments = data.get("segments")
            return cls(
                int(data["window"]),
                series=np.asarray(data["series"], dtype=np.float64),
                segments=None if segments is None else np.asarray(segments, dtype=np.int64),
            )
        return cls(
            int(data["window"]),
            windows=np.asarray(data["windows"], dtype=np.float64),
            targets=np.asarray(data["targets"], dtype=np.float64),
        )


# how many of its own errors a calibration pooled with a prior's needs to move the
# prior's errors halfway to its own, and the quantile at which the two are matched
# (see _prior_scale; matching medians left the fpp2 development series' zero-shot
# intervals at 0.965: the corpus' errors have the heavier tail)
PRIOR_SCALE_ERRORS = 10
PRIOR_SCALE_LEVEL = 0.9


def _prior_scale(own: np.ndarray, theirs: np.ndarray) -> float:
    """The factor that brings a prior's normalised errors ``theirs`` to the size of a
    data set's own ``own`` (both (origins, steps), NaN where unknown): the
    PRIOR_SCALE_LEVEL quantile, over own errors, of own / (the prior's PRIOR_SCALE_LEVEL
    quantile at that step), each ratio clipped to [1/16, 16] (an exact forecast has an
    error of 0); on a log scale shrunk towards 1 by n / (n + PRIOR_SCALE_ERRORS) for n
    own errors (three move it a quarter of the way, a hundred nine tenths)."""
    steps = min(own.shape[1], theirs.shape[1])
    with warnings.catch_warnings():  # a step the prior has no error for: NaN, skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        typical = np.nanquantile(theirs[:, :steps], PRIOR_SCALE_LEVEL, axis=0)
        ratios = own[:, :steps] / typical
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return 1.0
    shrink = len(ratios) / (len(ratios) + PRIOR_SCALE_ERRORS)
    matched = np.quantile(np.clip(ratios, 1 / 16, 16), PRIOR_SCALE_LEVEL)
    return float(np.exp(shrink * np.log(matched)))


def context_calibration(
    series: Sequence[np.ndarray], window: int, horizon: int, seed: int = 0
) -> Calibration | None:
    """Held-out origins in ``series`` (contexts a pretrained prior is asked to forecast,
    which it never trained on): for each series, origins after a full window, the
    latest with ``horizon`` values of truth after them first, then those with less (NaN
    beyond the series), at most ``horizon`` a series and CONTEXT_ORIGINS in all, drawn
    at random (``seed``) where there are more. None where no series is longer than a
    window. (Windows padded on the left, as a short context's forecast is, err more and
    widened the intervals of long monthly series too: M1 monthly covered 0.96.)"""
    per_series = max(1, min(horizon, CONTEXT_ORIGINS // max(1, len(series))))
    windows, targets = [], []
    for values in series:
        n = len(values)
        full = np.arange(window, n - horizon + 1)[::-1]
        partial = np.arange(max(window, n - horizon + 1), n)
        for origin in np.concatenate([full, partial])[:per_series]:
            truth = np.full(horizon, np.nan)
            seen = values[origin : origin + horizon]
            truth[: len(seen)] = seen
            windows.append(values[origin - window : origin])
            targets.append(truth)
    if not windows:
        return None
    stacked, truths = np.array(windows, np.float64), np.array(targets, np.float64)
    if len(stacked) > CONTEXT_ORIGINS:
        keep = np.sort(np.random.default_rng(seed).choice(len(stacked), CONTEXT_ORIGINS, False))
        stacked, truths = stacked[keep], truths[keep]
    return Calibration(window, windows=stacked, targets=truths)
