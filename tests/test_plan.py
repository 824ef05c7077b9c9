"""Plan (gruforecast._plan) and the rules of gruforecast._policy: the data of a fit and
the decisions on it, tested without training anything."""

import numpy as np
import pandas as pd
import pytest

from gruforecast import GRUForecaster
from gruforecast._plan import Plan
from gruforecast._policy import (
    AUTO_BATCH_MAX,
    AUTO_BATCH_MIN,
    adapt,
    auto_batch_size,
    auto_window,
    min_samples,
    split,
)
from gruforecast._validation import as_series
from gruforecast._windowing import n_windows

PARAMS = GRUForecaster().get_params()


def plan_series(values, **changes) -> Plan:
    return Plan.on_own_terms(as_series(values), {**PARAMS, **changes})


def parts(plan: Plan) -> tuple[int, int, int]:
    """Training, validation and calibration windows of a plan of one series (or rows)."""
    calibration = plan.calibration
    if calibration is None:
        n_calibration = 0
    elif calibration.windows is not None:  # fit(X, y): one origin a row
        n_calibration = calibration.n_origins
    else:  # every window whose next value is held out is an origin: the last horizon - 1 too
        n_calibration = calibration.n_origins - plan.horizon + 1
    return plan.n_train, len(plan.valid_starts), n_calibration


def test_split_puts_gaps_of_horizon_minus_one_before_each_held_out_part():
    # 100 windows, horizon 3: 10 validation and 10 calibration windows, 2 gaps of 2
    assert split(100, 3, 0.1, 0.1) == (76, 10, 10, 2)
    assert split(100, 1, 0.1, 0.1) == (80, 10, 10, 0)
    assert split(100, 3, 0.0, 0.0) == (100, 0, 0, 2)  # no held-out part, no gap
    assert split(100, 3, 0.2, 0.0) == (78, 20, 0, 2)
    # ceil: any share of a window is a whole window
    assert split(11, 1, 0.1, 0.1) == (7, 2, 2, 0)


def test_min_samples_is_the_fewest_windows_that_leave_one_to_train_on():
    for horizon, fractions in [(1, (0.1, 0.1)), (3, (0.1, 0.1)), (12, (0.3, 0.0)), (2, (0.0, 0.0))]:
        fewest = min_samples(horizon, *fractions)
        assert split(fewest, horizon, *fractions)[0] == 1
        assert split(fewest - 1, horizon, *fractions)[0] < 1 or fewest == 1


def test_auto_window_two_seasons_at_most_a_third():
    assert auto_window(1000, 1, "MS") == 24
    assert auto_window(1000, 1, "QS-OCT") == 8
    assert auto_window(1000, 1, None) == 24 and auto_window(1000, 1, "2h") == 24
    assert auto_window(37, 1, "MS") == 12  # (37 - 1) // 3
    assert auto_window(3, 1, "MS") == 1


def test_auto_batch_size_bounds():
    assert auto_batch_size(10) == AUTO_BATCH_MIN
    assert auto_batch_size(16 * 100) == 100
    assert auto_batch_size(10**6) == AUTO_BATCH_MAX


def test_series_plan_scales_on_the_training_part_only():
    values = np.concatenate([np.zeros(80), np.full(20, 1000.0)])  # a jump after training
    plan = plan_series(values, window=10, horizon=2)
    n_windows = 100 - 10 - 2 + 1
    n_train, n_valid, n_calibration, gap = split(n_windows, 2, 0.1, 0.1)
    assert parts(plan) == (n_train, n_valid, n_calibration)
    covered = plan.n_train + 10 + 2 - 1  # what the training windows read, inputs and targets
    assert covered <= 80
    assert plan.scaler.offset == pytest.approx(values[:covered].mean())
    # windows are positions in the scaled series: training, then validation after a gap,
    # which ends before the calibration stretch starts
    np.testing.assert_array_equal(plan.train_starts, np.arange(n_train))
    np.testing.assert_array_equal(plan.valid_starts, n_train + gap + np.arange(n_valid))
    assert plan.valid_starts[-1] + 1 + gap == n_train + n_valid + 2 * gap
    np.testing.assert_array_equal(plan.refit_starts, np.arange(n_windows))
    np.testing.assert_allclose(plan.scaled, plan.scaler.transform(values), rtol=1e-6)
    start = n_train + n_valid + 2 * gap
    np.testing.assert_array_equal(plan.calibration.series, values[start:])
    # every window whose next value is held out is an origin: the last horizon - 1 too
    assert plan.calibration.n_origins == n_calibration + plan.horizon - 1
    np.testing.assert_array_equal(plan.last_window, values[-10:])


