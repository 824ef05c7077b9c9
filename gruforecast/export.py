"""export_onnx: one self-contained ONNX file that forecasts in raw units.

The graph takes raw windows and returns raw forecasts: the scaler is inside it
(``Sub``/``Div`` in float64 on the way in, ``Mul``/``Add`` on the way out, the GRU in
float32 between two ``Cast`` nodes), exactly the arithmetic of
``GRUForecaster.predict``. A deployment needs ONNX Runtime and NumPy, nothing else; what
it needs to know (window, horizon, scaler, the end of the fitted series, the index's
frequency) is in the model's ``metadata_props``.

**Exporter.** We use the TorchScript-based exporter, ``torch.onnx.export(dynamo=False)``,
on purpose. It writes ``nn.GRU`` as the ONNX ``GRU`` operator with
``linear_before_reset=1``, which is PyTorch's formula. The dynamo exporter, the default
since torch 2.9, wrote GRU with the wrong ``linear_before_reset`` with onnxscript < 0.7.1
(silently wrong numbers), and a second dynamo export in one process could freeze the
sequence length. Whatever the exporter, the export checks itself: before anything is
written, ONNX Runtime runs the new model on real and random windows and must match
PyTorch; a mismatch raises and leaves no file.
"""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from . import _ddp, _state
from ._io import atomic_path
from ._state import AHEAD_NAME, FEATURES_NAME, INPUT_NAME, OUTPUT_NAME, FittedState, input_names
from ._time_index import check_round_trip
from ._validation import as_windows, check_int, check_real
from ._version import __version__

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "ExportParityError",
    "export_onnx",
    "export_triton",
    "triton_config",
]
MIN_OPSET = 17  # GRU and everything else here exist since opset 14; 17 is widely served
MAX_OPSET = 20  # the newest opset the TorchScript exporter writes
# Random windows checked at export, besides the real ones
PARITY_RANDOM_WINDOWS = 64
# Most real windows of one kind (the series' last windows, the calibration windows)
PARITY_REAL_WINDOWS = 256


class Fitted(Protocol):
    """What export reads of a fitted forecaster (a ``GRUForecaster``): its state."""

    state_: FittedState


class ExportParityError(RuntimeError):
    """ONNX Runtime's numbers for the exported model differ from PyTorch's."""


class _RawUnitsModel(nn.Module):
    """GRUNet wrapped between the scaler and its inverse, as GRUForecaster.predict does."""

    offset: torch.Tensor  # buffers
    scale: torch.Tensor

    def __init__(self, network: nn.Module, offset: float, scale: float, log: bool = False) -> None:
        super().__init__()
        self.network = network
        self.log = log
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float64))

    def forward(self, windows: torch.Tensor, *channels: torch.Tensor) -> torch.Tensor:
        if self.log:  # as SeriesScaler: log1p in, expm1 out (Log and Exp in ONNX)
            windows = torch.log(windows + 1.0)
        scaled = ((windows - self.offset) / self.scale).float()
        # covariate channels (raw: the network scales them) in float32, as the network
        covariates = [channel.float() for channel in channels]
        raw = self.network(scaled, *covariates).double() * self.scale + self.offset
        return torch.exp(raw) - 1.0 if self.log else raw


