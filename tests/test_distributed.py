"""Batch forecasting on Dask: a 2-worker LocalCluster (processes) forecasts a long frame
split across partitions in any order, equal to OnnxForecaster on the whole frame."""

import numpy as np
import pandas as pd
import pytest

from gruforecast import GRUForecaster, OnnxForecaster
from test_panel import PANEL_FAST, long_frame

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    frame = long_frame(12)
    forecaster = GRUForecaster(**PANEL_FAST, window=12).fit(frame)
    return frame, forecaster.export_onnx(tmp_path_factory.mktemp("dask") / "m.onnx")


@pytest.mark.slow
def test_two_workers_forecast_as_one_process_does(model):
    from gruforecast import distributed as gruforecast_distributed

    frame, path = model
    # the workers' sessions run on the CPU (forecast_dask opens them so): so does this one,
    # also on a machine where "auto" would pick CUDA
    expected = OnnxForecaster(path, providers="cpu").forecast(7, context=frame, interval=[0.8, 0.95])
    # rows of every series spread over partitions (long_frame shuffles the rows)
    parts = dd.from_pandas(frame, npartitions=4)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        result = gruforecast_distributed.forecast_dask(path, parts, 7, interval=[0.8, 0.95])
        got = result.compute()
        # one session per worker process, opened there with the worker's one thread
        sessions = client.run(lambda: sorted(gruforecast_distributed._SESSIONS))
    assert len(sessions) == 2 and all(keys == [(str(path), 1, False)] for keys in sessions.values())
    key = ["unique_id", "ds"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )


def test_outside_a_cluster_and_wrong_columns(model):
    from gruforecast.distributed import forecast_dask

    frame, path = model
    got = forecast_dask(path, dd.from_pandas(frame, npartitions=2), 3).compute(scheduler="sync")
    # on the CPU, as forecast_dask's sessions (CUDA's GRU rounds otherwise: rtol 1e-7 below)
    expected = OnnxForecaster(path, providers="cpu").forecast(3, context=frame)
    np.testing.assert_allclose(
        got.sort_values(["unique_id", "ds"]).forecast, expected.sort_values(["unique_id", "ds"]).forecast
    )
    with pytest.raises(TypeError, match="frame must be a dask.dataframe.DataFrame, got DataFrame"):
        forecast_dask(path, frame, 3)
    with pytest.raises(ValueError, match="steps"):
        forecast_dask(path, dd.from_pandas(frame, npartitions=2), 0)
    with pytest.raises(ValueError, match=r"frame has no column 'unique_id'"):
        forecast_dask(path, dd.from_pandas(frame.rename(columns={"unique_id": "id"}), npartitions=1), 3)


def _other_model(frame, path):
    """Another model written over ``path`` the way a nightly retrain would: a new file
    moved into place (os.replace)."""
    import os

    other = GRUForecaster(**{**PANEL_FAST, "random_state": 1}, window=12).fit(frame)
    fresh = other.export_onnx(path.parent / "fresh.onnx")
    os.replace(fresh, path)


def test_a_model_replaced_in_place_is_served_anew_never_mixed(model, tmp_path):
    from gruforecast import distributed as gruforecast_distributed
    from gruforecast.distributed import forecast_dask, served

    frame, original = model
    path = tmp_path / "m.onnx"
    path.write_bytes(original.read_bytes())
    parts = dd.from_pandas(frame, npartitions=2)
    first = forecast_dask(path, parts, 3).compute(scheduler="sync")  # opens the session here
    old_digest = served(path).digest
    # the nightly retrain replaces the file: the next job serves the new model
    _other_model(frame, path)
    expected = OnnxForecaster(path, providers="cpu").forecast(3, context=frame)
    again = forecast_dask(path, parts, 3).compute(scheduler="sync")
    key = ["unique_id", "ds"]
    np.testing.assert_allclose(again.sort_values(key).forecast, expected.sort_values(key).forecast)
    assert not np.allclose(again.sort_values(key).forecast, first.sort_values(key).forecast)
    assert served(path).digest != old_digest
    # a job whose client read the old model while the file is replaced before the
    # workers run: an error, never the other model's numbers
    job = forecast_dask(path, parts, 3)
    _other_model(frame.assign(y=frame.y * 2), path)
    with pytest.raises(ValueError, match="on this worker is not the model the client read"):
        job.compute(scheduler="sync")
    with pytest.raises(ValueError, match="not the model the client read"):
        served(path, digest="0" * 64)
    with pytest.raises(FileNotFoundError, match="no ONNX model at"):
        served(tmp_path / "absent.onnx")
    assert {key[2] for key in gruforecast_distributed._SESSIONS} == {False}
