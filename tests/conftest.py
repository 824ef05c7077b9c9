"""Shared fixtures, and the rule that tests marked ``gpu`` skip cleanly without CUDA."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Property-based tests draw the same examples on every run ("repeatable", the default),
# so that CI never fails by the luck of the draw; HYPOTHESIS_PROFILE=explore draws new
# ones each run to look for what the fixed draw misses.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Small, fast settings for tests that only need *a* trained model, not a good one.
FAST = dict(hidden_size=8, num_layers=1, epochs=3, batch_size=64, random_state=0)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def sine() -> np.ndarray:
    """The seed tutorial's series: 1000 points of sin(linspace(0, 100, 1000))."""
    return np.sin(np.linspace(0, 100, 1000))


@pytest.fixture
def monthly() -> pd.Series:
    from gruforecast.datasets import load_air_passengers

    return load_air_passengers()
