"""FittedState: everything a fitted model holds, in one typed, torch-free object.

``GRUForecaster.fit`` ends by publishing one ``FittedState`` (one reference swapped, so
a thread forecasting meanwhile sees the old model or the new one, never a mix); every
fitted attribute (``window_``, ``scaler_``, ``network_``, ...) reads from it. It is also
the one schema of what a model file holds: the native model file (:mod:`.persistence`),
the ONNX metadata (:mod:`.export`, :mod:`.runtime`), ``gruforecast info`` and pickling
all convert through :func:`encode` and :func:`decode` here, and :data:`FORMAT_VERSION`
is defined nowhere else.

The encoded form is a JSON document plus a few NumPy arrays (the end of the fitted
series, the calibration data): a model file stores the arrays as tensors beside the
network's weights, the ONNX metadata inlines them as lists. Files of format 1 (written
before this module existed, where each writer had a layout of its own) are read by
``_format_1_file_document`` and ``_format_1_onnx_document``.

Adding a fitted attribute: a field here (with its line in :func:`encode` and
:func:`decode` if it is not plain JSON), the code in ``fit`` that computes it, and one
``fitted_attribute`` line where it should be visible as an attribute.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

from ._params import check_choice
from ._policy import Choices
from ._time_index import TimeIndex, frequency_problem, json_name, tz_problem
from ._version import __version__
from .intervals import Calibration, errors, highest_level, level_label
from .scaling import SeriesScaler
from .windowing import can_deseasonalize

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "FORMAT_VERSION",
    "Choices",
    "FittedState",
    "History",
    "Limits",
    "NetworkShape",
    "check_format_version",
    "decode",
    "encode",
    "fitted_attribute",
]

# Version of the encoded layout; readers refuse newer ones. 1: before this module
# (flat ONNX metadata keys, the native file's own "config"); 2: one state document;
# 3: the ONNX metadata holds the state's arrays as base64 of their float64 bytes (2: as
# JSON lists, which take 10 times their size in memory to parse).
FORMAT_VERSION = 3


def check_format_version(where: str, version: int, writer: str | None) -> None:
    """Refuse a file written in a newer format than this version of gruforecast reads."""
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{where!r} was written in format {version} (by gruforecast {writer or '?'}); "
            f"this version reads formats up to {FORMAT_VERSION}: upgrade gruforecast"
        )


@dataclass(frozen=True)
class Limits:
    """The largest model a file may describe before anything is allocated for it.

    A model file or an ONNX file and its metadata is checked against these (and
    against itself) before a network is built, an array is used or ONNX Runtime sees the
    file, so that a crafted file cannot make loading allocate gigabytes or run for
    minutes. The defaults are far above what forecasting needs; a caller with an honest
    bigger model passes larger ones (``GRUForecaster.load(path,
    limits=Limits(hidden_size=8192))``, ``OnnxForecaster(path, limits=...)``).
    """

    window: int = 100_000
    horizon: int = 10_000
    hidden_size: int = 4096
    num_layers: int = 16
    calibration_values: int = 1_000_000
    series: int = 10_000_000  # of a model of many series
    epochs: int = 1_000_000
    # the JSON text of a model file's header, or all of an ONNX file's metadata
    metadata_bytes: int = 64 * 2**20
    metadata_keys: int = 1_000  # of an ONNX file's metadata
    onnx_bytes: int = 2**31 - 1  # an ONNX file (protobuf's own limit is 2 GiB)
    # protobuf fields read from an ONNX file's model, graph and nodes (ours: 300 to 1,500)
    onnx_fields: int = 200_000


DEFAULT_LIMITS = Limits()

# The most a parsed JSON value costs in Python objects, with its slot in the list or
# object that holds it: an empty list is 56 bytes and a float 24, a slot 8; a value
# takes at least one ',', '[', '{' or ':' of the text, which is what is counted.
_BYTES_PER_JSON_VALUE = 64
# What parsing a file's JSON may allocate besides the file's size: with the file read
# into memory, loading peaks under 3x the file + this.
_JSON_ALLOWANCE = 96 * 2**20


class JsonAllowance:
    """The memory that parsing the JSON texts of one file (of ``file_size`` bytes) may
    take, together: the file's size plus :data:`_JSON_ALLOWANCE`. Each text is
    estimated before it is parsed, so that a crafted ``[[], [], ...]`` (20 times its
    size in Python objects) is refused, not parsed."""

    def __init__(self, file_size: int) -> None:
        self.left = file_size + _JSON_ALLOWANCE
        self.file_size = file_size

    def parse(self, text: str | bytes, where: str, what: str) -> Any:
        """``json.loads(text)``, ``what`` of the file ``where``; a ValueError naming
        them when the allowance cannot cover it, or when it is nested too deeply."""
        if isinstance(text, str):  # counted where it lies: no copy of a large text
            values = 1 + sum(text.count(mark) for mark in ",[{:")
        else:
            values = 1 + sum(text.count(mark) for mark in (b",", b"[", b"{", b":"))
        cost = values * _BYTES_PER_JSON_VALUE
        if cost > self.left:
            raise ValueError(
                f"{where!r}: its {what} holds up to {values} JSON "
                f"values, more than a file of {self.file_size} bytes can honestly need: "
                "refused before parsing"
            )
        self.left -= cost
        try:
            return json.loads(text)
        except RecursionError:
            raise ValueError(f"{where!r}: its {what} is nested too deeply") from None


class History(list):
    """The training record: one dict per epoch.

    Keys: ``epoch`` (from 1), ``train_loss`` and ``valid_loss`` (mean squared error in
    the scaled space; ``valid_loss`` is None without a validation part), ``seconds`` and
    ``best`` (whether this epoch's weights are the ones kept so far).
    """

    @property
    def best_epoch(self) -> int | None:
        """The epoch whose weights the network holds after fit."""
        best = [row["epoch"] for row in self if row["best"]]
        return best[-1] if best else None

    def to_frame(self) -> pd.DataFrame:
        """The history as a pandas DataFrame indexed by epoch."""
        import pandas as pd

        return pd.DataFrame(list(self)).set_index("epoch")


class Network(Protocol):
    """What this module needs of the trained network: its weights by name."""

    def state_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class NetworkShape:
    """What rebuilds the network's shape (``GRUNet(**shape.arguments(window, horizon))``)."""

    hidden_size: int
    num_layers: int
    input_size: int = 1
    normalize: str | None = None
    season: int | None = None
    deseasonalize: bool = False
    gru_window: int | None = None

    def arguments(self, window: int, horizon: int) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "window": window, "horizon": horizon}


