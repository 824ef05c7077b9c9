"""Hostile input, extreme scales and concurrency.

Property-based tests (hypothesis) throw generated input at every entry point: lengths 0
to 10^4, NaN and inf at random places, constant series, magnitudes from 1e-12 to 1e12,
negative values, int/float16/float64/object/bool dtypes, lists of mixed types,
DataFrames of 0, 1 and 2 columns, unsorted and duplicated time indexes. Every call must
either succeed with finite output or raise ValueError/TypeError with a message; nothing
else (no torch traceback, no silent NaN). The draw is the same on every run (see
conftest.py); ``HYPOTHESIS_PROFILE=explore python3 -m pytest tests/test_hardening.py``
draws new examples.
"""

import re
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import FAST
from gruforecast import GRUForecaster, IntervalWarning, OnnxForecaster
from gruforecast._validation import as_series

MAGNITUDES = [1e-12, 1e-9, 1e-3, 1.0, 1e3, 1e9, 1e12]
KINDS = [
    "float64", "float32", "float16", "int", "bool", "object", "mixed list", "list",
    "dataframe 0", "dataframe 1", "dataframe 2", "series", "series unsorted",
    "series duplicated", "series monthly",
]
def examples(count: int) -> settings:
    """``count`` examples, no per-example deadline (a fit takes a while)."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def raw_values(draw, min_size=0, max_size=10_000):
    """Float64 values: noise, constant or trend, at some magnitude and sign, with NaN or
    inf at a few random places sometimes."""
    n = draw(st.integers(min_size, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["noise", "constant", "trend", "level"]))
    scale = draw(st.sampled_from(MAGNITUDES)) * draw(st.sampled_from([1.0, -1.0]))
    if shape == "constant":
        values = np.full(n, scale)
    elif shape == "trend":
        values = scale * (np.arange(n) / max(n, 1) + 0.1 * rng.standard_normal(n))
    elif shape == "level":  # large level, small wiggles
        values = scale * (1.0 + 1e-3 * rng.standard_normal(n))
    else:
        values = scale * rng.standard_normal(n)
    if n and draw(st.integers(0, 3)) == 0:
        places = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
        values[places] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return values


@st.composite
def series_like(draw, min_size=0, max_size=10_000):
    """Something a user might pass as a series."""
    values = draw(raw_values(min_size, max_size))
    kind = draw(st.sampled_from(KINDS))
    n = len(values)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind in ("float32", "float16"):
            return values.astype(kind)
        if kind == "int":
            return np.nan_to_num(values, nan=0, posinf=1, neginf=-1).clip(-1e15, 1e15).astype(np.int64)
        if kind == "bool":
            return values > 0
        if kind == "object":
            return values.astype(object)
        if kind == "list":
            return values.tolist()
        if kind == "mixed list":
            mixed = values.tolist()
            if mixed:
                mixed[draw(st.integers(0, n - 1))] = draw(st.sampled_from(["x", None, "1.5", True, [1]]))
            return mixed
        if kind.startswith("dataframe"):
            columns = int(kind[-1])
            return pd.DataFrame({f"c{j}": values for j in range(columns)}, index=range(n))
    index = pd.date_range("2000-01-01", periods=n, freq="D")
    if kind == "series monthly":
        index = pd.date_range("2000-01-01", periods=n, freq="MS") if n < 2000 else index
    elif kind == "series unsorted" and n > 1:
        index = index[::-1]
    elif kind == "series duplicated" and n > 1:
        index = index.delete(-1).insert(0, index[0])
    return pd.Series(values, index=index, name="y")


NON_FINITE = re.compile(r"contains (NaN|-inf|inf)\b.*? at (?:position (\d+)|row (\d+), column (\d+))")


def _as_floats(data) -> np.ndarray:
    """``data`` as a float array in the positions a message counts (text that is not a
    number, never reported as non-finite, becomes 0)."""
    if isinstance(data, (pd.Series, pd.DataFrame)):
        data = data.to_numpy()
    array = np.asarray(data, dtype=object)
    convert = np.frompyfunc(lambda v: np.nan if v is None else float(v) if not isinstance(v, str) else 0.0, 1, 1)
    return convert(array).astype(np.float64) if array.size else array.astype(np.float64)


def succeeds_or_explains(call, what: str | tuple[str, ...], data=None):
    """Run ``call``: finite output, or a ValueError/TypeError whose message names what is
    at fault (``what``: "series", "context", "X", "interval", or one of several) and,
    where it reports a NaN or inf in ``data`` at a position, is right about that position."""
    try:
        result = call()
    except (ValueError, TypeError) as error:
        message = str(error)
        names = (what,) if isinstance(what, str) else what
        assert any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", message) for n in names), (what, message)
        assert "Traceback" not in message
        found = NON_FINITE.search(message)
        if found and data is not None:
            kind, position, row, column = found.groups()
            values = _as_floats(data)
            value = values.ravel()[int(position)] if position else values[int(row), int(column)]
            assert np.isnan(value) if kind == "NaN" else value == float(kind), (message, value)
        event(f"refused: {type(error).__name__}: {message[:40]}")
        return None
    if isinstance(result, (pd.Series, pd.DataFrame)):
        result = result.to_numpy()
    array = np.asarray(result, dtype=np.float64)
    assert np.isfinite(array).all(), result
    event("succeeded")
    return result


def _honoured_or_warned(forecaster, steps, level):
    """The forecast with an interval: bounds that are finite, or -inf/inf from the step
    on where the calibration errors run out, with an IntervalWarning saying so. Returns
    the finite part (the forecast and the honoured steps' bounds)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = np.asarray(forecaster.forecast(steps, interval=level))
    infinite = np.isinf(table[:, 1:]).any(axis=1)
    warned = [w.message for w in caught if isinstance(w.message, IntervalWarning)]
    assert bool(infinite.any()) == bool(warned), (table, warned)
    if warned:
        first = warned[0].step - 1
        assert not infinite[:first].any() and infinite[first:].all()
        assert (table[first:, 1] == -np.inf).all() and (table[first:, 2] == np.inf).all()
    return table[~infinite]


def assert_agree(actual, expected, inputs):
    """The back ends agree to float32 precision of what they were given. Both run the
    network in float32, and a window's level and spread are float32 there too: for a
    window 10^10 times the training data's scale, a forecast far smaller than the window
    is the difference of float32 numbers of the window's size, so the agreement is
    relative to that size, not to the forecast's."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    size = 1.0 + np.abs(expected) + float(np.max(np.abs(inputs), initial=0.0))
    assert np.max(np.abs(actual - expected) / size) < 1e-4


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small fitted forecaster and its ONNX export (window 8, horizon 2)."""
    series = np.sin(np.arange(300) / 5) * 10 + 50
    forecaster = GRUForecaster(**{**FAST, "window": 8, "horizon": 2, "calibration_fraction": 0.2}).fit(series)
    path = forecaster.export_onnx(tmp_path_factory.mktemp("hardening") / "m.onnx")
    return forecaster, OnnxForecaster(path)


@examples(1500)
@given(series_like())
def test_series_validation_accepts_or_explains(data):
    result = succeeds_or_explains(lambda: as_series(data).values, "series", data)
    if result is not None:
        assert result.ndim == 1 and result.dtype == np.float64


@examples(600)
@given(series_like(max_size=400), st.integers(1, 30))
def test_forecast_from_any_context_agrees_between_back_ends(fitted, context, steps):
    forecaster, served = fitted
    expected = succeeds_or_explains(lambda: forecaster.forecast(steps, context=context), "context", context)
    actual = succeeds_or_explains(lambda: served.forecast(steps, context=context), "context", context)
    assert (expected is None) == (actual is None)
    if expected is not None:
        assert_agree(actual, expected, as_series(context).values[-forecaster.window_ :])


@st.composite
def windows_like(draw):
    rows = draw(st.integers(0, 40))
    width = draw(st.sampled_from([0, 7, 8, 9]))
    values = draw(raw_values(rows * width, rows * width)).reshape(rows, width)
    kind = draw(st.sampled_from(["array", "float16", "object", "list", "frame", "1d", "3d", "int"]))
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "float16":
            return values.astype(np.float16)
        if kind == "object":
            return values.astype(object)
        if kind == "list":
            return values.tolist()
        if kind == "frame":
            return pd.DataFrame(values)
        if kind == "1d":
            return values.ravel()
        if kind == "3d":
            return values[:, :, None]
        if kind == "int":
            return np.nan_to_num(values, nan=0, posinf=1, neginf=-1).clip(-1e15, 1e15).astype(np.int64)
    return values


@examples(800)
@given(windows_like())
def test_predict_on_any_windows_agrees_between_back_ends(fitted, windows):
    forecaster, served = fitted
    expected = succeeds_or_explains(lambda: forecaster.predict(windows), "X", windows)
    actual = succeeds_or_explains(lambda: served.predict(windows), "X", windows)
    assert (expected is None) == (actual is None)
    if expected is not None:
        assert_agree(actual, expected, np.asarray(windows, dtype=float))


@examples(60)
@given(series_like(max_size=3000), st.sampled_from([3, "auto"]), st.sampled_from([1, 3]))
def test_fit_then_predict_forecast_score_on_any_series(data, window, horizon):
    forecaster = GRUForecaster(
        window=window, horizon=horizon, hidden_size=2, num_layers=1, epochs=1,
        batch_size=256, calibration_fraction=0.2, random_state=0,
    )
    if succeeds_or_explains(lambda: forecaster.fit(data).forecast(5), ("X", "series"), data) is None:
        assert not hasattr(forecaster, "network_")  # a failed fit leaves nothing behind
        return
    succeeds_or_explains(lambda: forecaster.score(data), "X", data)
    succeeds_or_explains(lambda: _honoured_or_warned(forecaster, 5, 0.5), "interval")
    last = np.asarray(as_series(data).values)[-forecaster.window_ :]
    succeeds_or_explains(lambda: forecaster.predict(last[None, :]), "X", last[None, :])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        served = succeeds_or_explains(lambda: OnnxForecaster(forecaster.export_onnx(path)).forecast(5), "series")
        if served is not None:
            assert_agree(served, forecaster.forecast(5), last)


@pytest.mark.parametrize("magnitude", [1e12, 1e-9])
def test_extreme_magnitudes_forecast_like_unit_ones(magnitude):
    # after scaling the network sees the same numbers: the forecast is the unit one, scaled
    # (without log1p, which the positive offset series would get, and which is not)
    series = np.sin(np.arange(400) / 6) + 0.1 * np.arange(400) / 400
    settings = {**FAST, "window": 24, "horizon": 3, "epochs": 5, "target_transform": None}
    unit = GRUForecaster(**settings).fit(series)
    big = GRUForecaster(**settings).fit(series * magnitude)
    np.testing.assert_allclose(big.forecast(12) / magnitude, unit.forecast(12), rtol=1e-4, atol=1e-5)
    offset = GRUForecaster(**settings).fit(series * magnitude + 5 * magnitude)
    np.testing.assert_allclose((offset.forecast(12) - 5 * magnitude) / magnitude, unit.forecast(12), atol=1e-3)


def test_a_huge_learning_rate_never_leaves_a_nan_model(sine):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "training diverged ...", if it does
        try:
            forecaster = GRUForecaster(**{**FAST, "lr": 10.0, "gradient_clip": None, "epochs": 5}).fit(sine)
        except ValueError as error:
            assert "diverged" in str(error) and "lower lr" in str(error)
            return
    assert np.isfinite(forecaster.forecast(20)).all()
    assert all(np.isfinite(row["train_loss"]) for row in forecaster.history_)


def test_eight_threads_get_exactly_the_serial_results(fitted):
    forecaster, served = fitted
    rng = np.random.default_rng(0)
    calls = [rng.normal(50, 10, (int(rng.integers(1, 5)), 8)) for _ in range(1000)]
    expected = {
        "torch": [forecaster.predict(windows) for windows in calls],
        "onnx": [served.predict(windows) for windows in calls],
    }
    expected_forecast = served.forecast(6, interval=0.5)
    results: dict = {}
    errors: list = []
    start = threading.Barrier(8)

    def work(thread: int) -> None:
        try:
            start.wait()
            model = forecaster if thread % 2 else served
            name = "torch" if thread % 2 else "onnx"
            order = np.random.default_rng(thread).permutation(len(calls))
            got = {int(i): model.predict(calls[i]) for i in order}
            results[thread] = (name, [got[i] for i in range(len(calls))], served.forecast(6, interval=0.5))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 8
    for name, outputs, forecast in results.values():
        for got, want in zip(outputs, expected[name]):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(forecast, expected_forecast)


def test_a_crash_mid_write_keeps_the_old_files(fitted, tmp_path, monkeypatch):
    """export_onnx, save and the command line's --output all write atomically."""
    from gruforecast.cli import main

    forecaster, _ = fitted
    model, onnx_file, table = tmp_path / "m.gruf", tmp_path / "m.onnx", tmp_path / "f.csv"
    forecaster.save(model)
    forecaster.export_onnx(onnx_file)
    assert main(["forecast", str(model), "--steps", "3", "--output", str(table), "-q"]) == 0
    before = {path: path.read_bytes() for path in (model, onnx_file, table)}

    def half_then_crash(self, data, *args, **kwargs):
        with open(self, "wb") as file:
            file.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr("pathlib.Path.write_bytes", half_then_crash)
    real_to_csv = pd.DataFrame.to_csv

    def csv_then_crash(self, path, *args, **kwargs):
        real_to_csv(self.iloc[:1], path, *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", csv_then_crash)
    with pytest.raises(OSError):
        forecaster.export_onnx(onnx_file)
    with pytest.raises(OSError):
        forecaster.save(model)
    assert main(["forecast", str(model), "--steps", "5", "--output", str(table), "-q"]) == 2
    monkeypatch.undo()
    for path, content in before.items():
        assert path.read_bytes() == content, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "m.gruf", "m.onnx"]
