import json

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

import gruforecast
from conftest import FAST
from gruforecast.export import parity_error as relative_error
from gruforecast import ExportParityError, GRUForecaster, make_windows
from reference_gru import grunet_forward

# Two GRU layers so that the layer-to-layer wiring of the exported graph is exercised.
SETTINGS = {**FAST, "hidden_size": 16, "num_layers": 2}




@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One fitted and exported model per (horizon, scaler), shared by the parity tests."""
    from gruforecast.datasets import load_air_passengers

    series = load_air_passengers()
    folder = tmp_path_factory.mktemp("exported")
    models = {}
    for horizon in (1, 12):
        for scaler in ("standard", "minmax", None):
            forecaster = GRUForecaster(**{**SETTINGS, "horizon": horizon, "scaler": scaler}).fit(series)
            path = forecaster.export_onnx(folder / f"h{horizon}-{scaler}.onnx")
            models[horizon, scaler] = forecaster, path
    return series, models


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("horizon", [1, 12])
@pytest.mark.parametrize("scaler", ["standard", "minmax", None])
@pytest.mark.parametrize("batch", [1, 7, 1024])
def test_onnx_runtime_matches_pytorch(exported, horizon, scaler, batch):
    series, models = exported
    forecaster, path = models[horizon, scaler]
    real, _ = make_windows(series, forecaster.window_, horizon)
    rng = np.random.default_rng(batch)
    random = series.mean() + series.std() * rng.standard_normal((batch, forecaster.window_))
    for windows in (np.ascontiguousarray(real[rng.integers(0, len(real), batch)]), random):
        expected = forecaster.predict(windows).reshape(batch, horizon)
        actual = _session(path).run(None, {"windows": windows})[0]
        assert actual.shape == (batch, horizon) and actual.dtype == np.float64
        assert relative_error(actual, expected, windows, forecaster.scaler_) < 1e-5


def test_numpy_reference_equals_pytorch_equals_onnx_runtime(exported):
    series, models = exported
    forecaster, path = models[12, "standard"]
    windows, _ = make_windows(series, forecaster.window_, 12)
    windows = np.ascontiguousarray(windows[:7])
    state = {k: v.double().cpu().numpy() for k, v in forecaster.network_.state_dict().items()}
    scaler = forecaster.scaler_
    numpy = scaler.inverse_transform(
        grunet_forward(
            state, scaler.transform(windows, np.float32), num_layers=2,
            normalize=forecaster.network_.normalize,
        )
    )
    assert forecaster.network_.normalize == "window"  # the default, checked through ONNX
    pytorch = forecaster.predict(windows)
    onnx_runtime = _session(path).run(None, {"windows": windows})[0]
    assert relative_error(pytorch, numpy) < 1e-5
    assert relative_error(onnx_runtime, numpy) < 1e-5


def test_graph_is_a_checked_single_file_with_gru_ops(exported):
    _, models = exported
    _, path = models[1, "standard"]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    grus = [n for n in model.graph.node if n.op_type == "GRU"]
    assert len(grus) == 2
    for node in grus:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attributes["linear_before_reset"] == 1
    (graph_input,) = model.graph.input
    assert graph_input.name == "windows"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    batch, window = graph_input.type.tensor_type.shape.dim
    assert batch.dim_param == "batch" and window.dim_value == 24
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        f"h{h}-{s}.onnx" for h in (1, 12) for s in ("standard", "minmax", None)
    )  # no external-data sidecars


def test_metadata_carries_what_a_deployment_needs(exported):
    series, models = exported
    forecaster, path = models[12, "minmax"]
    metadata = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert metadata["gruforecast_version"] == gruforecast.__version__
    assert metadata["window"] == "24" and metadata["horizon"] == "12"
    assert metadata["frequency"] == "MS" and metadata["last_timestamp"] == "1960-12-01T00:00:00"
    assert metadata["input_name"] == "windows" and metadata["output_name"] == "forecast"
    assert 0 <= float(metadata["parity_max_error"]) <= float(metadata["parity_tolerance"]) == 1e-5
    state = json.loads(metadata["state"])  # the fitted state, as gruforecast._state encodes it
    assert state["scaler"] == forecaster.scaler_.to_dict()
    np.testing.assert_array_equal(state["arrays"]["last_window"], series.to_numpy()[-24:])
    assert state["series_name"] == "air_passengers" and state["time_index"]["freq"] == "MS"
    network = forecaster.network_
    assert state["network"] == {"hidden_size": network.hidden_size, "num_layers": 2,
                                "input_size": 1, "normalize": "window", "season": 12,
                                "deseasonalize": False, "gru_window": None}
    assert "dynamo=False" in metadata["exporter"]


def test_function_and_method_export_the_same_model(exported, tmp_path):
    _, models = exported
    forecaster, path = models[1, "standard"]
    other = gruforecast.export_onnx(forecaster, tmp_path / "again.onnx")
    assert onnx.load(other).graph == onnx.load(path).graph


def test_a_parity_failure_raises_and_writes_nothing(monkeypatch, tmp_path, sine):
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(sine)
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous model")
    monkeypatch.setattr("gruforecast.export.parity_error", lambda *arguments: 0.5)
    with pytest.raises(ExportParityError, match="0.5 > tolerance 1e-05.*nothing was written"):
        forecaster.export_onnx(target)
    assert target.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    with pytest.raises(ExportParityError):
        forecaster.export_onnx(tmp_path / "new" / "model.onnx")
    assert not (tmp_path / "new" / "model.onnx").exists()


def test_parity_error_counts_nan_as_infinitely_wrong():
    assert relative_error(np.array([np.nan]), np.array([1.0])) == float("inf")
    assert relative_error(np.array([3.0]), np.array([1.0])) == 1.0


def test_two_exports_in_one_process_keep_their_own_window(tmp_path, sine):
    # the dynamo exporter could freeze the sequence length on a second export
    for window in (10, 30):
        forecaster = GRUForecaster(**{**FAST, "window": window}).fit(sine)
        path = forecaster.export_onnx(tmp_path / f"w{window}.onnx")
        windows, _ = make_windows(sine, window)
        actual = _session(path).run(None, {"windows": np.ascontiguousarray(windows[:5])})[0][:, 0]
        assert relative_error(actual, forecaster.predict(windows[:5])) < 1e-5


def test_export_needs_a_fitted_forecaster_and_valid_options(tmp_path, sine):
    with pytest.raises(NotFittedError):
        GRUForecaster().export_onnx(tmp_path / "m.onnx")
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(sine)
    with pytest.raises(ValueError, match="opset must be an integer >= 17, got 13"):
        forecaster.export_onnx(tmp_path / "m.onnx", opset=13)
    with pytest.raises(ValueError, match="opset must be between 17 and 20"):
        forecaster.export_onnx(tmp_path / "m.onnx", opset=99)
    with pytest.raises(ValueError, match="sample has 3 features, but GRUForecaster is expecting 10"):
        forecaster.export_onnx(tmp_path / "m.onnx", sample=np.ones((2, 3)))
    assert not (tmp_path / "m.onnx").exists()
    forecaster.export_onnx(tmp_path / "m.onnx", sample=make_windows(sine, 10)[0][:100], opset=20)


def test_a_model_fitted_on_windows_exports_without_series_metadata(tmp_path, sine):
    X, y = make_windows(sine, 15, horizon=3)
    path = GRUForecaster(**{**FAST, "horizon": 3}).fit(X, y).export_onnx(tmp_path / "w.onnx")
    metadata = {p.key: p.value for p in onnx.load(path).metadata_props}
    state = json.loads(metadata["state"])
    assert "last_window" not in state["arrays"] and state["time_index"] is None
    assert metadata["frequency"] == "" and metadata["horizon"] == "3"


def test_period_index_metadata_round_trips(tmp_path):
    series = pd.Series(np.sin(np.arange(60) / 4), index=pd.period_range("2001Q1", periods=60, freq="Q"))
    path = GRUForecaster(**{**FAST, "window": 8}).fit(series).export_onnx(tmp_path / "q.onnx")
    metadata = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(metadata["state"])["time_index"]["last"] == "2015Q4"
    from gruforecast import OnnxForecaster

    served = OnnxForecaster(path).forecast(3)
    pd.testing.assert_index_equal(served.index, pd.period_range("2016Q1", periods=3, freq="Q"))


@pytest.mark.gpu
def test_export_of_a_model_trained_on_cuda(tmp_path, sine):
    forecaster = GRUForecaster(**{**FAST, "window": 20, "device": "cuda"}).fit(sine)
    path = forecaster.export_onnx(tmp_path / "cuda.onnx")
    assert next(forecaster.network_.parameters()).device.type == "cuda"  # left where it was
    windows, _ = make_windows(sine, 20)
    actual = _session(path).run(None, {"windows": np.ascontiguousarray(windows)})[0][:, 0]
    assert relative_error(actual, forecaster.predict(windows)) < 1e-4
    assert torch.cuda.is_available()


def test_time_zones_and_custom_frequencies(tmp_path):
    import dateutil.tz

    from gruforecast import OnnxForecaster

    index = pd.date_range("2024-03-20", periods=80, freq="h", tz=dateutil.tz.gettz("Europe/Paris"))
    series = pd.Series(np.sin(np.arange(80) / 3), index=index)
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(series)
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "tz.onnx")).forecast(30)
    expected = forecaster.forecast(30)  # crosses the switch to summer time on 03-31
    assert [t.isoformat() for t in served.index] == [t.isoformat() for t in expected.index]
    holidays = pd.bdate_range("2024-09-02", "2024-12-24", freq="C", holidays=["2024-12-25", "2024-12-26"])
    custom = GRUForecaster(**{**FAST, "window": 10}).fit(pd.Series(np.arange(len(holidays), dtype=float), index=holidays))
    assert list(custom.forecast(2).index.day) == [27, 30]  # the holidays are skipped
    with pytest.raises(ValueError, match="cannot be written to a model file faithfully"):
        custom.export_onnx(tmp_path / "custom.onnx")
    assert not (tmp_path / "custom.onnx").exists()
