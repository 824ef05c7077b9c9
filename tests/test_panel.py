"""Many series, one model: long frames, dicts and lists of series, fitted as one network
and forecast (by the estimator and by ONNX Runtime) in batches."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from gruforecast import GRUForecaster, OnnxForecaster
from gruforecast._panel import as_panel, is_panel
from gruforecast._plan import plan_fit
from gruforecast._policy import SEASONS_TO_DESEASONALIZE, auto_panel_window

PANEL_FAST = {**FAST, "horizon": 3}


def long_frame(n_series=8, seed=0, short=()):
    """Monthly series of different lengths, start dates and scales; ``short`` ids get 5 values."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_series):
        n = 5 if k in short else int(rng.integers(40, 90))
        start = pd.Timestamp("2000-01-01") + pd.DateOffset(months=int(rng.integers(0, 30)))
        t = np.arange(n)
        y = (20.0 + 30 * k) * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + k)) + rng.normal(0, 1, n)
        parts.append(pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(start, periods=n, freq="MS"), "y": y}))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)  # any row order


@pytest.fixture(scope="module")
def panel_frame():
    return long_frame()


@pytest.fixture(scope="module")
def fitted(panel_frame, tmp_path_factory):
    forecaster = GRUForecaster(**PANEL_FAST, window=12).fit(panel_frame)
    path = forecaster.export_onnx(tmp_path_factory.mktemp("panel") / "m.onnx")
    return forecaster, path


# ---------------------------------------------------------------- the data model


def test_a_long_frame_is_many_series_and_a_frame_without_the_id_is_one(panel_frame):
    assert is_panel(panel_frame, "unique_id")
    assert not is_panel(panel_frame[["y"]], "unique_id")
    assert is_panel({"a": [1.0, 2.0]}, "unique_id") and is_panel([np.ones(3), np.ones(4)], "unique_id")
    assert not is_panel([1.0, 2.0, 3.0], "unique_id") and not is_panel([[1.0], [2.0]], "unique_id")
    panel = as_panel(panel_frame)
    assert panel.ids == tuple(f"s{k}" for k in range(8)) and panel.freq == "MS"
    for k, name in enumerate(panel.ids):
        rows = panel_frame[panel_frame.unique_id == name].sort_values("ds")
        np.testing.assert_array_equal(panel.series(k), rows.y.to_numpy())
        assert pd.Timestamp(panel.last[k]) == rows.ds.max()


