"""The shipped priors chosen by the data: ``from_pretrained(season=None)`` forecasts each
context with the prior of the season its time labels give (12 for monthly dates).

Serving stage: it holds a loader (``GRUForecaster.from_pretrained`` or
``OnnxForecaster.from_pretrained``) and loads each season's prior on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._panel import DEFAULT_NAMES, read_one_or_many, seasonal_period_of

__all__ = ["PriorBySeason"]


class PriorBySeason:
    """Forecasts with the shipped prior of each context's season.

    ``forecast(steps, context=..., interval=...)`` reads the context's time labels (one
    series or many, as a fitted model reads them), takes the seasonal period their
    frequency gives, and answers as that season's prior does
    (``from_pretrained(season)``). ``priors_`` holds the priors loaded so far, by season.

    Raises (from ``forecast``)
    ------
    ValueError
        For a context without a frequency (a NumPy array, an integer index), or of a
        season no prior has; the message lists the shipped priors.
    """

    def __init__(self, load: Callable[[int], Any]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self.priors_: dict[int, Any] = {}

    def prior_for(
        self, context: Any, what: str = "context", how: str = "from_pretrained(season)"
    ) -> Any:
        """The prior (loaded once) of the season of ``context``'s time labels; ``what``
        names the context and ``how`` the way to name a prior in the error."""
        from . import priors

        panel, _, _ = read_one_or_many(context, DEFAULT_NAMES, missing="raise", what=what)
        season = seasonal_period_of(panel)
        if season is None:
            listed = ", ".join(priors.shipped().values()) or "none"
            raise ValueError(
                f"{what}: its time labels give no frequency, so no prior can be chosen by "
                f"season: name one, {how} (shipped: {listed})"
            )
        with self._lock:
            if season not in self.priors_:
                self.priors_[season] = self._load(season)
            return self.priors_[season]

    def forecast(self, steps: int, context: Any = None, interval: Any = None) -> Any:
        """The forecast of ``context`` by the prior of its season (see the class)."""
        if context is None:
            raise ValueError(
                "the pretrained priors hold no series of their own: pass the series to "
                "forecast, forecast(steps, context=series)"
            )
        return self.prior_for(context).forecast(steps, context=context, interval=interval)

    def __repr__(self) -> str:
        return f"PriorBySeason(loaded={sorted(self.priors_)})"