def parity_error(
    actual: np.ndarray, expected: np.ndarray, windows: Any = None, scaler: Any = None
) -> float:
    """max |actual - expected| / (1 + |expected| + max |window|): relative to the size of
    what the network was given and gave back, absolute near zero; NaN anywhere counts
    as infinitely wrong.

    Both back ends run the network in float32, and a window's level and spread are
    float32 numbers there: a forecast near zero from a window of values near 300 is a
    difference of float32 numbers near 300, as precise as they are and no more. With a
    fitted ``scaler``, everything is first mapped to its scaled units, where the network
    computes; ``windows`` (one row per row of ``expected``) adds their size.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    size = np.zeros((len(expected), 1))
    if scaler is not None:
        actual, expected = scaler.transform(actual), scaler.transform(expected)
    if windows is not None:
        windows = np.asarray(windows, np.float64)
        if scaler is not None:
            windows = scaler.transform(windows)
        size = np.max(np.abs(windows), axis=1, keepdims=True, initial=0.0)
    expected = expected.reshape(len(expected), -1)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, counted below
        error = np.abs(actual.reshape(expected.shape) - expected) / (1.0 + np.abs(expected) + size)
    return float(np.max(error, initial=0.0)) if np.isfinite(error).all() else float("inf")


def _parity_windows(state: FittedState, sample: Any) -> np.ndarray:
    """Windows the model could be given: real ones (the end of the fitted series, or of
    up to :data:`PARITY_REAL_WINDOWS` of its series; as many held-out calibration
    windows; ``sample`` if given) and random ones, drawn where the network computes
    (standard normal in the scaler's units) and mapped back to raw units, so that a
    model on ``log1p`` values gets raw windows above -1, as it would in use."""
    window, scaler = state.window, state.scaler
    parts = []
    if state.last_window is not None:
        parts.append(state.last_window[None, :])
    if state.panel is not None:
        parts.append(_spread_rows(state.panel.last_windows, PARITY_REAL_WINDOWS))
    if state.calibration is not None:
        held_out = state.calibration.origin_windows()
        if held_out is not None:
            parts.append(_spread_rows(held_out, PARITY_REAL_WINDOWS))
    if sample is not None:
        parts.append(as_windows(sample, what="sample", width=window))
    rng = np.random.default_rng(0)
    drawn = rng.standard_normal((PARITY_RANDOM_WINDOWS, window))
    parts.append(scaler.inverse_transform(drawn))
    return np.concatenate(parts)


def _input_shapes(state: FittedState) -> dict[str, tuple[int, ...]]:
    """Each input's shape after the batch axis."""
    return {
        INPUT_NAME: (state.window,),
        FEATURES_NAME: (state.window, state.shape.features),
        AHEAD_NAME: (state.horizon, state.shape.ahead_features),
    }


def _parity_channels(
    network: Any, rows: int, shapes: dict[str, tuple[int, ...]], names: list[str]
) -> list[np.ndarray]:
    """Covariate channels for the parity check's windows: drawn where the network
    computes (standard normal after its scaling of each channel) and mapped back to
    raw units, as a model's real channels would be."""
    rng = np.random.default_rng(1)
    scaling = {FEATURES_NAME: "features_", AHEAD_NAME: "ahead_"}  # the network's buffers
    drawn = []
    for name in names:
        centres, spreads = (
            getattr(network, scaling[name] + part).detach().cpu().numpy().astype(np.float64)
            for part in ("centres", "spreads")
        )
        drawn.append(centres + spreads * rng.standard_normal((rows, *shapes[name])))
    return drawn


def _spread_rows(rows: np.ndarray, most: int) -> np.ndarray:
    """At most ``most`` of ``rows``, evenly spread over them (the first and last kept)."""
    if len(rows) <= most:
        return rows
    return rows[np.unique(np.linspace(0, len(rows) - 1, most).round().astype(np.int64))]


def export_onnx(
    forecaster: Fitted,
    path: str | os.PathLike,
    *,
    opset: int = MIN_OPSET,
    tolerance: float = 1e-5,
    sample: Any = None,
) -> Path:
    """Export a fitted GRUForecaster to one ONNX file that forecasts in raw units.

    The model has one input, ``windows`` (float64, shape ``(batch, window)``, batch
    dynamic), and one output, ``forecast`` (float64, ``(batch, horizon)``). A model
    with covariates has two more inputs, their channels in their own units (float64;
    the graph scales them): ``features`` ``(batch, window, features)`` and, where any
    are known ahead, ``ahead`` ``(batch, horizon, ahead_features)``; the metadata's
    ``input_names`` lists the inputs and its state describes the channels.

    Parameters
    ----------
    forecaster : GRUForecaster
        A fitted forecaster.
    path : str or path-like
        Where to write the model; written atomically (a failed export leaves whatever
        was there untouched), parent folders are created.
    opset : int, default=17
        ONNX opset, 17 to 20.
    tolerance : float, default=1e-5
        Largest ``max |onnx - torch| / (1 + |torch| + max |window|)`` accepted by the
        parity check, all in the scaler's units (where the network computes in
        float32); see :func:`parity_error`.
    sample : array of shape (n_samples, window), optional
        More real windows for the parity check, besides the end of the fitted series
        and random windows.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ExportParityError
        If ONNX Runtime's output differs from PyTorch's by more than ``tolerance``;
        nothing is written then.
    """
    import onnx
    import onnxruntime as ort

    check_is_fitted(forecaster)
    state = forecaster.state_  # one consistent model, whatever a concurrent fit does
    opset = check_int(opset, "opset", minimum=MIN_OPSET)
    if opset > MAX_OPSET:
        raise ValueError(f"opset must be between {MIN_OPSET} and {MAX_OPSET}, got {opset}")
    tolerance = check_real(tolerance, "tolerance", low=0.0)
    if not _ddp.writes(state.ranks):  # a distributed fit's files are rank 0's to write
        return Path(path)
    scaler = state.scaler
    # a CPU copy: the user's network stays where it is (perhaps on a GPU)
    network = copy.deepcopy(cast(nn.Module, state.network)).cpu().eval()
    model = _RawUnitsModel(network, scaler.offset, scaler.scale, scaler.log).eval()

    buffer = io.BytesIO()
    names = input_names(state)
    shapes = _input_shapes(state)
    example = tuple(torch.zeros(2, *shapes[name], dtype=torch.float64) for name in names)
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter's deprecation notice: chosen on purpose, see above
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # "batch_size other than 1 ... with GRU can cause an error": not here, the graph
        # builds the initial state from the input's shape (Shape -> ConstantOfShape);
        # the parity check below runs two batch sizes, the tests 1, 7 and 1024
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        # nn.GRU's own shape checks (input size, hidden size) are constants here
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            example,
            buffer,  # type: ignore[arg-type]  # the TorchScript exporter writes to files too
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: {0: "batch"} for name in (*names, OUTPUT_NAME)},
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buffer.getvalue())

    windows = _parity_windows(state, sample)
    inputs = [windows, *_parity_channels(network, len(windows), shapes, names[1:])]
    with torch.no_grad():
        expected = model(*(torch.from_numpy(part) for part in inputs)).numpy()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    actual = session.run(None, dict(zip(names, inputs, strict=True)))[0]
    single = session.run(None, {n: part[:1] for n, part in zip(names, inputs, strict=True)})[0]
    parity = max(
        parity_error(actual, expected, windows, scaler),
        parity_error(single, expected[:1], windows[:1], scaler),
    )
    if not parity <= tolerance:
        raise ExportParityError(
            f"the exported model's outputs differ from PyTorch's: max |onnx - torch| / "
            f"(1 + |torch| + |window|), in scaled units, = {parity:.3g} > tolerance "
            f"{tolerance:.3g} on {len(windows)} windows; nothing was written to {os.fspath(path)!r}"
        )

    proto.producer_name = "gruforecast"
    proto.producer_version = __version__
    proto.doc_string = (
        f"GRU forecaster: input '{INPUT_NAME}' float64 (batch, {state.window}) raw "
        f"values, oldest first"
        + (f" (and the covariates' raw channels: {', '.join(names[1:])})" if len(names) > 1 else "")
        + f" -> output '{OUTPUT_NAME}' float64 (batch, {state.horizon}) raw-unit "
        "forecasts. Scaling is inside the graph."
    )
    time_index = state.index
    check_round_trip(time_index, None if time_index is None else time_index.to_dict())
    metadata = _state.to_onnx_metadata(
        state,
        {
            "parity_max_error": repr(parity),
            "parity_tolerance": repr(tolerance),
            "exporter": (
                f"torch.onnx.export(dynamo=False), torch {torch.__version__}, opset {opset}"
            ),
        },
    )
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    with atomic_path(path) as temporary:
        temporary.write_bytes(proto.SerializeToString())
    return Path(path)


