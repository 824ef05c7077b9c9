"""The public name of the series scaler (``gruforecast.SeriesScaler``); its code is in
``gruforecast._scaling``. Model files pickled before that move name the class here."""

from ._scaling import SeriesScaler

__all__ = ["SeriesScaler"]
