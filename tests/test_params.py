"""The parameter table (gruforecast._params): the estimator and the CLI read the same
defaults, choices and checks from it."""

import inspect

import pytest

from gruforecast import GRUForecaster
from gruforecast._params import PARAMETERS, check_choice, check_params
from gruforecast.cli import _FIT_PARAMETERS, build_parser


def test_the_table_lists_every_parameter_with_the_constructor_default():
    signature = inspect.signature(GRUForecaster.__init__).parameters
    declared = {name: p.default for name, p in signature.items() if name != "self"}
    assert declared == {name: parameter.default for name, parameter in PARAMETERS.items()}


def test_every_default_passes_its_own_check():
    check_params({name: parameter.default for name, parameter in PARAMETERS.items()})


def test_cli_fit_flags_take_defaults_and_choices_from_the_table():
    parser = build_parser()
    arguments = parser.parse_args(["fit", "data.csv", "--out", "m.gruf"])
    for name in _FIT_PARAMETERS:
        assert getattr(arguments, name) == PARAMETERS[name].default, name
    fit = next(a for a in parser._subparsers._group_actions[0].choices["fit"]._actions
               if a.dest == "gru_backend")
    assert list(fit.choices) == list(PARAMETERS["gru_backend"].options.values)
    parsed = parser.parse_args(["fit", "d.csv", "--out", "m", "--window", "12",
                                "--calibration-fraction", "0.25", "--gru-backend", "torch"])
    assert (parsed.window, parsed.calibration_fraction, parsed.gru_backend) == (12, 0.25, "torch")


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("gru_backend", "cuda", ValueError, "gru_backend must be one of 'auto', 'fused' or 'torch', got 'cuda'"),
        ("skip", "trend", ValueError, "skip must be 'seasonal' or None, got 'trend'"),
        ("window", 0, ValueError, "window must be an integer >= 1, got 0"),
        ("batch_size", "big", TypeError, "batch_size must be an integer"),
        ("patience", None, None, None),
        ("gradient_clip", 0.0, ValueError, r"gradient_clip must be a finite number in \(0.0, inf\)"),
        ("verbose", 0, None, None),
    ],
)
def test_checks_name_the_parameter_and_the_allowed_values(name, value, error, message):
    if error is None:
        assert check_choice(name, value) is value
    else:
        with pytest.raises(error, match=message):
            check_choice(name, value)


def test_options_never_ask_an_array_for_its_truth():
    import numpy as np

    with pytest.raises(ValueError, match="scaler must be one of"):
        check_choice("scaler", np.array(["standard", "minmax"]))