def test_windows_are_positions_in_one_array_not_copies(panel_frame):
    panel = as_panel(panel_frame)
    params = {**GRUForecaster(**PANEL_FAST, window=12).get_params()}
    plan = plan_fit(panel, params)
    assert plan.scaled.shape == panel.values.shape  # one value array, whatever the window
    assert plan.train_starts.dtype == np.int64 and plan.train_starts.ndim == 1
    # each series split like one series: its training windows, then validation, each
    # window wholly inside its own series
    for starts, width in ((plan.train_starts, 12 + 3), (plan.valid_starts, 12 + 3)):
        series = np.searchsorted(panel.offsets, starts, side="right") - 1
        assert (starts + width <= panel.offsets[series + 1]).all()
    # every series scaled by its own training part: comparable in the loss
    for k in range(panel.n_series):
        part = plan.scaled[panel.offsets[k] : panel.offsets[k + 1]]
        assert abs(part.mean()) < 1.0 and 0.3 < part.std() < 3.0


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda df: pd.concat([df, df.iloc[:1]]), r"series 's\d' has two rows at the same time \(ds 20"),
        (lambda df: pd.concat([df, pd.DataFrame({"unique_id": "w", "ds": pd.date_range("2001", periods=30, freq="W"), "y": 1.0})]),
         r"series 'w' is not on the panel's time step 'MS'"),
        (lambda df: df.drop(df.index[df.unique_id.eq("s3")][5]), r"series 's3' has 1 'MS' step with no row"),
        (lambda df: df.assign(y=df.y.where(~(df.unique_id.eq("s2") & df.ds.eq(df[df.unique_id.eq("s2")].ds.min())))),
         r"series 's2' has no value \(NaN\) at 20.*missing='interpolate'"),
        (lambda df: df.rename(columns={"ds": "date"}), r"without the column 'ds'.*time_col="),
        (lambda df: df.assign(y=df.y.astype(object).where(df.index != df.index[0], "n/a")), r"non-numeric value"),
    ],
    ids=["duplicate", "mixed frequency", "gap", "nan", "no time column", "text"],
)
def test_bad_panels_are_refused_naming_the_series(panel_frame, change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        GRUForecaster(**PANEL_FAST).fit(change(panel_frame))


def test_gaps_and_nan_are_filled_with_missing_interpolate(panel_frame):
    gappy = panel_frame.drop(panel_frame.index[panel_frame.unique_id.eq("s3")][5])
    gappy.loc[gappy.index[gappy.unique_id.eq("s1")][3], "y"] = np.nan
    ordered = gappy.sort_values(["unique_id", "ds"])  # read in place, without a copy
    before = ordered.copy()
    panel = as_panel(ordered, missing="interpolate")
    assert (panel.lengths == as_panel(panel_frame).lengths).all()
    assert panel.filled.sum() == 2 and np.isfinite(panel.values).all()
    pd.testing.assert_frame_equal(ordered, before)  # the caller's frame is untouched
    GRUForecaster(**PANEL_FAST, window=12, missing="interpolate").fit(ordered)
    pd.testing.assert_frame_equal(ordered, before)


# ---------------------------------------------------------------- fit and forecast


def test_each_series_is_forecast_at_its_own_next_times(fitted, panel_frame):
    forecaster, _ = fitted
    table = forecaster.forecast(5, interval=[0.8, 0.95])
    assert list(table.columns) == ["unique_id", "ds", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(table) == 8 * 5
    for name, rows in table.groupby("unique_id"):
        last = panel_frame[panel_frame.unique_id == name].ds.max()
        assert list(rows.ds) == list(pd.date_range(last, periods=6, freq="MS")[1:])
    assert (table.lower_95 <= table.lower_80).all() and (table.lower_80 <= table.forecast).all()
    assert np.isfinite(table.forecast).all()


def test_unseen_series_and_other_histories_in_context(fitted, panel_frame):
    forecaster, _ = fitted
    some = panel_frame[panel_frame.unique_id.isin(["s1", "s4"])]
    table = forecaster.forecast(3, context=some)
    assert list(table.unique_id.unique()) == ["s1", "s4"]
    everything = forecaster.forecast(3)
    for name in ("s1", "s4"):
        np.testing.assert_allclose(
            table[table.unique_id == name].forecast, everything[everything.unique_id == name].forecast
        )
    # a series never seen in fit, at another scale: the network is scale-free
    s2 = panel_frame[panel_frame.unique_id == "s2"].sort_values("ds")
    new = {"new": pd.Series(s2.y.to_numpy() * 1000.0, index=s2.ds.to_numpy())}
    scaled = forecaster.forecast(3, context=new)
    np.testing.assert_allclose(
        scaled.forecast.to_numpy(), 1000.0 * everything[everything.unique_id == "s2"].forecast.to_numpy(), rtol=1e-3
    )


def test_a_dict_and_a_list_of_series(panel_frame):
    series = {
        name: rows.sort_values("ds").set_index("ds").y for name, rows in panel_frame.groupby("unique_id")
    }
    # on the CPU, whose fits repeat bitwise (CUDA's need not): the same data in two forms
    from_dict = GRUForecaster(**PANEL_FAST, window=12, device="cpu").fit(series)
    from_frame = GRUForecaster(**PANEL_FAST, window=12, device="cpu").fit(panel_frame)
    pd.testing.assert_frame_equal(from_dict.forecast(3), from_frame.forecast(3))
    arrays = [s.to_numpy() for s in series.values()]
    from_list = GRUForecaster(**PANEL_FAST, window=12).fit(arrays)
    table = from_list.forecast(2)
    assert list(table.unique_id.unique()) == list(range(8))
    first = table[table.unique_id == 0]
    assert list(first.ds) == [len(arrays[0]), len(arrays[0]) + 1]  # positions continue


def test_short_series_are_named_once_and_still_forecast():
    frame = long_frame(short=(2, 5))
    with pytest.warns(UserWarning, match=r"2 of 8 series are too short.*padded on the left.*'s2', 's5'") as caught:
        forecaster = GRUForecaster(**PANEL_FAST, window=12).fit(frame)
    assert len([w for w in caught if "too short" in str(w.message)]) == 1
    table = forecaster.forecast(3)
    assert np.isfinite(table[table.unique_id == "s5"].forecast).all()


def test_other_column_names(panel_frame):
    renamed = panel_frame.rename(columns={"unique_id": "store", "ds": "date", "y": "sales"})
    forecaster = GRUForecaster(**PANEL_FAST, window=12, id_col="store", time_col="date", target_col="sales")
    table = forecaster.fit(renamed).forecast(2)
    assert list(table.columns) == ["store", "date", "forecast"]
    assert forecaster.get_params()["id_col"] == "store"  # stored untouched


def test_onnx_equals_the_estimator_per_series_in_one_call_per_block(fitted, panel_frame, monkeypatch):
    forecaster, path = fitted
    served = OnnxForecaster(path)
    expected = forecaster.forecast(7, interval=0.8)
    calls = []
    original = served._predict_windows
    monkeypatch.setattr(served, "_predict_windows", lambda w: calls.append(len(w)) or original(w))
    got = served.forecast(7, context=panel_frame)
    assert calls[:3] == [8, 8, 8]  # 7 steps, horizon 3: three batched calls for the forecast
    pd.testing.assert_frame_equal(got[["unique_id", "ds"]], expected[["unique_id", "ds"]])
    np.testing.assert_allclose(got.forecast, expected.forecast, rtol=1e-5)
    without_context = served.forecast(7, interval=0.8)
    np.testing.assert_allclose(without_context.upper_80, expected.upper_80, rtol=1e-5)


def test_saved_and_loaded(fitted, tmp_path):
    forecaster, _ = fitted
    again = GRUForecaster.load(forecaster.save(tmp_path / "m.gruf"))
    pd.testing.assert_frame_equal(again.forecast(4, interval=0.9), forecaster.forecast(4, interval=0.9))


# ---------------------------------------------------------------- the command line


def test_the_cli_fits_a_long_file_and_writes_long_tables(panel_frame, tmp_path, capsys):
    from gruforecast.cli import main

    data, model = tmp_path / "panel.csv", tmp_path / "stores.gruf"
    renamed = panel_frame.rename(columns={"unique_id": "store", "ds": "date", "y": "sales"})
    renamed.assign(note="x").to_csv(data, index=False)
    fast = ["--epochs", "3", "--hidden-size", "8", "--num-layers", "1", "--seed", "0", "--window", "12"]
    assert main(["fit", str(data), "--id-column", "store", "--time-column", "date",
                 "--column", "sales", "--horizon", "3", "--out", str(model), *fast]) == 0
    assert "fitted one model of 8 series" in capsys.readouterr().out
    for suffix in (".csv", ".parquet"):
        output = tmp_path / f"forecast{suffix}"
        assert main(["forecast", str(model), "--steps", "4", "--interval", "0.8", "--output", str(output)]) == 0
        table = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
        assert list(table.columns) == ["store", "date", "forecast", "lower_80", "upper_80"]
        assert len(table) == 8 * 4
    capsys.readouterr()
    expected = GRUForecaster.load(model).forecast(4, interval=0.8)
    np.testing.assert_allclose(table.forecast, expected.forecast)
    # another history, as a long file: the model's column names are the defaults
    assert main(["forecast", str(model), "--steps", "2", "--input", str(data)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["store", "date", "forecast"] and len(printed) == 1 + 8 * 2
    assert main(["forecast", str(model), "--steps", "2", "--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot draws one series" in capsys.readouterr().err
    # a long file whose id column has another name: --id-column says which, the time and
    # value columns are found as for one series, and the table keeps the file's names
    other = tmp_path / "ids_store.csv"
    panel_frame.rename(columns={"unique_id": "shop", "ds": "month", "y": "units"}).to_csv(other, index=False)
    assert main(["forecast", str(model), "--steps", "2", "--input", str(other), "--id-column", "shop"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["shop", "month", "forecast"] and len(printed) == 1 + 8 * 2


def test_score_and_backtest_of_many_series(fitted, panel_frame):
    forecaster, _ = fitted
    score = forecaster.score(panel_frame)
    assert np.isfinite(score) and score > 0.0  # R^2 over every window of every series


@pytest.mark.parametrize("refit", [True, False])
def test_backtest_of_many_series_scores_each_series_and_cutoff(panel_frame, refit):
    from gruforecast import backtest

    # on the CPU: the two backtests below must train the first round's model bitwise alike
    forecaster = GRUForecaster(**PANEL_FAST, window=12, device="cpu")
    result = backtest(forecaster, panel_frame, 3, initial=0.8, step=3, refit=refit, interval=0.8)
    metrics, forecasts = result.metrics, result.forecasts
    assert list(metrics.columns[:3]) == ["unique_id", "cutoff", "refitted"]
    assert {"mae", "mase", "coverage_80"} <= set(metrics.columns)
    for name, rows in metrics.groupby("unique_id"):
        series = panel_frame[panel_frame.unique_id == name].sort_values("ds").reset_index(drop=True)
        first = round(0.8 * len(series))
        expected = list(range(first, len(series) - 3 + 1, 3))
        assert list(rows.cutoff) == list(series.ds[[o - 1 for o in expected]])  # its own cutoffs
        got = forecasts[(forecasts.unique_id == name) & (forecasts.cutoff == rows.cutoff.iloc[0])]
        np.testing.assert_array_equal(got.truth, series.y[first : first + 3])  # truth after the cutoff
    assert metrics.refitted.iloc[0] and (metrics.refitted.all() == refit or not refit)
    summary = result.summary()
    assert "mae" in summary and "refitted" not in summary
    # nothing after a cutoff is used: a change after the first cutoffs leaves the first
    # round's forecasts as they were
    shifted = panel_frame.copy()
    lengths = shifted.groupby("unique_id").ds.transform("size")
    positions = shifted.groupby("unique_id").ds.rank(method="first") - 1
    shifted.loc[positions >= (0.8 * lengths).round() + 3, "y"] += 1e6
    again = backtest(forecaster, shifted, 3, initial=0.8, step=3, refit=refit)
    first_round = result.forecasts.groupby("unique_id").head(3)
    np.testing.assert_allclose(
        again.forecasts.groupby("unique_id").head(3).forecast, first_round.forecast
    )


def test_a_model_of_more_series_than_the_limits_is_refused(fitted, tmp_path):
    from gruforecast._limits import Limits

    forecaster, onnx_path = fitted
    path = forecaster.save(tmp_path / "m.gruf")
    with pytest.raises(ValueError, match=r"panel.ids \(the number of series\) is 8; expected a whole number from 1 to 4"):
        GRUForecaster.load(path, limits=Limits(series=4))
    with pytest.raises(ValueError, match=r"the number of series"):
        OnnxForecaster(onnx_path, limits=Limits(series=4))
    assert GRUForecaster.load(path, limits=Limits(series=8)).forecast(1).shape[0] == 8


# ------------------------------------------- the many-series defaults: log1p and refit


def test_log1p_is_the_default_for_non_negative_series_only(fitted, panel_frame):
    forecaster, _ = fitted
    assert forecaster.scaler_.log  # every value of panel_frame is positive
    negative = panel_frame.copy()
    negative.loc[negative.index[0], "y"] = -5.0
    assert not GRUForecaster(**PANEL_FAST, window=12).fit(negative).scaler_.log
    assert not GRUForecaster(**PANEL_FAST, window=12, target_transform=None).fit(panel_frame).scaler_.log
    with pytest.raises(ValueError, match=r"X \(the series\), series 's\d': -5\.0 at position \d+ is -1 or below.*target_transform='log'"):
        GRUForecaster(**PANEL_FAST, window=12, target_transform="log").fit(negative)
    # one series: the same rule ("auto": log1p when every value is 0 or more)
    one = panel_frame[panel_frame.unique_id == "s3"].set_index("ds")["y"].sort_index()
    assert GRUForecaster(**FAST).fit(one).scaler_.log
    assert not GRUForecaster(**FAST).fit(one - 1000).scaler_.log
    assert not GRUForecaster(**FAST, target_transform=None).fit(one).scaler_.log


def test_refit_trains_on_every_window_and_intervals_keep_the_first_networks_errors(panel_frame):
    plan = plan_fit(as_panel(panel_frame), GRUForecaster(window=12, horizon=3).get_params())
    lengths = as_panel(panel_frame).lengths
    assert len(plan.refit_starts) == int((lengths - 12 - 3 + 1).sum())  # every window
    assert len(plan.refit_starts) > len(plan.train_starts) + len(plan.valid_starts)

    # on the CPU, whose fits repeat bitwise: both must train the very same first network
    refitted = GRUForecaster(**PANEL_FAST, window=12, device="cpu").fit(panel_frame)
    first = GRUForecaster(**PANEL_FAST, window=12, refit=False, device="cpu").fit(panel_frame)
    assert refitted.refit_epochs_ == round(1.5 * refitted.history_.best_epoch) and first.refit_epochs_ is None
    losses = lambda history: [(row["train_loss"], row["valid_loss"]) for row in history]  # noqa: E731
    assert losses(refitted.history_) == losses(first.history_)  # the same first fit
    assert refitted.calibration_.scores is not None and first.calibration_.scores is None
    # the stored errors are those the first network makes on the held-out windows ...
    steps = refitted.calibration_.scores.shape[1]
    scores, floor = first.calibration_._scores(
        lambda w: GRUForecaster._predict_windows(first.state_, w), steps
    )
    np.testing.assert_allclose(refitted.calibration_.scores, scores, rtol=1e-6)
    assert refitted.calibration_.floor == pytest.approx(floor)
    # ... so the intervals are as wide as the first network's, around the refit forecast
    ours, theirs = refitted.forecast(6, interval=0.8), first.forecast(6, interval=0.8)
    assert not np.allclose(ours.forecast, theirs.forecast)
    np.testing.assert_allclose(ours.upper_80 - ours.forecast, theirs.upper_80 - theirs.forecast, rtol=1e-6)


def test_one_series_is_refitted_as_many_are(monthly):
    plain = GRUForecaster(**FAST, refit=False).fit(monthly)
    refitted = GRUForecaster(**FAST).fit(monthly)  # refit="auto": as for many series
    assert plain.refit_epochs_ is None and refitted.refit_epochs_ == round(1.5 * refitted.history_.best_epoch)
    assert not np.allclose(refitted.forecast(12), plain.forecast(12))
    bounds = refitted.forecast(6, interval=0.8)
    assert (bounds.lower_80 <= bounds.forecast).all() and (bounds.forecast <= bounds.upper_80).all()
    without_validation = GRUForecaster(**FAST, refit=True, validation_fraction=0.0).fit(monthly)
    assert without_validation.refit_epochs_ is None  # no epoch was chosen: nothing to refit


def test_scored_calibrations_keep_a_bounded_random_share_of_origins(panel_frame, monkeypatch):
    from gruforecast import _intervals

    monkeypatch.setattr(_intervals, "MAX_SCORED_ORIGINS", 10)
    forecaster = GRUForecaster(**PANEL_FAST, window=12).fit(panel_frame)
    assert forecaster.calibration_.scores.shape[0] == 10
    assert np.isfinite(forecaster.forecast(3, interval=0.5).upper_50).all()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.__setitem__((0, 0), -1.0), "calibration.scores"),
        (lambda a: a.__setitem__((0, 0), np.inf), "calibration.scores"),
    ],
)
def test_a_file_with_bad_calibration_errors_is_refused(fitted, tmp_path, change, message):
    from gruforecast import _checks, _state

    forecaster, _ = fitted
    document, arrays = _state.encode(forecaster.state_)
    arrays = {name: array.copy() for name, array in arrays.items()}  # not the model's own
    untouched = {name: array.copy() for name, array in arrays.items()}
    change(arrays["calibration.scores"])
    with pytest.raises(ValueError, match=message):
        _checks.check_state(_state.decode(document, arrays, "m.gruf"), "m.gruf")
    document["calibration"]["floor"] = -1.0
    with pytest.raises(ValueError, match="calibration.floor"):
        _checks.check_state(_state.decode(document, untouched, "m.gruf"), "m.gruf")


def test_a_log_model_refuses_a_context_it_cannot_read_naming_the_series(fitted, panel_frame):
    forecaster, path = fitted
    context = panel_frame.copy()
    context.loc[context.unique_id == "s2", "y"] = -3.0
    served = OnnxForecaster(path)
    for model in (forecaster, served):  # ONNX Runtime would give NaN, silently
        with pytest.raises(ValueError, match=r"context, series 's2' \(its last values\): -3\.0 at position 0"):
            model.forecast(3, context=context)
    one = np.full(forecaster.window_, -2.0)
    with pytest.raises(ValueError, match=r"context \(its last values\): -2\.0 at position 0"):
        forecaster.forecast(3, context=one)
    with pytest.raises(ValueError, match=r"X \(the windows\): -2\.0 at position \(0, 0\)"):
        served.predict(one[None, :])


def test_a_fit_with_a_refit_gives_back_torchs_global_generator(panel_frame):
    import torch

    torch.manual_seed(123)
    before = torch.get_rng_state()
    forecaster = GRUForecaster(**PANEL_FAST, window=12).fit(panel_frame)
    assert forecaster.refit_epochs_ is not None  # two networks were built
    assert torch.equal(torch.get_rng_state(), before)


def test_times_held_by_pyarrow_are_datetimes(fitted, panel_frame):
    pa = pytest.importorskip("pyarrow")
    forecaster, _ = fitted
    arrow = panel_frame.astype({"ds": pd.ArrowDtype(pa.timestamp("ns"))})  # as Ray Data gives
    pd.testing.assert_frame_equal(forecaster.forecast(4, context=arrow), forecaster.forecast(4, context=panel_frame))


@pytest.mark.gpu
def test_many_series_train_on_cuda_and_forecast_as_their_onnx_export(panel_frame, tmp_path):
    # the defaults for many series: log1p, a refit, intervals from the first network
    forecaster = GRUForecaster(**{**PANEL_FAST, "device": "cuda"}, window=12).fit(panel_frame)
    assert forecaster.device_.type == "cuda" and forecaster.refit_epochs_ is not None
    expected = forecaster.forecast(6, interval=0.9)
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "m.onnx")).forecast(6, interval=0.9)
    pd.testing.assert_frame_equal(served[["unique_id", "ds"]], expected[["unique_id", "ds"]])
    for column in ("forecast", "lower_90", "upper_90"):
        np.testing.assert_allclose(served[column], expected[column], rtol=1e-4)


# ---------------------------------------------------------------- deseasonalize


def test_many_monthly_series_deseasonalize_from_a_longer_window_than_the_gru_reads(panel_frame, tmp_path):
    forecaster = GRUForecaster(**PANEL_FAST).fit(panel_frame)
    network = forecaster.network_
    assert network.deseasonalize and network.season == 12
    params = forecaster.get_params()
    plan = plan_fit(as_panel(panel_frame), params)
    lengths = plan.recorded.lengths
    gru = auto_panel_window(int(np.median(lengths)), 3, 12)  # what the GRU would read alone
    width = SEASONS_TO_DESEASONALIZE * 12
    assert network.window == width and network.gru_window == gru == plan.gru_window
    # windows start up to width - gru values before a series (padded with its first value):
    # every series trains on as many windows as the GRU's part gives it, the shortest too
    assert len(plan.refit_starts) == int(np.sum(lengths - gru - 3 + 1))
    np.testing.assert_array_equal(np.diff(plan.stretches), lengths + width - gru)  # padded
    assert plan.scaled.size == lengths.sum() + (width - gru) * len(lengths)
    # served as fitted
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "m.onnx"))
    np.testing.assert_allclose(served.forecast(7, context=panel_frame).forecast,
                               forecaster.forecast(7).forecast, rtol=1e-4, atol=1e-4)
    again = GRUForecaster.load(forecaster.save(tmp_path / "m.gruf"))
    assert again.network_.deseasonalize and again.network_.gru_window == gru
    pd.testing.assert_frame_equal(again.forecast(5), forecaster.forecast(5))


def test_deseasonalize_where_it_cannot_work_is_refused_and_auto_does_without(panel_frame):
    # an explicit window too short for three seasons: 'auto' leaves it out, True is refused
    assert not GRUForecaster(**PANEL_FAST, window=12).fit(panel_frame).network_.deseasonalize
    with pytest.raises(ValueError, match="needs a window of at least 36 values"):
        GRUForecaster(**PANEL_FAST, window=24, deseasonalize=True).fit(panel_frame)
    with pytest.raises(ValueError, match="needs skip='seasonal'"):
        GRUForecaster(**PANEL_FAST, window=36, skip=None, deseasonalize=True).fit(panel_frame)
    assert not GRUForecaster(**PANEL_FAST, skip=None).fit(panel_frame).network_.deseasonalize
    few_seasons = {f"s{k}": pd.Series(np.sin(np.arange(30) + k) + 5.0,  # 30 months: under three seasons
                                      index=pd.date_range("2000-01-01", periods=30, freq="MS")) for k in range(3)}
    assert not GRUForecaster(**PANEL_FAST).fit(few_seasons).network_.deseasonalize
    series = {f"s{k}": np.sin(np.arange(60) + k) + 5 for k in range(3)}  # no dates: no season
    with pytest.raises(ValueError, match="needs a seasonal period"):
        GRUForecaster(**PANEL_FAST, window=36, deseasonalize=True).fit(series)
    assert not GRUForecaster(**PANEL_FAST).fit(series).network_.deseasonalize
    with pytest.raises(TypeError, match="deseasonalize must be True or False"):
        GRUForecaster(deseasonalize="always").fit(series)



def test_one_series_deseasonalizes_as_many_do(monthly, tmp_path):
    # 'auto' as for many series: a window given of three seasons or more is adjusted
    assert GRUForecaster(**FAST, window=36).fit(monthly).network_.deseasonalize
    assert not GRUForecaster(**FAST, window=36, deseasonalize=False).fit(monthly).network_.deseasonalize
    forecaster = GRUForecaster(**FAST, window=36, deseasonalize=True).fit(monthly)
    assert forecaster.network_.deseasonalize and forecaster.network_.gru_window is None
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "m.onnx"))  # checks parity itself
    np.testing.assert_allclose(served.forecast(12).to_numpy(), forecaster.forecast(12).to_numpy(), rtol=1e-4)
    with pytest.raises(ValueError, match="needs a window of at least 36 values"):
        GRUForecaster(**FAST, window=24, deseasonalize=True).fit(monthly)


