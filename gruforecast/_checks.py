"""The checks of a fitted state read from a file nobody vouched for: each field within
its limits and consistent with the others (the weights' shapes with the network's, the
series record with the window), each failure a ``ValueError`` naming the file and the
field, before anything trusts them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._limits import DEFAULT_LIMITS, Limits
from ._params import check_choice
from ._time_index import TimeIndex, frequency_problem, tz_problem
from ._windowing import can_deseasonalize

if TYPE_CHECKING:  # pragma: no cover
    from ._state import FittedState, PanelState

__all__ = ["check_state", "check_weights", "expected_weights", "finite", "whole"]

_NONE_STRANGE: Any = object()  # no id of a series record is strange


def check_state(state: FittedState, where: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a state that exceeds ``limits`` or contradicts itself, naming the field.

    Checks sizes before anything is allocated for them, and that the arrays have the
    shapes the sizes imply and hold finite numbers, and the scaler maps finitely.
    """
    window = whole(state.window, "window", where, 1, limits.window)
    whole(state.horizon, "horizon", where, 1, limits.horizon)
    shape = state.shape
    known = shape.num_layers != 0  # format 1 ONNX metadata does not record the network
    whole(shape.num_layers, "network.num_layers", where, 1 if known else 0, limits.num_layers)
    whole(shape.hidden_size, "network.hidden_size", where, 1 if known else 0, limits.hidden_size)
    whole(shape.input_size, "network.input_size", where, 1, 1)
    whole(shape.features, "network.features", where, 0, limits.features)
    whole(shape.ahead_features, "network.ahead_features", where, 0, limits.features)
    _check_covariates(state, where)
    check_choice("normalize", shape.normalize)
    if shape.season is not None:
        whole(shape.season, "network.season", where, 1, limits.window)
    if shape.gru_window is not None:
        whole(shape.gru_window, "network.gru_window", where, 1, window)
    if not isinstance(shape.deseasonalize, bool):
        raise ValueError(
            f"{where!r}: network.deseasonalize must be true or false, got {shape.deseasonalize!r}"
        )
    if shape.deseasonalize and not (
        can_deseasonalize(window, shape.season) and shape.normalize == "window"
    ):
        raise ValueError(
            f"{where!r}: network.deseasonalize is true with season {shape.season}, window "
            f"{window} and normalize {shape.normalize!r}; it needs a season of 2 or more, a "
            "window of three seasons and normalize 'window'"
        )
    scaler = state.scaler
    if not (np.isfinite(scaler.offset) and np.isfinite(scaler.scale) and scaler.scale > 0):
        raise ValueError(
            f"{where!r}: scaler has offset {scaler.offset} and scale {scaler.scale}; expected "
            "finite numbers and a positive scale"
        )
    _check_choices(state, where)
    if isinstance(state.series_name, bool) or not isinstance(
        state.series_name, str | int | float | None
    ):
        raise ValueError(f"{where!r}: series_name is {state.series_name!r:.80}; expected text")
    if state.gru_backend not in (None, "fused", "torch"):
        raise ValueError(f"{where!r}: gru_backend is {state.gru_backend!r}")
    if len(state.history) > limits.epochs:
        raise ValueError(
            f"{where!r}: history has {len(state.history)} epochs, over {limits.epochs}"
        )
    for k, row in enumerate(state.history):
        _check_record(row, f"history[{k}]", where)
    _check_record(state.training_span, "training_span", where, optional=True)
    _check_record(state.validation_scores, "validation_scores", where, optional=True)
    _check_record(state.prior, "prior", where, optional=True)
    if state.last_window is not None:
        finite(state.last_window, "last_window", where, (window,))
    if not isinstance(state.time_index, TimeIndex | None):  # as read from a file
        _check_time_index(state.time_index, where)
    if state.panel is not None:
        _check_series_record(state.panel, window, where, limits)
    calibration = state.calibration
    if calibration is None:
        return
    if calibration.window != window:
        raise ValueError(f"{where!r}: calibration.window is {calibration.window}, window {window}")
    values = sum(
        a.size
        for a in (calibration.series, calibration.windows, calibration.targets, calibration.scores)
        if a is not None
    )
    if values > limits.calibration_values:
        raise ValueError(
            f"{where!r}: calibration holds {values} values, over the limit of "
            f"{limits.calibration_values} (a larger model needs larger limits=)"
        )
    if calibration.scores is not None:
        scores, floor = calibration.scores, calibration.floor
        known = scores[~np.isnan(scores)]
        if scores.ndim != 2 or not (np.isfinite(known).all() and (known >= 0).all()):
            raise ValueError(
                f"{where!r}: calibration.scores must be a table of errors of 0 or more "
                "(NaN where unknown)"
            )
        if floor is None or not (np.isfinite(floor) and floor > 0):
            raise ValueError(
                f"{where!r}: calibration.floor is {floor!r}; expected a positive number"
            )
    elif calibration.series is not None:
        finite(calibration.series, "calibration.series", where, (None,))
        if len(calibration.series) <= window:
            raise ValueError(
                f"{where!r}: calibration.series has {len(calibration.series)} values; "
                f"expected more than window={window}"
            )
        segments = calibration.segments
        if segments is not None and not (
            segments.ndim == 1
            and len(segments) >= 2
            and segments[0] == 0
            and segments[-1] == len(calibration.series)
            and (np.diff(segments) > window).all()
        ):
            raise ValueError(
                f"{where!r}: calibration.segments must rise from 0 to the length of "
                f"calibration.series ({len(calibration.series)}) in steps over window={window}"
            )
    elif calibration.windows is not None and calibration.targets is not None:
        finite(calibration.windows, "calibration.windows", where, (None, window))
        finite(calibration.targets, "calibration.targets", where, (len(calibration.windows), None))
    else:
        raise ValueError(f"{where!r}: calibration has neither a series nor windows and targets")


