"""The fitted state (gruforecast._state): one schema for model files, ONNX metadata,
pickles and `info`; files of format 1 still load."""

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from gruforecast import GRUForecaster, _state
from gruforecast._history import History
from gruforecast._limits import FORMAT_VERSION
from gruforecast._state import FittedState, NetworkShape
from gruforecast._time_index import TimeIndex
from gruforecast._intervals import Calibration
from gruforecast._scaling import SeriesScaler

DATA = Path(__file__).resolve().parent / "data"


def _state_by_hand(**changes) -> FittedState:
    index = pd.date_range("2020-01-01", periods=30, freq="MS")
    state = FittedState(
        window=6,
        horizon=2,
        scaler=SeriesScaler("standard", 10.5, 2.25),
        shape=NetworkShape(hidden_size=8, num_layers=1, normalize="window", season=12),
        device="cpu",
        gru_backend="fused",
        missing="interpolate",
        last_window=np.arange(6, dtype=float),
        calibration=Calibration(6, series=np.linspace(0, 1, 11)),
        time_index=TimeIndex.from_index(index),
        series_name="sales",
        training_span={"length": 30, "start": "2020-01-01 00:00:00", "end": "2022-06-01 00:00:00"},
        feature_names=None,
        validation_scores={"mae": 1.5, "rmse": 2.0, "smape": 3.0, "n_windows": 4},
        stop_reason="early stopping",
        history=History([{"epoch": 1, "train_loss": 0.5, "valid_loss": 0.4, "seconds": 0.1, "best": True}]),
    )
    return state.replace(**changes)


def _assert_same(decoded: FittedState, state: FittedState) -> None:
    for name in ("window", "horizon", "scaler", "shape", "device", "gru_backend", "missing",
                 "series_name", "training_span", "feature_names", "validation_scores",
                 "stop_reason"):
        assert getattr(decoded, name) == getattr(state, name), name
    assert list(decoded.history) == list(state.history)
    assert decoded.history.best_epoch == 1
    np.testing.assert_array_equal(decoded.last_window, state.last_window)
    np.testing.assert_array_equal(decoded.calibration.series, state.calibration.series)
    assert decoded.calibration.window == state.calibration.window
    assert decoded.index == state.index
    assert decoded.frequency == "MS"


def test_encode_decode_round_trip_through_json():
    state = _state_by_hand()
    document, arrays = _state.encode(state)
    text = json.dumps(document)  # plain JSON, nothing else
    decoded = _state.decode(json.loads(text), arrays, "memory")
    assert isinstance(decoded.time_index, dict)  # decoded on first use only
    _assert_same(decoded, state)


def test_onnx_metadata_round_trip():
    state = _state_by_hand(feature_names=("a", "b"))
    metadata = _state.to_onnx_metadata(state, {"exporter": "test"})
    assert all(isinstance(value, str) for value in metadata.values())
    assert metadata["window"] == "6" and metadata["horizon"] == "2"
    assert metadata["format_version"] == str(FORMAT_VERSION) and metadata["exporter"] == "test"
    assert metadata["frequency"] == "MS" and metadata["last_timestamp"].startswith("2022-06-01")
    decoded = _state.from_onnx_metadata(metadata, "m.onnx")
    _assert_same(decoded, state)


def test_newer_formats_and_foreign_metadata_are_refused():
    metadata = _state.to_onnx_metadata(_state_by_hand(), {})
    metadata["format_version"] = str(FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=f"format {FORMAT_VERSION + 1}.*upgrade gruforecast"):
        _state.from_onnx_metadata(metadata, "m.onnx")
    with pytest.raises(ValueError, match="not one exported by gruforecast.*window"):
        _state.from_onnx_metadata({"format_version": "2"}, "m.onnx")
    broken = _state.to_onnx_metadata(_state_by_hand(), {})
    broken["state"] = json.dumps({"window": 3})
    with pytest.raises(ValueError, match="'m.onnx' has"):
        _state.from_onnx_metadata(broken, "m.onnx")


def test_state_module_and_file_readers_import_no_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import gruforecast._state, gruforecast._plan, gruforecast._params, gruforecast.persistence\n"
        "assert 'pandas' not in sys.modules\n"
        f"state, params, meta = gruforecast.persistence.read_state({str(DATA / 'format1_series.gruf')!r})\n"
        "print(state.window, state.frequency, params['horizon'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["24", "MS", "3"]


