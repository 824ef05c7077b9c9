"""Real monthly series shipped with the package (from R's ``datasets``, public domain).

Each loader returns a ``pd.Series`` of floats with a monthly ``DatetimeIndex``
(``freq="MS"``, the first day of each month).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_air_passengers", "load_dataset", "load_sunspots", "load_uk_driver_deaths"]

_FILES = {
    "air_passengers": "air_passengers.csv",
    "sunspots": "sunspots_monthly.csv",
    "uk_driver_deaths": "uk_driver_deaths.csv",
}


def load_dataset(name: str) -> pd.Series:
    """Load a shipped series by name: "air_passengers", "sunspots" or "uk_driver_deaths"."""
    if name not in _FILES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(_FILES)}")
    with resources.files(__name__).joinpath(_FILES[name]).open("r") as handle:
        frame = pd.read_csv(handle)
    index = pd.DatetimeIndex(pd.to_datetime(frame["month"], format="%Y-%m"), freq="MS")
    return pd.Series(frame["value"].to_numpy(dtype=float), index=index, name=name)


def load_air_passengers() -> pd.Series:
    """Monthly international airline passengers (thousands), 1949-1960, 144 values."""
    return load_dataset("air_passengers")


def load_sunspots() -> pd.Series:
    """Monthly mean sunspot numbers, 1749-01 to 2013-09, 3177 values."""
    return load_dataset("sunspots")


def load_uk_driver_deaths() -> pd.Series:
    """Monthly UK car drivers killed or seriously injured, 1969-1984, 192 values."""
    return load_dataset("uk_driver_deaths")
