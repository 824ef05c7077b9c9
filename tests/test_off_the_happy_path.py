"""What a new user meets after AirPassengers: short series, gaps, the wrong frequency,
intervals that cannot be honoured; each a reproducer from the issue that found it."""

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
                       r"was fitted on a series with a step of 'D'.*resample\('D'\)"):
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
    from gruforecast._state import describe

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