def test_series_plan_keeps_the_index_end_and_span():
    index = pd.period_range("2000-01", periods=60, freq="M")
    plan = Plan.on_own_terms(as_series(pd.Series(np.arange(60.0), index=index, name="y")), PARAMS)
    assert plan.window == auto_window(60, 1, "M") == 19
    assert plan.season == 12 and plan.series_name == "y"
    assert plan.training_span == {"length": 60, "start": "2000-01", "end": "2004-12"}
    assert plan.time_index.freq == "M"
    numpy_plan = plan_series(np.arange(60.0))
    assert numpy_plan.season == 1 and numpy_plan.time_index is None
    assert numpy_plan.training_span == {"length": 60, "start": None, "end": None}


def test_short_series_and_bad_windows_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="has 12 values, but window=12, horizon=1.* need at least"):
        plan_series(np.arange(12.0), window=12)
    with pytest.raises(ValueError, match="X has 4 columns, but window=5"):
        Plan.from_windows(np.zeros((20, 4)), np.zeros((20, 1)), {**PARAMS, "window": 5})
    with pytest.raises(ValueError, match="X has 2 samples"):
        Plan.from_windows(np.zeros((2, 4)), np.zeros((2, 1)), PARAMS)


def test_windows_plan_holds_out_the_last_rows():
    windows = np.arange(200.0).reshape(50, 4)
    targets = windows[:, -1:] + 1
    plan = Plan.from_windows(windows, targets, PARAMS)
    assert parts(plan) == (40, 5, 5)
    np.testing.assert_array_equal(plan.calibration.windows, windows[45:])
    train = np.concatenate([windows[:40].ravel(), targets[:40].ravel()])
    assert plan.scaler.offset == pytest.approx(train.mean())
    assert plan.window == 4 and plan.season == 1 and plan.last_window is None
    assert plan.normalizes and not plan.global_rules


# ---------------------------------------------------------------- a series too short


def adapted(length, horizon, window="auto", freq="MS", fractions=(0.1, 0.1)):
    a = adapt(length, horizon, window, freq, *fractions)
    return a.window, a.validation_fraction, a.calibration_fraction, a.given_up


def test_a_short_series_gives_up_calibration_then_width_down_to_the_season_then_validation():
    # the shortest M3 monthly series (48 values), horizon 18: the auto window of 10 with
    # validation leaves 1 window to train on; calibration is what goes
    assert adapted(48, 18) == (10, 0.1, 0.0, ("calibration",))
    assert adapt(48, 18, "auto", "MS", 0.1, 0.1).needed == 72  # what the old error said
    assert adapted(48, 12) == (12, 0.1, 0.0, ("calibration",))
    # auto window 15: narrowed to the season (12) to keep validation ...
    assert auto_window(75, 30, "MS") == 15
    assert adapted(75, 30) == (12, 0.1, 0.0, ("calibration", "window"))
    # ... but never below it: one value shorter, validation goes and the window stays
    assert adapted(74, 30) == (14, 0.0, 0.0, ("calibration", "validation"))
    # without a season, down to the 3 values window normalisation needs
    assert adapted(70, 30, freq=None) == (7, 0.1, 0.0, ("calibration", "window"))
    assert adapted(40, 30, freq=None) == (3, 0.0, 0.0, ("calibration", "validation"))
    # only what was asked for is given up
    assert adapted(48, 18, fractions=(0.0, 0.1)) == (10, 0.0, 0.1, ())
    assert adapted(40, 18, fractions=(0.0, 0.1)) == (7, 0.0, 0.0, ("calibration",))
    assert adapted(48, 12, fractions=(0.1, 0.0)) == (12, 0.1, 0.0, ())
    assert adapted(200, 1) == (24, 0.1, 0.1, ())