# ---------------------------------------------------------------------- Triton

TRITON_MAX_BATCH_SIZE = 4096
TRITON_BACKENDS = ("onnxruntime", "python")
# what Triton accepts as a model's name, and what cannot break config.pbtxt's quoting
_TRITON_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def export_triton(
    forecaster: Fitted,
    repository: str | os.PathLike,
    *,
    name: str = "gruforecast",
    version: int = 1,
    max_batch_size: int = TRITON_MAX_BATCH_SIZE,
    backend: str = "onnxruntime",
    replace: bool = False,
    **options: Any,
) -> Path:
    """Export a fitted GRUForecaster as a model of an NVIDIA Triton model repository.

    Writes ``repository/name/version/model.onnx`` (:func:`export_onnx`, checked against
    PyTorch, with ``options``) and ``repository/name/config.pbtxt``: the ``windows``
    input (TYPE_FP64, dims ``[window]``) and the ``forecast`` output (TYPE_FP64, dims
    ``[horizon]``), the batch axis left to ``max_batch_size``, and dynamic batching,
    which gathers concurrent requests into one batch.

    ``backend="onnxruntime"`` (the default): Triton's ONNX Runtime backend runs the
    graph. ``backend="python"``: Triton's Python backend runs ``version/model.py``,
    written beside the graph, which serves it with the ``onnxruntime`` package of the
    server's Python (for a server without the ONNX Runtime backend, such as the CPU
    ``tritonserver`` of the ``nvidia-pytriton`` package).

    The config is the model's, shared by all its versions: a version whose input,
    output or backend differ from the repository's config is refused (the versions
    there would no longer match it), unless ``replace=True``, which replaces the whole
    model, its other versions included. Files are written atomically.

    Triton serves the graph only: windows of raw values in, ``horizon`` raw forecasts
    out. Continuing past the horizon, intervals and time labels are the client's, from
    the metadata that ``model.onnx`` still carries (docs/deployment.md shows how).

    Returns
    -------
    Path
        The model's folder, ``repository/name``.

    Raises
    ------
    ValueError
        For a name Triton would not take (letters, digits, ``_``, ``.`` and ``-``, not
        starting with ``.`` or ``-``), an unknown backend, or a version that does not
        match the repository's config (without ``replace``).
    """
    check_is_fitted(forecaster)
    if not isinstance(name, str) or _TRITON_NAME.fullmatch(name) is None:
        raise ValueError(
            f"name must be a plain model name (letters, digits, '_', '.' and '-', not "
            f"starting with '.' or '-'), got {name!r}"
        )
    version = check_int(version, "version", minimum=1)
    max_batch_size = check_int(max_batch_size, "max_batch_size", minimum=1)
    if backend not in TRITON_BACKENDS:
        raise ValueError(f"backend must be one of {TRITON_BACKENDS}, got {backend!r}")
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    state = forecaster.state_
    state.refuse_covariates("export_triton")
    folder = Path(repository) / name
    if not _ddp.writes(state.ranks):  # a distributed fit's files are rank 0's to write
        return folder
    config = triton_config(name, state.window, state.horizon, max_batch_size, backend)
    existing = folder / "config.pbtxt"
    if existing.exists() and not replace:
        found = _triton_signature(existing.read_text(encoding="utf-8", errors="replace"))
        wanted = _triton_signature(config)
        if found != wanted:
            raise ValueError(
                f"{os.fspath(existing)!r} describes {_described(found)}, this model "
                f"{_described(wanted)}: version {version} would not match the config its "
                "other versions share. Export it under another name, or pass replace=True "
                "(--replace) to replace the whole model, its versions included"
            )
    if replace and folder.exists():
        staging = Path(repository) / f".{name}.{os.getpid()}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        _write_triton_version(forecaster, staging, version, backend, config, options)
        retired = Path(repository) / f".{name}.{os.getpid()}.replaced"
        os.replace(folder, retired)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
        return folder
    _write_triton_version(forecaster, folder, version, backend, config, options)
    return folder


