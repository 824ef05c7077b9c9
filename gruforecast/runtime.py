"""OnnxForecaster: serve an exported model with ONNX Runtime and NumPy only.

This module never imports torch (nor scikit-learn); pandas only when the data is pandas
already or the forecast of a pandas series is asked for. A serving process starts in a
fraction of the time and runs where torch is not installed.

Session options, chosen for small recurrent models:

- ``graph_optimization_level = ORT_ENABLE_ALL``: constant folding and node fusions;
  the graph is tiny, so optimising it costs milliseconds once.
- ``execution_mode = ORT_SEQUENTIAL`` and ``inter_op_num_threads = 1``: the graph is
  a chain (scale, GRU layers, head, unscale), nothing runs in parallel between nodes.
- ``intra_op_num_threads = threads``: the default, 1, gives the lowest latency for
  one window at a time (a GRU step is a few small matrix products, which more threads
  only slow down with synchronisation); raise it for large batches.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import stat
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import (
    Fail,
    InvalidArgument,
    InvalidGraph,
    InvalidProtobuf,
    RuntimeException,
)

from ._attributes import absent_if_none, fitted_attribute
from ._forecasting import check_finite, forecast_history
from ._limits import Limits
from ._onnx_file import read_onnx
from ._pretrained import PriorBySeason
from ._scaling import check_in_domain
from ._state import AHEAD_NAME, FEATURES_NAME, FittedState, from_onnx_metadata, input_names
from ._validation import as_windows, check_int, check_real

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ModelFile", "OnnxForecaster", "ProviderUnavailableError", "read_model"]

_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"
_ALIASES = {"cuda": _CUDA, "cpu": _CPU}
# CUDA without TF32 (its default: float32 products with 10-bit mantissas), so that
# served forecasts equal the CPU's and PyTorch's
_CUDA_FULL_FLOAT32 = (_CUDA, {"use_tf32": "0"})
# what ONNX Runtime raises for a file that is not a loadable model
_LOAD_ERRORS = (Fail, InvalidArgument, InvalidGraph, InvalidProtobuf)
# what it raises for a model that fails while it runs
_RUN_ERRORS = (Fail, InvalidArgument, RuntimeException)


def _fits(shape: list[Any], *widths: int) -> bool:
    """Whether an ONNX shape is (any batch, ``*widths``); a symbolic width may be anything."""
    return len(shape) == 1 + len(widths) and all(
        not isinstance(size, int) or size == width
        for size, width in zip(shape[1:], widths, strict=True)
    )


class ProviderUnavailableError(RuntimeError):
    """An execution provider that was asked for by name cannot run here."""


def _cuda_device_count() -> int:
    """Number of CUDA devices the NVIDIA driver reports; 0 without a driver or device.

    Asked of the driver library directly (no torch), so that ``providers="auto"``
    never makes ONNX Runtime try CUDA, and log errors, on a machine without a GPU.
    """
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    return 0


def _preload_cuda_libraries() -> None:
    """Let onnxruntime-gpu find CUDA and cuDNN from NVIDIA's pip packages, if present."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            preload()


def _session_options(threads: int, quiet: bool) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    # 3 = errors only; 4 = fatal only, while probing whether CUDA starts
    options.log_severity_level = 4 if quiet else 3
    return options


def _normalise_providers(providers: Any) -> list[Any]:
    if isinstance(providers, str):
        providers = [providers]
    if not isinstance(providers, (list, tuple)) or not providers:
        raise TypeError(
            "providers must be 'auto', a provider name or a non-empty list of them "
            f"(for example ['CUDAExecutionProvider', 'CPUExecutionProvider']), got {providers!r}"
        )
    normalised: list[Any] = []
    for entry in providers:
        name = entry[0] if isinstance(entry, tuple) else entry  # (name, options) pairs
        if not isinstance(name, str):
            raise TypeError(f"provider names must be strings, got {name!r}")
        name = _ALIASES.get(name.lower(), name)
        if isinstance(entry, tuple):
            normalised.append((name, entry[1]))
        else:
            normalised.append(_CUDA_FULL_FLOAT32 if name == _CUDA else name)
    return normalised


