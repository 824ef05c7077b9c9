"""Model files of format 1, written before ``_state`` existed (each writer had a layout
of its own): their native ``config`` and their flat ONNX metadata keys, read as the
state documents of today's format (``_state.decode`` takes them from there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._limits import JsonAllowance

__all__ = ["file_document", "onnx_document"]


def file_document(config: Mapping[str, Any]) -> dict[str, Any]:
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


def onnx_document(
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
