"""Native model files: ``GRUForecaster.save(path)`` and ``GRUForecaster.load(path)``.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file:
the network's weights and the arrays the forecaster keeps (the end of the fitted series,
the calibration data) as tensors, and everything else (parameters, window, scaler, time
index, training history) as JSON in the file's metadata. Loading parses JSON and copies
numbers; **nothing is ever unpickled**, so a model file from an untrusted source cannot
run code (a pickle or joblib file can: load those only from sources you trust).

Layout of the metadata (all strings, as safetensors requires):

- ``format``: ``"gruforecast"``; ``format_version``: :data:`gruforecast._limits.FORMAT_VERSION`
  (a newer one is refused with a clear error; format 1 files still load);
  ``gruforecast_version``: the version that wrote it.
- ``config``: JSON with ``params`` (``get_params()``) and ``state``, the fitted state's
  document (:func:`gruforecast._state.encode`).

Tensors: ``network.<name>`` (float32, the ``GRUNet`` state dict, so ``nn.GRU``
weights), ``last_window`` and ``calibration.<field>`` (float64).

This module reads and writes files; what they hold is :class:`gruforecast._state.FittedState`'s
business. It never imports torch: :func:`read_metadata` serves ``gruforecast info``,
and ``GRUForecaster.load`` rebuilds the network from what :func:`load` returns.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import _state
from ._checks import check_weights
from ._io import atomic_path
from ._limits import DEFAULT_LIMITS, FORMAT_VERSION, JsonAllowance, Limits, check_format_version
from ._state import FittedState
from ._time_index import check_round_trip
from ._version import __version__

__all__ = ["load", "read_metadata", "save"]

FORMAT = "gruforecast"


def save(path: str | os.PathLike, state: FittedState, params: Mapping[str, Any]) -> Path:
    """Write a fitted state and the parameters it was fitted with to ``path``,
    atomically; see the module's notes. Of a distributed fit's processes only rank 0
    writes (the others return ``path`` at once: they do not wait for it)."""
    from safetensors.numpy import save as serialise

    from ._ddp import writes

    if not writes(state.ranks):
        return Path(path)

    time_index = state.index
    check_round_trip(time_index, None if time_index is None else time_index.to_dict())
    config, tensors = _state.to_file_header(state, params)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "gruforecast_version": __version__,
        "config": config,
    }
    content = serialise({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata)
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)
    return Path(path)


def _parse_header(data: bytes, where: str, file_size: int, limits: Limits) -> dict[str, Any]:
    """The safetensors header at the start of ``data`` (the first bytes of a file of
    ``file_size`` bytes), checked to be a whole gruforecast model's. A header longer than
    ``limits.metadata_bytes`` is not one of ours (ours are kilobytes; the training
    history of 10^4 epochs is about 1 MB, the ids of 10^6 series a few MB)."""
    foreign = f"{where!r} is not a gruforecast model file"
    if file_size < 8:
        raise ValueError(f"{foreign} (only {file_size} bytes: empty or truncated)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > limits.metadata_bytes or 8 + size > file_size:
        raise ValueError(
            f"{foreign}, or it is truncated, or its header is over the limit of "
            f"{limits.metadata_bytes} bytes (its first 8 bytes announce a {size}-byte "
            f"header, the file has {file_size} bytes)"
        )
    allowance = JsonAllowance(file_size)
    try:
        header = allowance.parse(data[8 : 8 + size], where, "header")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{foreign} (no safetensors header)") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{foreign} (a safetensors file without gruforecast metadata?)")
    try:
        version = int(metadata["format_version"])
        config = metadata["config"]
        if not isinstance(config, str):
            raise TypeError(f"config is a {type(config).__name__}, not JSON text")
        metadata = {**metadata, "config": allowance.parse(config, where, "config")}
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{where!r} has unreadable gruforecast metadata: {error!r}") from None
    except ValueError as error:
        if str(error).startswith(repr(where)):  # the allowance's, naming the file already
            raise
        raise ValueError(f"{where!r} has unreadable gruforecast metadata: {error!r}") from None
    check_format_version(where, version, metadata.get("gruforecast_version"))
    try:
        end = max(
            (
                int(entry["data_offsets"][1])
                for name, entry in header.items()
                if name != "__metadata__"
            ),
            default=0,
        )
    except (KeyError, IndexError, TypeError, ValueError):
        raise ValueError(f"{where!r} has a damaged tensor table") from None
    if file_size < 8 + size + end:
        raise ValueError(
            f"{where!r} is truncated: {file_size} bytes, its header announces {8 + size + end}"
        )
    return metadata


def read_metadata(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
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
        data = head + file.read(min(size, limits.metadata_bytes))
    return _parse_header(data, where, os.path.getsize(where), limits)


def load(
    path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS
) -> tuple[FittedState, dict[str, Any], dict[str, np.ndarray]]:
    """Read a model written by :func:`save`: its state (without the network), the
    parameters and the network's weights by name, all checked against ``limits`` and
    each other before anything is built from them; see ``GRUForecaster.load``."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as deserialise

    where = os.fspath(path)
    if not Path(where).is_file():
        raise FileNotFoundError(f"no model file at {where!r}")
    data = Path(where).read_bytes()
    metadata = _parse_header(data, where, len(data), limits)
    try:
        tensors = deserialise(data)
    except SafetensorError as error:
        raise ValueError(f"{where!r} is truncated or damaged: {error}") from None
    version = int(metadata["format_version"])
    state, params, weights = _state.from_file_header(
        metadata["config"], tensors, version, where, limits
    )
    check_weights(state, weights, where)
    return state, params, weights


def read_state(path: str | os.PathLike) -> tuple[FittedState, dict[str, Any], dict[str, str]]:
    """The state (no network), the parameters and the raw metadata of a model file,
    from its header and its small arrays (calibration data, last window): no weights
    read, no torch."""
    from safetensors import SafetensorError, safe_open

    where = os.fspath(path)
    metadata = read_metadata(where)
    version = int(metadata["format_version"])
    try:
        with safe_open(where, framework="numpy") as file:
            arrays = {
                name: file.get_tensor(name)
                for name in file.keys()
                if not name.startswith("network.")
            }
    except SafetensorError as error:
        raise ValueError(f"{where!r} is truncated or damaged: {error}") from None
    state, params, _ = _state.from_file_header(metadata["config"], arrays, version, where)
    return state, params, metadata
