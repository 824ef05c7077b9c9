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

from ._validation import check_int
from .intervals import check_levels, level_label

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .runtime import OnnxForecaster

__all__ = ["forecast_dask", "served"]

_SESSIONS: dict[tuple[str, int], OnnxForecaster] = {}
_LOCK = threading.Lock()


def forecast_dask(model: str | os.PathLike, frame: Any, steps: int, interval: Any = None) -> Any:
    """Forecast every series of a Dask long frame with an exported model.

    Parameters
    ----------
    model : str or path-like
        An ``.onnx`` file written by ``export_onnx``, at a path every worker can read.
    frame : dask.dataframe.DataFrame
        The series, one row per series and time, with the id, time and value columns
        the model was fitted with (``unique_id``, ``ds``, ``y`` by default); rows of a
        series may lie in any partitions, in any order.
    steps, interval
        As :meth:`OnnxForecaster.forecast`.

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
    local = OnnxForecaster(model)  # reads the metadata here, and fails early if it cannot
    names = local.state.panel.names if local.state.panel is not None else ("unique_id", "ds", "y")
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
        _forecast_partition, os.fspath(model), steps, interval, meta, meta=meta
    )


def _forecast_partition(
    part: pd.DataFrame, model: str, steps: int, interval: Any, meta: pd.DataFrame
) -> pd.DataFrame:
    if part.empty:
        return meta
    return served(model).forecast(steps, context=part, interval=interval)


def served(model: str | os.PathLike) -> OnnxForecaster:
    """This process's ``OnnxForecaster`` of ``model``, opened on its first use in the
    process and kept (with as many threads as the Dask worker it runs in runs tasks,
    else 1): what a Spark or Ray task calls instead of opening the model per batch."""
    from .runtime import OnnxForecaster

    key = (os.fspath(model), _worker_threads())
    with _LOCK:
        forecaster = _SESSIONS.get(key)
        if forecaster is None:
            forecaster = _SESSIONS[key] = OnnxForecaster(model, providers="cpu", threads=key[1])
    return forecaster


def _worker_threads() -> int:
    """The threads of the Dask worker this runs in (1 outside a worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    return max(1, int(worker.state.nthreads))
