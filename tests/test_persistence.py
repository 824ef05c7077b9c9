"""Native model files: save/load round trips, atomic writes, refusing bad files, and
never unpickling anything."""

import json
import pickle
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from gruforecast import GRUForecaster
from gruforecast._limits import FORMAT_VERSION
from gruforecast.persistence import read_metadata

SETTINGS = {**FAST, "horizon": 3, "num_layers": 2, "calibration_fraction": 0.2}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from gruforecast.datasets import load_air_passengers

    forecaster = GRUForecaster(**SETTINGS).fit(load_air_passengers())
    path = forecaster.save(tmp_path_factory.mktemp("models") / "air.gruf")
    return forecaster, path


def test_round_trip_forecasts_identically(fitted):
    forecaster, path = fitted
    loaded = GRUForecaster.load(path)
    assert loaded.get_params() == forecaster.get_params()
    pd.testing.assert_frame_equal(
        loaded.forecast(12, interval=[0.8, 0.9]), forecaster.forecast(12, interval=[0.8, 0.9])
    )
    windows = np.abs(np.random.default_rng(0).normal(300, 80, (5, forecaster.window_)))  # log1p
    np.testing.assert_array_equal(loaded.predict(windows), forecaster.predict(windows))
    for name in ("window_", "horizon_", "n_features_in_", "scaler_", "time_index_",
                 "series_name_", "training_span_", "validation_scores_", "stop_reason_"):
        assert getattr(loaded, name) == getattr(forecaster, name), name
    assert list(loaded.history_) == list(forecaster.history_)
    assert loaded.history_.best_epoch == forecaster.history_.best_epoch
    assert loaded.device_ == forecaster.device_ and not loaded.network_.training
    # a loaded model keeps working as an estimator: refit, clone
    from sklearn.base import clone

    assert clone(loaded).get_params() == forecaster.get_params()


def test_windowed_fit_with_feature_names_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["a", "b", "c", "d"])
    y = X.sum(axis=1).to_numpy()
    forecaster = GRUForecaster(**FAST).fit(X, y)
    loaded = GRUForecaster.load(forecaster.save(tmp_path / "windows.gruf"))
    assert list(loaded.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(loaded.predict(X), forecaster.predict(X))
    assert loaded.last_window_ is None and loaded.training_span_ is None
    with pytest.raises(ValueError, match="context"):
        loaded.forecast(3)


def test_metadata_reads_without_torch(fitted):
    _, path = fitted
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from gruforecast.persistence import read_metadata\n"
        f"config = read_metadata({str(path)!r})['config']\n"
        "print(config['state']['window'], config['state']['training_span']['start'])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["72", "1949-01-01", "00:00:00"]


def test_failed_save_leaves_the_old_file(fitted, tmp_path, monkeypatch):
    forecaster, path = fitted
    target = tmp_path / "model.gruf"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    def half_then_crash(self, data):
        with open(self, "wb") as file:
            file.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr("pathlib.Path.write_bytes", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        forecaster.save(target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.gruf"]  # no temporary left
    GRUForecaster.load(target)


def _bad_files(path, folder):
    data = path.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + size])
    future = dict(header)
    future["__metadata__"] = {**header["__metadata__"], "format_version": str(FORMAT_VERSION + 1)}
    encoded = json.dumps(future).encode()
    files = {
        "empty": (b"", "empty or truncated"),
        "truncated header": (data[:100], "truncated"),
        "truncated tensors": (data[: len(data) - 50], "truncated"),
        "csv": (b"month,value\n1949-01,112\n" * 20, "not a gruforecast model"),
        "future": (struct.pack("<Q", len(encoded)) + encoded + data[8 + size :], "upgrade gruforecast"),
    }
    from safetensors.numpy import save

    files["foreign safetensors"] = (save({"w": np.zeros(3)}), "without gruforecast metadata")
    for name, (content, message) in files.items():
        target = folder / f"{name.replace(' ', '_')}.gruf"
        target.write_bytes(content)
        yield name, target, message


def test_bad_files_are_refused_naming_the_file(fitted, tmp_path):
    _, path = fitted
    for name, target, message in _bad_files(path, tmp_path):
        for reader in (GRUForecaster.load, read_metadata):
            with pytest.raises(ValueError, match=message) as error:
                reader(target)
            assert str(target) in str(error.value), (name, reader)
    with pytest.raises(FileNotFoundError, match="no model file"):
        GRUForecaster.load(tmp_path / "missing.gruf")


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_loading_a_pickle_payload_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(str(marker)))
    pickle.loads(payload).close()  # the payload works when unpickled ...
    assert marker.exists()
    marker.unlink()
    for name, content in {
        "model.gruf": payload,
        # ... and hidden behind a well-formed header announcing gruforecast
        "disguised.gruf": _disguised(payload),
    }.items():
        target = tmp_path / name
        target.write_bytes(content)
        with pytest.raises(ValueError):
            GRUForecaster.load(target)
        assert not marker.exists()  # ... but loading it never unpickles


def _disguised(payload: bytes) -> bytes:
    header = json.dumps({
        "__metadata__": {"format": "gruforecast", "format_version": "1", "config": "{}"},
        "network.x": {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]},
    }).encode()
    return struct.pack("<Q", len(header)) + header + payload


def test_custom_frequency_that_cannot_be_saved_is_refused(tmp_path):
    days = pd.bdate_range("2024-09-02", "2024-12-24", freq="C", holidays=["2024-12-25"])
    series = pd.Series(np.arange(len(days), dtype=float), index=days)
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(series)
    with pytest.raises(ValueError, match="cannot be written to a model file faithfully"):
        forecaster.save(tmp_path / "custom.gruf")
    assert not any(tmp_path.iterdir())


def test_load_on_an_explicit_device(fitted):
    _, path = fitted
    assert GRUForecaster.load(path, device="cpu").device_.type == "cpu"
    with pytest.raises(ValueError, match="device"):
        GRUForecaster.load(path, device="tpu")
