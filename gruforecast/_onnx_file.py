"""What an ONNX file holds, read from its bytes before ONNX Runtime sees them: the
operators of its graph and its metadata (``metadata_props``). NumPy-free, onnx-free.

:class:`~gruforecast.OnnxForecaster` reads a file here first, so that a file from an
untrusted source is refused by its sizes (:class:`~gruforecast.Limits`) and by
its operators before anything is built for it: gruforecast writes graphs from a small
set of operators (:data:`WRITTEN_OPERATORS`), and ONNX Runtime checks a run's stop flag
only between nodes, so a graph of other operators (one ``NonMaxSuppression`` over
300,000 boxes, a ``Loop`` of 10^15 trips) could run for minutes whatever the time limit.

Only the protobuf fields named below are decoded (the wire format: a key, then a
number or a length and that many bytes); everything else is skipped by its length, so
a gigabyte of weights costs nothing to pass over. Field numbers are onnx.proto's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ._limits import Limits

__all__ = ["WRITTEN_OPERATORS", "OnnxContents", "read_onnx"]

# Every operator export_onnx writes, in any configuration (tests/test_export.py exports
# each one and checks that this set is exactly what they use, with exported/'s model):
# a feature that needs another operator adds it here.
WRITTEN_OPERATORS = frozenset(
    {
        "Abs", "Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Div", "Equal",
        "Exp", "Expand", "GRU", "Gather", "Gemm", "Greater", "Identity", "Log", "MatMul",
        "Mul", "ReduceMean", "ReduceSum", "Reshape", "Shape", "Slice", "Sqrt", "Squeeze",
        "Sub", "Tanh", "Transpose", "Unsqueeze", "Where",
    }
)  # fmt: skip
_STANDARD_DOMAINS = ("", "ai.onnx")

_MODEL_GRAPH, _MODEL_METADATA = 7, 14  # ModelProto
_GRAPH_NODE = 1  # GraphProto
_NODE_OP_TYPE, _NODE_DOMAIN = 4, 7  # NodeProto
_ENTRY_KEY, _ENTRY_VALUE = 1, 2  # StringStringEntryProto
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5  # wire types


class _Malformed(ValueError):
    """The bytes are not a protobuf message."""


@dataclass(frozen=True)
class OnnxContents:
    """What :func:`read_onnx` found: the metadata, and each node's operator as
    ``(domain, op_type)``."""

    metadata: dict[str, str]
    operators: frozenset[tuple[str, str]]


def read_onnx(data: bytes, where: str, limits: Limits, trusted: bool = False) -> OnnxContents:
    """The metadata and operators of the ONNX model in ``data``, checked against
    ``limits``; unless ``trusted``, a graph with an operator outside
    :data:`WRITTEN_OPERATORS` is refused, naming it.

    Raises
    ------
    ValueError
        Naming the file (``where``): not an ONNX model (truncated, empty, foreign),
        too many protobuf fields or too much metadata for ``limits``, or an operator
        that gruforecast never writes.
    """
    budget = _Budget(limits.onnx_fields, where)
    metadata: dict[str, str] = {}
    operators: set[tuple[str, str]] = set()
    graphs = 0
    size = 0
    try:
        for field, wire, start, end in _fields(data, 0, len(data), budget):
            if field == _MODEL_GRAPH and wire == _BYTES:
                graphs += 1  # repeated occurrences of a message field are merged
                operators.update(_graph_operators(data, start, end, budget))
            elif field == _MODEL_METADATA and wire == _BYTES:
                size += end - start
                if size > limits.metadata_bytes or len(metadata) >= limits.metadata_keys:
                    raise ValueError(
                        f"{where!r}: its metadata holds over {limits.metadata_bytes} bytes or "
                        f"{limits.metadata_keys} keys, over the limits (a larger model needs "
                        "larger limits=)"
                    )
                key, value = _entry(data, start, end, budget)
                if key in metadata:
                    raise ValueError(f"{where!r}: its metadata has the key {key!r} twice")
                metadata[key] = value
    except _Malformed as error:
        raise ValueError(
            f"cannot load {where!r} as an ONNX model (a truncated, empty or foreign file?): {error}"
        ) from None
    if not graphs:
        raise ValueError(
            f"cannot load {where!r} as an ONNX model (a truncated, empty or foreign file?): "
            "it has no graph"
        )
    if not trusted:
        foreign = sorted(
            op if domain in _STANDARD_DOMAINS else f"{domain}.{op}"
            for domain, op in operators
            if domain not in _STANDARD_DOMAINS or op not in WRITTEN_OPERATORS
        )
        if foreign:
            raise ValueError(
                f"{where!r}: its graph uses the operator{'s' if len(foreign) > 1 else ''} "
                f"{', '.join(map(repr, foreign[:5]))}{', ...' if len(foreign) > 5 else ''}, "
                "which gruforecast never writes: it was not exported by gruforecast, or "
                "was edited since. Serve a graph from a source you trust with "
                "OnnxForecaster(path, trusted=True) (the command line's --trusted)"
            )
    return OnnxContents(metadata, frozenset(operators))


class _Budget:
    """Counts the protobuf fields read; past ``limit`` the file is refused (a crafted
    file of millions of tiny fields would otherwise take seconds of Python)."""

    def __init__(self, limit: int, where: str) -> None:
        self.left, self.limit, self.where = limit, limit, where

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ValueError(
                f"{self.where!r}: its model, graph and nodes hold over {self.limit} protobuf "
                "fields, over the limit (onnx_fields; a larger model needs larger limits=)"
            )


def _graph_operators(
    data: bytes, start: int, end: int, budget: _Budget
) -> Iterator[tuple[str, str]]:
    for field, wire, node_start, node_end in _fields(data, start, end, budget):
        if field == _GRAPH_NODE and wire == _BYTES:
            texts = _texts(data, node_start, node_end, budget, (_NODE_DOMAIN, _NODE_OP_TYPE))
            yield texts.get(_NODE_DOMAIN, ""), texts.get(_NODE_OP_TYPE, "")


def _entry(data: bytes, start: int, end: int, budget: _Budget) -> tuple[str, str]:
    texts = _texts(data, start, end, budget, (_ENTRY_KEY, _ENTRY_VALUE))
    return texts.get(_ENTRY_KEY, ""), texts.get(_ENTRY_VALUE, "")


def _texts(
    data: bytes, start: int, end: int, budget: _Budget, wanted: tuple[int, ...]
) -> dict[int, str]:
    """The text fields ``wanted`` of the message in ``data[start:end]``, by number (of
    a field written more than once, the last, as protobuf reads a singular field)."""
    found = {}
    for field, wire, a, b in _fields(data, start, end, budget):
        if wire == _BYTES and field in wanted:
            found[field] = _text(data, a, b)
    return found


def _text(data: bytes, start: int, end: int) -> str:
    try:
        return data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed(f"a text field at byte {start} is not UTF-8") from None


def _varint(data: bytes, position: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= end or shift > 63:
            raise _Malformed(f"a number at byte {position} runs past its message")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _fields(
    data: bytes, start: int, end: int, budget: _Budget
) -> Iterator[tuple[int, int, int, int]]:
    """``(field number, wire type, start, end)`` of each field of the message in
    ``data[start:end]``: where its bytes lie (for a number, the number twice)."""
    position = start
    while position < end:
        budget.spend()
        key, position = _varint(data, position, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise _Malformed(f"field number 0 at byte {position}")
        if wire == _VARINT:
            value, position = _varint(data, position, end)
            yield field, wire, value, value
            continue
        if wire == _BYTES:
            length, position = _varint(data, position, end)
        elif wire in (_FIXED64, _FIXED32):
            length = 8 if wire == _FIXED64 else 4
        else:
            raise _Malformed(f"wire type {wire} at byte {position}")
        if position + length > end:
            raise _Malformed(f"a field at byte {position} runs past its message")
        yield field, wire, position, position + length
        position += length
