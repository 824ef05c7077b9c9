"""What a new user meets after AirPassengers: short series, gaps, the wrong frequency,
intervals that cannot be honoured; each a reproducer from the issue that found it."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from gruforecast import GRUForecaster, IntervalWarning, OnnxForecaster, backtest


def hourly_with_gaps(absent=(50, 51, 120), length=300):
    index = pd.date_range("2020-01-01", periods=length, freq="h")
    series = pd.Series(np.sin(np.arange(length) / 5.0) + 2.0, index=index, name="load")
    return series.drop(index[list(absent)])


# ---------------------------------------------------------------- gaps in the time index


def test_rows_missing_from_an_hourly_index_are_named_not_fitted_over():
    """They were fitted over (windows straddling the gap as if it were not there), and
    forecast then refused for want of a frequency, advising asfreq('MS')."""
    with pytest.raises(ValueError, match=r"gaps in its time index: 3 'h' steps .* no row "
                       r"\(the first: 2020-01-03 02:00:00\).*missing='interpolate'"):
        GRUForecaster(**FAST, window=12).fit(hourly_with_gaps())


def test_missing_interpolate_inserts_the_absent_rows_and_fills_them():
    series = hourly_with_gaps()
    forecaster = GRUForecaster(**FAST, window=12, missing="interpolate").fit(series)
    assert forecaster.time_index_.freq == "h"
    assert forecaster.training_span_["length"] == 300  # the 3 absent hours are back
    forecast = forecaster.forecast(3)
    assert list(forecast.index) == list(pd.date_range("2020-01-13 12:00", periods=3, freq="h"))
    # a context with a gap is filled the same way
    context = forecaster.forecast(3, context=series[-100:])
    np.testing.assert_allclose(context, forecast)


def test_a_period_index_that_skips_a_period_is_a_gap_too():
    index = pd.period_range("2000-01", periods=60, freq="M")
    series = pd.Series(np.arange(60.0), index=index).drop(pd.Period("2002-03", "M"))
    with pytest.raises(ValueError, match=r"1 'M' step between 2000-01 and 2004-12 has no row"):
        GRUForecaster(**FAST, window=12).fit(series)
    fitted = GRUForecaster(**FAST, window=12, missing="interpolate").fit(series)
    assert fitted.training_span_["length"] == 60


def test_an_index_on_no_regular_step_is_left_alone():
    stamps = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06",
                             "2020-01-13", "2020-01-15", "2020-01-21", "2020-02-01"] * 1)
    from gruforecast._time_index import regular_grid

    assert regular_grid(pd.DatetimeIndex(stamps)) is None
    assert regular_grid(pd.date_range("2020", periods=10, freq="D")) is None  # no gap


def test_backtest_with_rows_missing_fills_each_past_on_its_own():
    series = hourly_with_gaps(absent=(250,))
    forecaster = GRUForecaster(**FAST, window=12, missing="interpolate")
    result = backtest(forecaster, series, 12, initial=240, step=24)
    truth = result.forecasts["truth"].to_numpy()
    assert np.isnan(truth).sum() == 1  # the absent hour is not scored
    assert result.forecasts["time"].iloc[10] == pd.Timestamp("2020-01-11 10:00")


# ---------------------------------------------------------------- the wrong frequency


def test_a_context_of_another_step_is_refused():
    """Hourly history into a daily model was accepted and returned hourly timestamps."""
    daily = pd.Series(np.sin(np.arange(200) / 7.0), index=pd.date_range("2021", periods=200, freq="D"))
    forecaster = GRUForecaster(**FAST, window=14).fit(daily)
    hourly = pd.Series(np.ones(48), index=pd.date_range("2022", periods=48, freq="h"))
    with pytest.raises(ValueError, match=r"context has a time step of 'h', but this model "
                       r"was fitted on a series with a step of 'D'.*one value per 'D' step"):
        forecaster.forecast(3, context=hourly)
    # the same step under another anchor or kind is the same step
    months = pd.Series(np.arange(40.0), index=pd.date_range("2000", periods=40, freq="MS"))
    monthly = GRUForecaster(**FAST, window=12).fit(months)
    as_periods = months.copy()
    as_periods.index = months.index.to_period("M")
    assert len(monthly.forecast(2, context=as_periods)) == 2
    assert len(monthly.forecast(2, context=months.to_numpy())) == 2  # no index: no check


# ---------------------------------------------------------------- a short series


def test_a_five_value_series_gets_a_word_about_its_one_value_window():
    with pytest.warns(UserWarning, match=r"has 5 values, so window='auto' chose 1 past value "
                      r"per forecast.*choose window= yourself"):
        forecaster = GRUForecaster(**FAST).fit([1.0, 2.0, 3.0, 4.0, 5.0])
    assert forecaster.window_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a window chosen by the user: no word
        GRUForecaster(**FAST, window=1).fit([1.0, 2.0, 3.0, 4.0, 5.0])


def m3_like_monthly(length=48):
    """As short as the shortest M3 monthly series (48 values; the competition's horizon
    is 18)."""
    index = pd.date_range(end="2000-12-01", periods=length, freq="MS")
    return pd.Series(np.random.default_rng(0).normal(100, 5, length), index=index)


def fitted_with_warnings(forecaster, series):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecaster.fit(series)
    return forecaster, [w for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("horizon, gru_window, trains_on", [(18, 10, 1), (12, 12, 11)])
def test_a_48_value_monthly_series_gives_up_calibration_and_forecasts(horizon, gru_window, trains_on):
    """fit refused once: 'window=10, horizon=18, validation_fraction=0.1 and
    calibration_fraction=0.1 need at least 72' (52 for horizon 12). The GRU reads a
    third of what the horizon leaves; the season is estimated from 72 values, those
    before the series padded with its first, as for any short series."""
    forecaster, caught = fitted_with_warnings(
        GRUForecaster(**FAST, horizon=horizon), m3_like_monthly()
    )
    assert len(caught) == 1  # one warning, at the user's fit call
    assert caught[0].filename == __file__
    message = str(caught[0].message)
    assert message.startswith(f"X (the series) is not long enough for window=72, horizon={horizon} ")
    assert "gave up the calibration part (this model has no prediction intervals)" in message
    assert f"it trains on {trains_on} window" in message and "with 3 for early stopping" in message
    assert (forecaster.window_, forecaster.network_.gru_window) == (72, gru_window)
    assert forecaster.calibration_ is None
    assert forecaster.validation_scores_["n_windows"] == 3  # early stopping kept
    forecast = forecaster.forecast(18)
    assert len(forecast) == 18 and np.isfinite(forecast).all()
    assert forecast.index[0] == pd.Timestamp("2001-01-01")
    # intervals: refused, saying why, and the advice is one that can work
    with pytest.raises(
        ValueError,
        match=r"no calibration data for intervals: it was fitted "
        r"with calibration_fraction=0, or on a series too short to hold windows "
        r"out for calibration \(fit said so in a warning\)\. Leave out interval= "
        r"or fit with calibration_fraction > 0 on a longer series",
    ):
        forecaster.forecast(18, interval=0.9)
    from gruforecast.cli import describe

    summary = describe(forecaster.state_)
    assert summary["window"] == 72 and summary["intervals"] is None
    assert summary["validation_scores"]["n_windows"] == 3


def test_a_window_given_by_name_keeps_its_width_and_gives_up_both_held_out_parts():
    forecaster, caught = fitted_with_warnings(
        GRUForecaster(**FAST, horizon=18, window=12), m3_like_monthly()
    )
    assert len(caught) == 1 and caught[0].filename == __file__
    assert re.search(
        r"not long enough for window=12, horizon=18 and validation_fraction=0.1, "
        r"calibration_fraction=0.1, so fit gave up the calibration part "
        r"\(.*\) and the validation part \(training runs all epochs, without early "
        r"stopping\): it trains on 19 windows\.",
        str(caught[0].message),
    )
    assert forecaster.window_ == 12 and forecaster.validation_scores_ is None
    assert len(forecaster.history_) == FAST["epochs"] and forecaster.stop_reason_ == "completed"
    assert np.isfinite(forecaster.forecast(18)).all()
    with pytest.raises(
        ValueError,
        match=r"window=30 and horizon=18 leave 1 window and its targets to learn from, and "
        r"at least 2 are needed",
    ):
        GRUForecaster(**FAST, horizon=18, window=30).fit(m3_like_monthly())
    with pytest.raises(ValueError, match=r"window=72 and horizon=47 leave 1 window and its targets"):
        GRUForecaster(**FAST, horizon=47).fit(m3_like_monthly())
    # a series that window normalisation cannot serve is fitted on its own terms, which
    # refuse as they did
    with pytest.raises(ValueError, match=r"has 48 values, but horizon=47 needs at least 49"):
        GRUForecaster(**FAST, horizon=47, deseasonalize=False).fit(m3_like_monthly())


def test_asking_for_no_calibration_gives_up_nothing():
    forecaster, caught = fitted_with_warnings(
        GRUForecaster(**FAST, horizon=12, calibration_fraction=0.0), m3_like_monthly()
    )
    assert caught == []
    with pytest.raises(ValueError, match="it was fitted with calibration_fraction=0"):
        forecaster.forecast(3, interval=0.9)


@pytest.fixture(scope="module")
def short_quarterly(tmp_path_factory):
    """The issue's 30-value quarterly series: 3 calibration errors."""
    index = pd.period_range("2000Q1", periods=30, freq="Q")
    values = np.random.default_rng(0).normal(size=30).cumsum() + 50
    series = pd.Series(values, index=index, name="sales")
    forecaster = GRUForecaster(**FAST).fit(series)
    path = forecaster.export_onnx(tmp_path_factory.mktemp("short") / "q.onnx")
    return forecaster, path


