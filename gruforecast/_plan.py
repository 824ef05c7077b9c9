"""The plan of a fit: what the network trains on, decided before anything touches torch.

One plan type for one series and many. From the series read (``_panel.read_one_or_many``)
and the estimator's parameters, :func:`plan_fit` builds a :class:`Plan`: the scaled
values of every series in one float32 array, each window a start position in it
(training, then validation, then calibration, each held-out part after a gap of
``horizon - 1`` windows), how to map scaled values back, the calibration data for
intervals, and what the fitted model keeps of the series. Which rules apply, and
every ``"auto"``, is ``_policy``'s: under the global rules each series is scaled by its
own training part and split as one series is (:meth:`Plan.under_global_rules`); on a series'
own terms (no window normalisation) one scaler with the series' offset
(:meth:`Plan.on_own_terms`); ``fit(X, y)`` on windows is a thin adapter onto the same
plan (:meth:`Plan.from_windows`). NumPy and pandas only: every rule here is tested
without training anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._covariates import CovariateData, CovariateScaler, CovariateSpec, channels
from ._intervals import Calibration
from ._panel import Panel, last_windows, one_series, seasonal_period_of, series_of
from ._policy import (
    FEWEST_ADAPTED_WINDOWS,
    MIN_NORMALIZED_WINDOW,
    adapt,
    check_deseasonalize,
    describe_fractions,
    global_windows,
    min_samples,
    normalizes,
    split,
    warn_adapted,
    warn_if_blind,
)
from ._scaling import SeriesScaler, uses_log
from ._time_index import TimeIndex, seasonal_period
from ._validation import SeriesInput, as_series
from ._windowing import n_windows

__all__ = ["Plan", "plan_fit", "series_span"]

MAX_VALIDATION_WINDOWS = 16_384  # the early-stopping loss is measured on at most these


def plan_fit(
    panel: Panel,
    params: Mapping[str, Any],
    *,
    source: SeriesInput | None = None,
    time_index: TimeIndex | None = None,
    seed: int = 0,
    widths: tuple[int, int | None, bool] | None = None,
    covariates: CovariateData | None = None,
) -> Plan:
    """The plan of a fit on ``panel``'s series (``source``, ``time_index``: one series
    given as one, as ``read_one_or_many`` returns it; ``widths``: the window, the part
    the GRU reads and ``deseasonalize`` of a pretrained prior the fit starts from, in
    place of those ``_policy.global_windows`` would choose; ``covariates``: those of
    the panel's values, read under the global rules only).

    The global rules apply wherever the network normalises each window
    (``_policy.normalizes``, with the window ``_policy.global_windows`` chooses): one
    series that it cannot is planned on its own terms, whatever held it, and many series
    are refused (one model of many needs window normalisation)."""
    pretrained = widths is not None
    if widths is None:
        widths = global_windows(panel, params, seasonal_period_of(panel))
    if panel.n_series > 1 or normalizes(params, widths[0]):
        return Plan.under_global_rules(
            panel,
            params,
            widths,
            seed,
            source=source,
            time_index=time_index,
            pretrained=pretrained,
            covariates=covariates,
        )
    if covariates is not None:
        raise ValueError(
            f"covariates need the network to normalise each window (normalize='window' "
            f"and a window of at least {MIN_NORMALIZED_WINDOW}; here normalize="
            f"{params['normalize']!r}, window={widths[0]})"
        )
    if source is None:  # one series as a long frame, a dict or a list gave it
        series = as_series(
            one_series(panel), what="X (the series)", missing=params["missing"], regular=True
        )
        return Plan.on_own_terms(series, params, panel)
    return Plan.on_own_terms(source, params)


@dataclass(frozen=True, eq=False)
class Plan:
    """The data of one fit and the decisions taken on it.

    ``scaled`` holds every series (or, from ``fit(X, y)``, every row: a window, then its
    targets) back to back, stretch ``k`` at ``stretches[k]:stretches[k + 1]``, scaled by
    ``centres[k]`` and ``spreads[k]`` (after ``log1p`` where ``scaler.log``). A window is
    a start position in ``scaled``, its targets the ``horizon`` values after it:
    ``train_starts``, ``valid_starts`` and ``refit_starts`` (every window, for a refit).
    ``scaler`` is what the trained network serves raw windows with: under the global
    rules offset 0 and the median of the series' spreads (the network normalises each
    window, which makes it indifferent to a series' scale), on a series' own terms the
    series' own. ``global_rules`` says which rules planned it (``_policy.choose`` takes
    the other ``"auto"``s from it).

    Under the global rules each series is split like one series: its training windows,
    then validation, then calibration, with the same gaps; a series too short for both
    held-out parts keeps validation only, or else trains on all its windows (the
    held-out windows of the other series stay unseen: windows never cross series); a
    series too short for one window adds none (it is forecast from a padded window).
    When the GRU reads only the end of the window (``gru_window``, with
    ``deseasonalize``), each series in ``scaled`` is preceded by ``pad`` copies of its
    first value, so that windows may start that far before it: the longer window costs
    no series a window, and its padded start is what a short series' forecast sees.

    What the fitted model keeps of the data: ``last_window``, ``time_index``,
    ``series_name`` and ``training_span`` of one series answered as one, and
    ``recorded``, the series it answers for as a long frame (their ids, labels, last
    windows; None for one series given as one, and for ``fit(X, y)``).
    """

    window: int
    horizon: int
    scaled: np.ndarray  # float32
    train_starts: np.ndarray  # int64 positions in ``scaled``
    valid_starts: np.ndarray
    refit_starts: np.ndarray
    stretches: np.ndarray  # int64 offsets in ``scaled`` of each series (or all rows)
    centres: np.ndarray  # per stretch: what its scaling subtracted
    spreads: np.ndarray  # and divided by
    scaler: SeriesScaler
    calibration: Calibration | None
    season: int  # the index's seasonal period; 1 if none is known
    global_rules: bool
    normalizes: bool  # the network normalises each window (normalize="window" applies)
    deseasonalize: bool = False  # the network removes each window's season (GRUNet)
    gru_window: int | None = None  # the GRU reads this many of the window's last values
    last_window: np.ndarray | None = None
    time_index: TimeIndex | None = None
    series_name: Any = None
    training_span: dict[str, Any] | None = None
    recorded: Panel | None = None
    # covariates (under the global rules): each row of ``scaled``'s channels as the
    # network reads them in a window (len(scaled), features) and over a horizon
    # (len(scaled), ahead_features), in their own units (float32), and how the network
    # is to scale them (``covariate_scaler``); None without
    features: np.ndarray | None = None
    ahead: np.ndarray | None = None
    covariate_scaler: CovariateScaler | None = None
    # with covariates: where ``calibration``'s windows start in ``scaled``; what they
    # are (the calendar resolved) and the static categories seen
    calibration_starts: np.ndarray | None = None
    covariate_spec: CovariateSpec | None = None
    covariate_categories: dict[str, Any] | None = None

    @property
    def n_train(self) -> int:
        return len(self.train_starts)

    def to_raw(self, starts: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        """Values of the windows at ``starts`` (rows of ``scaled``) in raw units."""
        stretch = np.searchsorted(self.stretches, starts, side="right") - 1
        values = np.asarray(scaled, np.float64) * self.spreads[stretch, None]
        values = values + self.centres[stretch, None]
        if self.scaler.log:
            with np.errstate(over="ignore"):  # beyond float64: inf, as any overflow
                return np.expm1(values)
        return values

    @classmethod
    def under_global_rules(
        cls,
        panel: Panel,
        params: Mapping[str, Any],
        widths: tuple[int, int | None, bool],
        seed: int = 0,
        *,
        source: SeriesInput | None = None,
        time_index: TimeIndex | None = None,
        pretrained: bool = False,
        covariates: CovariateData | None = None,
    ) -> Plan:
        """Plan a fit under the global rules (see the class's notes), with ``widths``:
        the window, the part of it the GRU reads and ``deseasonalize``, as
        ``_policy.global_windows`` chose them for ``panel``. ``pretrained``: the fit
        starts from a pretrained prior, so data with fewer than two windows to train
        on is planned with none (the prior is kept as it is) instead of refused.
        ``covariates``: those of ``panel``'s values, scaled on the part the training
        windows read and laid out as ``scaled`` is (``features``, ``ahead``).

        Raises
        ------
        ValueError
            Without window normalisation (``normalize="window"`` and a window of 3 or
            more), or when no series is long enough for one window.
        """
        horizon = params["horizon"]
        lengths = panel.lengths
        period = seasonal_period_of(panel)
        window, gru_window, deseasonalize = widths
        if deseasonalize:
            check_deseasonalize(window, period)
        if not normalizes(params, window):
            raise ValueError(
                f"one model of many series needs normalize='window' and a window of at "
                f"least {MIN_NORMALIZED_WINDOW} (got normalize={params['normalize']!r}, "
                f"window={window}): it is what lets the network serve series of any scale"
            )
        below = panel.values <= -1.0
        if params["target_transform"] == "log" and below.any():  # name the series
            k = series_of(int(np.argmax(below)), panel.offsets)
            uses_log(
                "log", panel.series(k), many=True, what=f"X (the series), series {panel.ids[k]!r}"
            )
        log = uses_log(params["target_transform"], panel.values, many=True)
        fractions = (params["validation_fraction"], params["calibration_fraction"])
        # windows may start before a series, padded with its first value, as far as the
        # GRU's own part of them stays in it: the long window costs no series a window
        pad = window - gru_window if gru_window is not None else 0
        windows = np.array([n_windows(int(n) + pad, window, horizon) for n in lengths], np.int64)
        usable = windows >= 1
        # a fit from a pretrained prior whose data is too short to train on keeps the
        # prior as it is (zero-shot): no window is needed then
        too_few = int(np.maximum(windows, 0).sum()) < FEWEST_ADAPTED_WINDOWS
        if pretrained and too_few:
            usable = np.zeros_like(usable)
            windows = np.zeros_like(windows)
        elif not usable.any():
            if panel.n_series == 1:
                raise ValueError(
                    f"X (the series) has {lengths[0]} values, but window={window} and "
                    f"horizon={horizon} need at least {window + horizon - pad}: give a "
                    "longer series, a shorter horizon or a smaller window"
                )
            raise ValueError(
                f"X (the series): no series is long enough for one window of "
                f"window={window} and horizon={horizon}: the longest has {lengths.max()} "
                f"values, at least {window + horizon - pad} are needed"
            )
        if not usable.all() and not (pretrained and too_few):
            short = [panel.ids[k] for k in np.flatnonzero(~usable)]
            shown = ", ".join(repr(i) for i in short[:10]) + (", ..." if len(short) > 10 else "")
            warnings.warn(
                f"{len(short)} of {panel.n_series} series are too short for one training "
                f"window (window={window} and horizon={horizon} need {window + horizon} "
                "values): they are not trained on, and are forecast from their values "
                f"padded on the left with their first value to a full window: {shown}",
                UserWarning,
                stacklevel=5,
            )
        # each series split as one series is; one too short for both held-out parts
        # (with their gaps) keeps validation only, or else trains on all its windows:
        # its windows never meet another series' held-out ones
        fallbacks = (fractions, (fractions[0], 0.0), (0.0, 0.0))
        table = np.zeros((len(lengths), 4), np.int64)  # n_train, n_valid, n_calibration, gap
        for n in np.unique(windows[usable]):
            usable_fractions = next(f for f in fallbacks if int(n) >= min_samples(horizon, *f))
            table[windows == n] = split(int(n), horizon, *usable_fractions)
        n_train, n_valid, n_calibration, gap = table.T
        # (from a prior with nothing to validate on, the fit's own warning says it all)
        if not (pretrained and not n_valid.any()):
            _check_held_out(
                panel, window, horizon, fractions, windows, n_train, n_valid, n_calibration
            )
        starts = _padded(panel.offsets, pad)[:-1]  # where each series' windows start
        train_starts = _ranges(starts, n_train)
        valid_starts = _ranges(starts + n_train + gap, n_valid)
        refit_starts = _ranges(starts, np.maximum(windows, 0))  # every window
        if len(valid_starts) > MAX_VALIDATION_WINDOWS:
            chosen = np.random.default_rng(seed).choice(
                len(valid_starts), MAX_VALIDATION_WINDOWS, replace=False
            )
            valid_starts = np.sort(valid_starts[chosen])
        # each series scaled by what its training windows cover; short ones by all of it
        covered = np.where(
            usable, np.clip(n_train + window + horizon - 1 - pad, 1, lengths), lengths
        )
        centres = np.zeros(panel.n_series)
        spreads = np.ones(panel.n_series)
        scaled = np.empty(len(panel.values), np.float32)
        for a, b in _blocks(panel.offsets):  # a few million values at a time: little memory
            low, high = panel.offsets[a], panel.offsets[b]
            part, offsets = panel.values[low:high], panel.offsets[a : b + 1] - low
            if log:
                part = np.log1p(part)
            centres[a:b], spreads[a:b] = _segment_scales(
                part, offsets, covered[a:b], params["scaler"]
            )
            part_lengths = lengths[a:b]
            scaled[low:high] = (part - np.repeat(centres[a:b], part_lengths)) / np.repeat(
                spreads[a:b], part_lengths
            )
        covariate_scaler, features, ahead = None, None, None
        if covariates is not None:  # the network's scaling: of what training windows read
            covariate_scaler = CovariateScaler.fit(covariates, panel.offsets, covered)
            features, ahead = channels(covariates, panel.offsets)
        if pad:
            scaled = _pad_series(scaled, panel.offsets, pad)
            if features is not None and ahead is not None:
                features = _pad_series(features, panel.offsets, pad)
                ahead = _pad_series(ahead, panel.offsets, pad)
        # calibration: from each series' first calibration window on (as for one series),
        # padded with the series' first value as far as that window starts before it
        calibration, calibration_starts = None, None
        if n_calibration.sum() and covariates is not None:
            # a network with covariates is scored on its calibration windows as they
            # are, each with its own channels (calibration_starts), for the horizon
            calibration_starts = _ranges(starts + n_train + n_valid + 2 * gap, n_calibration)
            raw = _pad_series(panel.values, panel.offsets, pad) if pad else panel.values
            calibration = Calibration(
                window,
                windows=raw[calibration_starts[:, None] + np.arange(window)],
                targets=raw[calibration_starts[:, None] + window + np.arange(horizon)],
            )
        elif n_calibration.sum():
            keep = np.flatnonzero(n_calibration > 0)
            first = (n_train + n_valid + 2 * gap - pad)[keep]  # in the series; may be < 0
            segments = []
            for row, begin in zip(keep.tolist(), first.tolist(), strict=True):
                low, high = panel.offsets[row], panel.offsets[row + 1]
                padding = np.repeat(panel.values[low], max(-begin, 0))
                segments.append(np.concatenate([padding, panel.values[low + max(begin, 0) : high]]))
            calibration = Calibration(
                window,
                series=np.concatenate(segments),
                segments=np.concatenate([[0], np.cumsum([len(s) for s in segments])]),
            )
        stretches = _padded(panel.offsets, pad)
        if source is not None:  # one series given as one: answered as one
            kept: dict[str, Any] = {
                "last_window": last_windows(panel, window)[0],
                "time_index": time_index,
                "series_name": source.name,
                "training_span": series_span(source),
            }
        else:
            n_short = int((~usable).sum())
            kept = {
                "training_span": {
                    "series": panel.n_series,
                    "values": int(panel.offsets[-1]),
                    "too_short": n_short,
                },
                "recorded": panel,
            }
        return cls(
            window=window,
            horizon=horizon,
            scaled=scaled,
            train_starts=train_starts,
            valid_starts=valid_starts,
            refit_starts=refit_starts,
            stretches=stretches,
            centres=centres,
            spreads=spreads,
            scaler=SeriesScaler(
                kind=params["scaler"], offset=0.0, scale=float(np.median(spreads)), log=log
            ),
            calibration=calibration,
            season=(period or 1),
            global_rules=True,
            normalizes=True,
            deseasonalize=deseasonalize,
            gru_window=gru_window if gru_window != window else None,
            features=features,
            ahead=ahead,
            covariate_scaler=covariate_scaler,
            calibration_starts=calibration_starts,
            covariate_spec=None if covariates is None else covariates.spec,
            covariate_categories=None if covariates is None else covariates.statics.categories,
            **kept,
        )

    @classmethod
    def on_own_terms(
        cls, series: SeriesInput, params: Mapping[str, Any], recorded: Panel | None = None
    ) -> Plan:
        """Plan a fit on one series on its own terms (one scaler with the series' own
        offset; ``recorded``: the long frame, dict or list of one series it was read
        from, if it came so).

        A series too short for the window, the horizon and both held-out parts gives
        up what ``_policy.adapt`` says, with one ``UserWarning`` naming it.

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
            warn_adapted(adapted, len(values), horizon, params, freq)
        elif params["window"] == "auto":
            warn_if_blind(window, len(values), horizon, freq)
        season = seasonal_period(freq) or 1
        deseasonalize = _asked_to_deseasonalize(params, window, season)
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
            scaled=scaler.transform(values, np.float32),
            train_starts=np.arange(n_train),
            valid_starts=np.arange(n_train + gap, n_train + gap + n_valid),
            refit_starts=np.arange(n_windows(len(values), window, horizon)),
            stretches=np.array([0, len(values)], np.int64),
            centres=np.array([scaler.offset]),
            spreads=np.array([scaler.scale]),
            scaler=scaler,
            # the stretch from the first calibration window on: its targets are unseen
            calibration=(
                Calibration(window, series=values[calibration_start:].copy())
                if n_calibration
                else None
            ),
            season=season,
            global_rules=False,
            normalizes=window >= MIN_NORMALIZED_WINDOW,
            deseasonalize=deseasonalize,
            last_window=values[-window:].copy(),
            time_index=time_index,
            series_name=series.name,
            training_span=series_span(series),
            recorded=recorded,
        )

    @classmethod
    def from_windows(
        cls, windows: np.ndarray, targets: np.ndarray, params: Mapping[str, Any]
    ) -> Plan:
        """Plan a fit on windows and targets (``fit(X, y)``): each row, its window then
        its targets, a stretch of ``scaled`` of its own, all scaled alike.

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
                f"{describe_fractions(*fractions)} need at least {fewest}: one or more to "
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
        window = windows.shape[1]
        starts = np.arange(len(rows)) * rows.shape[1]
        return cls(
            window=window,
            horizon=horizon,
            scaled=scaler.transform(rows, np.float32).ravel(),
            train_starts=starts[:n_train],
            valid_starts=starts[n_train + gap : n_train + gap + n_valid],
            refit_starts=starts,
            stretches=np.array([0, rows.size], np.int64),
            centres=np.array([scaler.offset]),
            spreads=np.array([scaler.scale]),
            scaler=scaler,
            calibration=(
                Calibration(
                    window,
                    windows=windows[calibration_start:].copy(),
                    targets=targets[calibration_start:].copy(),
                )
                if n_calibration
                else None
            ),
            season=1,
            global_rules=False,
            normalizes=window >= MIN_NORMALIZED_WINDOW,
            deseasonalize=_asked_to_deseasonalize(params, window, 1),
        )


def _asked_to_deseasonalize(params: Mapping[str, Any], window: int, season: int) -> bool:
    """``deseasonalize`` off the global rules: True (or np.True_) asks for it, and is
    refused where it cannot work; ``"auto"`` and False leave the data as it is."""
    asked = params["deseasonalize"] != "auto" and bool(params["deseasonalize"])
    if asked:
        check_deseasonalize(window, season)
    return asked


def _check_held_out(
    panel: Panel,
    window: int,
    horizon: int,
    fractions: tuple[float, float],
    windows: np.ndarray,
    n_train: np.ndarray,
    n_valid: np.ndarray,
    n_calibration: np.ndarray,
) -> None:
    """Refuse data that leaves fewer than two windows to learn from (one window is one
    example: nothing to learn the shape of what follows from), and say in one warning
    what no series was long enough to hold out: the calibration part (then the model has
    no intervals) or the validation part (then training runs all epochs)."""
    total = int(np.maximum(windows, 0).sum())
    if total < FEWEST_ADAPTED_WINDOWS:
        what = "X (the series)" if panel.n_series == 1 else "X (the series) together"
        raise ValueError(
            f"{what}: window={window} and horizon={horizon} leave {total} window and its "
            f"targets to learn from, and at least {FEWEST_ADAPTED_WINDOWS} are needed: give "
            "a longer series, a shorter horizon or a smaller window"
        )
    parts = []
    if fractions[1] > 0 and not n_calibration.any():
        parts.append("the calibration part (this model has no prediction intervals)")
    if fractions[0] > 0 and not n_valid.any():
        parts.append("the validation part (training runs all epochs, without early stopping)")
    if not parts:
        return
    held = int(n_valid.sum())
    trains = f"it trains on {int(n_train.sum())} window{'s' if n_train.sum() != 1 else ''}" + (
        f", with {held} for early stopping" if held else ""
    )
    subject = "X (the series) is not" if panel.n_series == 1 else "no series of X is"
    warnings.warn(
        f"{subject} long enough for window={window}, horizon={horizon} and "
        f"validation_fraction={fractions[0]}, calibration_fraction={fractions[1]}, so fit "
        f"gave up {' and '.join(parts)}: {trains}. A longer series or a shorter horizon "
        f"keeps {'them' if len(parts) > 1 else 'it'}",
        UserWarning,
        stacklevel=6,
    )


BLOCK_VALUES = 1 << 22


def _blocks(offsets: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive ranges of series ``(a, b)`` of about BLOCK_VALUES values each."""
    n, blocks, a = len(offsets) - 1, [], 0
    while a < n:
        b = int(np.searchsorted(offsets, offsets[a] + BLOCK_VALUES, side="right")) - 1
        b = min(max(b, a + 1), n)
        blocks.append((a, b))
        a = b
    return blocks


