import numpy as np
import pytest

from gruforecast.intervals import Calibration, check_levels, conformal_quantile, level_label, minimum_residuals


def test_conformal_quantile_rank():
    errors = np.arange(1.0, 20.0)  # 19 errors
    assert conformal_quantile(errors, 0.9, step=1) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(errors, 0.95, step=1) == 19.0
    with pytest.raises(ValueError, match="95% interval at step 3 needs at least 19 calibration errors, but this model has 10"):
        conformal_quantile(np.ones(10), 0.95, step=3)
    assert minimum_residuals(0.9) == 9 and minimum_residuals(0.8) == 4


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