def test_a_short_series_gets_its_forecast_with_the_levels_it_can_honour(short_quarterly):
    """No forecast at all was given: 'a 90% interval at step 1 needs at least 9
    calibration errors, but this model has 3'."""
    forecaster, onnx_path = short_quarterly
    assert forecaster.calibration_.errors_per_step(2).tolist() == [3, 2]
    with pytest.warns(IntervalWarning, match=r"the 90% interval cannot be honoured from "
                      r"step 1 on.*has 3 at step 1.*interval=0.75 or lower") as caught:
        table = forecaster.forecast(2, interval=[0.5, 0.9])
    assert len(caught) == 1
    assert np.isfinite(table[["forecast", "lower_50", "upper_50"]].to_numpy()).all()
    assert (table["lower_90"] == -np.inf).all() and (table["upper_90"] == np.inf).all()
    with pytest.warns(IntervalWarning):
        served = OnnxForecaster(onnx_path).forecast(2, interval=[0.5, 0.9])
    pd.testing.assert_frame_equal(served, table, rtol=1e-5)


def test_info_says_which_levels_a_model_honours(short_quarterly, monthly):
    from gruforecast.cli import describe

    forecaster, onnx_path = short_quarterly
    assert describe(forecaster.state_)["intervals"] == "levels up to 75% (3 calibration errors per step)"
    assert describe(OnnxForecaster(onnx_path).state)["intervals"] == describe(forecaster.state_)["intervals"]
    direct = GRUForecaster(**FAST, window=12, horizon=3).fit(monthly)
    n = direct.calibration_.errors_per_step(3)[0]
    assert describe(direct.state_)["intervals"] == (
        f"levels up to {100 * np.floor(n / (n + 1) * 1000) / 1000:.10g}% at step 1 and "
        f"{100 * np.floor((n - 2) / (n - 1) * 1000) / 1000:.10g}% at step 3 "
        f"({n} calibration errors at step 1, {n - 2} at step 3)"
    )
    assert describe(GRUForecaster(**FAST, window=12, calibration_fraction=0).fit(monthly).state_)["intervals"] is None


