import numpy as np
import pytest

from gruforecast._intervals import (
    Calibration,
    IntervalWarning,
    check_levels,
    conformal_quantile,
    highest_level,
    level_label,
    minimum_residuals,
)


def test_conformal_quantile_rank():
    errors = np.arange(1.0, 20.0)  # 19 errors
    assert conformal_quantile(errors, 0.9) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(errors, 0.95) == 19.0
    # too few errors for the level: no finite bound is guaranteed to cover
    assert conformal_quantile(np.ones(10), 0.95) == np.inf
    assert minimum_residuals(0.9) == 9 and minimum_residuals(0.8) == 4
    assert highest_level(3) == 0.75 and highest_level(8) == 0.888 and highest_level(0) == 0.0
    for n in range(1, 50):  # n errors honour highest_level(n), and no level above n/(n+1)
        assert conformal_quantile(np.ones(n), highest_level(n)) == 1.0
        assert conformal_quantile(np.ones(n), n / (n + 1) + 1e-9) == np.inf


def test_widths_never_narrow_as_the_steps_grow():
    """Step 2 errors smaller than step 1's (here by construction; on a random walk by
    chance, 14.9 at step 11 and 9.4 at step 15): step 2 is as wide as step 1."""
    series = np.random.default_rng(0).normal(size=60).cumsum()

    def exact_at_step_two(windows):
        truth_one = windows[:, -1] + 5.0  # wrong by about 5 at step 1
        return np.column_stack([truth_one, truth_one])

    calibration = Calibration(5, series=series)
    widths = calibration.half_widths(exact_at_step_two, 6, [0.5, 0.9], series[-5:])
    assert (np.diff(widths, axis=0) >= 0).all()
    raw = np.abs(series[6:] - series[4:-2] - 5.0)  # the step-2 errors, unnormalised
    assert np.median(raw) < 5.0  # so without the running maximum, step 2 would narrow


def test_levels_beyond_the_errors_get_infinite_bounds_and_one_warning_each():
    series = np.arange(9.0)  # window 5: 4 origins, 4 errors at step 1, 3 at step 2, ...
    calibration = Calibration(5, series=series)
    assert calibration.errors_per_step(5).tolist() == [4, 3, 2, 1, 0]
    with pytest.warns(IntervalWarning) as caught:
        widths = calibration.half_widths(_linear, 5, [0.5, 0.8, 0.9], series[-5:])
    # 0.8 honoured to step 1 (4 errors), 0.5 to step 4 (1 error), 0.9 nowhere
    assert np.isfinite(widths[:, 0]).tolist() == [True, True, True, True, False]
    assert np.isfinite(widths[:, 1]).tolist() == [True, False, False, False, False]
    assert not np.isfinite(widths[:, 2]).any()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    assert messages[0].startswith("the 50% interval cannot be honoured from step 5 on")
    assert "has 0 at step 5" in messages[0] and "steps=4 or fewer" in messages[0]
    assert "it needs at least 4 calibration errors per step" in messages[1]
    assert "interval=0.75 or lower or steps=1 or fewer" in messages[1]
    assert "1 calibration error per step" in str(IntervalWarning(0.5, 5, 0))  # one, not ones
    assert caught[2].message.advice("--interval ", "--steps ") == "Ask for --interval 0.8 or lower"


def test_levels():
    assert check_levels(0.9) == (0.9,) and check_levels([0.8, 0.95]) == (0.8, 0.95)
    assert level_label(0.9) == "90" and level_label(0.975) == "97.5"
    for bad, error in [(90, ValueError), (0.0, ValueError), ("0.9", TypeError), ([], ValueError), ([0.9, 0.9], ValueError)]:
        with pytest.raises(error):
            check_levels(bad)


def _linear(windows):
    """A 'model' that predicts the last value plus the last step, horizon 2."""
    step = windows[:, -1] - windows[:, -2]
    return np.column_stack([windows[:, -1] + step, windows[:, -1] + 2 * step])


