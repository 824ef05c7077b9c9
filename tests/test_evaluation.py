import numpy as np
import pandas as pd
import pytest

from conftest import FAST
from gruforecast import GRUForecaster, backtest, temporal_train_test_split


def test_temporal_split_is_chronological_and_forecastable(monthly):
    train, test = temporal_train_test_split(monthly, test_size=12)
    assert len(train) == 132 and len(test) == 12 and train.index[-1] < test.index[0]
    forecast = GRUForecaster(**FAST).fit(train).forecast(len(test))
    pd.testing.assert_index_equal(forecast.index, test.index, check_names=False)
    train, test = temporal_train_test_split(np.arange(10.0), test_size=0.3)
    np.testing.assert_array_equal(test, [7, 8, 9])
    with pytest.raises(ValueError, match="leaves nothing to train on"):
        temporal_train_test_split([1.0, 2.0], test_size=2)


def test_backtest_shapes_and_columns(monthly):
    forecaster = GRUForecaster(**{**FAST, "calibration_fraction": 0.3})
    result = backtest(forecaster, monthly, 6, initial=96, step=12, refit=2, interval=0.8)
    origins = list(range(96, 144 - 6 + 1, 12))
    assert len(result.metrics) == len(origins)
    assert list(result.metrics["refitted"]) == [True, False, True, False]
    assert list(result.metrics.columns) == ["cutoff", "refitted", "mae", "rmse", "mape", "smape", "mase", "coverage_80"]
    assert result.metrics["cutoff"].iloc[0] == monthly.index[95]
    forecasts = result.forecasts
    assert len(forecasts) == 6 * len(origins)
    assert list(forecasts["step"][:6]) == [1, 2, 3, 4, 5, 6]
    assert forecasts["time"].iloc[0] == monthly.index[96]
    np.testing.assert_array_equal(forecasts["truth"][:6], monthly.to_numpy()[96:102])
    assert (forecasts["lower_80"] <= forecasts["forecast"]).all()
    assert set(result.summary().index) >= {"mae", "mase", "coverage_80"}


def test_backtest_never_looks_past_a_cutoff(sine):
    series = sine[:400]
    # on the CPU, whose fits repeat bitwise: the first origin's forecasts are compared exactly
    cpu = {**FAST, "window": 12, "device": "cpu"}
    first = backtest(GRUForecaster(**cpu), series, 5, initial=300, step=50, refit=True)
    changed = series.copy()
    changed[320:] = 100.0  # after the first cutoff (300): the second origin (350) sees it
    second = backtest(GRUForecaster(**cpu), changed, 5, initial=300, step=50, refit=True)
    first_origin = first.forecasts[first.forecasts["cutoff"] == 299]
    again = second.forecasts[second.forecasts["cutoff"] == 299]
    np.testing.assert_array_equal(first_origin["forecast"].to_numpy(), again["forecast"].to_numpy())
    assert not np.array_equal(first.forecasts["forecast"].to_numpy(), second.forecasts["forecast"].to_numpy())


def test_backtest_without_refit_fits_once(sine):
    result = backtest(GRUForecaster(**{**FAST, "window": 12}), sine, 10, initial=500, step=100, refit=False)
    assert list(result.metrics["refitted"]) == [True, False, False, False, False]
    assert result.metrics["cutoff"].tolist() == [499, 599, 699, 799, 899]


def test_backtest_errors(sine):
    with pytest.raises(ValueError, match="no origin"):
        backtest(GRUForecaster(**FAST), sine[:100], 10, initial=95)
    with pytest.raises(ValueError, match="initial as a fraction must be in"):
        backtest(GRUForecaster(**FAST), sine, 10, initial=1.5)


@pytest.mark.slow
@pytest.mark.parametrize("refit", [False, True])  # refit: 11 fits, about 2 minutes
def test_interval_coverage_on_sunspots_is_honest(refit):
    """90% intervals cover 80-97% of what happened: the last 1500 months, fitted on the
    first 1000 (and refitted at each origin), 12-month forecasts every 48 months."""
    from gruforecast.datasets import load_sunspots

    series = load_sunspots()[-1500:]
    forecaster = GRUForecaster(
        window=36, horizon=12, hidden_size=32, num_layers=1, batch_size=64, lr=3e-3, patience=10,
        random_state=0,
    )
    result = backtest(forecaster, series, 12, initial=1000, step=48, refit=refit, interval=[0.8, 0.9, 0.95])
    coverage = result.summary()
    assert len(result.forecasts) == 11 * 12
    assert 0.80 <= coverage["coverage_90"] <= 0.97, coverage
    assert coverage["coverage_80"] <= coverage["coverage_90"] <= coverage["coverage_95"]


@pytest.mark.parametrize("refit", [True, False])
def test_backtest_follows_the_forecasters_missing_policy(monthly, refit):
    """A NaN in the series: backtest fills it as the forecaster would (it raised,
    recommending the very missing='interpolate' the forecaster had), and never scores
    the filled value as truth."""
    series = monthly.copy()
    series.iloc[-20] = np.nan  # in the first origin's test part, the second's context
    forecaster = GRUForecaster(**FAST, window=12, missing="interpolate")
    result = backtest(forecaster, series, 12, initial=len(series) - 24, step=12, refit=refit)
    assert len(result.metrics) == 2
    assert result.metrics["refitted"].tolist() == [True, refit]
    truth = result.forecasts["truth"].to_numpy()
    assert np.isnan(truth).sum() == 1 and np.isnan(truth[4])
    assert result.metrics[["mae", "rmse", "smape", "mase"]].notna().all().all()
    with pytest.raises(ValueError, match="missing='interpolate'"):
        backtest(GRUForecaster(**FAST, window=12), series, 12, initial=len(series) - 24)