@dataclass(frozen=True, eq=False)
class PanelState:
    """What a model of many series holds of them (see ``gruforecast._panel``).

    ``last_windows`` (n_series, window) are the last ``window`` values of each series,
    a series shorter than that padded on the left with its first value; ``lengths``
    says how many values each had. ``last_labels`` are the series' last time labels as
    whole numbers: nanoseconds since the epoch (UTC) for datetimes, period ordinals, or
    the integer labels themselves; ``kind``, ``freq`` and ``tz`` say how to continue
    them. ``names`` are the id, time and target column names of the fit.
    """

    ids: tuple[Any, ...]
    names: tuple[str, str, str]
    kind: str
    freq: str | None
    tz: str | None
    last_labels: tuple[int, ...]
    lengths: np.ndarray
    last_windows: np.ndarray

    def to_document(self) -> dict[str, Any]:
        return {
            "ids": [json_name(i) for i in self.ids],
            "names": list(self.names),
            "kind": self.kind,
            "freq": self.freq,
            "tz": self.tz,
            "last_labels": [int(label) for label in self.last_labels],
        }


@dataclass(frozen=True, eq=False)
class FittedState:
    """Everything a fitted forecaster holds.

    ``network`` is the trained module itself (a ``GRUNet``) in a ``GRUForecaster``, and
    None where the network lives elsewhere (an ONNX graph) or has not been rebuilt yet
    (a model file just read). ``time_index`` may be the JSON description of the index
    as read from a file: :attr:`index` decodes it (loading pandas) on first use, so a
    serving process that never continues the fitted series never imports pandas.
    """

    window: int
    horizon: int
    scaler: SeriesScaler
    shape: NetworkShape
    network: Network | None = None
    device: str = "cpu"
    gru_backend: str | None = None  # the GRU implementation that trained; None: unknown
    missing: str = "raise"  # the policy for NaN in a context, as fitted
    last_window: np.ndarray | None = None
    calibration: Calibration | None = None
    time_index: TimeIndex | dict[str, Any] | None = None
    series_name: Any = None
    training_span: dict[str, Any] | None = None
    feature_names: tuple[str, ...] | None = None
    validation_scores: dict[str, Any] | None = None
    stop_reason: str | None = None
    history: History = field(default_factory=History)
    panel: PanelState | None = None  # a model of many series: what it holds of them
    # epochs of the final fit on the validation windows too (see GRUForecaster's refit)
    refit_epochs: int | None = None
    # processes that trained it together (torch.distributed); not saved: it decides
    # which process writes its files (rank 0) in the run that fitted it
    ranks: int = 1
    choices: Choices | None = None  # None: a file written before they were recorded

    @property
    def chosen(self) -> Choices:
        """What the fit decided (:class:`Choices`); for a file written before they were
        recorded, what its network, scaler and refit say."""
        if self.choices is not None:
            return self.choices
        return Choices(
            window=self.window,
            hidden_size=self.shape.hidden_size or None,  # format-1 ONNX: not recorded
            target_transform="log" if self.scaler.log else None,
            deseasonalize=self.shape.deseasonalize,
            refit=self.refit_epochs is not None,
        )

    @property
    def index(self) -> TimeIndex | None:
        """How the fitted series' index continues (decoded from a file on first use)."""
        if isinstance(self.time_index, dict):
            try:
                decoded = TimeIndex.from_dict(self.time_index)
            except (KeyError, TypeError, ValueError, OverflowError) as error:
                raise ValueError(
                    f"the model's time_index {self.time_index!r:.120} cannot be rebuilt: {error}"
                ) from None
            object.__setattr__(self, "time_index", decoded)
        return self.time_index  # type: ignore[return-value]

    @property
    def frequency(self) -> str | None:
        """The fitted index's frequency (the series' one frequency for a model of many
        series), without decoding the index."""
        if self.panel is not None:
            return self.panel.freq
        if isinstance(self.time_index, dict):
            return self.time_index.get("freq")
        return None if self.time_index is None else self.time_index.freq

    @property
    def index_kind(self) -> str | None:
        """The fitted index's kind ("datetime", "period", ...), without decoding it."""
        if self.panel is not None:
            return self.panel.kind
        if isinstance(self.time_index, dict):
            return self.time_index.get("kind")
        return None if self.time_index is None else self.time_index.kind

    def replace(self, **changes: Any) -> FittedState:
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------- encoding