# ---------------------------------------------------------------- time zones, ids, far futures

@pytest.mark.parametrize("freq, periods", [("D", 120), ("MS", 48)])
def test_series_in_a_time_zone_keep_their_calendar_step_across_summer_time(freq, periods):
    """Daily labels at local midnight are 23 or 25 hours apart across a change to summer
    time, and still daily (as one series of them is): the panel's step is the zone's."""
    index = pd.date_range("2024-02-01", periods=periods, freq=freq, tz="America/New_York")
    frame = pd.concat(
        (pd.DataFrame({"unique_id": k, "ds": index[k:], "y": np.sin(np.arange(k, periods) / 3) + 3 + k})
         for k in range(2)),
        ignore_index=True,
    )
    forecaster = GRUForecaster(**{**PANEL_FAST, "window": 10}).fit(frame)
    table = forecaster.forecast(3)
    expected = pd.date_range(index[-1], periods=4, freq=freq, tz="America/New_York")[1:]
    for k in range(2):
        assert list(table[table.unique_id == k].ds) == list(expected)
    one = GRUForecaster(**{**FAST, "window": 10}).fit(pd.Series(frame.y[frame.unique_id == 0].to_numpy(), index=index))
    assert list(one.forecast(3).index) == list(expected)  # as one series
    # a missing day is still a gap (named in the zone's own time), not another step
    with pytest.raises(ValueError, match=r"series 1 has 1 '(D|MS)' step with no row \(the first: 2024-0.-.. 00:00:00-0[45]:00\)"):
        GRUForecaster(**PANEL_FAST).fit(frame.drop(index=periods + 5))


