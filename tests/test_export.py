import json
from pathlib import Path

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

EXPORTED_MODEL = Path(__file__).resolve().parents[1] / "exported" / "air_passengers.onnx"
# Two GRU layers so that the layer-to-layer wiring of the exported graph is exercised;
# the plain network (no log1p, no seasonal adjustment), which the NumPy reference
# computes too (the other graphs: every configuration, in the operators' test below)
SETTINGS = {**FAST, "hidden_size": 16, "num_layers": 2, "target_transform": None, "deseasonalize": False}




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
    # arrays: the base64 of their little-endian float64 bytes, and their shape
    last_window = state["arrays"]["last_window"]
    assert last_window["shape"] == [24]
    decoded = np.frombuffer(__import__("base64").b64decode(last_window["float64"]), "<f8")
    np.testing.assert_array_equal(decoded, series.to_numpy()[-24:])
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


# ---------------------------------------------------------------- every fitted model exports

TINY = dict(hidden_size=4, num_layers=1, epochs=1, batch_size=64, random_state=0)


def _panel(columns: dict, start="2024-01-01", freq="D") -> pd.DataFrame:
    """A long frame of the given series (id -> values), on one daily calendar."""
    return pd.concat(
        pd.DataFrame({"unique_id": key, "ds": pd.date_range(start, periods=len(values), freq=freq), "y": values})
        for key, values in columns.items()
    )


def _counts(seed=0, n=30, length=120):
    """Daily Poisson series with means 0.3 to 40: mostly zeros at the low end."""
    rng = np.random.default_rng(seed)
    return {f"s{k}": rng.poisson(mean, length).astype(float) for k, mean in enumerate(np.linspace(0.3, 40, n))}


