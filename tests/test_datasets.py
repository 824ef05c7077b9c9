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
