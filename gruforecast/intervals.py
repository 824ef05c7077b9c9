"""The public name of the intervals' warning (``gruforecast.IntervalWarning``); the
split-conformal calibration is in ``gruforecast._intervals``. Model files pickled before
that move name ``Calibration`` here, so it stays importable from this module (it is not
public)."""

from ._intervals import Calibration as Calibration  # for old pickles
from ._intervals import IntervalWarning

__all__ = ["IntervalWarning"]