def _exports_with_parity(forecaster, data, path):
    """Export, then ONNX Runtime agrees with PyTorch on the model's own forecasts and on
    windows of the data (raw units, as the model sees them in use)."""
    from gruforecast import OnnxForecaster

    forecaster.export_onnx(path)
    served = OnnxForecaster(path, providers="cpu")
    horizon, window = forecaster.horizon_, forecaster.window_
    if forecaster.state_.panel is not None:
        expected, actual = forecaster.forecast(horizon), served.forecast(horizon)
        assert actual[["unique_id", "ds"]].equals(expected[["unique_id", "ds"]])
        expected, actual = expected["forecast"].to_numpy(), actual["forecast"].to_numpy()
        windows = forecaster.state_.panel.last_windows
        series = [np.asarray(v, float) for _, v in data.groupby("unique_id")["y"]]
    else:
        expected, actual = np.asarray(forecaster.forecast(horizon)), np.asarray(served.forecast(horizon))
        windows = forecaster.last_window_[None, :]
        series = [np.asarray(data, float)]
    scaler = forecaster.scaler_
    rows = len(windows)
    assert relative_error(actual.reshape(rows, -1), expected.reshape(rows, -1), windows, scaler) < 1e-5
    real = np.concatenate([windows] + [make_windows(s, window, 1)[0] for s in series if len(s) > window])
    real = np.ascontiguousarray(real[:: max(1, len(real) // 200)])
    got, want = served.predict(real), forecaster.predict(real)
    assert relative_error(got.reshape(len(real), -1), want.reshape(len(real), -1), real, scaler) < 1e-5


NAMED = {
    # 30 daily count series, means 0.3 to 40 (the case that could not export: log1p by
    # default, and the parity check drew raw windows below -1)
    "counts with many zeros": lambda: _panel(_counts()),
    "a constant series": lambda: _panel({"a": np.full(90, 5.0), "b": np.full(90, 5.0)}),
    "all-zero series": lambda: _panel({"zero": np.zeros(90), "one": np.random.default_rng(1).poisson(0.2, 90) * 1.0}),
    "heavy tails": lambda: _panel({f"p{k}": np.random.default_rng(k).pareto(1.1, 100) * 10 for k in range(4)}),
    "negative values": lambda: _panel({f"n{k}": np.random.default_rng(k).normal(-50, 20, 100) for k in range(3)}),
    "one value of 1e6": lambda: _panel({"a": np.r_[np.ones(60), 1e6, np.ones(39)], "b": np.arange(100.0)}),
}


@pytest.mark.parametrize("case", list(NAMED))
def test_every_panel_that_fits_exports_with_parity(case, tmp_path):
    data = NAMED[case]()
    forecaster = GRUForecaster(**TINY).fit(data)  # all defaults but the network's size
    _exports_with_parity(forecaster, data, tmp_path / "m.onnx")


@pytest.mark.parametrize("case", ["constant", "all zero", "counts", "one value of 1e6"])
def test_every_series_that_fits_exports_with_parity(case, tmp_path):
    rng = np.random.default_rng(0)
    values = {
        "constant": np.full(80, 3.0),
        "all zero": np.zeros(80),
        "counts": rng.poisson(0.4, 80).astype(float),
        "one value of 1e6": np.r_[rng.uniform(0, 2, 50), 1e6, rng.uniform(0, 2, 29)],
    }[case]
    for transform in (None, "log"):
        forecaster = GRUForecaster(**TINY, window=8, target_transform=transform).fit(values)
        _exports_with_parity(forecaster, values, tmp_path / f"{transform}.onnx")


def test_a_log_model_checks_parity_on_windows_it_could_be_given(tmp_path):
    forecaster = GRUForecaster(**TINY).fit(_panel(_counts(n=6, length=60)))
    assert forecaster.scaler_.log
    from gruforecast.export import _parity_windows

    windows = _parity_windows(forecaster.state_, None)
    assert (windows > -1).all()  # log1p of every one is finite
    # the series' own last windows are among them
    assert any((windows == row).all(axis=1).any() for row in forecaster.state_.panel.last_windows)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KINDS = ("counts", "constant", "zeros", "signed", "lognormal", "spike")


@st.composite
def panels(draw):
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    columns = {}
    for k in range(n):
        length = draw(st.integers(30, 90))
        kind = draw(st.sampled_from(_KINDS))
        level = 10.0 ** draw(st.integers(-3, 5))
        values = {
            "counts": lambda: rng.poisson(draw(st.sampled_from([0.1, 1.0, 25.0])), length) * 1.0,
            "constant": lambda: np.full(length, level),
            "zeros": lambda: np.zeros(length),
            "signed": lambda: rng.normal(0, level, length),
            "lognormal": lambda: rng.lognormal(np.log(level), 1.5, length),
            "spike": lambda: np.r_[np.ones(length - 1) * level, 1e6],
        }[kind]()
        columns[f"s{k}"] = values
    transform = draw(st.sampled_from(["auto", None] + (["log"] if all((v > -1).all() for v in columns.values()) else [])))
    horizon = draw(st.sampled_from([1, 3]))
    return _panel(columns), transform, horizon


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(example=panels())
def test_any_panel_that_fits_exports_with_parity(example, tmp_path):
    data, transform, horizon = example
    forecaster = GRUForecaster(**TINY, horizon=horizon, target_transform=transform).fit(data)
    _exports_with_parity(forecaster, data, tmp_path / "m.onnx")


# ---------------------------------------------------------------- the operators we write

def _configurations():
    """One fitted model for each way the graph can differ: target transform, scaler,
    normalisation, seasonal skip, layers, horizon; deseasonalize (with its GRU part)."""
    index = pd.date_range("2000-01-01", periods=120, freq="MS")
    series = pd.Series(10 + np.sin(np.arange(120) * np.pi / 6) + 0.05 * np.arange(120), index=index)
    for transform in (None, "log"):
        for scaler in ("standard", "minmax", None):
            for normalize, skip, layers, horizon in (("window", "seasonal", 1, 1), (None, None, 2, 3), ("window", None, 2, 1), (None, "seasonal", 1, 3)):
                yield GRUForecaster(**{**TINY, "num_layers": layers}, window=36, horizon=horizon, scaler=scaler, target_transform=transform,
                                    normalize=normalize, skip=skip).fit(series)
    panel = pd.concat(pd.DataFrame({"unique_id": k, "ds": index, "y": series.to_numpy() * (k + 1)}) for k in range(3))
    deseasonalized = GRUForecaster(**TINY, horizon=3, deseasonalize=True).fit(panel)
    assert deseasonalized.state_.shape.gru_window is not None
    yield deseasonalized
    # covariates: their channels in the window and a decoder over the horizon
    covariates = panel.assign(promo=np.arange(len(panel)) % 3 == 0, region=panel["unique_id"] % 2)
    yield GRUForecaster(**TINY, horizon=3, init="random", future_covariates=["promo"],
                        static_covariates=["region"], calendar="auto").fit(covariates)
    yield GRUForecaster(**TINY, horizon=3, init="random", past_covariates=["promo"]).fit(
        covariates.drop(columns="region"))
    X, y = make_windows(series.to_numpy(), 12, 2)
    yield GRUForecaster(**TINY, horizon=2).fit(X, y)  # the plain regressor form


def test_the_allowed_operators_are_exactly_those_export_writes(tmp_path):
    from gruforecast._onnx_file import WRITTEN_OPERATORS, read_onnx
    from gruforecast._limits import Limits

    written = {}
    paths = [EXPORTED_MODEL]
    for k, forecaster in enumerate(_configurations()):
        for opset in (17, 20) if k == 0 else (17,):
            paths.append(forecaster.export_onnx(tmp_path / f"m{k}-{opset}.onnx", opset=opset))
    for path in paths:
        model = onnx.load(path)
        found = {(node.domain, node.op_type) for node in model.graph.node}
        assert all(not node.attribute or all(a.type != onnx.AttributeProto.GRAPH for a in node.attribute)
                   for node in model.graph.node)  # no subgraphs
        # the file reader finds what the onnx package finds
        assert read_onnx(path.read_bytes(), str(path), Limits()).operators == found
        for domain, op in found:
            assert domain == ""
            written.setdefault(op, path.name)
    assert set(written) == WRITTEN_OPERATORS, (
        f"export writes {sorted(set(written) - WRITTEN_OPERATORS)} beyond WRITTEN_OPERATORS "
        f"(add them there), which lists {sorted(WRITTEN_OPERATORS - set(written))} that no "
        "configuration writes (remove them)"
    )

