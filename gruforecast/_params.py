"""The allowed values of every ``GRUForecaster`` parameter, declared once.

In the manner of scikit-learn's ``_parameter_constraints``: each parameter lists its
default, the rules one of which its value must satisfy, and a one-line description.
``GRUForecaster.fit`` checks its parameters against this table, and the command line
takes its choices, defaults and help texts from it, so the two cannot drift apart.
NumPy only (no torch): the command line parses its flags before anything heavy loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_int, check_real

__all__ = [
    "GRU_BACKENDS",
    "PARAMETERS",
    "Integer",
    "Options",
    "Parameter",
    "Real",
    "check_choice",
    "check_params",
]

GRU_BACKENDS = ("auto", "fused", "torch")


@dataclass(frozen=True)
class Integer:
    """A whole number of at least ``minimum``."""

    minimum: int = 1

    def check(self, value: Any, name: str) -> int:
        return check_int(value, name, minimum=self.minimum)


@dataclass(frozen=True)
class Real:
    """A finite real number in an interval."""

    low: float
    high: float = np.inf
    low_inclusive: bool = True
    high_inclusive: bool = True

    def check(self, value: Any, name: str) -> float:
        return check_real(
            value,
            name,
            low=self.low,
            high=self.high,
            low_inclusive=self.low_inclusive,
            high_inclusive=self.high_inclusive,
        )


@dataclass(frozen=True)
class Text:
    """A non-empty string (a column name)."""

    def check(self, value: Any, name: str) -> str:
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a column name (a non-empty str), got {value!r}")
        return value


@dataclass(frozen=True)
class Flag:
    """True or False."""

    def check(self, value: Any, name: str) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return bool(value)


@dataclass(frozen=True)
class Names:
    """A list of names (column names, or calendar features): non-empty strings."""

    what: str = "column names"

    def check(self, value: Any, name: str) -> list[str]:
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) and item for item in value
        ):
            example = (
                f" (for example [{value!r}])"
                if isinstance(value, str) and self.what == "column names"
                else ""
            )
            raise TypeError(
                f"{name} must be a list of {self.what} or None, got {value!r:.80}{example}"
            )
        return list(value)


@dataclass(frozen=True)
class Options:
    """One of a few fixed values (strings, or None)."""

    values: tuple[str | None, ...]

    def allows(self, value: Any) -> bool:
        # `is` for None, `==` for strings only: a NumPy array or a float compared with
        # a string must not be asked for its truth value
        return any(
            value is option or (isinstance(value, str) and value == option)
            for option in self.values
        )

    def describe(self) -> str:
        shown = [repr(option) if option is not None else "None" for option in self.values]
        if len(shown) == 2:
            return f"{shown[0]} or {shown[1]}"
        return f"one of {', '.join(shown[:-1])} or {shown[-1]}"


@dataclass(frozen=True)
class Parameter:
    """A parameter's default, its rules and its description.

    The value must be one of ``options`` (when given) or else satisfy ``number``
    (when given); a parameter with neither (``device``, ``random_state``) is checked
    where it is used.
    """

    default: Any
    help: str
    options: Options | None = None
    number: Integer | Real | Text | Flag | Names | None = None

    def check(self, value: Any, name: str) -> None:
        if self.options is not None and self.options.allows(value):
            return
        if self.number is not None:
            self.number.check(value, name)
        elif self.options is not None:
            raise ValueError(f"{name} must be {self.options.describe()}, got {value!r}")


PARAMETERS: Mapping[str, Parameter] = {
    "window": Parameter(
        "auto", "past values read per forecast, or 'auto'", Options(("auto",)), Integer()
    ),
    "horizon": Parameter(1, "values predicted per network call", number=Integer()),
    "hidden_size": Parameter("auto", "GRU hidden size; 'auto': 48", Options(("auto",)), Integer()),
    "num_layers": Parameter(2, "stacked GRU layers", number=Integer()),
    "dropout": Parameter(
        0.0, "dropout between GRU layers", number=Real(0.0, 1.0, high_inclusive=False)
    ),
    "scaler": Parameter("standard", "how values are scaled", Options(("standard", "minmax", None))),
    "target_transform": Parameter(
        "auto",
        "'log': fit on log1p of the values; 'auto': 'log' when all values are >= 0",
        Options(("auto", "log", None)),
    ),
    "normalize": Parameter("window", "per-window normalisation", Options(("window", None))),
    "skip": Parameter("seasonal", "seasonal-naive skip connection", Options(("seasonal", None))),
    "deseasonalize": Parameter(
        "auto",
        "remove each window's own season before the GRU; 'auto': where there is a season",
        Options(("auto",)),
        Flag(),
    ),
    "missing": Parameter(
        "raise", "what to do with missing values", Options(("raise", "interpolate"))
    ),
    "id_col": Parameter("unique_id", "the series-id column of a long frame", number=Text()),
    "time_col": Parameter("ds", "the time column of a long frame", number=Text()),
    "target_col": Parameter("y", "the value column of a long frame", number=Text()),
    "future_covariates": Parameter(
        None,
        "columns whose future values are known (given for the steps ahead at forecast)",
        Options((None,)),
        Names(),
    ),
    "past_covariates": Parameter(
        None, "columns observed up to the forecast origin only", Options((None,)), Names()
    ),
    "static_covariates": Parameter(
        None, "columns of one value per series (numbers or categories)", Options((None,)), Names()
    ),
    "calendar": Parameter(
        None,
        "calendar features made from the time labels, 'auto' (those the time step sees) or None",
        Options((None, "auto")),
        Names("calendar features"),
    ),
    "init": Parameter(
        "auto",
        "start from the pretrained prior of the data's season ('pretrained'), from random "
        "weights ('random'), or 'auto': the prior where one fits the data and the parameters",
        Options(("auto", "pretrained", "random")),
    ),
    "epochs": Parameter(500, "most passes over the data", number=Integer()),
    "batch_size": Parameter(
        "auto", "windows per minibatch, or 'auto'", Options(("auto",)), Integer()
    ),
    "windows_per_epoch": Parameter(
        "auto",
        "training windows drawn per epoch, or 'auto' (at most 32,768)",
        Options(("auto",)),
        Integer(),
    ),
    "lr": Parameter(
        "auto",
        "Adam's learning rate; 'auto': 1e-3, or 1e-4 fine-tuning a pretrained prior "
        "(without covariates)",
        Options(("auto",)),
        Real(0.0, low_inclusive=False),
    ),
    "weight_decay": Parameter(0.0, "Adam's L2 penalty", number=Real(0.0)),
    "gradient_clip": Parameter(
        1.0, "largest gradient norm, or None", Options((None,)), Real(0.0, low_inclusive=False)
    ),
    "validation_fraction": Parameter(
        0.1,
        "share of the last windows held out for early stopping",
        number=Real(0.0, 1.0, high_inclusive=False),
    ),
    "calibration_fraction": Parameter(
        0.1,
        "share of the last windows kept for prediction intervals",
        number=Real(0.0, 1.0, high_inclusive=False),
    ),
    "patience": Parameter(
        "auto",
        "epochs without progress before stopping; 'auto': 10",
        Options(("auto", None)),
        Integer(),
    ),
    "refit": Parameter(
        "auto",
        "retrain on the validation windows too, for the epochs early stopping chose; 'auto': yes",
        Options(("auto",)),
        Flag(),
    ),
    "tol": Parameter(
        0.05, "relative gain that counts as progress", number=Real(0.0, 1.0, high_inclusive=False)
    ),
    "device": Parameter("auto", "'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "precision": Parameter(
        "float32",
        "training arithmetic; bfloat16 (mixed precision) needs CUDA",
        Options(("float32", "bfloat16")),
    ),
    "gru_backend": Parameter(
        "auto",
        "which GRU implementation trains: the fused CPU kernel, nn.GRU, or auto",
        Options(GRU_BACKENDS),
    ),
    "distributed": Parameter(
        "auto",
        "train one model with all processes of torchrun (torch.distributed DDP); "
        "'auto': when there are two or more",
        Options(("auto",)),
        Flag(),
    ),
    "random_state": Parameter(None, "random seed, for repeatable training"),
    "verbose": Parameter(
        0,
        "progress on stderr: 0 none, 1 a live line (a few plain lines if not a terminal), "
        "2 a line per epoch",
        number=Integer(minimum=0),
    ),
}


def check_params(params: Mapping[str, Any]) -> None:
    """Check each value against its rules, then the rules that tie values together.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter, the value and what is allowed.
    """
    for name, value in params.items():
        PARAMETERS[name].check(value, name)
    validation, calibration = params["validation_fraction"], params["calibration_fraction"]
    if validation + calibration >= 1.0:
        raise ValueError(
            f"validation_fraction={validation} and calibration_fraction={calibration} "
            "leave nothing to train on; their sum must be below 1"
        )


def check_choice(name: str, value: Any) -> Any:
    """``value`` if the table allows it for parameter ``name``, else a clear error."""
    PARAMETERS[name].check(value, name)
    return value
