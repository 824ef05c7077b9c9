"""What a model file may ask of memory before anything is allocated for it, and which
format versions this package reads: the first checks on a file nobody vouched for
(a ``.gruf`` file, an exported ONNX model), before its document is parsed.

``Limits`` is public (``gruforecast.Limits``): ``GRUForecaster.load(path, limits=...)``
and ``OnnxForecaster(path, limits=...)`` take one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LIMITS", "FORMAT_VERSION", "JsonAllowance", "Limits", "check_format_version"]

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
    features: int = 10_000  # covariate channels a network reads (in a window, ahead)
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
