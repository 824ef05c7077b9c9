import numpy as np
import pandas as pd
import pytest

from gruforecast.datasets import load_air_passengers, load_dataset, load_sunspots, load_uk_driver_deaths


@pytest.mark.parametrize(
    "load, length, first",
    [(load_air_passengers, 144, 112.0), (load_sunspots, 3177, 58.0), (load_uk_driver_deaths, 192, 1687.0)],
)
def test_shipped_series(load, length, first):
    series = load()
    assert len(series) == length and series.iloc[0] == first
    assert isinstance(series.index, pd.DatetimeIndex) and series.index.freqstr == "MS"
    assert series.notna().all()


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'airline'"):
        load_dataset("airline")


def test_the_seatbelts_frame_is_the_driver_deaths_with_their_covariates():
    from gruforecast.datasets import load_seatbelts, load_uk_driver_deaths

    belts = load_seatbelts()
    assert list(belts.columns) == ["unique_id", "ds", "y", "kms", "petrol_price", "law"]
    np.testing.assert_array_equal(belts["y"], load_uk_driver_deaths().to_numpy())
    assert belts["ds"].iloc[0] == pd.Timestamp("1969-01-01") and len(belts) == 192
    # the law: in force from February 1983 (R's Seatbelts)
    assert belts.loc[belts["law"] == 1, "ds"].min() == pd.Timestamp("1983-02-01")
    assert belts["law"].sum() == 23 and belts[["kms", "petrol_price"]].notna().all().all()