def _time_index_document(time_index: TimeIndex | dict[str, Any] | None) -> dict[str, Any] | None:
    if time_index is None or isinstance(time_index, dict):
        return time_index
    return time_index.to_dict()


def encode(state: FittedState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The state as a JSON-ready document and its arrays (float64), by name.

    The network's weights are not part of it: the native file stores them as tensors,
    the ONNX file inside its graph (see :func:`network_weights`).
    """
    arrays: dict[str, np.ndarray] = {}
    if state.last_window is not None:
        arrays["last_window"] = np.asarray(state.last_window, np.float64)
    calibration: dict[str, Any] | None = None
    if state.calibration is not None:
        calibration = {"window": state.calibration.window}
        if state.calibration.floor is not None:
            calibration["floor"] = state.calibration.floor
        for name in ("series", "windows", "targets", "segments", "scores"):
            value = getattr(state.calibration, name)
            if value is not None:
                arrays[f"calibration.{name}"] = np.asarray(value, np.float64)
    document = {
        "window": state.window,
        "horizon": state.horizon,
        "scaler": state.scaler.to_dict(),
        "network": dataclasses.asdict(state.shape),
        "device": state.device,
        "gru_backend": state.gru_backend,
        "missing": state.missing,
        "calibration": calibration,
        "time_index": _time_index_document(state.time_index),
        "series_name": json_name(state.series_name),
        "training_span": state.training_span,
        "feature_names": None if state.feature_names is None else list(state.feature_names),
        "validation_scores": state.validation_scores,
        "stop_reason": state.stop_reason,
        "history": list(state.history),
        "refit_epochs": state.refit_epochs,
        "choices": None if state.choices is None else dataclasses.asdict(state.choices),
    }
    if state.panel is not None:
        document["panel"] = state.panel.to_document()
        arrays["panel.lengths"] = np.asarray(state.panel.lengths, np.float64)
        arrays["panel.last_windows"] = np.asarray(state.panel.last_windows, np.float64)
    return document, arrays


def network_weights(network: Network) -> dict[str, np.ndarray]:
    """The network's weights as NumPy arrays on the CPU, by name."""
    return {name: tensor.detach().cpu().numpy() for name, tensor in network.state_dict().items()}


def decode(
    document: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    where: str,
    limits: Limits = DEFAULT_LIMITS,
) -> FittedState:
    """The inverse of :func:`encode` (the state without its network), checked against
    ``limits`` and against itself (:func:`check_state`).

    Raises
    ------
    ValueError
        Naming the file (``where``) and what is missing or malformed.
    """
    state = _decode(document, arrays, where)
    check_state(state, where, limits)
    return state


def _decode_series_record(
    document: Any, arrays: Mapping[str, np.ndarray], where: str
) -> PanelState | None:
    if document is None:
        return None
    document = _object(document, "panel", where)
    names = document["names"]
    if not (isinstance(names, list) and len(names) == 3 and all(isinstance(n, str) for n in names)):
        raise ValueError(f"{where!r}: panel.names is {names!r:.80}; expected 3 column names")
    labels = document["last_labels"]
    if not isinstance(labels, list) or not all(
        isinstance(label, int) and not isinstance(label, bool) for label in labels
    ):
        raise ValueError(f"{where!r}: panel.last_labels must be a list of whole numbers")
    return PanelState(
        ids=tuple(document["ids"]),
        names=(names[0], names[1], names[2]),
        kind=str(document["kind"]),
        freq=document["freq"],
        tz=document["tz"],
        last_labels=tuple(labels),
        lengths=np.asarray(arrays["panel.lengths"]).astype(np.int64),
        last_windows=np.asarray(arrays["panel.last_windows"], np.float64),
    )


def _object(value: Any, field: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where!r}: {field} is a {type(value).__name__}; expected a JSON object")
    return value


def _decode(
    document: Mapping[str, Any], arrays: Mapping[str, np.ndarray], where: str
) -> FittedState:
    document = _object(document, "state", where)
    try:
        calibration = None
        if document["calibration"] is not None:
            described = _object(document["calibration"], "calibration", where)
            floor = described.get("floor")  # a calibration scored at fit time
            calibration = Calibration(
                int(described["window"]),
                floor=None if floor is None else float(floor),
                **{
                    name.removeprefix("calibration."): np.asarray(array, np.float64)
                    for name, array in arrays.items()
                    if name.startswith("calibration.")
                },
            )
        last_window = arrays.get("last_window")
        feature_names = document["feature_names"]
        return FittedState(
            window=int(document["window"]),
            horizon=int(document["horizon"]),
            scaler=SeriesScaler.from_dict(dict(_object(document["scaler"], "scaler", where))),
            shape=NetworkShape(**_object(document["network"], "network", where)),
            device=str(document["device"]),
            gru_backend=document.get("gru_backend"),
            missing=check_choice("missing", document.get("missing", "raise")),
            last_window=None if last_window is None else np.asarray(last_window, np.float64),
            calibration=calibration,
            time_index=document["time_index"],
            series_name=document["series_name"],
            training_span=document["training_span"],
            feature_names=None if feature_names is None else tuple(str(n) for n in feature_names),
            validation_scores=document["validation_scores"],
            stop_reason=document["stop_reason"],
            history=History(document["history"]),
            panel=_decode_series_record(document.get("panel"), arrays, where),
            refit_epochs=_refit_epochs(document.get("refit_epochs"), where),
            choices=_choices(document.get("choices"), where),
        )
    except KeyError as error:
        raise ValueError(f"{where!r}: the state has no {error.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as error:
        if str(error).startswith(repr(where)):  # ours, naming the field already
            raise
        raise ValueError(f"{where!r} has inconsistent gruforecast content: {error!r}") from None


def _whole(value: Any, field: str, where: str, low: int, high: int) -> int:
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


def _finite(array: np.ndarray, field: str, where: str, shape: tuple[int | None, ...]) -> None:
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


def check_state(state: FittedState, where: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a state that exceeds ``limits`` or contradicts itself, naming the field.

    Checks sizes before anything is allocated for them, and that the arrays have the
    shapes the sizes imply and hold finite numbers, and the scaler maps finitely.
    """
    window = _whole(state.window, "window", where, 1, limits.window)
    _whole(state.horizon, "horizon", where, 1, limits.horizon)
    shape = state.shape
    known = shape.num_layers != 0  # format 1 ONNX metadata does not record the network
    _whole(shape.num_layers, "network.num_layers", where, 1 if known else 0, limits.num_layers)
    _whole(shape.hidden_size, "network.hidden_size", where, 1 if known else 0, limits.hidden_size)
    _whole(shape.input_size, "network.input_size", where, 1, 1)
    check_choice("normalize", shape.normalize)
    if shape.season is not None:
        _whole(shape.season, "network.season", where, 1, limits.window)
    if shape.gru_window is not None:
        _whole(shape.gru_window, "network.gru_window", where, 1, window)
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
    if state.last_window is not None:
        _finite(state.last_window, "last_window", where, (window,))
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
        _finite(calibration.series, "calibration.series", where, (None,))
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
        _finite(calibration.windows, "calibration.windows", where, (None, window))
        _finite(calibration.targets, "calibration.targets", where, (len(calibration.windows), None))
    else:
        raise ValueError(f"{where!r}: calibration has neither a series nor windows and targets")


_SCALAR = (str, int, float, bool, type(None))
_RECORD_KEYS = 16


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
    n = _whole(len(panel.ids), "panel.ids (the number of series)", where, 1, limits.series)
    strange = next((i for i in panel.ids if not _plain_id(i)), _ABSENT)
    if strange is not _ABSENT:
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
    _finite(panel.lengths.astype(np.float64), "panel.lengths", where, (n,))
    if (panel.lengths < 1).any():
        raise ValueError(f"{where!r}: panel.lengths must be positive")
    _finite(panel.last_windows, "panel.last_windows", where, (n, window))


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
        inputs = state.shape.input_size if layer == 0 else hidden
        shapes[f"gru.weight_ih_l{layer}"] = (3 * hidden, inputs)
        shapes[f"gru.weight_hh_l{layer}"] = (3 * hidden, hidden)
        shapes[f"gru.bias_ih_l{layer}"] = (3 * hidden,)
        shapes[f"gru.bias_hh_l{layer}"] = (3 * hidden,)
    shapes["head.weight"] = (horizon, hidden)
    shapes["head.bias"] = (horizon,)
    if state.shape.season is not None:
        shapes["skip.weight"] = (horizon, state.shape.gru_window or state.window)
        shapes["skip.bias"] = (horizon,)
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
        _finite(array, f"network.{name}", where, shape)


# ---------------------------------------------------------------------- native model file


def jsonable_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``get_params()`` as JSON: a torch.device as its name; a RandomState instance as
    None (the weights are trained already, the seed only matters for a refit)."""
    encoded = {}
    for name, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            encoded[name] = value
        elif name == "device":
            encoded[name] = str(value)
        elif name == "random_state":
            encoded[name] = None
        else:
            raise TypeError(f"parameter {name}={value!r} cannot be saved (not a JSON value)")
    return encoded


def to_file_header(
    state: FittedState, params: Mapping[str, Any]
) -> tuple[str, dict[str, np.ndarray]]:
    """The native file's ``config`` (JSON text) and its tensors: the state's arrays
    and the network's weights (``network.<name>``)."""
    if state.network is None:
        raise ValueError("this state has no network to save")
    document, arrays = encode(state)
    tensors = dict(arrays)
    tensors.update(
        {f"network.{name}": array for name, array in network_weights(state.network).items()}
    )
    return json.dumps({"params": jsonable_params(params), "state": document}), tensors


def from_file_header(
    config: Mapping[str, Any],
    tensors: Mapping[str, np.ndarray],
    version: int,
    where: str,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[FittedState, dict[str, Any], dict[str, np.ndarray]]:
    """The state (without network), the parameters and the weights of a native file;
    the state checked against ``limits`` and itself (the weights are checked by
    :func:`check_weights` where they are read)."""
    weights = {
        name.removeprefix("network."): array
        for name, array in tensors.items()
        if name.startswith("network.")
    }
    arrays = {name: array for name, array in tensors.items() if not name.startswith("network.")}
    try:
        params = dict(config["params"])
        document = config["state"] if version >= 2 else _format_1_file_document(config)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where!r} has inconsistent gruforecast content: {error!r}") from None
    return decode(document, arrays, where, limits), params, weights


def _format_1_file_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """A format-1 native file's ``config`` as a state document."""
    network = config["network"]
    calibration_window = config["calibration_window"]
    return {
        "window": config["window_"],
        "horizon": config["horizon_"],
        "scaler": config["scaler_"],
        "network": {
            name: network[name]
            for name in ("hidden_size", "num_layers", "input_size", "normalize", "season")
        },
        "device": config["device_"],
        "gru_backend": None,
        "missing": config["params"].get("missing", "raise"),
        "calibration": None if calibration_window is None else {"window": calibration_window},
        "time_index": config["time_index_"],
        "series_name": config["series_name_"],
        "training_span": config["training_span_"],
        "feature_names": config["feature_names_in_"],
        "validation_scores": config["validation_scores_"],
        "stop_reason": config["stop_reason_"],
        "history": config["history_"],
    }


# ---------------------------------------------------------------------- ONNX metadata

# Keys for consumers that read a few facts without gruforecast (a serving config, a
# model registry); gruforecast itself reads the "state" document.
INPUT_NAME = "windows"
OUTPUT_NAME = "forecast"


def to_onnx_metadata(state: FittedState, extra: Mapping[str, str]) -> dict[str, str]:
    """The ONNX ``metadata_props``: the state document with its arrays inlined, plus
    plain keys (window, horizon, input and output names, frequency, ...) and
    ``extra`` (the parity check's result, the exporter)."""
    document, arrays = encode(state)
    document["arrays"] = {name: _array_document(array) for name, array in arrays.items()}
    time_index = document["time_index"]
    return {
        "producer": "gruforecast",
        "gruforecast_version": __version__,
        "format_version": str(FORMAT_VERSION),
        "window": str(state.window),
        "horizon": str(state.horizon),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_dtype": "float64",
        "frequency": (time_index or {}).get("freq") or "",
        "last_timestamp": str(time_index["last"]) if time_index else "",
        "state": json.dumps(document),
        **extra,
    }


REQUIRED_ONNX_METADATA = ("format_version", "window", "horizon", "input_name", "output_name")


def from_onnx_metadata(
    metadata: Mapping[str, str],
    where: str,
    limits: Limits = DEFAULT_LIMITS,
    file_size: int | None = None,
) -> FittedState:
    """The state (no network) described by an exported model's ``metadata_props``
    (of a file of ``file_size`` bytes: what its JSON may cost to parse, see
    :class:`JsonAllowance`; the metadata's own size by default).

    Raises
    ------
    ValueError
        If the file was not exported by gruforecast, is from a newer format, or its
        metadata is unreadable.
    """
    missing = [key for key in REQUIRED_ONNX_METADATA if key not in metadata]
    if missing:
        raise ValueError(
            f"{where!r} is an ONNX model but not one exported by gruforecast "
            f"(its metadata lacks {', '.join(missing)})"
        )
    try:
        version = int(metadata["format_version"])
    except ValueError:
        raise ValueError(
            f"{where!r} has unreadable gruforecast metadata: format_version "
            f"{metadata['format_version']!r}"
        ) from None
    check_format_version(where, version, metadata.get("gruforecast_version"))
    if file_size is None:
        file_size = sum(len(key) + len(value) for key, value in metadata.items())
    allowance = JsonAllowance(file_size)
    try:
        if version >= 2:
            document = allowance.parse(metadata["state"], where, "metadata's state")
            arrays = {
                name: _array_from_document(value, name, version)
                for name, value in _object(document.pop("arrays"), "arrays", where).items()
            }
        else:
            document, arrays = _format_1_onnx_document(metadata, where, allowance)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if str(error).startswith(repr(where)):  # ours, naming the field already
            raise
        raise ValueError(f"{where!r} has unreadable gruforecast metadata: {error!r}") from None
    return decode(document, arrays, where, limits)


def _array_document(array: np.ndarray) -> dict[str, Any]:
    """An array as JSON: its shape and the base64 of its little-endian float64 bytes."""
    data = np.ascontiguousarray(array, dtype="<f8")
    return {"shape": list(data.shape), "float64": base64.b64encode(data.tobytes()).decode()}


def _array_from_document(value: Any, name: str, version: int) -> np.ndarray:
    """The inverse of :func:`_array_document` (format 3), or a JSON list (format 2)."""
    if version < 3:
        return np.asarray(value, np.float64)
    if not isinstance(value, Mapping) or not isinstance(value.get("float64"), str):
        raise ValueError(f"arrays.{name} is not a base64 float64 array")
    shape = value.get("shape")
    if not (
        isinstance(shape, list)
        and len(shape) <= 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValueError(f"arrays.{name}.shape is {shape!r:.80}; expected 1 or 2 sizes")
    data = base64.b64decode(value["float64"], validate=True)
    if len(data) != 8 * math.prod(shape):
        raise ValueError(f"arrays.{name} has {len(data)} bytes for the shape {shape}")
    return np.frombuffer(data, dtype="<f8").reshape(shape).astype(np.float64)


def _format_1_onnx_document(
    metadata: Mapping[str, str], where: str, allowance: JsonAllowance
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Format 1 ONNX metadata (one key per fact) as a state document and its arrays.
    It did not record the network's size: what serving needs is in the graph."""

    def loads(key: str) -> Any:
        return allowance.parse(metadata.get(key, "null"), where, f"metadata's {key}")

    arrays = {}
    last_window = loads("last_window")
    if last_window is not None:
        arrays["last_window"] = np.asarray(last_window, np.float64)
    calibration = loads("calibration")
    if calibration is not None:
        for name in ("series", "windows", "targets"):
            if name in calibration:
                arrays[f"calibration.{name}"] = np.asarray(calibration[name], np.float64)
        calibration = {"window": calibration["window"]}
    scaler = loads("scaler")
    document = {
        "window": int(metadata["window"]),
        "horizon": int(metadata["horizon"]),
        "scaler": scaler if scaler is not None else {"kind": None, "offset": 0.0, "scale": 1.0},
        "network": {
            "hidden_size": 0,
            "num_layers": 0,
            "normalize": loads("normalize"),
            "season": loads("season"),
        },
        "device": "cpu",
        "gru_backend": None,
        "missing": metadata.get("missing", "raise"),
        "calibration": calibration,
        "time_index": loads("time_index"),
        "series_name": loads("series_name"),
        "training_span": loads("training_span"),
        "feature_names": None,
        "validation_scores": None,
        "stop_reason": None,
        "history": [],
    }
    return document, arrays


# ---------------------------------------------------------------------- description


def _choices(value: Any, where: str) -> Choices | None:
    """A file's ``choices`` (absent before they were recorded), checked field by field."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {
        f.name for f in dataclasses.fields(Choices)
    }:
        raise ValueError(
            f"{where!r}: choices is {value!r:.80}; expected the fields of "
            f"{[f.name for f in dataclasses.fields(Choices)]}"
        )

    def count(name: str, optional: bool) -> None:
        item = value[name]
        if (item is None and optional) or (
            isinstance(item, int) and not isinstance(item, bool) and item >= 1
        ):
            return
        raise ValueError(f"{where!r}: choices.{name} is {item!r:.40}; expected a positive count")

    count("window", False)
    for name in ("hidden_size", "patience", "batch_size", "windows_per_epoch"):
        count(name, True)
    if value["target_transform"] not in ("log", None):
        raise ValueError(
            f"{where!r}: choices.target_transform is {value['target_transform']!r:.40}"
        )
    for name in ("deseasonalize", "refit"):
        if not isinstance(value[name], bool):
            raise ValueError(f"{where!r}: choices.{name} must be true or false")
    return Choices(**value)


def _refit_epochs(value: Any, where: str) -> int | None:
    """A file's ``refit_epochs`` (absent before refits existed): None or a count."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"{where!r}: refit_epochs is {value!r:.80}; expected a count or null")


def describe(state: FittedState) -> dict[str, Any]:
    """What ``gruforecast info`` shows of a fitted state."""
    shape = state.shape
    return {
        "window": state.window,
        "horizon": state.horizon,
        "scaler": state.scaler.to_dict(),
        "normalize": shape.normalize,
        "season": shape.season,
        "network": (
            f"GRU {shape.num_layers} layer(s) x {shape.hidden_size} hidden"
            if shape.num_layers
            else None
        ),
        "gru_backend": state.gru_backend,
        "series_name": state.series_name,
        "frequency": state.frequency,
        "training_span": state.training_span,
        "epochs_trained": len(state.history),
        "stop_reason": state.stop_reason,
        "refit_epochs": state.refit_epochs,
        "validation_scores": state.validation_scores,
        "intervals": _intervals_summary(state),
        "choices": dataclasses.asdict(state.chosen),
    }


def _intervals_summary(state: FittedState) -> str | None:
    """Which interval levels the calibration errors honour over the horizon (``n``
    errors honour up to ``n / (n + 1)``; later steps may have fewer)."""
    if state.calibration is None:
        return None
    counts = state.calibration.errors_per_step(state.horizon)

    def up_to(n: int) -> str:
        return f"{level_label(highest_level(n))}%" if n else "none"

    first, last = int(counts[0]), int(counts[-1])
    if first == last:
        return f"levels up to {up_to(first)} ({errors(first)} per step)"
    return (
        f"levels up to {up_to(first)} at step 1 and {up_to(last)} at step {state.horizon} "
        f"({errors(first)} at step 1, {last} at step {state.horizon})"
    )


# ---------------------------------------------------------------------- attributes

Value = TypeVar("Value")


class fitted_attribute(Generic[Value]):  # lower case: used like `property`
    """A fitted attribute (``window_``, ``scaler_``, ...) read from the owner's state.

    ``fitted_attribute(get)`` on a class whose instances keep their ``FittedState`` in
    ``state_`` (``GRUForecaster``) or ``state`` (``OnnxForecaster``): reading it before
    fit raises ``AttributeError``, as for any attribute that is not there, so
    ``hasattr`` and scikit-learn's checks behave as with plain attributes. A getter
    that returns ``_ABSENT`` makes the attribute absent for that state.
    """

    def __init__(self, get: Callable[[FittedState], Value], doc: str | None = None) -> None:
        self.get = get
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Value:
        if instance is None:
            return self  # type: ignore[return-value]
        state = instance.__dict__.get("state_") or instance.__dict__.get("state")
        if state is None:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self.name!r} "
                "(it is set by fit)"
            )
        value = self.get(state)
        if value is _ABSENT:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self.name!r}"
            )
        return value


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def absent_if_none(value: Any) -> Any:
    """For a :class:`fitted_attribute` that does not exist when its value is None."""
    return _ABSENT if value is None else value