def test_perfect_model_gives_zero_width_and_errors_scale_with_the_window():
    series = np.arange(100.0)
    calibration = Calibration(5, series=series)
    widths = calibration.half_widths(_linear, 4, [0.9], series[-5:])
    np.testing.assert_allclose(widths, 0.0)
    noisy = series + np.random.default_rng(0).normal(0, 1, 100)
    calibration = Calibration(5, series=noisy)
    narrow = calibration.half_widths(_linear, 3, [0.8, 0.95], np.array([0.0, 1, 2, 3, 4]))
    wide = calibration.half_widths(_linear, 3, [0.8, 0.95], np.array([0.0, 10, 20, 30, 40]))
    assert (narrow[:, 1] > narrow[:, 0]).all() and (wide > narrow).all()
    assert narrow[2, 0] > narrow[0, 0]  # errors compound with the step


def test_coverage_on_exchangeable_noise_is_close_to_the_level():
    rng = np.random.default_rng(1)
    level, hits = 0.9, []
    for _ in range(200):
        noise = rng.normal(size=61)
        calibration = Calibration(1, windows=np.zeros((60, 1)), targets=noise[:60, None])
        width = calibration.half_widths(lambda w: np.zeros((len(w), 1)), 1, [level], np.zeros(1))[0, 0]
        hits.append(abs(noise[60]) <= width)
    assert 0.85 <= np.mean(hits) <= 0.97


def test_windowed_calibration_stops_at_its_targets_and_round_trips():
    calibration = Calibration(2, windows=np.ones((12, 2)), targets=np.ones((12, 3)))
    with pytest.raises(ValueError, match="intervals for 4 steps need errors of 4-step forecasts"):
        calibration.half_widths(lambda w: np.ones((len(w), 3)), 4, [0.9], np.ones(2))
    again = Calibration.from_dict(calibration.to_dict())
    np.testing.assert_array_equal(again.targets, calibration.targets)
    series = Calibration.from_dict(Calibration(3, series=np.arange(9.0)).to_dict())
    assert series.window == 3 and series.n_origins == 6


def test_a_priors_errors_are_scaled_to_the_datas_own_and_shrunk_by_their_number():
    from gruforecast._intervals import PRIOR_SCALE_ERRORS, _prior_scale

    rng = np.random.default_rng(0)
    theirs = np.abs(rng.normal(size=(500, 4)))
    theirs[:, 3] = np.nan  # a step the prior has no error for: not used
    many = theirs[:, :3] * 0.5
    factor = _prior_scale(many, theirs)  # 1,500 errors: almost all the way to a half
    assert 0.5 < factor < 0.5 ** (1500 / (1500 + PRIOR_SCALE_ERRORS)) + 1e-9
    few = many[:2, :1]  # 2 errors move it a sixth of the way
    assert _prior_scale(few, theirs) > factor
    assert _prior_scale(np.full((3, 2), np.nan), theirs) == 1.0
    assert _prior_scale(np.zeros((100, 3)), theirs) >= 1 / 16  # exact forecasts: clipped


def test_a_context_lends_its_last_origins_at_most_a_horizon_a_series():
    from gruforecast._intervals import CONTEXT_ORIGINS, context_calibration

    series = [np.arange(30.0), np.arange(12.0), np.arange(8.0)]  # window 8, horizon 4
    calibration = context_calibration(series, 8, 4)
    windows, truth = calibration.windows, calibration.targets
    # 30 values: the last 4 origins with 4 values of truth after them
    np.testing.assert_array_equal(windows[:4, -1], [25.0, 24.0, 23.0, 22.0])
    np.testing.assert_array_equal(truth[0], [26.0, 27.0, 28.0, 29.0])
    # 12 values: one full origin, then those with less truth (NaN beyond the series)
    np.testing.assert_array_equal(windows[4:, -1], [7.0, 8.0, 9.0, 10.0])
    np.testing.assert_array_equal(truth[-1], [11.0, np.nan, np.nan, np.nan])
    assert len(windows) == 8  # 8 values: no value after a full window
    assert context_calibration([np.arange(8.0)], 8, 4) is None
    many = context_calibration([np.arange(20.0)] * 1000, 8, 4)
    assert len(many.windows) == CONTEXT_ORIGINS