def test_ids_that_are_equal_across_types_are_refused_not_merged():
    index = pd.date_range("2020-01-01", periods=30, freq="D")
    frame = pd.DataFrame({"unique_id": [True] * 30 + [1] * 30, "ds": list(index) * 2, "y": np.arange(60.0)})
    assert frame.unique_id.dtype == object
    with pytest.raises(ValueError, match=r"holds the ids True and 1, which are equal.*would merge"):
        as_panel(frame)
    with pytest.raises(ValueError, match="holds the ids"):
        GRUForecaster(**PANEL_FAST).fit(frame)
    apart = frame.assign(unique_id=frame.unique_id.astype(str))
    assert as_panel(apart).ids == ("1", "True")
    assert as_panel(frame.assign(unique_id=[True] * 30 + [False] * 30)).ids == (False, True)


def test_an_empty_context_frame_is_named(fitted):
    forecaster, path = fitted
    empty = pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": []})
    for model in (forecaster, OnnxForecaster(path)):
        with pytest.raises(ValueError, match="context holds no values: no series to read"):
            model.forecast(3, context=empty)


def test_steps_past_the_last_timestamp_fail_before_any_forecast(fitted):
    import time

    forecaster, path = fitted
    for model in (forecaster, OnnxForecaster(path)):
        started = time.perf_counter()
        with pytest.raises(ValueError, match=r"steps=100000: the labels of that many steps .* 64-bit timestamps \(up to 2262-04-11\)"):
            model.forecast(10**5)
        assert time.perf_counter() - started < 5  # refused before the 10^5 steps are computed
    top = 2**63 - 100
    labels = pd.DataFrame({"unique_id": "a", "ds": np.arange(top - 30, top), "y": np.arange(30.0)})
    integer = GRUForecaster(**{**PANEL_FAST, "window": 5}).fit(labels)
    assert integer.forecast(100).ds.max() == 2**63 - 1  # the last one there is
    with pytest.raises(ValueError, match="steps=101: .*64-bit integer labels"):
        integer.forecast(101)  # never labels wrapped round to negative numbers


