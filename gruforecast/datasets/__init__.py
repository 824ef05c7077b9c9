"""Real monthly series shipped with the package (from R's ``datasets``, public domain).

Each series loader returns a ``pd.Series`` of floats with a monthly ``DatetimeIndex``
(``freq="MS"``, the first day of each month); :func:`load_seatbelts` returns the UK
driver deaths with the covariates that go with them, as a long frame.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = [
    "load_air_passengers",
    "load_dataset",
    "load_seatbelts",
    "load_sunspots",
    "load_uk_driver_deaths",
]

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


def load_seatbelts() -> pd.DataFrame:
    """UK car drivers killed or seriously injured, 1969-1984 (``y``, the series of
    :func:`load_uk_driver_deaths`), with what R's ``Seatbelts`` records beside them: the
    distance driven (``kms``), the petrol price (``petrol_price``) and whether the law
    making front seat belts compulsory was in force (``law``, 1 from February 1983).
    A long frame of one series (``unique_id`` "uk"), 192 monthly rows, ready for
    ``GRUForecaster(future_covariates=["law", "petrol_price"])``."""
    with resources.files(__name__).joinpath("seatbelts.csv").open("r") as handle:
        frame = pd.read_csv(handle)
    return pd.DataFrame(
        {
            "unique_id": "uk",
            "ds": pd.to_datetime(frame["month"], format="%Y-%m"),
            "y": frame["drivers"].to_numpy(dtype=float),
            "kms": frame["kms"].to_numpy(dtype=float),
            "petrol_price": frame["petrol_price"].to_numpy(dtype=float),
            "law": frame["law"].to_numpy(dtype=float),
        }
    )