def test_a_window_given_by_name_is_never_narrowed():
    assert adapted(48, 18, window=12) == (12, 0.0, 0.0, ("calibration", "validation"))
    assert adapted(48, 18, window=29) == (29, 0.0, 0.0, ("calibration", "validation"))
    # one window is one example: what gives something up needs two
    with pytest.raises(ValueError, match=r"has 48 values, but window=30, horizon=18, "
                       r"validation_fraction=0.1 and calibration_fraction=0.1 need at least 92 "
                       r"\(and 49 even with nothing held out for validation or calibration: two "
                       r"windows and their targets\)\..*window='auto'"):
        adapt(48, 18, 30, "MS", 0.1, 0.1)
    # what was asked for is kept as before, a single window too
    assert adapted(48, 18, window=30, fractions=(0.0, 0.0)) == (30, 0.0, 0.0, ())
    with pytest.raises(ValueError, match=r"window=31, horizon=18, validation_fraction=0.0 and "
                       r"calibration_fraction=0.0 need at least 49\. Give"):
        adapt(48, 18, 31, "MS", 0.0, 0.0)


def test_only_a_series_of_fewer_than_two_windows_is_refused():
    with pytest.raises(ValueError, match=r"has 19 values, but horizon=18 needs at least 20 "
                       r"\(window='auto' at its narrowest, 1 value, and nothing held out"):
        adapt(19, 18, "auto", "MS", 0.1, 0.1)
    assert adapted(20, 18) == (1, 0.0, 0.0, ("calibration", "validation"))
    with pytest.raises(ValueError, match=r"has 2 values, but horizon=1 needs at least 3"):
        adapt(2, 1, "auto", None, 0.1, 0.1)
    with pytest.raises(ValueError, match=r"has 1 value, but horizon=1 needs at least 2 "
                       r"\(window='auto' at its narrowest, 1 value\)\. Give"):
        adapt(1, 1, "auto", None, 0.0, 0.0)


@pytest.mark.parametrize("freq", [None, "MS", "QS-OCT", "W-SUN", "D"])
def test_adapt_always_leaves_a_training_window_and_never_widens(freq):
    for horizon in (1, 2, 5, 8, 13, 18, 30):
        for length in range(horizon + 2, 160):
            a = adapt(length, horizon, "auto", freq, 0.1, 0.1)
            windows = n_windows(length, a.window, horizon)
            n_train = split(windows, horizon, a.validation_fraction, a.calibration_fraction)[0]
            assert n_train >= 1 and (windows >= 2 or not a.given_up)
            assert a.window >= 1 and a.window <= a.asked == auto_window(length, horizon, freq)
            assert (a.window, a.validation_fraction, a.calibration_fraction) != (
                a.asked,
                0.1,
                0.1,
            ) or a.given_up == ()


def test_a_short_series_plan_warns_once_naming_what_it_gave_up():
    index = pd.date_range("2000-01-01", periods=48, freq="MS")
    series = as_series(pd.Series(np.arange(48.0), index=index))
    with pytest.warns(UserWarning) as caught:
        plan = Plan.on_own_terms(series, {**PARAMS, "horizon": 18})
    assert len(caught) == 1  # the window too short for a season is said in the same one
    assert str(caught[0].message) == (
        "X (the series) has 48 values, fewer than the 72 that window='auto' (10 here), "
        "horizon=18, validation_fraction=0.1 and calibration_fraction=0.1 need, so fit gave "
        "up the calibration part (this model has no prediction intervals): it trains on 1 "
        "window, with 3 for early stopping. 10 past values are too few to see one season "
        "of 12: forecasts will follow the last values. A longer series or a shorter horizon "
        "keeps it"
    )
    assert (plan.window, *parts(plan)) == (10, 1, 3, 0)
    assert plan.calibration is None
    with pytest.warns(
        UserWarning,
        match=r"gave up the calibration part \(.*\) and the "
        r"validation part \(training runs all epochs, without early stopping\): "
        r"it trains on 19 windows\. A longer series or a shorter horizon keeps them",
    ):
        plan = Plan.on_own_terms(series, {**PARAMS, "horizon": 18, "window": 12})
    assert (plan.window, *parts(plan)) == (12, 19, 0, 0)
    assert plan.train_starts[-1] + 12 + 18 == 48  # every value trains