def _padded(offsets: np.ndarray, pad: int) -> np.ndarray:
    """Series offsets in an array where each series is preceded by ``pad`` values."""
    return offsets + pad * np.arange(len(offsets))


def _pad_series(values: np.ndarray, offsets: np.ndarray, pad: int) -> np.ndarray:
    """``values`` (rows of series back to back, ``offsets``) with ``pad`` copies of each
    series' first row before it (offsets then :func:`_padded`)."""
    lengths = np.diff(offsets)
    starts = _padded(offsets, pad)[:-1]
    inside = np.arange(len(values)) + np.repeat(starts + pad - offsets[:-1], lengths)
    padded = np.empty((len(values) + pad * len(lengths), *values.shape[1:]), values.dtype)
    padded[inside] = values
    padded[starts[:, None] + np.arange(pad)] = values[offsets[:-1]][:, None]
    return padded


def _ranges(firsts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``firsts[k] + 0, 1, ..., counts[k] - 1`` for every k, concatenated (int64)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)
    return np.repeat(firsts, counts) + within


def _segment_scales(
    values: np.ndarray, offsets: np.ndarray, counts: np.ndarray, kind: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per series (``values[offsets[k]:offsets[k + 1]]``), the offset and scale of
    ``SeriesScaler(kind)`` fitted on its first ``counts[k]`` values (a zero spread
    becomes 1), computed in two passes over all series at once."""
    n_series = len(offsets) - 1
    if kind is None:
        return np.zeros(n_series), np.ones(n_series)
    lengths = np.diff(offsets)
    covered = np.arange(len(values)) - np.repeat(offsets[:-1], lengths) < np.repeat(counts, lengths)
    starts = offsets[:-1]
    if kind == "minmax":
        lows = np.minimum.reduceat(np.where(covered, values, np.inf), starts)
        highs = np.maximum.reduceat(np.where(covered, values, -np.inf), starts)
        spreads = highs - lows
        return lows, np.where(spreads > 0, spreads, 1.0)
    n = counts.astype(np.float64)
    # through each series' largest magnitude, as SeriesScaler: sums and squares of values
    # near 1e300 (or 1e-170) would overflow (or underflow) float64
    magnitudes = np.maximum.reduceat(np.where(covered, np.abs(values), 0.0), starts)
    magnitudes = np.where(magnitudes > 0, magnitudes, 1.0)
    relative = values / np.repeat(magnitudes, lengths)
    means = np.add.reduceat(np.where(covered, relative, 0.0), starts) / n
    deviations = np.where(covered, relative - np.repeat(means, lengths), 0.0)
    spreads = np.sqrt(np.add.reduceat(deviations * deviations, starts) / n) * magnitudes
    means = means * magnitudes
    if not (np.isfinite(means).all() and np.isfinite(spreads).all()):
        raise ValueError(
            f"the series are too large to scale in float64 (|values| up to "
            f"{np.max(magnitudes):.3g}); rescale them first"
        )
    tiny = spreads <= 8 * np.finfo(np.float64).eps * np.abs(means)
    return means, np.where(tiny | (spreads == 0), 1.0, spreads)


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