def test_values_near_the_top_of_float64_fit_and_forecast_without_log1p():
    index = pd.date_range("2000-01-01", periods=80, freq="D")
    frame = pd.concat(
        pd.DataFrame({"unique_id": k, "ds": index, "y": 1e300 * (1 + 0.1 * np.sin(np.arange(80) + k))})
        for k in range(3)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way
        forecaster = GRUForecaster(**PANEL_FAST, target_transform=None).fit(frame)
        table = forecaster.forecast(3, interval=0.8)
    assert np.isfinite(table.drop(columns=["unique_id", "ds"]).to_numpy()).all()
    assert np.isfinite(list(forecaster.validation_scores_.values())).all()
    assert 0.5e300 < table.forecast.min() and table.forecast.max() < 2e300


# ---------------------------------------------------------------- one series, any container

def test_one_series_gives_one_model_whatever_holds_it(monthly, tmp_path):
    """A Series, a one-column frame, a one-id long frame, a one-key dict and a
    one-element list of the same series fit the same model: the same choices, the same
    forecasts (to the bit, in one process); each answers in its own shape."""
    containers = {
        "series": monthly,
        "one-column frame": monthly.to_frame(),
        "one-id long frame": pd.DataFrame({"unique_id": "air", "ds": monthly.index, "y": monthly.to_numpy()}),
        "one-key dict": {"air": monthly},
        "one-element list": [monthly],
    }
    fitted = {name: GRUForecaster(**{**FAST, "device": "cpu"}).fit(data) for name, data in containers.items()}
    reference = fitted["series"]
    expected = reference.forecast(8, interval=0.8)
    for name, forecaster in fitted.items():
        assert forecaster.choices_ == reference.choices_, name
        table = forecaster.forecast(8, interval=0.8)
        columns = ["forecast", "lower_80", "upper_80"]
        np.testing.assert_array_equal(table[columns].to_numpy(), expected[columns].to_numpy(), err_msg=name)
        if name in ("series", "one-column frame"):
            assert list(table.index) == list(expected.index)
        else:  # a long frame back, as for many series
            assert list(table.columns[:2]) == ["unique_id", "ds"] and list(table.ds) == list(expected.index)
    # a list and an array of the same values: one model too
    values = monthly.to_numpy()
    np.testing.assert_array_equal(
        GRUForecaster(**{**FAST, "device": "cpu"}).fit(list(values)).forecast(6),
        GRUForecaster(**{**FAST, "device": "cpu"}).fit(values).forecast(6),
    )
    # such a model keeps both: saved, loaded and exported it answers as before
    long = fitted["one-id long frame"]
    again = GRUForecaster.load(long.save(tmp_path / "one.gruf"))
    pd.testing.assert_frame_equal(again.forecast(4), long.forecast(4))
    served = OnnxForecaster(long.export_onnx(tmp_path / "one.onnx"))
    np.testing.assert_allclose(served.forecast(4).forecast, long.forecast(4).forecast, rtol=1e-6)


@pytest.mark.parametrize("freq", ["D", "B", "W-SUN", "MS", "ME", "QS-OCT", "YS-JAN", "h", "15min"])
def test_the_step_of_a_regular_series_and_of_one_with_gaps(freq):
    from gruforecast._time_index import dominant_step

    # labels without a freq attribute, as a fit reads them (pandas names some steps
    # differently across versions: QS-OCT in 2.3 is QS-JAN in 3.1)
    index = pd.DatetimeIndex(pd.date_range("2001-01-01", periods=60, freq=freq).to_numpy())
    step = pd.DatetimeIndex(index, freq="infer").freq.freqstr
    assert dominant_step(index) == step  # one inference for the whole series
    gapped = index.delete([7, 30, 31])  # no step throughout: the stretches vote
    assert pd.DatetimeIndex(gapped, freq="infer").freq is None
    assert dominant_step(gapped) == step