_SCALAR = (str, int, float, bool, type(None))
_RECORD_KEYS = 16


def _check_covariates(state: FittedState, where: str) -> None:
    """A network that reads covariates needs their record, and its channels theirs:
    those of the fitted series (one window each) and the channels of its network."""
    covariates, shape = state.covariates, state.shape
    if covariates is None:
        if shape.features or shape.ahead_features:
            raise ValueError(
                f"{where!r}: the network reads covariates, but the file does not say which"
            )
        return
    if (covariates.features, covariates.ahead_features) != (shape.features, shape.ahead_features):
        raise ValueError(
            f"{where!r}: the covariates make {covariates.features} channels in the window and "
            f"{covariates.ahead_features} ahead; the network reads {shape.features} and "
            f"{shape.ahead_features}"
        )
    n_series = None if state.panel is None else len(state.panel.ids)
    if covariates.last_features.shape[:2] != (n_series, state.window):
        raise ValueError(
            f"{where!r}: covariates.last_features has shape {covariates.last_features.shape}; "
            f"expected one window of {state.window} per fitted series ({n_series})"
        )


def _check_choices(state: FittedState, where: str) -> None:
    """What the fit decided (``choices``) is what the rest of the state says: the window,
    the network's size and seasonal adjustment, the scaler's log1p."""
    choices = state.choices
    if choices is None:  # a file written before they were recorded
        return
    shape = state.shape
    said = {
        "window": state.window,
        "deseasonalize": shape.deseasonalize,
        "target_transform": "log" if state.scaler.log else None,
    }
    if shape.num_layers:  # format 1 ONNX metadata does not record the network
        said["hidden_size"] = shape.hidden_size
    for name, value in said.items():
        if getattr(choices, name) != value:
            raise ValueError(
                f"{where!r}: choices.{name} is {getattr(choices, name)!r:.40}, but the "
                f"model it describes has {value!r:.40}"
            )


def _check_record(value: Any, field: str, where: str, optional: bool = False) -> None:
    """A small JSON object of plain values (an epoch of the history, the training span,
    the validation scores), or None where ``optional``."""
    if value is None and optional:
        return
    if not (
        isinstance(value, dict)
        and len(value) <= _RECORD_KEYS
        and all(isinstance(key, str) and isinstance(v, _SCALAR) for key, v in value.items())
    ):
        raise ValueError(
            f"{where!r}: {field} is {value!r:.80}; expected an object of at most "
            f"{_RECORD_KEYS} plain values"
        )


def _check_series_record(panel: PanelState, window: int, where: str, limits: Limits) -> None:
    n = whole(len(panel.ids), "panel.ids (the number of series)", where, 1, limits.series)
    strange = next((i for i in panel.ids if not _plain_id(i)), _NONE_STRANGE)
    if strange is not _NONE_STRANGE:
        raise ValueError(
            f"{where!r}: panel.ids holds {strange!r:.60}; expected text or finite numbers"
        )
    if len(set(panel.ids)) != n:
        raise ValueError(
            f"{where!r}: panel.ids must be distinct (True equals 1 and False 0 as ids), "
            "and at least one"
        )
    if len(set(panel.names)) != 3:
        raise ValueError(
            f"{where!r}: panel.names is {list(panel.names)!r:.80}; expected three different "
            "column names (id, time, value)"
        )
    if panel.kind not in ("datetime", "period", "integer"):
        raise ValueError(f"{where!r}: panel.kind is {panel.kind!r:.40}")
    if not isinstance(panel.freq, str | None) or not isinstance(panel.tz, str | None):
        raise ValueError(f"{where!r}: panel.freq and panel.tz must be text or None")
    _check_steps(
        panel.kind, panel.freq, panel.tz if panel.kind == "datetime" else None, "panel", where
    )
    if len(panel.last_labels) != n:
        raise ValueError(
            f"{where!r}: panel.last_labels has {len(panel.last_labels)} labels for {n} series"
        )
    # whole numbers of int64 (NaT, its lowest, is no label); beyond them pandas overflows
    if any(not -(2**63) < label < 2**63 for label in panel.last_labels):
        raise ValueError(f"{where!r}: panel.last_labels holds a number beyond 64-bit time labels")
    finite(panel.lengths.astype(np.float64), "panel.lengths", where, (n,))
    if (panel.lengths < 1).any():
        raise ValueError(f"{where!r}: panel.lengths must be positive")
    finite(panel.last_windows, "panel.last_windows", where, (n, window))