# ---------------------------------------------------------------- the command line alone

from gruforecast.cli import in_cli_terms, main  # noqa: E402

CLI_FAST = ["--epochs", "3", "--hidden-size", "8", "--num-layers", "1", "--seed", "0"]


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_advice_in_the_library_s_terms_becomes_flags():
    assert in_cli_terms(
        "contains NaN at position 3. Fill missing values first, or let "
        "GRUForecaster(missing='interpolate') fill them."
    ).endswith("or let --missing interpolate fill them.")
    assert in_cli_terms(
        "Ask for interval=0.75 or lower or steps=3 or fewer, or a larger\n calibration_fraction"
    ) == "Ask for --interval 0.75 or lower or --steps 3 or fewer, or a larger --calibration-fraction"
    assert in_cli_terms("X (the series) has 5 values, so window='auto' chose 1; choose window= "
                        "yourself") == "the series has 5 values, so --window auto chose 1; choose --window yourself"
    # English words that are also parameter names stay words; fitted attributes stay
    text = "the interval widens over the steps; missing values; at least window_=24"
    assert in_cli_terms(text) == text


def test_from_a_csv_with_gaps_to_a_plotted_forecast_by_following_the_messages(tmp_path, capsys):
    """The issue's journey: an hourly CSV with an empty cell and two absent hours,
    through the CLI alone, doing only what the messages say."""
    index = pd.date_range("2024-01-01", periods=24 * 20, freq="h")
    values = 10 + 3 * np.sin(2 * np.pi * np.arange(len(index)) / 24)
    table = pd.DataFrame({"time": index.strftime("%Y-%m-%d %H:%M"), "load": values.round(3)})
    table.loc[100, "load"] = np.nan
    table = table.drop(index=[300, 301])
    data, model, plot = tmp_path / "load.csv", tmp_path / "m.gruf", tmp_path / "p.png"
    table.to_csv(data, index=False)

    status, _, err = cli(capsys, "fit", data, "--out", model, *CLI_FAST)
    assert status == 2 and not model.exists()
    assert "column 'load' has no value in row 101 (2024-01-05 04:00:00)" in err
    assert "give --missing interpolate" in err and "missing='interpolate'" not in err
    table.loc[100, "load"] = 10.0  # the empty cell filled in the file: the absent hours remain
    table.to_csv(data, index=False)
    status, _, err = cli(capsys, "fit", data, "--out", model, *CLI_FAST)
    assert status == 2
    assert "2 'h' steps of column 'time' have no row (the first: 2024-01-13 12:00:00)" in err
    assert "give --missing interpolate" in err
    status, out, _ = cli(capsys, "fit", data, "--out", model, "--missing", "interpolate", *CLI_FAST)
    assert status == 0
    assert "filled by interpolation: 0 empty values and 2 missing rows" in out
    assert "fitted on 480 values of 'load'" in out
    status, out, err = cli(capsys, "forecast", model, "--steps", "24", "--interval", "0.9",
                           "--plot", plot)
    assert status == 0 and plot.stat().st_size > 0
    assert "upper_90" in out and "2024-01-21 00:00:00" in out
    # a model that fills nothing says what to do about a context with gaps
    strict = tmp_path / "strict.gruf"
    complete = pd.DataFrame({"time": index.strftime("%Y-%m-%d %H:%M"), "load": values.round(3)})
    complete.to_csv(tmp_path / "complete.csv", index=False)
    assert cli(capsys, "fit", tmp_path / "complete.csv", "--out", strict, *CLI_FAST)[0] == 0
    status, _, err = cli(capsys, "forecast", strict, "--steps", "3", "--input", data)
    assert status == 2
    assert "strict.gruf was fitted without --missing interpolate" in err


