"""Native model files: ``GRUForecaster.save(path)`` and ``GRUForecaster.load(path)``.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file:
the network's weights and the arrays the forecaster keeps (the end of the fitted series,
the calibration data) as tensors, and everything else (parameters, window, scaler, time
index, training history) as JSON in the file's metadata. Loading parses JSON and copies
numbers; **nothing is ever unpickled**, so a model file from an untrusted source cannot
run code (a pickle or joblib file can: load those only from sources you trust).

Layout of the metadata (all strings, as safetensors requires):

- ``format``: ``"gruforecast"``; ``format_version``: this module's
  :data:`FORMAT_VERSION` (a newer one is refused with a clear error);
  ``gruforecast_version``: the version that wrote it.
- ``config``: JSON with ``params`` (``get_params()``), the fitted attributes, and the
  network's shape.

Tensors: ``network.<name>`` (float32, the ``GRUNet`` state dict, so ``nn.GRU``
weights), ``last_window`` and ``calibration.<field>`` (float64).

:func:`read_metadata` reads the header only, without torch: ``gruforecast info``
uses it.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_path, check_format_version
from ._time_index import TimeIndex, check_round_trip, json_name
from ._version import __version__

__all__ = ["FORMAT_VERSION", "load", "read_metadata", "save"]

FORMAT = "gruforecast"
FORMAT_VERSION = 1
# a safetensors header longer than this is not one of ours (ours are kilobytes; the
# training history of 10^4 epochs is about 1 MB)
_MAX_HEADER = 64 * 2**20


def _jsonable_param(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if name == "device":
        return str(value)  # a torch.device
    if name == "random_state":
        # a RandomState instance cannot be written as JSON; the weights are trained
        # already, the seed only matters for a refit
        return None
    raise TypeError(f"parameter {name}={value!r} cannot be saved (not a JSON value)")


def save(forecaster: Any, path: str | os.PathLike) -> Path:
    """Write a fitted forecaster to ``path`` atomically; see the module's notes."""
    from safetensors.numpy import save as serialise
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(forecaster)
    time_index = forecaster.time_index_
    described = time_index.to_dict() if time_index is not None else None
    check_round_trip(time_index, described)
    network = forecaster.network_
    feature_names = getattr(forecaster, "feature_names_in_", None)
    calibration = forecaster.calibration_
    config = {
        "params": {
            name: _jsonable_param(name, value)
            for name, value in forecaster.get_params(deep=False).items()
        },
        "window_": forecaster.window_,
        "horizon_": forecaster.horizon_,
        "n_features_in_": forecaster.n_features_in_,
        "feature_names_in_": None if feature_names is None else [str(n) for n in feature_names],
        "scaler_": forecaster.scaler_.to_dict(),
        "time_index_": described,
        "series_name_": json_name(forecaster.series_name_),
        "training_span_": forecaster.training_span_,
        "validation_scores_": forecaster.validation_scores_,
        "stop_reason_": forecaster.stop_reason_,
        "history_": list(forecaster.history_),
        "device_": str(forecaster.device_),
        "calibration_window": None if calibration is None else calibration.window,
        "network": network.config(),
    }
    tensors = {
        f"network.{name}": tensor.detach().cpu().numpy()
        for name, tensor in network.state_dict().items()
    }
    if forecaster.last_window_ is not None:
        tensors["last_window"] = forecaster.last_window_
    if calibration is not None:
        for field in ("series", "windows", "targets"):
            if getattr(calibration, field) is not None:
                tensors[f"calibration.{field}"] = getattr(calibration, field)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "gruforecast_version": __version__,
        "config": json.dumps(config),
    }
    content = serialise({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata)
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)
    return Path(path)


