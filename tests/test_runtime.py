import ast
import os
import subprocess
import sys

import numpy as np
import onnx
import pandas as pd
import pytest

from conftest import FAST
from gruforecast import GRUForecaster, OnnxForecaster, ProviderUnavailableError, make_windows
from gruforecast.runtime import _cuda_device_count
from reference_gru import grunet_forward


def relative_error(actual, expected) -> float:
    """max |actual - expected| / (1 + |expected|), NaN counting as infinitely wrong;
    written here, not taken from the package under test."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual - expected) / (1.0 + np.abs(expected))
    return float(np.max(error, initial=0.0)) if np.isfinite(error).all() else float("inf")


def numpy_predict(forecaster, windows) -> np.ndarray:
    """What the fitted weights predict, computed without the package: the scaler's affine
    map by hand, the network by the NumPy GRU of reference_gru.py; (n, horizon)."""
    network, scaler = forecaster.network_, forecaster.scaler_
    state = {k: v.double().cpu().numpy() for k, v in network.state_dict().items()}
    scaled = ((np.asarray(windows, np.float64) - scaler.offset) / scaler.scale).astype(np.float32)
    outputs = grunet_forward(state, scaled, num_layers=network.num_layers, normalize=network.normalize)
    return outputs * scaler.scale + scaler.offset


def numpy_forecast(forecaster, history, steps: int) -> np.ndarray:
    """The recursive forecast after ``history``, by hand: predict the next ``horizon``
    values from the last ``window``, append them, repeat."""
    values = list(np.asarray(history, np.float64))
    start, window = len(values), forecaster.window_
    while len(values) < start + steps:
        values.extend(numpy_predict(forecaster, np.array(values[-window:])[None, :])[0])
    return np.array(values[start : start + steps])


@pytest.fixture(scope="module")
def monthly_model(tmp_path_factory):
    from gruforecast.datasets import load_air_passengers

    series = load_air_passengers()
    # the plain network (no log1p, no seasonal adjustment), which the NumPy reference
    # computes too
    plain = {"target_transform": None, "deseasonalize": False}
    forecaster = GRUForecaster(**{**FAST, "hidden_size": 16, "num_layers": 2, "epochs": 20}, **plain).fit(series)
    path = forecaster.export_onnx(tmp_path_factory.mktemp("runtime") / "monthly.onnx")
    return series, forecaster, path


def test_forecast_equals_the_estimators(monthly_model):
    series, forecaster, path = monthly_model
    served = OnnxForecaster(path).forecast(36)
    assert relative_error(served.to_numpy(), numpy_forecast(forecaster, series, 36)) < 1e-4
    assert relative_error(served.to_numpy(), forecaster.forecast(36).to_numpy()) < 1e-4
    # AirPassengers ends in December 1960
    pd.testing.assert_index_equal(served.index, pd.date_range("1961-01-01", periods=36, freq="MS", name="month"))
    assert served.name == "air_passengers"
    assert served.index.freqstr == "MS"


def test_forecast_with_context_and_predict(monthly_model):
    series, forecaster, path = monthly_model
    served = OnnxForecaster(path)
    expected = numpy_forecast(forecaster, series.to_numpy()[:-12], 12)
    for context in (series[:-12], series.to_numpy()[:-12]):
        actual = served.forecast(12, context=context)
        assert type(actual) is type(forecaster.forecast(12, context=context))
        assert relative_error(np.asarray(actual), expected) < 1e-4
    pd.testing.assert_index_equal(
        served.forecast(12, context=series[:-12]).index, pd.date_range("1960-01-01", periods=12, freq="MS", name="month")
    )
    windows = np.lib.stride_tricks.sliding_window_view(series.to_numpy(), 24)[:-1]
    prediction = served.predict(windows)
    assert prediction.shape == (len(windows),) == (len(series) - 24,)
    assert relative_error(prediction, numpy_predict(forecaster, windows)[:, 0]) < 1e-5
    assert relative_error(prediction, forecaster.predict(windows)) < 1e-5
    with pytest.raises(ValueError, match="X has 5 features, but OnnxForecaster is expecting 24"):
        served.predict(np.ones((2, 5)))
    with pytest.raises(ValueError, match="context has 3 values; at least window_=24"):
        served.forecast(3, context=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN .*position 1"):
        served.forecast(3, context=np.r_[1.0, np.nan, np.ones(30)])


def test_multi_step_model_served(tmp_path, sine):
    X, y = make_windows(sine, 20, horizon=12)
    forecaster = GRUForecaster(**{**FAST, "horizon": 12}).fit(X, y)
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "h12.onnx"))
    assert served.predict(X[:7]).shape == (7, 12) and served.horizon == 12
    assert relative_error(served.predict(X[:7]), numpy_predict(forecaster, X[:7])) < 1e-5
    # 30 steps: two blocks of 12 and the first 6 of a third
    assert relative_error(served.forecast(30, context=sine), numpy_forecast(forecaster, sine, 30)) < 1e-4
    with pytest.raises(ValueError, match="fitted on windows"):
        served.forecast(3)


def test_serving_never_imports_torch(monthly_model, tmp_path, sine):
    _, _, path = monthly_model
    numpy_model = GRUForecaster(**{**FAST, "window": 10}).fit(sine).export_onnx(tmp_path / "np.onnx")
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
        "import gruforecast\n"
        "from gruforecast import OnnxForecaster\n"
        f"served = OnnxForecaster({str(numpy_model)!r})\n"
        "import numpy as np\n"
        "print(served.forecast(3).shape, served.predict(np.ones((4, 10))).shape)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported for NumPy data'\n"
        f"print(OnnxForecaster({str(path)!r}).forecast(2).index[0])\n"
        "assert sys.modules['torch'] is None and 'sklearn' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["(3,) (4,)", "1961-01-01 00:00:00"]


def _provider_onnx_runtime_starts(path) -> str:
    """The first provider of a plain ONNX Runtime session asked for CUDA, then the CPU:
    CUDA where it really runs here, else the CPU. Asked of ONNX Runtime directly, in a
    process of its own (its errors where CUDA cannot run are no concern of this test)."""
    code = (
        "import contextlib, io, onnxruntime as ort\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):\n"
        "    getattr(ort, 'preload_dlls', lambda: None)()\n"
        "providers = [p for p in ('CUDAExecutionProvider', 'CPUExecutionProvider') if p in ort.get_available_providers()]\n"
        "options = ort.SessionOptions()\n"
        "options.log_severity_level = 4\n"
        f"print(ort.InferenceSession({str(path)!r}, options, providers=providers).get_providers()[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_auto_providers_run_quietly(monthly_model):
    _, _, path = monthly_model
    code = f"from gruforecast import OnnxForecaster; print(OnnxForecaster({str(path)!r}).providers)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr == ""  # no CUDA error spam where CUDA cannot run
    providers = ast.literal_eval(result.stdout.strip())
    # "auto" is CUDA exactly where ONNX Runtime itself can run it here
    assert providers[0] == _provider_onnx_runtime_starts(path), providers
    assert providers[-1] == "CPUExecutionProvider"


@pytest.mark.skipif(_cuda_device_count() > 0, reason="checks the error where no GPU is visible")
def test_explicit_cuda_that_cannot_run_is_an_error(monthly_model):
    _, _, path = monthly_model
    with pytest.raises(ProviderUnavailableError, match="CUDAExecutionProvider was requested"):
        OnnxForecaster(path, providers="cuda")
    with pytest.raises(ProviderUnavailableError, match="CUDAExecutionProvider was requested"):
        OnnxForecaster(path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])


def test_provider_arguments(monthly_model):
    _, _, path = monthly_model
    assert OnnxForecaster(path, providers="cpu").providers == ["CPUExecutionProvider"]
    assert OnnxForecaster(path, providers=[("CPUExecutionProvider", {})]).providers == ["CPUExecutionProvider"]
    with pytest.raises(ProviderUnavailableError, match="'NoSuchExecutionProvider' is not in this ONNX Runtime build"):
        OnnxForecaster(path, providers=["NoSuchExecutionProvider"])
    with pytest.raises(TypeError, match="providers must be 'auto'"):
        OnnxForecaster(path, providers=[])
    with pytest.raises(TypeError, match="threads must be an integer"):
        OnnxForecaster(path, threads="4")
    assert "window=24" in repr(OnnxForecaster(path))


def test_bad_files_are_named(tmp_path, monthly_model):
    _, _, path = monthly_model
    with pytest.raises(FileNotFoundError, match="no ONNX model at .*missing.onnx"):
        OnnxForecaster(tmp_path / "missing.onnx")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[:1000])
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    foreign = tmp_path / "notes.onnx"
    foreign.write_text("not a model")
    for bad in (truncated, empty, foreign):
        with pytest.raises(ValueError, match=f"cannot load .*{bad.name}"):
            OnnxForecaster(bad)


def test_foreign_and_future_models_are_refused(tmp_path, monthly_model):
    _, _, path = monthly_model
    model = onnx.load(path)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "plain.onnx")
    with pytest.raises(ValueError, match="not one exported by gruforecast"):
        OnnxForecaster(tmp_path / "plain.onnx")
    model = onnx.load(path)
    for prop in model.metadata_props:
        if prop.key == "format_version":
            prop.value = "99"
    onnx.save(model, tmp_path / "future.onnx")
    with pytest.raises(ValueError, match="format 99.*upgrade gruforecast"):
        OnnxForecaster(tmp_path / "future.onnx")


@pytest.mark.gpu
def test_cuda_provider_matches_pytorch_on_cuda(tmp_path, sine):
    forecaster = GRUForecaster(**{**FAST, "window": 50, "hidden_size": 64, "num_layers": 2, "device": "cuda"}).fit(sine)
    path = forecaster.export_onnx(tmp_path / "cuda.onnx")
    served = OnnxForecaster(path, providers="cuda")
    assert served.providers[0] == "CUDAExecutionProvider"
    assert OnnxForecaster(path).providers[0] == "CUDAExecutionProvider"  # auto picks it
    windows, _ = make_windows(sine, 50)
    on_cpu = OnnxForecaster(path, providers="cpu")
    # full float32 on both sides (no TF32): agreement to float32 rounding
    for batch in (1, 7, 900):
        assert relative_error(served.predict(windows[:batch]), forecaster.predict(windows[:batch])) < 1e-5
        assert relative_error(served.predict(windows[:batch]), on_cpu.predict(windows[:batch])) < 1e-5
    assert relative_error(served.forecast(36), forecaster.forecast(36)) < 1e-5
    bounds = np.asarray(served.forecast(12, interval=0.9))
    assert relative_error(bounds, np.asarray(forecaster.forecast(12, interval=0.9))) < 1e-5


def test_cuda_by_name_runs_full_float32_unless_options_are_given():
    from gruforecast.runtime import _normalise_providers

    assert _normalise_providers("cuda") == [("CUDAExecutionProvider", {"use_tf32": "0"})]
    assert _normalise_providers(["CUDAExecutionProvider", "cpu"]) == [
        ("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"]
    mine = ("CUDAExecutionProvider", {"device_id": 1})
    assert _normalise_providers([mine]) == [mine]


@pytest.mark.gpu
def test_environment_cuda_visible_devices_hides_gpus():
    code = "from gruforecast.runtime import _cuda_device_count; print(_cuda_device_count())"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "0"
