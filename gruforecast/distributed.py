"""Batch forecasting of many series on Dask: a long frame too large for one process,
forecast with an exported ONNX model on every worker.

The frame is shuffled so that each series lies in one partition, and each partition is
forecast by :meth:`OnnxForecaster.forecast` with it as ``context``. Every worker process
opens the model once and keeps its ONNX Runtime session (sessions are never pickled:
tasks carry only the file's path), with as many threads as the worker runs tasks, its
share of the machine's cores. Only ``dask`` (with ``dask.dataframe``) and, on a
cluster, ``distributed`` are needed; neither is a dependency of gruforecast.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ._intervals import check_levels, level_label
from ._validation import check_int

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .runtime import OnnxForecaster

__all__ = ["forecast_dask", "served"]

# (path, threads, trusted) -> (the file's identity when it was opened, its forecaster)
_SESSIONS: dict[tuple[str, int, bool], tuple[tuple[int, ...], OnnxForecaster]] = {}
_LOCK = threading.Lock()


def forecast_dask(
    model: str | os.PathLike,
    frame: Any,
    steps: int,
    interval: Any = None,
    *,
    trusted: bool = False,
) -> Any:
    """Forecast every series of a Dask long frame with an exported model.

    Parameters
    ----------
    model : str or path-like
        An ``.onnx`` file written by ``export_onnx``, at a path every worker can read.
        The workers must read the very bytes read here (its SHA-256 is checked): a
        worker that finds another file there (replaced since, or a copy out of date)
        raises a ValueError saying so, never forecasts with another model.
    frame : dask.dataframe.DataFrame
        The series, one row per series and time, with the id, time and value columns
        the model was fitted with (``unique_id``, ``ds``, ``y`` by default); rows of a
        series may lie in any partitions, in any order.
    steps, interval
        As :meth:`OnnxForecaster.forecast`.
    trusted : bool, default=False
        As for :class:`OnnxForecaster`: serve a graph of operators gruforecast never
        writes.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy: the long frame ``OnnxForecaster(model).forecast(steps, context=frame,
        interval=interval)`` gives for the whole frame (id, time, ``forecast`` and the
        bounds), ``steps`` rows per series, partitioned by series.
    """
    import pandas as pd

    from .runtime import OnnxForecaster

    if not (hasattr(frame, "map_partitions") and hasattr(frame, "shuffle")):
        raise TypeError(
            f"frame must be a dask.dataframe.DataFrame, got {type(frame).__name__}; a pandas "
            "frame is forecast by OnnxForecaster(model).forecast(steps, context=frame)"
        )
    steps = check_int(steps, "steps")
    # reads the metadata here, and fails early if it cannot
    local = OnnxForecaster(model, providers="cpu", trusted=trusted)
    from ._panel import DEFAULT_NAMES

    names = local.state.panel.names if local.state.panel is not None else DEFAULT_NAMES
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"frame has no column {missing[0]!r}; the model reads the columns "
            f"{list(names)} (id, time, value)"
        )
    levels = None if interval is None else check_levels(interval)
    columns = {
        names[0]: frame[names[0]].dtype,
        names[1]: frame[names[1]].dtype,
        "forecast": np.float64,
    }
    for level in levels or ():
        columns[f"lower_{level_label(level)}"] = np.float64
        columns[f"upper_{level_label(level)}"] = np.float64
    meta = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    by_series = frame[list(names)].shuffle(on=names[0])
    return by_series.map_partitions(
        _forecast_partition,
        os.fspath(model),
        steps,
        interval,
        meta,
        trusted,
        local.digest,
        meta=meta,
    )


def _forecast_partition(
    part: pd.DataFrame,
    model: str,
    steps: int,
    interval: Any,
    meta: pd.DataFrame,
    trusted: bool,
    digest: str,
) -> pd.DataFrame:
    if part.empty:
        return meta
    return served(model, trusted=trusted, digest=digest).forecast(
        steps, context=part, interval=interval
    )


def served(
    model: str | os.PathLike, *, trusted: bool = False, digest: str | None = None
) -> OnnxForecaster:
    """This process's ``OnnxForecaster`` of ``model``, opened on its first use in the
    process and kept (with as many threads as the Dask worker it runs in runs tasks,
    else 1): what a Spark or Ray task calls instead of opening the model per batch.

    The file is looked at on every call (its device, inode, size and modification
    time): a model replaced since it was opened (``os.replace``, a nightly retrain) is
    opened anew. ``digest`` is the SHA-256 of the model the caller means (the
    ``digest`` of its own ``OnnxForecaster``): a file here with other bytes is a
    ValueError, so that a worker never forecasts with a model other than the one the
    caller read its metadata from.
    """
    from .runtime import OnnxForecaster

    path = os.fspath(model)
    key = (path, _worker_threads(), trusted)
    with _LOCK:
        cached = _SESSIONS.get(key)
        identity = _identity(path)
        if cached is None or cached[0] != identity:
            forecaster = OnnxForecaster(path, providers="cpu", threads=key[1], trusted=trusted)
            # the file as it was read (it may have been replaced since the stat above)
            cached = _SESSIONS[key] = (identity, forecaster)
    forecaster = cached[1]
    if digest is not None and forecaster.digest != digest:
        raise ValueError(
            f"the model {path!r} on this worker is not the model the client read (SHA-256 "
            f"{forecaster.digest[:12]}... here, {digest[:12]}... there): it was replaced "
            "meanwhile, or this machine holds another file at that path. Nothing was "
            "forecast with it; run the job again (or give every worker the same file)"
        )
    return forecaster


def _identity(path: str) -> tuple[int, ...]:
    """What tells a replaced or rewritten file from the one opened before."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no ONNX model at {path!r}") from None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def _worker_threads() -> int:
    """The threads of the Dask worker this runs in (1 outside a worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    return max(1, int(worker.state.nthreads))