def _write_triton_version(
    forecaster: Fitted,
    folder: Path,
    version: int,
    backend: str,
    config: str,
    options: dict[str, Any],
) -> None:
    export_onnx(forecaster, folder / str(version) / "model.onnx", **options)
    if backend == "python":
        with atomic_path(folder / str(version) / "model.py") as temporary:
            temporary.write_text(TRITON_PYTHON_MODEL, encoding="utf-8")
    with atomic_path(folder / "config.pbtxt") as temporary:
        temporary.write_text(config, encoding="utf-8")


def _triton_signature(config: str) -> tuple[str | None, ...]:
    """The backend and the input's and output's dims of a config.pbtxt (None where the
    text does not say, as in a config gruforecast did not write)."""
    parts = []
    for pattern in (
        r'^backend:\s*"([^"]*)"',
        r"^input \[.*?dims: \[([^\]]*)\]",
        r"^output \[.*?dims: \[([^\]]*)\]",
    ):
        match = re.search(pattern, config, re.MULTILINE | re.DOTALL)
        parts.append(None if match is None else " ".join(match[1].split()))
    return tuple(parts)


def _described(signature: tuple[str | None, ...]) -> str:
    backend, window, horizon = signature
    return f"backend {backend}, windows [{window}] in and forecasts [{horizon}] out"