def test_a_short_series_prints_its_forecast_and_a_note_in_flags(tmp_path, capsys):
    quarters = pd.period_range("2000Q1", periods=30, freq="Q").to_timestamp()
    values = np.random.default_rng(0).normal(size=30).cumsum() + 50
    data, model = tmp_path / "q.csv", tmp_path / "q.gruf"
    pd.DataFrame({"quarter": quarters.strftime("%Y-%m-%d"), "sales": values}).to_csv(data, index=False)
    assert cli(capsys, "fit", data, "--out", model, *CLI_FAST)[0] == 0
    status, out, _ = cli(capsys, "info", model)
    assert "levels up to 75% (3 calibration errors per step)" in out
    status, out, err = cli(capsys, "forecast", model, "--steps", "2", "--interval", "0.9")
    assert status == 0
    assert "inf" in out and "forecast" in out
    assert err.startswith("gruforecast: warning: the 90% interval cannot be honoured from step 1")
    assert "Ask for --interval 0.75 or lower" in err and "interval=" not in err


def test_a_short_series_fits_from_the_command_line_and_says_what_it_gave_up(tmp_path, capsys):
    series = m3_like_monthly()
    data, model = tmp_path / "short.csv", tmp_path / "short.gruf"
    pd.DataFrame({"month": series.index.strftime("%Y-%m-%d"), "sales": series.to_numpy()}).to_csv(
        data, index=False
    )
    status, out, err = cli(capsys, "fit", data, "--out", model, "--horizon", "18", *CLI_FAST)
    assert status == 0 and "window 72, horizon 18" in out
    assert (
        "gruforecast: warning: the series is not long enough for --window 72, --horizon 18 "
        "and --validation-fraction 0.1, --calibration-fraction 0.1, so fit gave up the "
        "calibration part" in err
    )
    status, out, _ = cli(capsys, "info", model)
    assert re.search(r"intervals +None", out)
    status, out, _ = cli(capsys, "forecast", model, "--steps", "18")
    assert status == 0 and "2001-06-01" in out
    status, _, err = cli(capsys, "forecast", model, "--steps", "18", "--interval", "0.9")
    assert status == 2
    assert "Leave out --interval or fit with --calibration-fraction > 0 on a longer series" in err


