"""gruforecast: forecast any univariate time series with a GRU, the scikit-learn way.

Every name but the NumPy-only helpers loads lazily (PEP 562): a process that only
serves an exported model (``OnnxForecaster``) imports ONNX Runtime and NumPy, never torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import metrics
from ._intervals import IntervalWarning
from ._scaling import SeriesScaler
from ._version import __version__
from ._windowing import make_windows

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._history import History
    from ._limits import Limits
    from ._network import GRUNet
    from ._training import TrainingDivergedError
    from .estimator import GRUForecaster
    from .evaluation import BacktestResult, backtest, temporal_train_test_split
    from .export import ExportParityError, export_onnx, export_triton
    from .runtime import OnnxForecaster, ProviderUnavailableError

__all__ = [
    "BacktestResult",
    "ExportParityError",
    "GRUForecaster",
    "GRUNet",
    "History",
    "IntervalWarning",
    "Limits",
    "OnnxForecaster",
    "ProviderUnavailableError",
    "SeriesScaler",
    "TrainingDivergedError",
    "__version__",
    "backtest",
    "export_onnx",
    "export_triton",
    "make_windows",
    "metrics",
    "temporal_train_test_split",
]

# public name -> module that defines it; imported on first access
_LAZY = {
    "GRUForecaster": ".estimator",
    "GRUNet": "._network",
    "History": "._history",
    "Limits": "._limits",
    "TrainingDivergedError": "._training",
    "export_onnx": ".export",
    "export_triton": ".export",
    "ExportParityError": ".export",
    "OnnxForecaster": ".runtime",
    "ProviderUnavailableError": ".runtime",
    "backtest": ".evaluation",
    "BacktestResult": ".evaluation",
    "temporal_train_test_split": ".evaluation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
