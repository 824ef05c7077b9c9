"""The pretrained priors shipped with gruforecast: one global model per season, trained on
the training parts of public forecasting competitions and on synthetic series, with no
series of its corpus kept in it (docs/priors.md says which sources, under which licences,
and how ``bench/priors.py`` rebuilds each).

Each prior is two files here, ``season-<m>.gruf`` (for ``GRUForecaster``) and
``season-<m>.onnx`` (for ``OnnxForecaster``, without torch), of the same network. Nothing
is downloaded: what is listed here is what the installed package holds. NumPy-free and
torch-free.
"""

from __future__ import annotations

import operator
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["path_of", "shipped"]

SUFFIXES = (".gruf", ".onnx")


def shipped() -> dict[int, str]:
    """The priors this installation holds: season -> name (``"season-12"``), both files
    of each present."""
    folder = resources.files(__name__)
    names = {entry.name for entry in folder.iterdir()}
    found = {}
    for name in names:
        stem, _, suffix = name.rpartition(".")
        if suffix == "gruf" and stem.startswith("season-") and f"{stem}.onnx" in names:
            season = stem.removeprefix("season-")
            if season.isdigit():
                found[int(season)] = stem
    return dict(sorted(found.items()))


def path_of(season: Any, suffix: str) -> Path:
    """The file (``suffix`` ".gruf" or ".onnx") of the prior for ``season``: a seasonal
    period (12 for monthly data, 1 for yearly or none) or a prior's name.

    Raises
    ------
    TypeError, ValueError
        Naming the shipped priors, for a season or name none of them has.
    """
    if suffix not in SUFFIXES:
        raise ValueError(f"suffix must be one of {SUFFIXES}, got {suffix!r}")
    priors = shipped()
    listed = ", ".join(f"{name} (season={season})" for season, name in priors.items()) or "none"
    if isinstance(season, str):
        by_name = {name: number for number, name in priors.items()}
        if season not in by_name:
            raise ValueError(f"no pretrained prior is named {season!r}; shipped: {listed}")
        season = by_name[season]
    try:
        if isinstance(season, bool):
            raise TypeError
        season = operator.index(season)
    except TypeError:
        raise TypeError(
            f"season must be a whole number (the seasonal period: 12 for monthly data, 1 "
            f"for yearly) or a prior's name, got {season!r}; shipped: {listed}"
        ) from None
    if season not in priors:
        raise ValueError(f"no pretrained prior has season={season}; shipped: {listed}")
    # the package is installed as files (wheels are, and shipped() found them there)
    return Path(str(resources.files(__name__) / f"{priors[season]}{suffix}"))