def _provider_name(entry: Any) -> str:
    return entry[0] if isinstance(entry, tuple) else entry


@dataclass(frozen=True, eq=False)
class ModelFile:
    """An exported model as read from its file, before ONNX Runtime sees it: its
    bytes, their SHA-256 (hex), its metadata and the state the metadata describes."""

    data: bytes
    digest: str
    metadata: dict[str, str]
    state: FittedState


def read_model(path: str | os.PathLike, limits: Limits, trusted: bool = False) -> ModelFile:
    """Read an exported model's file once and check it (:func:`read_onnx`: its size,
    its operators unless ``trusted``; its metadata against ``limits``) without running
    anything: what :class:`OnnxForecaster` serves and ``gruforecast info`` shows.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file and what is wrong with it.
    """
    where = os.fspath(path)
    try:
        found = os.stat(where)
    except FileNotFoundError:
        found = None
    if found is None or not stat.S_ISREG(found.st_mode):
        raise FileNotFoundError(f"no ONNX model at {where!r}")
    size = found.st_size
    if size > limits.onnx_bytes:
        raise ValueError(
            f"{where!r} has {size} bytes, over the limit of {limits.onnx_bytes} (onnx_bytes; "
            "a larger model needs larger limits=)"
        )
    with open(where, "rb") as file:
        data = file.read(limits.onnx_bytes + 1)  # it may have grown since stat
    if len(data) > limits.onnx_bytes:
        raise ValueError(f"{where!r} has over {limits.onnx_bytes} bytes, over the limit")
    contents = read_onnx(data, where, limits, trusted)
    state = from_onnx_metadata(contents.metadata, where, limits, file_size=len(data))
    return ModelFile(data, hashlib.sha256(data).hexdigest(), contents.metadata, state)