_LABELS = {"datetime": (str,), "period": (str,), "integer": (int,), "other": (type(None),)}


def _check_time_index(data: Any, where: str) -> None:
    """The JSON description of an index, checked without pandas (which reads it only
    when the fitted series is continued)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in _LABELS:
        raise ValueError(
            f"{where!r}: time_index is {data!r:.80}; expected None or a description with "
            "kind datetime, period, integer or other"
        )
    last, freq, tz = data.get("last"), data.get("freq"), data.get("tz")
    if isinstance(last, bool) or not isinstance(last, _LABELS[kind]):
        raise ValueError(f"{where!r}: time_index.last is {last!r:.80} for a {kind} index")
    if isinstance(last, int) and not -(2**63) < last < 2**63:
        raise ValueError(f"{where!r}: time_index.last is beyond 64-bit labels")
    if not isinstance(freq, str | None) or not isinstance(tz, str | None):
        raise ValueError(f"{where!r}: time_index.freq and .tz must be text or None")
    if kind != "other":
        _check_steps(kind, freq, tz if kind == "datetime" else None, "time_index", where)


def _check_steps(kind: str, freq: str | None, tz: str | None, field: str, where: str) -> None:
    """A frequency that steps an index of ``kind``, and a time zone known here."""
    problem = None if freq is None else frequency_problem(kind, freq)
    if problem is not None:
        raise ValueError(f"{where!r}: {field}.freq is {freq!r:.40}: {problem}")
    problem = None if tz is None else tz_problem(tz)
    if problem is not None:
        raise ValueError(f"{where!r}: {field}.tz is {tz!r:.60}: {problem}")


def _plain_id(value: Any) -> bool:
    """Whether a series id read from a file is text or a finite number."""
    if isinstance(value, float):
        return bool(np.isfinite(value))
    return isinstance(value, str | int)


def expected_weights(state: FittedState) -> dict[str, tuple[int, ...]]:
    """The names and shapes of the network's weights that the state implies
    (``GRUNet``'s state dict), computed without building it."""
    hidden, horizon = state.shape.hidden_size, state.horizon
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(state.shape.num_layers):
        inputs = state.shape.input_size + state.shape.features if layer == 0 else hidden
        shapes[f"gru.weight_ih_l{layer}"] = (3 * hidden, inputs)
        shapes[f"gru.weight_hh_l{layer}"] = (3 * hidden, hidden)
        shapes[f"gru.bias_ih_l{layer}"] = (3 * hidden,)
        shapes[f"gru.bias_hh_l{layer}"] = (3 * hidden,)
    shapes["head.weight"] = (horizon, hidden)
    shapes["head.bias"] = (horizon,)
    if state.shape.season is not None:
        shapes["skip.weight"] = (horizon, state.shape.gru_window or state.window)
        shapes["skip.bias"] = (horizon,)
    if state.shape.features:  # the covariate channels' scaling
        shapes["features_centres"] = shapes["features_spreads"] = (state.shape.features,)
    if state.shape.ahead_features:
        shapes["ahead_centres"] = shapes["ahead_spreads"] = (state.shape.ahead_features,)
        shapes["decoder.0.weight"] = (hidden, hidden + state.shape.ahead_features)
        shapes["decoder.0.bias"] = (hidden,)
        shapes["decoder.2.weight"] = (1, hidden)
        shapes["decoder.2.bias"] = (1,)
    return shapes


def check_weights(state: FittedState, weights: Mapping[str, np.ndarray], where: str) -> None:
    """Refuse weights whose names, shapes or dtype differ from what the state implies,
    or that hold NaN or infinite values."""
    expected = expected_weights(state)
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ValueError(
            f"{where!r}: the network's weights do not match its configuration "
            f"(missing {missing}, unexpected {extra})"
        )
    for name, shape in expected.items():
        array = weights[name]
        if array.dtype != np.float32:
            raise ValueError(f"{where!r}: network.{name} is {array.dtype}; expected float32")
        finite(array, f"network.{name}", where, shape)


def whole(value: Any, field: str, where: str, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise ValueError(
            f"{where!r}: {field} is {value!r}; expected a whole number from {low} to {high}"
            + (
                " (a larger model needs larger limits=)"
                if isinstance(value, int) and value > high
                else ""
            )
        )
    return int(value)


def finite(array: np.ndarray, field: str, where: str, shape: tuple[int | None, ...]) -> None:
    if array.ndim != len(shape) or any(
        expected is not None and size != expected
        for size, expected in zip(array.shape, shape, strict=True)
    ):
        raise ValueError(
            f"{where!r}: {field} has shape {array.shape}; expected "
            f"{tuple('n' if s is None else s for s in shape)}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{where!r}: {field} holds NaN or infinite values")


# ---------------------------------------------------------------------- native model file
