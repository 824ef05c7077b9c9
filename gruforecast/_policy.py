"""Every ``"auto"`` of the estimator resolved from the data, in one place.

What a fit uses is decided here from the data (how many series, how long, which
season), never from what holds it: the window (and the part of it the GRU reads),
whether each window's season is taken out, log1p, the hidden size, the patience,
the refit, the batch size and the windows drawn per epoch. :func:`choose` writes them
into :class:`Choices`, the frozen record a fitted model keeps (``choices_``,
``window_``, ... and ``gruforecast info``). Which rules apply is one question:
whether the network normalises each window (``normalize="window"`` and a window of 3
values or more). Then one model serves series of any scale, and the *global* rules
(tuned on the validation parts of M3 and Tourism monthly) apply to one series and
many alike; otherwise one series is planned *on its own terms* (its own scaler, a
short series' window narrowed to fit, see :func:`adapt`), as ``fit(X, y)`` on windows.
NumPy only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ._panel import Panel
from ._time_index import seasonal_period
from ._windowing import SEASONS_TO_ESTIMATE, can_deseasonalize, n_windows

__all__ = [
    "Adapted",
    "Choices",
    "PriorShape",
    "adapt",
    "auto_batch_size",
    "auto_panel_window",
    "auto_window",
    "check_deseasonalize",
    "choose",
    "choose_init",
    "describe_fractions",
    "global_windows",
    "min_samples",
    "normalizes",
    "prior_conflicts",
    "split",
]

# patience="auto": epochs without progress before training stops, on a series' own
# terms and under the global rules (whose epochs are up to windows_per_epoch windows)
SERIES_PATIENCE = 40
PANEL_PATIENCE = 10
# hidden_size="auto": on a series' own terms, and under the global rules (as accurate
# on M3 and Tourism monthly's validation parts as 64, for about 30% less time;
# bench/README.md)
SERIES_HIDDEN_SIZE = 64
PANEL_HIDDEN_SIZE = 48
# windows drawn per epoch under the global rules (windows_per_epoch="auto")
AUTO_PANEL_WINDOWS_PER_EPOCH = 32_768
# lr="auto": Adam's learning rate from random weights, and fine-tuning a prior (on the
# fpp2 development folds of bench/one_series_policy.py, 1e-3 / 3e-4 / 1e-4 / 3e-5 gave
# 0.774 / 0.756 / 0.737 / 0.743: a prior is a start worth staying near)
RANDOM_LR = 1e-3
FINE_TUNE_LR = 1e-4
# a fit from a prior that reads covariates takes RANDOM_LR: the weights that read them
# start at zero and have far to go (on a synthetic promotion panel of 40 daily series,
# bench/README.md, MAE 1.468 at 1e-4 in 44 s, 1.200 at 1e-3 in 33 s)
# a refit runs this many times the epochs of the first fit's best one (it has more
# windows to learn from): on the validation parts of M3 monthly, 1.5 gave a sMAPE
# 0.1 to 0.25 lower than 1 (two seeds) and 2 gave no more
REFIT_LENGTH = 1.5

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


def warn_if_blind(window: int, length: int, horizon: int, freq: str | None) -> None:
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
            stacklevel=6,
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
        f"{describe_fractions(*fractions)} need at least {needed}"
        + (f" (and {fewest} even with {held_out})" if held_out else "")
        + ". Give a longer series, a shorter horizon or a smaller window (or window='auto', "
        "which narrows itself to fit)"
    )


def warn_adapted(
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
        stacklevel=6,
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
    return describe_fractions(params["validation_fraction"], params["calibration_fraction"])


def describe_fractions(validation_fraction: float, calibration_fraction: float) -> str:
    return (
        f"validation_fraction={validation_fraction} and calibration_fraction={calibration_fraction}"
    )


def global_windows(
    panel: Panel, params: Mapping[str, Any], period: int | None
) -> tuple[int, int | None, bool]:
    """The network's window, the part of it the GRU reads (None: all of it) and whether
    each window's season is taken out, for ``panel``'s series."""
    window, gru_window = params["window"], None
    deseasonalize = params["deseasonalize"]
    if deseasonalize == "auto":  # where a season, the window, the skip and the data allow
        season = period or 1
        deseasonalize = (
            can_deseasonalize(SEASONS_TO_ESTIMATE * season if window == "auto" else window, season)
            and params["skip"] == "seasonal"
            # a typical series holds as many seasons as a window needs (not so weekly
            # data of two years, whose windows would be mostly padding)
            and bool(np.median(panel.lengths) >= SEASONS_TO_ESTIMATE * season)
        )
    if window == "auto":
        window = auto_panel_window(int(np.median(panel.lengths)), params["horizon"], period)
        if deseasonalize and period:
            # the season is estimated from a longer window than the GRU reads
            gru_window, window = window, max(window, SEASONS_TO_DESEASONALIZE * period)
    return int(window), gru_window, bool(deseasonalize)  # np.True_ too


def normalizes(params: Mapping[str, Any], window: int) -> bool:
    """Whether the network can normalise each window of ``window`` values (what lets one
    model serve series of any scale, and the global rules' premise):
    ``normalize="window"`` and a window of 3 values or more."""
    return params["normalize"] == "window" and window >= MIN_NORMALIZED_WINDOW


# window="auto" with deseasonalize: the window from which the season is estimated
SEASONS_TO_DESEASONALIZE = 6


def check_deseasonalize(window: int, period: int | None) -> None:
    """A clear error unless a network with ``deseasonalize=True`` can estimate a season
    of ``period`` from windows of ``window`` values (three seasons at least)."""
    if can_deseasonalize(window, period):
        return
    if not period or period < 2:
        raise ValueError(
            "deseasonalize=True needs a seasonal period, which this data's frequency does "
            f"not give (period {period}): use deseasonalize='auto' or False"
        )
    raise ValueError(
        f"deseasonalize=True estimates a season of {period} from each window, which "
        f"needs a window of at least {SEASONS_TO_ESTIMATE * period} values (three seasons); "
        f"got window={window}: widen the window, or use deseasonalize=False"
    )


def auto_panel_window(median_length: int, horizon: int, period: int | None) -> int:
    """``window="auto"`` for many series: whole seasons, about a sixth of the median
    series length but from two to four seasons (24 for M3 monthly's median of 115
    values, 48 for Tourism monthly's 306: each the better of those tried on its
    validation part), else DEFAULT_WINDOW; at most a third of what the median length
    leaves after the horizon, so that a typical series still has windows to train on."""
    if period and period > 1:
        preferred = period * int(np.clip(round(median_length / (6 * period)), 2, 4))
    else:
        preferred = DEFAULT_WINDOW
    return int(max(1, min(preferred, (median_length - horizon) // 3)))


@dataclass(frozen=True)
class Choices:
    """What a fit decided: each ``"auto"`` parameter resolved for the data, and the
    parameters it could not honour as given (a window narrowed for a short series).

    ``target_transform`` is ``"log"`` or None; ``patience`` None trains every epoch;
    ``windows_per_epoch`` None draws every training window each epoch; ``refit``
    whether a refit on every window was asked (``refit_epochs_`` says whether it ran).
    Read from a model file written before this record, what the file does not say
    (``patience``, ``batch_size``, ``windows_per_epoch``) is None.
    """

    window: int
    hidden_size: int | None
    target_transform: str | None
    deseasonalize: bool
    refit: bool
    patience: int | None = None
    batch_size: int | None = None
    windows_per_epoch: int | None = None
    # where the weights started: "random", "fine-tuned" (from the prior named ``prior``)
    # or "zero-shot" (the prior kept as it was: fine-tuning did not validate better, or
    # there was nothing to validate on); None: a file written before this was recorded
    init: str | None = None
    prior: str | None = None
    init_reason: str | None = None  # why "auto" chose random weights, where it did
    lr: float | None = None  # Adam's learning rate (None: a file written before)


INITS = ("random", "fine-tuned", "zero-shot")


@dataclass(frozen=True)
class PriorShape:
    """What a pretrained prior fixes of a fit that starts from it (its network's shape,
    its window, its horizon and whether it works on log1p), and how many values it was
    trained on."""

    name: str
    values: int
    window: int
    gru_window: int | None
    deseasonalize: bool
    hidden_size: int
    num_layers: int
    horizon: int
    log: bool


def prior_conflicts(params: Mapping[str, Any], prior: PriorShape, minimum: float) -> list[str]:
    """The parameters (and data: ``minimum`` is its smallest value) that a fit starting
    from ``prior`` cannot honour; empty where it can."""
    found = []
    given = {"window": prior.window, "hidden_size": prior.hidden_size}
    for name, value in given.items():
        if params[name] != "auto" and params[name] != value:
            found.append(f"{name}={params[name]} (the prior's is {value})")
    if params["num_layers"] != prior.num_layers:
        found.append(f"num_layers={params['num_layers']} (the prior's is {prior.num_layers})")
    if params["horizon"] > prior.horizon:
        found.append(
            f"horizon={params['horizon']} (the prior predicts {prior.horizon} values a call)"
        )
    if params["normalize"] != "window" or params["skip"] != "seasonal":
        found.append("normalize and skip other than 'window' and 'seasonal'")
    if params["deseasonalize"] != "auto" and bool(params["deseasonalize"]) != prior.deseasonalize:
        found.append(
            f"deseasonalize={params['deseasonalize']} (the prior's is {prior.deseasonalize})"
        )
    if prior.log and (params["target_transform"] is None or minimum < 0):
        found.append(
            "target_transform=None"
            if params["target_transform"] is None
            else f"values below 0 (down to {minimum:.4g}; the prior works on log1p)"
        )
    if not prior.log and params["target_transform"] == "log":
        found.append("target_transform='log' (the prior works on the values themselves)")
    return found


def choose_init(
    params: Mapping[str, Any],
    season: int,
    prior: PriorShape | None,
    conflicts: list[str],
    shipped: str,
    values: int,
) -> str | None:
    """Whether a fit starts from ``prior`` (the shipped prior of the data's ``season``,
    None where there is none): None where it does, else why not (``"random"``: asked).

    ``"auto"`` starts from the prior only where the data (``values`` of them) is smaller
    than the corpus the prior learned from: every panel measured (181 to 1,428 series,
    up to 141,858 values, each below its prior's corpus) and every single series fitted
    better from the prior than from random weights; data larger than the corpus says
    more about itself than the prior does, and trains as it did before priors existed.

    Raises
    ------
    ValueError
        With ``init="pretrained"`` where no prior fits, naming what contradicts it.
    """
    init = params["init"]
    if init == "random":
        return "init='random'"
    if prior is None:
        reason = f"no pretrained prior has season {season} (shipped: {shipped})"
    elif conflicts:
        reason = f"{', '.join(conflicts)} contradict the prior {prior.name!r}"
    elif init == "auto" and values > prior.values:
        reason = (
            f"the data's {values:,} values outnumber the {prior.values:,} the prior "
            f"{prior.name!r} was trained on"
        )
    else:
        return None
    if init == "pretrained":
        raise ValueError(f"init='pretrained', but {reason}: use init='auto' or 'random'")
    return reason


def choose(
    params: Mapping[str, Any],
    *,
    window: int,
    log: bool,
    deseasonalize: bool,
    normalizes: bool,
    global_rules: bool,
    n_train: int,
    prior: PriorShape | None = None,
    init_reason: str | None = None,
    covariates: bool = False,
) -> Choices:
    """Every ``"auto"`` of ``params`` resolved for a plan's data (the plan has taken the
    window, log1p and ``deseasonalize`` from :func:`global_windows` or :func:`adapt`:
    ``global_rules`` says which); the choices that cannot work refused here, naming
    the parameters."""
    if deseasonalize and (not params["skip"] or not normalizes):
        raise ValueError(
            f"deseasonalize={params['deseasonalize']!r} needs skip='seasonal' and "
            f"normalize='window' (got skip={params['skip']!r}, "
            f"normalize={params['normalize']!r}): use deseasonalize=False"
        )
    per_epoch = params["windows_per_epoch"]
    if per_epoch == "auto":
        per_epoch = AUTO_PANEL_WINDOWS_PER_EPOCH if global_rules else None

    def auto(name: str, own: Any, shared: Any) -> Any:
        return params[name] if params[name] != "auto" else shared if global_rules else own

    return Choices(
        window=window,
        hidden_size=(
            prior.hidden_size
            if prior is not None
            else auto("hidden_size", SERIES_HIDDEN_SIZE, PANEL_HIDDEN_SIZE)
        ),
        target_transform="log" if log else None,
        deseasonalize=deseasonalize,
        refit=global_rules if params["refit"] == "auto" else bool(params["refit"]),
        patience=auto("patience", SERIES_PATIENCE, PANEL_PATIENCE),
        batch_size=auto_batch_size(n_train)
        if params["batch_size"] == "auto"
        else int(params["batch_size"]),
        # an epoch draws every training window where there are no more than that
        windows_per_epoch=per_epoch if per_epoch is not None and per_epoch < n_train else None,
        lr=(
            float(params["lr"])
            if params["lr"] != "auto"
            else FINE_TUNE_LR
            if prior is not None and not covariates
            else RANDOM_LR
        ),
        init="random" if prior is None else "fine-tuned",  # "zero-shot" once training says
        prior=None if prior is None else prior.name,
        init_reason=init_reason if prior is None and params["init"] == "auto" else None,
    )