def test_output_to_a_device(tmp_path, capsys, monthly):
    model = tmp_path / "m.gruf"
    GRUForecaster(**FAST, window=12).fit(monthly).save(model)
    status, out, err = cli(capsys, "forecast", model, "--steps", "3", "--output", "/dev/null")
    assert (status, err) == (0, "")
    assert "wrote 3 forecast steps to /dev/null" in out
    status, _, err = cli(capsys, "forecast", model, "--steps", "3", "--output", tmp_path / "table.txt")
    assert status == 2 and "expected a .csv, .json or .parquet file name" in err


def test_a_history_with_missing_values_is_plotted_with_gaps(tmp_path, capsys):
    """The table printed, then the plot refused the NaN of an --input that a model
    with --missing interpolate had just forecast from."""
    from gruforecast.plotting import plot_forecast

    history = pd.Series(np.arange(30.0), index=pd.date_range("2024", periods=30, freq="D"))
    history.iloc[10] = np.nan
    forecast = pd.Series([30.0, 31.0], index=pd.date_range("2024-01-31", periods=2, freq="D"))
    figure = plot_forecast(history, forecast)
    (drawn,) = [line.get_ydata() for line in figure.axes[0].lines if line.get_label() == "history"]
    assert len(drawn) == 30 and np.isnan(drawn).sum() == 1


def test_numpy_model_tables_have_named_columns_and_a_bad_plot_name_is_refused_first(
    tmp_path, capsys, sine
):
    model = tmp_path / "m.gruf"
    GRUForecaster(**FAST, window=20).fit(sine).save(model)
    status, out, _ = cli(capsys, "forecast", model, "--steps", "2", "--interval", "0.8")
    assert status == 0
    assert out.split("\n")[0].split() == ["forecast", "lower_80", "upper_80"]
    status, out, err = cli(capsys, "forecast", model, "--steps", "2", "--plot", tmp_path / "p.txt")
    assert status == 2 and out == "" and "--plot" in err and ".png" in err