class OnnxForecaster:
    """Forecast with a model exported by ``GRUForecaster.export_onnx``, no torch needed.

    ``predict`` and ``forecast`` mean what they mean on ``GRUForecaster`` and give the
    same numbers (checked at export), shapes and pandas behaviour.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    providers : "auto", str or list, default="auto"
        ``"auto"``: CUDA when an NVIDIA GPU is visible and ONNX Runtime's CUDA provider
        really starts on it, else the CPU, silently. A name or list (``"cuda"``,
        ``"cpu"``, ``"CUDAExecutionProvider"``, ``[("CUDAExecutionProvider",
        {"device_id": 1}), "CPUExecutionProvider"]``): exactly those; one that cannot
        start is an error, never a silent CPU fallback. CUDA chosen by ``"auto"`` or by
        a bare name runs float32 at full precision (``{"use_tf32": "0"}``), so that its
        forecasts equal the CPU's; a ``(name, options)`` pair keeps its own options.
    threads : int, default=1
        ONNX Runtime's intra-op threads (see the module's notes on session options).
    limits : Limits, optional
        The largest file, metadata and model it may describe
        (``gruforecast.Limits()`` by default); the file is checked against them, and
        its metadata against the graph's input and output, before anything runs.
    timeout : float, optional
        Seconds one ONNX Runtime call may take; past them it is stopped and
        ``TimeoutError`` raised, and Ctrl-C stops it too. ONNX Runtime stops between
        nodes, which bounds the wait for the graphs gruforecast writes. None (the
        default) calls ONNX Runtime directly, the fastest for one window at a time, and
        Ctrl-C waits for the call to end.
    trusted : bool, default=False
        False: a graph that uses an operator gruforecast never writes (a model not
        exported by gruforecast, or edited since) is refused before ONNX Runtime loads
        it, naming the operator; one operator of another kind (a ``Loop``, a
        ``NonMaxSuppression`` over a million boxes) could run for minutes past any
        ``timeout``. True: any graph, for files from a source you trust.

    Attributes
    ----------
    providers : list of str
        The execution providers the session runs on, in order of preference.
    window_, horizon_ : int
        Read from the model's metadata (``horizon`` is ``horizon_``'s older name).
    metadata : dict of str
        The model's ``metadata_props``.
    digest : str
        The SHA-256 of the file's bytes as read (hex): which model this is, whatever
        happens to the file later.
    state : FittedState
        What the model's metadata describes (everything but the network, which is the
        graph), as ``GRUForecaster.state_``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ONNX model, or not one exported by gruforecast, or from a
        newer format than this version reads.
    ProviderUnavailableError
        If an explicitly requested provider cannot run here.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        providers: Any = "auto",
        *,
        threads: int = 1,
        limits: Limits | None = None,
        timeout: float | None = None,
        trusted: bool = False,
    ) -> None:
        self.path = Path(path)
        self.threads = check_int(threads, "threads")
        self.timeout = (
            None
            if timeout is None
            else check_real(timeout, "timeout", low=0.0, low_inclusive=False)
        )
        if not isinstance(trusted, bool):
            raise TypeError(f"trusted must be True or False, got {trusted!r}")
        self.trusted = trusted
        model = read_model(self.path, limits or Limits(), trusted)
        self.digest: str = model.digest
        self.metadata: dict[str, str] = model.metadata
        self.state: FittedState = model.state
        self.session = self._start_session(model.data, providers)
        self.providers: list[str] = self.session.get_providers()
        self._input_name = self.metadata["input_name"]
        self._output_name = self.metadata["output_name"]
        # the windows' input first, then a model with covariates' channels
        self._input_names = [self._input_name, *input_names(self.state)[1:]]
        self._check_graph()

    @classmethod
    def from_pretrained(
        cls, season: int | str | None = None, providers: Any = "auto", **options: Any
    ) -> Any:
        """A pretrained prior shipped with gruforecast, served by ONNX Runtime without
        torch: it forecasts any series given as ``forecast(steps, context=...)``, with
        intervals, as ``GRUForecaster.from_pretrained(season)`` does (the same network,
        the same intervals: calibrated on the context's own last origins too).

        ``season``: the data's seasonal period (12 monthly, 4 quarterly, 1 yearly or
        none) or a prior's name (``"season-12"``); ``gruforecast.priors.shipped()`` lists
        them. None: each ``forecast(steps, context=...)`` uses the prior of its
        context's season (a ``PriorBySeason``; see ``GRUForecaster.from_pretrained``).
        ``providers`` and ``options`` (``threads``, ``timeout``, ...) as for
        :class:`OnnxForecaster`.

        Raises
        ------
        TypeError, ValueError
            For a season or name of no shipped prior (the message lists them).
        """
        from . import priors

        if season is None:
            return PriorBySeason(lambda chosen: cls.from_pretrained(chosen, providers, **options))
        return cls(priors.path_of(season, ".onnx"), providers, **options)

    def _check_graph(self) -> None:
        """Refuse a graph whose input or output is not what the metadata describes:
        one float64 input (batch, window) (and for a model with covariates, their
        channels: (batch, window, features) and (batch, horizon, ahead_features)) and an
        output (batch, horizon) by those names."""
        where, state = os.fspath(self.path), self.state
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        found = {o.name: o for o in outputs}
        problems = []
        widths = {
            self._input_name: (state.window,),
            FEATURES_NAME: (state.window, state.shape.features),
            AHEAD_NAME: (state.horizon, state.shape.ahead_features),
        }
        if [i.name for i in inputs] != self._input_names:
            problems.append(f"inputs {[i.name for i in inputs]}, metadata says {self._input_names}")
        for given in inputs if not problems else ():
            expected = widths[given.name]
            if given.type != "tensor(double)" or not _fits(given.shape, *expected):
                problems.append(
                    f"input {given.name!r} is {given.type} {given.shape}; expected "
                    f"tensor(double) [batch, {', '.join(map(str, expected))}]"
                )
        output = found.get(self._output_name)
        if output is None:
            problems.append(f"outputs {list(found)} lack {self._output_name!r}")
        elif output.type != "tensor(double)" or not _fits(output.shape, state.horizon):
            problems.append(
                f"output {self._output_name!r} is {output.type} {output.shape}; expected "
                f"tensor(double) [batch, {state.horizon}]"
            )
        if problems:
            raise ValueError(
                f"{where!r}: its graph does not match its gruforecast metadata: "
                + "; ".join(problems)
            )

    # ------------------------------------------------------------------ session

    def _create(
        self, model: bytes, providers: list[Any], quiet: bool = False
    ) -> ort.InferenceSession:
        try:
            return ort.InferenceSession(
                model, sess_options=_session_options(self.threads, quiet), providers=providers
            )
        except _LOAD_ERRORS as error:
            raise ValueError(
                f"ONNX Runtime cannot load {os.fspath(self.path)!r} (a truncated, empty or "
                f"foreign file?): {error}"
            ) from None

    def _start_session(self, model: bytes, providers: Any) -> ort.InferenceSession:
        available = ort.get_available_providers()
        if isinstance(providers, str) and providers == "auto":
            if _CUDA in available and _cuda_device_count() > 0:
                _preload_cuda_libraries()
                session = self._create(model, [_CUDA_FULL_FLOAT32, _CPU], quiet=True)
                if session.get_providers()[0] == _CUDA:
                    return session
            return self._create(model, [_CPU])

        requested = _normalise_providers(providers)
        for entry in requested:
            name = _provider_name(entry)
            if name not in available:
                raise ProviderUnavailableError(
                    f"execution provider {name!r} is not in this ONNX Runtime build "
                    f"(onnxruntime {ort.__version__}; available: {available}). For CUDA, "
                    "install onnxruntime-gpu (and not onnxruntime beside it)."
                )
        names = [_provider_name(entry) for entry in requested]
        if _CUDA in names:
            if _cuda_device_count() == 0:
                raise ProviderUnavailableError(
                    "CUDAExecutionProvider was requested, but no NVIDIA GPU is visible "
                    "(no driver, no device, or CUDA_VISIBLE_DEVICES hides them); use "
                    "providers='auto' or 'cpu'"
                )
            _preload_cuda_libraries()
        session = self._create(model, requested, quiet=_CUDA in names)
        missing = [name for name in names if name not in session.get_providers()]
        if missing:
            raise ProviderUnavailableError(
                f"{', '.join(missing)} requested but could not start (ONNX Runtime would "
                f"have fallen back to {session.get_providers()}). onnxruntime-gpu "
                f"{ort.__version__} needs the CUDA and cuDNN libraries it was built for "
                "(for 1.31: CUDA 13, cuDNN 9) and a matching NVIDIA driver."
            )
        return session

    # ------------------------------------------------------------------ fitted state

    window_ = fitted_attribute(lambda state: state.window)
    horizon_ = fitted_attribute(lambda state: state.horizon)
    horizon = horizon_  # the name before horizon_ matched GRUForecaster's
    last_window_ = fitted_attribute(lambda state: state.last_window)
    calibration_ = fitted_attribute(lambda state: state.calibration)
    series_name_ = fitted_attribute(lambda state: state.series_name)
    missing = fitted_attribute(lambda state: state.missing)
    choices_ = fitted_attribute(lambda state: state.chosen)
    # a pretrained prior's card (from_pretrained); absent for a model fitted by a user
    prior_ = fitted_attribute(lambda state: absent_if_none(state.prior))
    time_index_ = fitted_attribute(
        lambda state: state.index, "How the exported series' index continues (loads pandas)."
    )

    # ------------------------------------------------------------------ forecasting

    def _predict_windows(self, windows: np.ndarray, *channels: np.ndarray) -> np.ndarray:
        options = ort.RunOptions()
        feeds = {
            name: np.ascontiguousarray(part, np.float64)
            for name, part in zip(self._input_names, (windows, *channels), strict=True)
        }
        if self.timeout is None:
            return self._run(feeds, options)
        # ONNX Runtime's run does not return to Python until it ends: it runs in a worker
        # thread, and this one waits, able to stop it (the time limit, Ctrl-C) through
        # RunOptions.terminate, which ONNX Runtime checks between nodes and iterations.
        # The wait is on an Event, not Thread.join: in CPython 3.11 a KeyboardInterrupt
        # inside join(timeout) marks the running thread stopped, a later join returns at
        # once, and the interpreter would exit under a live ONNX Runtime call (an abort).
        # a stop is ours, and a failure is raised with its message: no log line of ONNX
        # Runtime's besides (the level is read when the run starts)
        options.log_severity_level = 4
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = self._run(feeds, options)
            except BaseException as error:  # handed to the waiting thread
                outcome["error"] = error
            finally:
                done.set()

        deadline = time.monotonic() + self.timeout
        threading.Thread(target=work, daemon=True).start()
        try:
            while not done.wait(min(0.05, max(deadline - time.monotonic(), 0.0))):
                if time.monotonic() > deadline:
                    self._stop(options, done)
                    raise TimeoutError(
                        f"{os.fspath(self.path)!r}: ONNX Runtime ran longer than the time "
                        f"limit of {self.timeout:g} s (timeout=) and was stopped"
                    )
        except KeyboardInterrupt:
            self._stop(options, done)
            raise
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    @staticmethod
    def _stop(options: ort.RunOptions, done: threading.Event) -> None:
        """Stop the running call and wait until it has returned: Python must never
        exit under it. A second Ctrl-C meanwhile only repeats the request."""
        options.terminate = True
        while True:
            try:
                done.wait()
                return
            except KeyboardInterrupt:
                continue

    def _run(self, feeds: dict[str, np.ndarray], options: ort.RunOptions) -> np.ndarray:
        try:
            return self.session.run([self._output_name], feeds, options)[0]
        except _RUN_ERRORS as error:
            if options.terminate:
                raise TimeoutError(f"{os.fspath(self.path)!r}: stopped") from None
            raise ValueError(
                f"ONNX Runtime failed to run {os.fspath(self.path)!r}: {error}"
            ) from None

    def predict(self, X: Any) -> np.ndarray:
        """Predict the values that follow each window.

        Parameters
        ----------
        X : array of shape (n_samples, window_)
            Windows of raw values, oldest first.

        Returns
        -------
        ndarray of shape (n_samples,) if ``horizon == 1`` else (n_samples, horizon)
        """
        self.state.refuse_covariates("predict(X) on windows")
        windows = as_windows(X, width=self.window_, owner="OnnxForecaster")
        check_in_domain(self.state.scaler, windows, "X (the windows)")
        predictions = self._predict_windows(np.ascontiguousarray(windows))
        check_finite(predictions, f"{os.fspath(self.path)!r}:")
        return predictions[:, 0] if self.state.horizon == 1 else predictions

    def forecast(
        self, steps: int, context: Any = None, interval: Any = None, X_future: Any = None
    ) -> np.ndarray | pd.Series | pd.DataFrame:
        """The ``steps`` values after the exported series, or after ``context``.

        As ``GRUForecaster.forecast``: recursive past the horizon; a pd.Series indexed
        by the next labels when the history is a pandas series, else an ndarray; with
        ``interval`` (levels in (0, 1)), the same conformal bounds, from the calibration
        data the model carries, as a DataFrame or an array ``forecast, lower_L,
        upper_L, ...``. A model with covariates forecasts the exported series with
        ``X_future``, the covariates' values ahead, as ``GRUForecaster.forecast``.
        """
        return forecast_history(
            self.state,
            self._predict_windows,
            steps,
            context,
            interval,
            missing=self.state.missing,
            model=f"{os.fspath(self.path)!r}:",
            future=X_future,
        )

    def __repr__(self) -> str:
        return (
            f"OnnxForecaster({os.fspath(self.path)!r}, window={self.window_}, "
            f"horizon={self.horizon}, providers={self.providers})"
        )
