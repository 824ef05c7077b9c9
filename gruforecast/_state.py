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
before this module existed) are read by ``_format1``; the checks of a state read from a
file are ``_checks``', the limits on what a file may ask for ``_limits``'.

Adding a fitted attribute: a field here (with its line in :func:`encode` and
:func:`decode` if it is not plain JSON), the code in ``fit`` that computes it, and one
``fitted_attribute`` line where it should be visible as an attribute.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import _format1
from ._checks import check_state
from ._covariates import CovariateState, covariates_from_document, covariates_to_document
from ._history import History
from ._intervals import Calibration
from ._limits import DEFAULT_LIMITS, FORMAT_VERSION, JsonAllowance, Limits, check_format_version
from ._params import check_choice
from ._policy import INITS, Choices
from ._scaling import SeriesScaler
from ._time_index import TimeIndex, json_name
from ._version import __version__

__all__ = [
    "FittedState",
    "NetworkShape",
    "PanelState",
    "decode",
    "encode",
    "from_file_header",
    "from_onnx_metadata",
    "to_file_header",
    "to_onnx_metadata",
]


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
    features: int = 0  # covariate channels in the window (GRUNet's)
    ahead_features: int = 0  # and over the horizon

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
    # a pretrained prior's card (gruforecast.priors): what it was trained on, its season,
    # horizon and window; None for a model fitted on the user's data
    prior: dict[str, Any] | None = None
    # a model with covariates: what they are and how it reads them
    # (gruforecast._covariates.CovariateState); None without
    covariates: CovariateState | None = None

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

    def refuse_covariates(self, what: str) -> None:
        """Raise for ``what`` (an operation) on a model with covariates, which it does
        not serve yet."""
        if self.covariates is not None:
            raise ValueError(
                f"{what} of a model with covariates is not available yet: forecast it with "
                "forecast(steps, X_future=...) (and context=), here or through ONNX"
            )


# ---------------------------------------------------------------------- encoding


def _time_index_document(time_index: TimeIndex | dict[str, Any] | None) -> dict[str, Any] | None:
    if time_index is None or isinstance(time_index, dict):
        return time_index
    return time_index.to_dict()


def _shape_document(shape: NetworkShape) -> dict[str, Any]:
    """The network's shape as a file records it: without covariate channels, as files
    recorded it before covariates existed (which those versions can read)."""
    document = dataclasses.asdict(shape)
    if not (shape.features or shape.ahead_features):
        del document["features"], document["ahead_features"]
    return document


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
        if state.calibration.relative:
            calibration["relative"] = True
        for name in ("series", "windows", "targets", "segments", "scores"):
            value = getattr(state.calibration, name)
            if value is not None:
                arrays[f"calibration.{name}"] = np.asarray(value, np.float64)
    document = {
        "window": state.window,
        "horizon": state.horizon,
        "scaler": state.scaler.to_dict(),
        "network": _shape_document(state.shape),
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
    if state.prior is not None:
        document["prior"] = state.prior
    if state.panel is not None:
        document["panel"] = state.panel.to_document()
        arrays["panel.lengths"] = np.asarray(state.panel.lengths, np.float64)
        arrays["panel.last_windows"] = np.asarray(state.panel.last_windows, np.float64)
    if state.covariates is not None:
        document["covariates"], covariate_arrays = covariates_to_document(state.covariates)
        arrays.update(covariate_arrays)
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
            relative = described.get("relative", False)  # a prior's errors
            if not isinstance(relative, bool):
                raise ValueError(
                    f"{where!r}: calibration.relative is {relative!r}; expected true or false"
                )
            calibration = Calibration(
                int(described["window"]),
                floor=None if floor is None else float(floor),
                relative=relative,
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
            prior=document.get("prior"),
            covariates=(
                None
                if document.get("covariates") is None
                else covariates_from_document(document["covariates"], arrays, where)
            ),
        )
    except KeyError as error:
        raise ValueError(f"{where!r}: the state has no {error.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as error:
        if str(error).startswith(repr(where)):  # ours, naming the field already
            raise
        raise ValueError(f"{where!r} has inconsistent gruforecast content: {error!r}") from None


def jsonable_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``get_params()`` as JSON: a torch.device as its name; a RandomState instance as
    None (the weights are trained already, the seed only matters for a refit)."""
    encoded: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            encoded[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            encoded[name] = list(value)  # column names (covariates)
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
        document = config["state"] if version >= 2 else _format1.file_document(config)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where!r} has inconsistent gruforecast content: {error!r}") from None
    return decode(document, arrays, where, limits), params, weights


# ---------------------------------------------------------------------- ONNX metadata

# Keys for consumers that read a few facts without gruforecast (a serving config, a
# model registry); gruforecast itself reads the "state" document.
INPUT_NAME = "windows"
OUTPUT_NAME = "forecast"
# a model with covariates: their channels in the window and over the horizon, raw
FEATURES_NAME = "features"
AHEAD_NAME = "ahead"


def input_names(state: FittedState) -> list[str]:
    """The exported graph's inputs, in order: the windows, and for a model with
    covariates their channels in the window and (where any are known ahead) over the
    horizon."""
    names = [INPUT_NAME]
    if state.shape.features:
        names.append(FEATURES_NAME)
    if state.shape.ahead_features:
        names.append(AHEAD_NAME)
    return names


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
        **({"input_names": ",".join(input_names(state))} if state.covariates else {}),
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
            document, arrays = _format1.onnx_document(metadata, where, allowance)
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
        and len(shape) <= 3
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValueError(f"arrays.{name}.shape is {shape!r:.80}; expected 1 to 3 sizes")
    data = base64.b64decode(value["float64"], validate=True)
    if len(data) != 8 * math.prod(shape):
        raise ValueError(f"arrays.{name} has {len(data)} bytes for the shape {shape}")
    return np.frombuffer(data, dtype="<f8").reshape(shape).astype(np.float64)


# ---------------------------------------------------------------------- description


def _choices(value: Any, where: str) -> Choices | None:
    """A file's ``choices`` (absent before they were recorded), checked field by field;
    the fields recorded since (``init``, ``prior``, ``init_reason``, ``lr``) may be absent."""
    if value is None:
        return None
    names = {f.name for f in dataclasses.fields(Choices)}
    if not isinstance(value, Mapping) or not (names - set(_LATER_CHOICES)) <= set(value) <= names:
        raise ValueError(
            f"{where!r}: choices is {value!r:.80}; expected the fields of {sorted(names)}"
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
    if value.get("init") not in (None, *INITS):
        raise ValueError(f"{where!r}: choices.init is {value['init']!r:.40}; expected {INITS}")
    for name in ("prior", "init_reason"):
        if not isinstance(value.get(name), str | None):
            raise ValueError(f"{where!r}: choices.{name} is {value[name]!r:.40}; expected text")
    lr = value.get("lr")
    if lr is not None and not (
        isinstance(lr, int | float) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0
    ):
        raise ValueError(f"{where!r}: choices.lr is {lr!r:.40}; expected a positive number")
    return Choices(**value)


# fields of Choices that files written before them lack
_LATER_CHOICES = ("init", "prior", "init_reason", "lr")


def _refit_epochs(value: Any, where: str) -> int | None:
    """A file's ``refit_epochs`` (absent before refits existed): None or a count."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"{where!r}: refit_epochs is {value!r:.80}; expected a count or null")