def triton_config(
    name: str, window: int, horizon: int, max_batch_size: int, backend: str = "onnxruntime"
) -> str:
    """The ``config.pbtxt`` of an exported model (protobuf text of Triton's ModelConfig)."""
    instances = (
        "instance_group [ { kind: KIND_CPU } ]\n" if backend == "python" else ""
    )  # the Python backend's model.py serves on the CPU
    return f"""\
# written by gruforecast {__version__}: windows of {window} raw values in, the next
# {horizon} raw values out (gruforecast's metadata is in the ONNX file; Triton ignores it)
name: "{name}"
backend: "{backend}"
max_batch_size: {max_batch_size}
input [
  {{
    name: "{INPUT_NAME}"
    data_type: TYPE_FP64
    dims: [ {window} ]
  }}
]
output [
  {{
    name: "{OUTPUT_NAME}"
    data_type: TYPE_FP64
    dims: [ {horizon} ]
  }}
]
dynamic_batching {{ }}
{instances}"""


# The Python backend's model: ONNX Runtime on the graph beside it, one batch of windows
# per request (Triton's dynamic batching has gathered them). Plain ONNX Runtime and
# NumPy: the server's Python needs neither gruforecast nor torch.
TRITON_PYTHON_MODEL = f'''"""Written by gruforecast {__version__}: serves model.onnx, beside
this file, with ONNX Runtime on the CPU (Triton's Python backend)."""

import os
import site
import sys

# a stub that starts its Python isolated, without site-packages (as nvidia-pytriton's
# CPU server does), has no NumPy nor ONNX Runtime: add those of the Python it runs, as
# a plain python3 would (the stub's own site module may know only Debian's layout)
if not any(path.endswith(("site-packages", "dist-packages")) for path in sys.path):
    version = f"python{{sys.version_info[0]}}.{{sys.version_info[1]}}"
    for prefix in dict.fromkeys([sys.prefix, sys.exec_prefix]):
        for folder in [os.path.join(prefix, "lib", version, "site-packages"),
                       *site.getsitepackages([prefix])]:
            if os.path.isdir(folder):
                site.addsitedir(folder)

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        folder = os.path.join(args["model_repository"], args["model_version"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(
            os.path.join(folder, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def execute(self, requests):
        # tensors cross through DLPack: with NumPy 2, a stub built for NumPy 1 reads
        # as_numpy() wrong and sends pb_utils.Tensor(name, array) empty
        responses = []
        for request in requests:
            tensor = pb_utils.get_input_tensor_by_name(request, "{INPUT_NAME}")
            windows = np.ascontiguousarray(np.from_dlpack(tensor), dtype=np.float64)
            forecast = self.session.run(["{OUTPUT_NAME}"], {{"{INPUT_NAME}": windows}})[0]
            forecast = np.ascontiguousarray(forecast, dtype=np.float64)
            output = pb_utils.Tensor.from_dlpack("{OUTPUT_NAME}", forecast)
            responses.append(pb_utils.InferenceResponse(output_tensors=[output]))
        return responses
'''
