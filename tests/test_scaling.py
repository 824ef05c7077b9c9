import numpy as np
import pytest

from gruforecast._scaling import SeriesScaler


@pytest.mark.parametrize("kind", ["standard", "minmax", None])
def test_round_trip_and_dict(kind):
    values = np.random.default_rng(0).normal(5, 3, size=200)
    scaler = SeriesScaler.fit(values, kind)
    scaled = scaler.transform(values)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values, rtol=1e-12)
    assert SeriesScaler.from_dict(scaler.to_dict()) == scaler


def test_standard_and_minmax_statistics():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    standard = SeriesScaler.fit(values, "standard")
    assert standard.offset == 2.5 and standard.scale == pytest.approx(np.std(values))
    minmax = SeriesScaler.fit(values, "minmax")
    np.testing.assert_allclose(minmax.transform(values), [0, 1 / 3, 2 / 3, 1])


@pytest.mark.parametrize("kind", ["standard", "minmax"])
@pytest.mark.parametrize("level", [0.0, 7.0, -1e12, 3e-9])
def test_constant_series_does_not_divide_by_zero(kind, level):
    values = np.full(50, level)
    scaler = SeriesScaler.fit(values, kind)
    scaled = scaler.transform(values)
    assert np.isfinite(scaled).all() and scaler.scale == 1.0
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values)


def test_tiny_magnitudes_still_scale():
    values = np.sin(np.arange(100)) * 1e-9
    scaler = SeriesScaler.fit(values, "standard")
    assert scaler.transform(values).std() == pytest.approx(1.0)


def test_transform_dtype():
    scaler = SeriesScaler.fit(np.arange(10.0))
    assert scaler.transform(np.arange(3.0), np.float32).dtype == np.float32


def test_bad_kind():
    with pytest.raises(ValueError, match="scaler must be one of 'standard', 'minmax' or None"):
        SeriesScaler.fit(np.arange(3.0), "robust")


def test_overflowing_values_are_refused():
    with pytest.raises(ValueError, match="too large to scale"):
        SeriesScaler.fit(np.array([1.7e308, -1.7e308]), "minmax")


@pytest.mark.parametrize("magnitude", [1e-170, 1e170])
def test_extreme_magnitudes_scale_without_underflow_or_overflow(magnitude):
    values = np.sin(np.arange(100)) * magnitude
    scaled = SeriesScaler.fit(values, "standard").transform(values)
    assert scaled.std() == pytest.approx(1.0)


def test_log_scaler_works_on_log1p_and_maps_back():
    values = np.array([0.0, 3.0, 50.0, 1e6])
    scaler = SeriesScaler.fit(values, "standard", log=True)
    logged = np.log1p(values)
    assert scaler.log and scaler.offset == pytest.approx(logged.mean())
    np.testing.assert_allclose(scaler.transform(values), (logged - scaler.offset) / scaler.scale)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(values)), values, rtol=1e-12, atol=1e-12)
    assert SeriesScaler.from_dict(scaler.to_dict()) == scaler


def test_log_scaler_refuses_values_of_minus_one_or_below_naming_the_first():
    scaler = SeriesScaler.fit([1.0, 2.0, 3.0], log=True)
    with pytest.raises(ValueError, match=r"the values: -1\.5 at position 2 is -1 or below.*above -1"):
        scaler.transform(np.array([1.0, 0.0, -1.5, -3.0]))
    with pytest.raises(ValueError, match=r"X \(the series\): -1\.0 at position 1"):
        SeriesScaler.fit([2.0, -1.0], log=True)


def test_files_without_log_read_as_no_log_and_a_bad_log_is_refused():
    assert SeriesScaler.from_dict({"kind": "standard", "offset": 1.0, "scale": 2.0}).log is False
    with pytest.raises(TypeError, match="log must be true or false"):
        SeriesScaler.from_dict({"kind": None, "offset": 0.0, "scale": 1.0, "log": "yes"})