# Recorded on another machine: float32 networks round differently on other CPUs (PyTorch
# picks kernels by instruction set), so the numbers agree to float32 precision, not bitwise.
ACROSS_CPUS = 1e-6


def test_format_1_model_files_load_and_forecast_as_when_written():
    expected = json.loads((DATA / "format1_expected.json").read_text())
    series_model = GRUForecaster.load(DATA / "format1_series.gruf")
    forecast = series_model.forecast(12, interval=[0.8, 0.9])
    recorded = np.asarray(expected["series"]["forecast"])  # forecast, lower_80, upper_80, ...
    np.testing.assert_allclose(forecast["forecast"], recorded[:, 0], rtol=ACROSS_CPUS)
    # since then, no step's interval is narrower than an earlier step's: the recorded
    # half-widths, made non-decreasing over the steps
    half = (recorded[:, 2::2] - recorded[:, 1::2]) / 2
    widened = np.maximum.accumulate(half, axis=0)
    np.testing.assert_allclose(forecast.iloc[:, 2::2].to_numpy(), recorded[:, :1] + widened, rtol=ACROSS_CPUS)
    np.testing.assert_allclose(forecast.iloc[:, 1::2].to_numpy(), recorded[:, :1] - widened, rtol=ACROSS_CPUS)
    assert [str(t) for t in forecast.index] == expected["series"]["index"]
    assert series_model.window_ == expected["series"]["window_"]
    assert len(series_model.history_) == expected["series"]["history_epochs"]
    assert series_model.stop_reason_ == expected["series"]["stop_reason_"]
    assert series_model.gru_backend_ is None  # not recorded in format 1
    assert not hasattr(series_model, "feature_names_in_")

    windows_model = GRUForecaster.load(DATA / "format1_windows.gruf")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["a", "b", "c", "d"])
    np.testing.assert_allclose(windows_model.predict(X.iloc[:5]), expected["windows"]["predict"], rtol=ACROSS_CPUS, atol=ACROSS_CPUS)
    assert list(windows_model.feature_names_in_) == ["a", "b", "c", "d"]


def test_format_1_model_resaved_in_the_current_format(tmp_path):
    model = GRUForecaster.load(DATA / "format1_series.gruf")
    again = GRUForecaster.load(model.save(tmp_path / "again.gruf"))
    from gruforecast.persistence import read_metadata

    assert read_metadata(tmp_path / "again.gruf")["format_version"] == str(FORMAT_VERSION)
    pd.testing.assert_series_equal(again.forecast(12), model.forecast(12))


def test_fit_publishes_one_state_and_attributes_read_from_it(monthly):
    forecaster = GRUForecaster(**FAST)
    assert not hasattr(forecaster, "window_") and not hasattr(forecaster, "state_")
    forecaster.fit(monthly)
    first = forecaster.state_
    assert forecaster.window_ is not None and forecaster.network_ is first.network
    assert forecaster.scaler_ is first.scaler and forecaster.history_ is first.history
    assert not hasattr(forecaster, "feature_names_in_")  # a series has no columns
    forecaster.set_params(window=10).fit(monthly)
    assert forecaster.state_ is not first and forecaster.window_ == 10 and first.window != 10


def test_pickle_keeps_the_state(monthly):
    forecaster = GRUForecaster(**FAST).fit(monthly)
    copy = pickle.loads(pickle.dumps(forecaster))
    assert copy.state_ is not forecaster.state_
    assert copy.gru_backend_ == forecaster.gru_backend_
    pd.testing.assert_series_equal(copy.forecast(6), forecaster.forecast(6))


@pytest.mark.parametrize("shape, error, message", [
    (dict(deseasonalize="yes"), ValueError, "network.deseasonalize must be true or false"),
    (dict(deseasonalize=True, season=12), ValueError, "needs a season of 2 or more, a window of three"),
    (dict(gru_window=7), ValueError, "network.gru_window"),
])
def test_a_deseasonalizing_shape_that_contradicts_itself_is_refused(shape, error, message):
    # window 6 cannot hold three seasons of 12, nor a GRU part of 7
    base = dict(hidden_size=8, num_layers=1, normalize="window", season=12)
    state = _state_by_hand(shape=NetworkShape(**{**base, **shape}))
    document, arrays = _state.encode(state)
    with pytest.raises(error, match=message):
        _state.decode(json.loads(json.dumps(document)), arrays, "m.gruf")