def _parse_header(data: bytes, where: str, file_size: int) -> dict[str, Any]:
    """The safetensors header at the start of ``data`` (the first bytes of a file of
    ``file_size`` bytes), checked to be a whole gruforecast model's."""
    foreign = f"{where!r} is not a gruforecast model file"
    if file_size < 8:
        raise ValueError(f"{foreign} (only {file_size} bytes: empty or truncated)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > _MAX_HEADER or 8 + size > file_size:
        raise ValueError(
            f"{foreign}, or it is truncated (its first 8 bytes announce a "
            f"{size}-byte header, the file has {file_size} bytes)"
        )
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{foreign} (no safetensors header)") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{foreign} (a safetensors file without gruforecast metadata?)")
    try:
        version = int(metadata["format_version"])
        metadata = {**metadata, "config": json.loads(metadata["config"])}
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where!r} has unreadable gruforecast metadata: {error!r}") from None
    check_format_version(where, version, FORMAT_VERSION, metadata.get("gruforecast_version"))
    try:
        end = max(
            (int(entry["data_offsets"][1]) for name, entry in header.items() if name != "__metadata__"),
            default=0,
        )
    except (KeyError, IndexError, TypeError, ValueError):
        raise ValueError(f"{where!r} has a damaged tensor table") from None
    if file_size < 8 + size + end:
        raise ValueError(
            f"{where!r} is truncated: {file_size} bytes, its header announces {8 + size + end}"
        )
    return metadata


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a model file (``config`` parsed), without loading the weights.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is empty, truncated, foreign or from a newer format.
    """
    where = os.fspath(path)
    if not Path(where).is_file():
        raise FileNotFoundError(f"no model file at {where!r}")
    with open(where, "rb") as file:
        head = file.read(8)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        data = head + file.read(min(size, _MAX_HEADER))
    return _parse_header(data, where, os.path.getsize(where))


def load(path: str | os.PathLike, device: Any = None) -> Any:
    """Read a model written by :func:`save`; see ``GRUForecaster.load``."""
    import torch
    from safetensors import SafetensorError
    from safetensors.numpy import load as deserialise

    from .estimator import GRUForecaster
    from .intervals import Calibration
    from .network import GRUNet
    from .scaling import SeriesScaler
    from .training import History, resolve_device, usable_device

    where = os.fspath(path)
    if not Path(where).is_file():
        raise FileNotFoundError(f"no model file at {where!r}")
    data = Path(where).read_bytes()
    metadata = _parse_header(data, where, len(data))
    try:
        tensors = deserialise(data)
    except SafetensorError as error:
        raise ValueError(f"{where!r} is truncated or damaged: {error}") from None
    config = metadata["config"]
    try:
        forecaster = GRUForecaster(**config["params"])
        network = GRUNet(**config["network"])
        weights = {
            name.removeprefix("network."): torch.from_numpy(array.copy())
            for name, array in tensors.items()
            if name.startswith("network.")
        }
        network.load_state_dict(weights)
        calibration = None
        if config["calibration_window"] is not None:
            calibration = Calibration(
                config["calibration_window"],
                **{
                    name.removeprefix("calibration."): array
                    for name, array in tensors.items()
                    if name.startswith("calibration.")
                },
            )
        fitted = {
            "window_": int(config["window_"]),
            "horizon_": int(config["horizon_"]),
            "n_features_in_": int(config["n_features_in_"]),
            "scaler_": SeriesScaler.from_dict(config["scaler_"]),
            "time_index_": (
                None if config["time_index_"] is None
                else TimeIndex.from_dict(config["time_index_"])
            ),
            "series_name_": config["series_name_"],
            "training_span_": config["training_span_"],
            "validation_scores_": config["validation_scores_"],
            "stop_reason_": config["stop_reason_"],
            "history_": History(config["history_"]),
            "last_window_": tensors.get("last_window"),
            "calibration_": calibration,
        }
        if config["feature_names_in_"] is not None:
            fitted["feature_names_in_"] = np.asarray(config["feature_names_in_"], dtype=object)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{where!r} has inconsistent gruforecast content: {error}") from None
    device = usable_device(config["device_"]) if device is None else resolve_device(device)
    for name, value in fitted.items():
        setattr(forecaster, name, value)
    forecaster.network_ = network.to(device).eval()
    forecaster.device_ = device
    return forecaster