def test_what_the_fit_chose_is_recorded_shown_and_kept(monthly, tmp_path):
    from gruforecast import OnnxForecaster
    from gruforecast._policy import Choices
    from gruforecast.cli import model_info

    one = GRUForecaster(**{**FAST, "hidden_size": "auto", "batch_size": "auto"}).fit(monthly)
    chosen = one.choices_
    assert isinstance(chosen, Choices)
    # one series: the policy of many (it forecasts better; bench/README.md)
    assert (one.hidden_size_, one.target_transform_, one.deseasonalize_, one.refit_) == (48, "log", True, True)
    assert one.patience_ == 10 and one.batch_size_ == chosen.batch_size > 0 and one.windows_per_epoch_ is None
    assert chosen.window == one.window_ == 72
    # one series that window normalisation cannot serve: its own plan and defaults
    own = GRUForecaster(**{**FAST, "hidden_size": "auto"}, normalize=None).fit(monthly)
    assert (own.hidden_size_, own.target_transform_, own.deseasonalize_, own.refit_, own.patience_) == (
        64, None, False, False, 40)
    frame = pd.DataFrame({"unique_id": "a", "ds": monthly.index, "y": monthly.to_numpy()})
    two = pd.concat([frame, frame.assign(unique_id="b", y=frame.y * 2)])
    many = GRUForecaster(**{**FAST, "hidden_size": "auto"}).fit(two)
    assert (many.hidden_size_, many.target_transform_, many.deseasonalize_, many.refit_, many.patience_) == (
        48, "log", True, True, 10)
    for model in (one, many):  # kept by model files and ONNX exports
        assert GRUForecaster.load(model.save(tmp_path / "m.gruf")).choices_ == model.choices_
        assert OnnxForecaster(model.export_onnx(tmp_path / "m.onnx")).choices_ == model.choices_
        assert model_info(str(tmp_path / "m.gruf"))["choices"]["hidden_size"] == model.hidden_size_
    # a file written before choices were recorded: what its network and scaler say
    old = GRUForecaster.load(DATA / "format1_series.gruf")
    assert old.hidden_size_ == old.network_.hidden_size and old.target_transform_ is None
    assert old.patience_ is None and old.batch_size_ is None and old.refit_ is False


@pytest.mark.parametrize("choices, message", [
    ({"window": 0}, "choices.window is 0"),
    ({"target_transform": "sqrt"}, "choices.target_transform is 'sqrt'"),
    ({"refit": "yes"}, "choices.refit must be true or false"),
    ({"surprise": 1}, "choices is .*expected the fields"),
    # what the fit decided must be what the model is
    ({"window": 7}, "choices.window is 7, but the model it describes has 6"),
    ({"hidden_size": 16}, "choices.hidden_size is 16, but the model it describes has 8"),
    ({"target_transform": "log"}, "choices.target_transform is 'log', but the model it describes has None"),
    ({"deseasonalize": True}, "choices.deseasonalize is True, but the model it describes has False"),
])
def test_crafted_choices_are_refused(choices, message):
    from gruforecast._policy import Choices

    state = _state_by_hand(choices=Choices(6, 8, None, False, False, 40, 32, None))
    document, arrays = _state.encode(state)
    document["choices"].update(choices)
    with pytest.raises(ValueError, match=f"'m.gruf': {message}"):
        _state.decode(json.loads(json.dumps(document)), arrays, "m.gruf")


@pytest.mark.parametrize("kind", ["series", "panel"])
def test_files_of_format_2_load_forecast_as_when_written_and_have_the_new_attributes(kind):
    """Written by main at c98fc8d (format 2: ONNX arrays as JSON lists, no choices);
    forecasts recorded then, on another machine: float32 precision."""
    import joblib

    from gruforecast import OnnxForecaster

    expected = json.loads((DATA / "format2_expected.json").read_text())[kind]
    stem = "format2" if kind == "series" else "format2_panel"
    steps = 6 if kind == "series" else 3
    for model in (joblib.load(DATA / f"{stem}.joblib"), GRUForecaster.load(DATA / f"{stem}.gruf"),
                  OnnxForecaster(DATA / f"{stem}.onnx", providers="cpu")):
        forecast = model.forecast(steps)
        got = forecast.to_numpy() if kind == "series" else forecast["forecast"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        assert model.choices_.hidden_size == 8 and model.choices_.patience is None
    assert GRUForecaster.load(DATA / f"{stem}.gruf").refit_ is (kind == "panel")
