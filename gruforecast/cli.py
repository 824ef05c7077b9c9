"""The ``gruforecast`` command: fit, forecast, export, info and demo from a shell.

Every command's ``--help`` ends with an example. User errors (a missing file or column,
a bad number, text where numbers belong) print one line to stderr and exit with status 2;
``--verbose`` adds the traceback. ``forecast`` and ``info`` on an ``.onnx`` file use ONNX
Runtime only: torch is not imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ._intervals import errors, highest_level, level_label
from ._params import PARAMETERS, Integer, Real
from ._tables import (
    DATA_SUFFIXES,
    UsageError,
    read_future,
    read_series,
    refuse_gaps,
    table_format,
    write_table,
)
from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from ._state import FittedState

__all__ = ["main"]

PROG = "gruforecast"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus a pointer to --help), not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# ---------------------------------------------------------------------- data and models


# GRUForecaster parameters that `fit` takes as flags (--window, --hidden-size, ...): their
# defaults, choices and checks come from gruforecast._params, as the estimator's do
_FIT_PARAMETERS = (
    "window",
    "horizon",
    "epochs",
    "hidden_size",
    "num_layers",
    "validation_fraction",
    "calibration_fraction",
    "missing",
    "device",
    "precision",
    "gru_backend",
)


def _add_parameter(parser: argparse.ArgumentParser, name: str) -> None:
    """A flag for estimator parameter ``name``, as the parameter table declares it."""
    parameter = PARAMETERS[name]

    rule = parameter.number
    expected = ""
    if isinstance(rule, Integer):
        expected = (
            "a positive whole number" if rule.minimum == 1 else f"a whole number >= {rule.minimum}"
        )
    elif isinstance(rule, Real):
        left, right = "[" if rule.low_inclusive else "(", "]" if rule.high_inclusive else ")"
        expected = f"a number in {left}{rule.low:g}, {rule.high:g}{right}"
    if parameter.options is not None and rule is not None:
        expected += " or " + " or ".join(repr(o) for o in parameter.options.values if o is not None)

    def parse(text: str) -> Any:
        if parameter.options is not None and parameter.options.allows(text):
            return text
        if rule is None:
            return text  # checked where it is used (device)
        try:
            value = int(text) if isinstance(rule, Integer) else float(text)
            rule.check(value, name)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        return value

    parse.__name__ = name  # argparse names the type in "invalid <name> value"
    choices = None
    if parameter.options is not None and parameter.number is None:
        choices = [option for option in parameter.options.values if option is not None]
    parser.add_argument(
        "--" + name.replace("_", "-"),
        dest=name,
        type=parse,
        default=parameter.default,
        choices=choices,
        help=f"{parameter.help} (default {parameter.default})",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value}")
    return value


def _names(text: str) -> list[str]:
    """A comma-separated list of column names (covariates)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def _calendar(text: str) -> str | list[str]:
    """--calendar: "auto", or calendar features separated by commas."""
    return "auto" if text == "auto" else _names(text)


_COVARIATE_FLAGS = {  # GRUForecaster parameter: the fit flag that gives it
    "future_covariates": "--future-columns",
    "past_covariates": "--past-columns",
    "static_covariates": "--static-columns",
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level such as 0.9, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a level strictly between 0 and 1, got {value}")
    return value


def _is_onnx(path: str) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def load_model(path: str, timeout: float | None = None, trusted: bool = False) -> Any:
    """A GRUForecaster from a native file, or an OnnxForecaster from an ``.onnx`` file
    (then torch is never imported; ``timeout`` bounds each ONNX Runtime call, and a
    graph of operators gruforecast never writes is refused unless ``trusted``)."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    if _is_onnx(path):
        from .runtime import OnnxForecaster

        return OnnxForecaster(path, timeout=timeout, trusted=trusted)
    from .estimator import GRUForecaster

    return GRUForecaster.load(path)


def _prior_for(name: str, context: Any, where: str, timeout: float | None) -> Any:
    """The shipped prior ``name`` (a name or a season), or with ``"auto"`` the one of
    the season the series of ``context`` (read from ``where``) have, as an
    OnnxForecaster (no torch)."""
    from .runtime import OnnxForecaster

    try:
        if name == "auto":
            chooser = OnnxForecaster.from_pretrained(None, timeout=timeout)
            return chooser.prior_for(context, what=where, how="--pretrained NAME")
        return OnnxForecaster.from_pretrained(
            int(name) if name.isdigit() else name, timeout=timeout
        )
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None


def model_info(path: str) -> dict[str, Any]:
    """What ``gruforecast info`` shows, read from the file's metadata (no torch)."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    if _is_onnx(path):
        from ._limits import Limits
        from .runtime import read_model

        # read, never run: any graph may be described
        model = read_model(path, Limits(), trusted=True)
        meta = model.metadata
        parity = meta.get("parity_max_error")
        return {
            "file": path,
            "kind": "ONNX model (serve with ONNX Runtime)",
            "gruforecast_version": meta.get("gruforecast_version"),
            "format_version": int(meta["format_version"]),
            **describe(model.state),
            "parity_max_error": None if parity is None else float(parity),
            "exporter": meta.get("exporter"),
        }
    from .persistence import read_state

    state, params, meta = read_state(path)
    return {
        "file": path,
        "kind": "gruforecast model (GRUForecaster.load)",
        "gruforecast_version": meta.get("gruforecast_version"),
        "format_version": int(meta["format_version"]),
        **describe(state),
        "random_state": params.get("random_state"),
    }


def describe(state: FittedState) -> dict[str, Any]:
    """What ``gruforecast info`` shows of a fitted state."""
    shape = state.shape
    return {
        "window": state.window,
        "horizon": state.horizon,
        "scaler": state.scaler.to_dict(),
        "normalize": shape.normalize,
        "season": shape.season,
        "network": (
            f"GRU {shape.num_layers} layer(s) x {shape.hidden_size} hidden"
            if shape.num_layers
            else None
        ),
        "gru_backend": state.gru_backend,
        "series_name": state.series_name,
        "frequency": state.frequency,
        "training_span": state.training_span,
        "epochs_trained": len(state.history),
        "stop_reason": state.stop_reason,
        "refit_epochs": state.refit_epochs,
        "validation_scores": state.validation_scores,
        "intervals": _intervals_summary(state),
        "choices": dataclasses.asdict(state.chosen),
    } | ({"prior": state.prior} if state.prior is not None else {})


def _intervals_summary(state: FittedState) -> str | None:
    """Which interval levels the calibration errors honour over the horizon (``n``
    errors honour up to ``n / (n + 1)``; later steps may have fewer)."""
    if state.calibration is None:
        return None
    counts = state.calibration.errors_per_step(state.horizon)

    def up_to(n: int) -> str:
        return f"{level_label(highest_level(n))}%" if n else "none"

    first, last = int(counts[0]), int(counts[-1])
    if first == last:
        return f"levels up to {up_to(first)} ({errors(first)} per step)"
    return (
        f"levels up to {up_to(first)} at step 1 and {up_to(last)} at step {state.horizon} "
        f"({errors(first)} at step 1, {last} at step {state.horizon})"
    )


def _history_of(model: Any) -> Any:
    """The end of the series a model was fitted on (its last ``window_`` values), as a
    pd.Series labelled like the model's forecasts (for plots): with the fitted series'
    labels, or for a model fitted on a NumPy array by "step", 0 for the last value, as
    the forecast table counts 1, 2, ... after it. None if the model holds no series."""
    import pandas as pd

    values = model.last_window_
    if values is None:
        return None
    time_index = model.time_index_
    index = time_index.past(len(values)) if time_index is not None else None
    if index is None:
        index = pd.RangeIndex(1 - len(values), 1, name="step")
    return pd.Series(values, index=index, name=model.series_name_)


def _check_image_format(path: str) -> None:
    """--plot's suffix names an image format matplotlib writes (before any work)."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    if Path(path).suffix.lower().lstrip(".") not in formats:
        raise UsageError(
            f"--plot {path}: expected an image file name ending in "
            + ", ".join(f".{name}" for name in ("png", "svg", "pdf"))
            + f" or another format matplotlib writes ({', '.join(sorted(formats))})"
        )


def _as_frame(forecast: Any, steps: int, levels: list[float] | None) -> Any:
    """The forecast as a table: pandas output as it is; an array (a model of a series
    without an index) by step 1, 2, ..., with the columns pandas output would have."""
    import numpy as np
    import pandas as pd

    from ._intervals import level_label

    if isinstance(forecast, pd.DataFrame):
        return forecast
    if isinstance(forecast, pd.Series):
        return forecast.rename("forecast").to_frame()
    columns = ["forecast"]
    for level in levels or ():
        columns += [f"lower_{level_label(level)}", f"upper_{level_label(level)}"]
    array = np.asarray(forecast).reshape(steps, len(columns))
    return pd.DataFrame(array, index=pd.RangeIndex(1, steps + 1, name="step"), columns=columns)


class _Output:
    """Prints according to --quiet / --verbose."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        self.quiet = arguments.quiet
        self.verbose = arguments.verbose

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def detail(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)


def _scores_line(scores: dict[str, Any] | None) -> str:
    if not scores:
        return "validation: none (validation_fraction=0)"
    return (
        f"validation (last {scores['n_windows']} windows, all steps ahead): "
        f"MAE {scores['mae']:.4g}, RMSE {scores['rmse']:.4g}, sMAPE {scores['smape']:.2f}%"
    )


# ---------------------------------------------------------------------- commands


def _check_output(path: str, flag: str, reads: list[str], suffixes: tuple[str, ...] = ()) -> None:
    """Before any work: refuse an output that is one of the files this command reads,
    has a suffix of another format, or cannot be written."""
    import os

    target = Path(path).resolve()
    for source in reads:
        if Path(source).resolve() == target:
            raise UsageError(f"{flag} {path} is a file this command reads; write to another file")
    suffix = target.suffix.lower()
    if suffix in suffixes:
        raise UsageError(f"{flag} {path}: a {suffix} name is for another kind of file")
    folder = target.parent
    while not folder.exists():  # the first folder that exists must be writable
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{flag} {path}: cannot write there (permission denied)")


def _cmd_fit(arguments: argparse.Namespace) -> int:
    out = _Output(arguments)
    # a model file, not data, not an ONNX file (export writes those)
    _check_output(arguments.out, "--out", [arguments.data], (".onnx", *DATA_SUFFIXES, ".json"))
    covariates = {name: getattr(arguments, name) for name in (*_COVARIATE_FLAGS, "calendar")}
    keep = tuple(c for name in _COVARIATE_FLAGS for c in covariates[name] or ())
    data = read_series(
        arguments.data, arguments.column, arguments.time_column, arguments.id_column, keep=keep
    )
    many = data.ndim == 2  # a long file: one model of many series (or one with covariates)
    if not many:
        out.detail(f"read {len(data)} values of {data.name!r} from {arguments.data}")
        if arguments.missing == "raise":
            refuse_gaps(
                data,
                arguments.data,
                "give --missing interpolate to fill such gaps from the values around them, "
                "or fill them in the file",
            )
    from .estimator import GRUForecaster

    names = ("id_col", "time_col", "target_col")
    columns: dict[str, Any] = (
        dict(zip(names, map(str, data.columns[:3]), strict=True)) if many else {}
    )
    forecaster = GRUForecaster(
        **{name: getattr(arguments, name) for name in _FIT_PARAMETERS},
        **columns,
        **covariates,
        random_state=arguments.seed,
        verbose=0 if arguments.quiet else (2 if arguments.verbose else 1),
    )
    started = time.perf_counter()
    forecaster.fit(data)
    elapsed = time.perf_counter() - started
    ranks = forecaster.state_.ranks  # processes that trained it together (torchrun)
    if ranks > 1:
        from ._ddp import writes

        out.quiet = out.quiet or not writes(ranks)  # rank 0 reports, and writes the file
    span = cast(dict, forecaster.training_span_)
    if many:
        what = (
            f"one model of {span['series']} series ({span['values']} values of "
            f"{columns['target_col']!r})"
        )
    else:
        inserted, empty = span["length"] - len(data), int(data.isna().sum())
        if inserted or empty:  # --missing interpolate filled them
            out.say(
                f"filled by interpolation: {empty} empty value{'s' if empty != 1 else ''} and "
                f"{inserted} missing row{'s' if inserted != 1 else ''}"
            )
        what = f"on {span['length']} values of {data.name!r}"
    out.say(
        f"fitted {what} in {elapsed:.1f} s: window {forecaster.window_}, horizon "
        f"{forecaster.horizon_}, {len(forecaster.history_)} epochs "
        f"({forecaster.stop_reason_}) on {forecaster.device_}"
        f"{f' in each of {ranks} processes' if ranks > 1 else ''}, GRU {forecaster.gru_backend_}"
    )
    out.say(_scores_line(forecaster.validation_scores_))
    forecaster.save(arguments.out)
    out.say(f"saved {arguments.out}")
    return 0


def _cmd_forecast(arguments: argparse.Namespace) -> int:
    out = _Output(arguments)
    pretrained = arguments.pretrained is not None
    if pretrained and arguments.model is not None:
        raise UsageError("give a MODEL or --pretrained, not both")
    if pretrained and arguments.input is None:
        raise UsageError("--pretrained forecasts the series of --input: give --input")
    if not pretrained and arguments.model is None:
        raise UsageError("give a MODEL (saved by 'fit', or an .onnx file) or --pretrained")
    reads = [path for path in (arguments.model, arguments.input) if path]
    for path, flag in ((arguments.output, "--output"), (arguments.plot, "--plot")):
        if path:
            _check_output(path, flag, reads)
    if arguments.output:
        table_format(arguments.output)
    if arguments.plot:
        _check_image_format(arguments.plot)
    model = (
        None if pretrained else load_model(arguments.model, arguments.timeout, arguments.trusted)
    )
    state = None if model is None else (model.state_ if hasattr(model, "state_") else model.state)
    panel = None if state is None else state.panel
    covariates = None if state is None else state.covariates
    if panel is not None and arguments.plot:
        raise UsageError("--plot draws one series; this model is of many series")
    context = None
    renamed: dict[str, str] = {}  # the output's id and time columns, named as in --input
    if arguments.input is not None:
        column, time_column, id_column = (
            arguments.column,
            arguments.time_column,
            arguments.id_column,
        )
        # columns not named on the command line: the fit's names where the file has them
        fitted = (
            model.series_name_
            if model is not None and isinstance(model.series_name_, str)
            else None
        )
        defaults = panel.names if panel is not None else (None, None, fitted)
        keep = () if covariates is None else covariates.spec.columns
        context = read_series(arguments.input, column, time_column, id_column, defaults, keep)
        if context.ndim == 2:  # many series: in the model's column names, and back after
            from ._panel import DEFAULT_NAMES

            names = panel.names if panel is not None else DEFAULT_NAMES
            given = [str(name) for name in context.columns]
            context = context.set_axis([*names, *map(str, context.columns[3:])], axis=1)
            renamed = {names[0]: given[0], names[1]: given[1]}
        if context.ndim == 1 and (model is None or model.missing == "raise"):
            refuse_gaps(
                context,
                arguments.input,
                "a pretrained prior fills none: fill them in the file"
                if model is None
                else f"{arguments.model} was fitted without --missing interpolate, so it fills "
                "none: fill them in the file, or fit the model again with --missing "
                "interpolate",
            )
    elif arguments.column or arguments.time_column or arguments.id_column:
        raise UsageError(
            "--column, --time-column and --id-column describe --input; give --input too"
        )
    if model is None:
        model = _prior_for(arguments.pretrained, context, arguments.input, arguments.timeout)
    from ._forecasting import NonFiniteForecastError

    interval = arguments.interval or None
    future = {}
    if covariates is not None and arguments.future is None and covariates.spec.future:
        columns = ", ".join(map(repr, covariates.spec.future))
        raise UsageError(
            f"{arguments.model} reads covariates known ahead ({columns}): give their values "
            f"for the next {arguments.steps} steps in --future FILE (the fit's id and time "
            "columns and those)"
        )
    if covariates is not None and arguments.future is not None:
        future["X_future"] = read_future(arguments.future, cast(Any, panel).names)
    elif arguments.future is not None:
        raise UsageError(f"--future gives covariates, and {arguments.model} reads none")
    try:
        forecast = model.forecast(arguments.steps, context=context, interval=interval, **future)
    except NonFiniteForecastError as error:
        if pretrained or _is_onnx(arguments.model):
            raise  # it names the file already
        raise UsageError(f"{arguments.model}: {error}") from None
    table = _as_frame(forecast, arguments.steps, interval).rename(columns=renamed)
    long = panel is not None or (context is not None and context.ndim == 2)  # many series
    if arguments.output:
        write_table(table, arguments.output, long)
        out.say(f"wrote {arguments.steps} forecast steps to {arguments.output}")
    else:
        print(
            table.to_string(index=not long, float_format=lambda value: f"{value:.6g}"),
            flush=True,
        )
    if arguments.plot:
        from .plotting import plot_forecast, save_figure

        history = context if context is not None else _history_of(model)
        if history is None:
            raise UsageError("--plot needs a history: the model has none, give --input")
        save_figure(plot_forecast(history, forecast), arguments.plot)
        if context is not None:
            out.say(f"saved plot {arguments.plot}")
        else:  # the model holds only the last window_ values of its series
            shown = f"{len(history)} values" if len(history) > 1 else "value"
            out.say(
                f"saved plot {arguments.plot} with the last {shown} of the series that "
                f"{arguments.model} holds; give --input with the series' file to plot "
                "its whole history"
            )
    return 0


def _cmd_export(arguments: argparse.Namespace) -> int:
    out = _Output(arguments)
    if _is_onnx(arguments.model):
        raise UsageError(f"{arguments.model} is an ONNX model already; export reads a native model")
    if arguments.triton is not None:
        model = load_model(arguments.model)
        version = arguments.triton_version
        folder = model.export_triton(
            arguments.triton,
            name=arguments.name,
            version=version,
            max_batch_size=arguments.max_batch_size,
            backend=arguments.triton_backend,
            replace=arguments.replace,
        )
        out.say(
            f"exported {arguments.model} to the Triton model {folder} ({folder}/{version}/"
            f"model.onnx{' and model.py' if arguments.triton_backend == 'python' else ''}, "
            f"{folder}/config.pbtxt: {arguments.triton_backend} backend, max_batch_size "
            f"{arguments.max_batch_size}, dynamic batching)"
        )
        return 0
    if not _is_onnx(arguments.onnx):
        raise UsageError(f"--onnx {arguments.onnx}: expected a file name ending in .onnx")
    model = load_model(arguments.model)
    path = model.export_onnx(arguments.onnx)
    from .runtime import OnnxForecaster

    served = OnnxForecaster(path)
    out.say(
        f"exported {arguments.model} to {path} (parity with PyTorch: max relative error "
        f"{float(served.metadata['parity_max_error']):.2g}; providers here: {served.providers})"
    )
    return 0


def _cmd_info(arguments: argparse.Namespace) -> int:
    info = model_info(arguments.model)
    if arguments.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    width = max(len(key) for key in info)
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
            )
        print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0


def _cmd_demo(arguments: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        Path(arguments.output_dir),
        epochs=arguments.epochs,
        seed=arguments.seed,
        quiet=arguments.quiet,
        verbose=arguments.verbose,
    )


# ---------------------------------------------------------------------- parser

_EXAMPLES = {
    "fit": """examples:
  gruforecast fit sales.csv --column sales --time-column month --window 24 \\
      --horizon 12 --out sales.gruf
  gruforecast fit panel.csv --id-column store --time-column date --column sales \\
      --horizon 12 --out stores.gruf        # one model of many series""",
    "forecast": """examples:
  gruforecast forecast sales.gruf --steps 24 --interval 0.9 --plot forecast.png
  gruforecast forecast sales.onnx --steps 12 --input recent.csv --output forecast.csv
  gruforecast forecast stores.gruf --steps 12 --output forecast.parquet  # long table""",
    "export": """examples:
  gruforecast export sales.gruf --onnx exported/sales.onnx
  gruforecast export stores.gruf --triton models --name stores   # Triton repository""",
    "info": """examples:
  gruforecast info sales.gruf
  gruforecast info exported/sales.onnx --json""",
    "demo": """example:
  gruforecast demo                 # writes exported/demo.gruf, demo.onnx, demo.png""",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q", "--quiet", action="store_true", help="print only what was asked for"
    )
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="more detail (fit: a line per epoch), and tracebacks on errors",
    )

    parser = _Parser(
        prog=PROG,
        description=(
            "Forecast a univariate time series with a GRU network; serve it with ONNX Runtime."
        ),
        epilog=(
            "example:\n  gruforecast demo\n"
            "  gruforecast fit data.csv --column value --out model.gruf\n"
            "Each command has its own --help."
        ),
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_EXAMPLES[name],
            parents=[common],  # type: ignore[list-item]  # typeshed: parents of parser_class
            formatter_class=_formatter,
        )

    fit = command("fit", "Train a forecaster on one column of a CSV or Parquet file.")
    fit.add_argument("data", metavar="DATA", help="a .csv, .tsv or .parquet file")
    fit.add_argument("--column", help="the column to forecast (default: the only numeric one)")
    fit.add_argument(
        "--time-column", help="the column of dates or periods (default: a first column of dates)"
    )
    fit.add_argument(
        "--id-column",
        help="the series-id column of a long file of many series, fitted as one model "
        "(default: 'unique_id' if the file has it)",
    )
    for name in _FIT_PARAMETERS:
        _add_parameter(fit, name)
    for name, flag in _COVARIATE_FLAGS.items():
        fit.add_argument(flag, dest=name, type=_names, metavar="A,B", help=PARAMETERS[name].help)
    fit.add_argument(
        "--calendar",
        type=_calendar,
        metavar="auto|A,B",
        help="calendar features made from the time column: 'auto' (those its step sees) or "
        "a list of time_of_day, day_of_week, day_of_year, week_of_year, month_of_year, "
        "quarter_of_year",
    )
    fit.add_argument("--seed", type=int, default=None, help="random seed, for repeatable training")
    fit.add_argument(
        "--out", required=True, metavar="MODEL", help="where to save the model (e.g. model.gruf)"
    )
    fit.set_defaults(run=_cmd_fit)

    forecast = command(
        "forecast", "Forecast with a saved model (native or .onnx), or a pretrained prior."
    )
    forecast.add_argument(
        "model", metavar="MODEL", nargs="?", help="a model saved by 'fit', or an .onnx file"
    )
    forecast.add_argument(
        "--pretrained",
        nargs="?",
        const="auto",
        metavar="NAME",
        help="forecast --input with a prior shipped with gruforecast instead of a MODEL: "
        "its name (season-12) or season (12); without NAME, the one of --input's season",
    )
    forecast.add_argument(
        "--steps", type=_positive_int, required=True, help="number of future values"
    )
    forecast.add_argument(
        "--input",
        metavar="DATA",
        help="recent history to continue (default: the end of the fitted series)",
    )
    forecast.add_argument(
        "--column", help="column of --input (default: the one the model was fitted on)"
    )
    forecast.add_argument("--time-column", help="time column of --input")
    forecast.add_argument(
        "--id-column", help="series-id column of --input (a long file of many series)"
    )
    forecast.add_argument(
        "--future",
        metavar="DATA",
        help="a model with covariates: their values for the steps ahead (a .csv or .parquet "
        "file with the id and time columns of the fit, and the covariate columns)",
    )
    forecast.add_argument(
        "--interval",
        type=_level,
        action="append",
        metavar="LEVEL",
        help="add a prediction interval, e.g. 0.9 (repeatable)",
    )
    forecast.add_argument(
        "--plot",
        metavar="PNG",
        help="save a plot of the history and the forecast (PNG, SVG or PDF, by suffix): the "
        "whole history given by --input, else the last values the model holds",
    )
    forecast.add_argument(
        "--output",
        metavar="FILE",
        help="write the forecast to a .csv, .json or .parquet file instead of printing it",
    )
    forecast.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="stop an ONNX model's ONNX Runtime call that runs longer (default 300)",
    )
    forecast.add_argument(
        "--trusted",
        action="store_true",
        help="serve an ONNX graph that uses operators gruforecast never writes (refused "
        "by default: only for a file from a source you trust)",
    )
    forecast.set_defaults(run=_cmd_forecast)

    export = command(
        "export",
        "Export a saved model to a self-contained ONNX file, or to a Triton model repository.",
    )
    export.add_argument("model", metavar="MODEL", help="a model saved by 'fit'")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", metavar="PATH", help="the .onnx file to write")
    target.add_argument(
        "--triton",
        metavar="REPO",
        help="a Triton model repository to write REPO/NAME/1/model.onnx and config.pbtxt into",
    )
    export.add_argument(
        "--name", default="gruforecast", help="the model's name in --triton (default gruforecast)"
    )
    export.add_argument(
        "--triton-version",
        type=_positive_int,
        default=1,
        metavar="N",
        help="the model's version in --triton: REPO/NAME/N/ (default 1)",
    )
    export.add_argument(
        "--triton-backend",
        choices=("onnxruntime", "python"),
        default="onnxruntime",
        help="Triton's backend: onnxruntime (the default), or python (a model.py that runs "
        "ONNX Runtime, for a server without the onnxruntime backend)",
    )
    export.add_argument(
        "--replace",
        action="store_true",
        help="replace the whole --triton model, its other versions included, when its "
        "config does not match this one (another window, horizon or backend)",
    )
    export.add_argument(
        "--max-batch-size",
        type=_positive_int,
        default=4096,
        help="Triton's max_batch_size, windows per batch (default 4096)",
    )
    export.set_defaults(run=_cmd_export)

    info = command("info", "Describe a model: window, horizon, scaler, training data, version.")
    info.add_argument("model", metavar="MODEL", help="a model saved by 'fit', or an .onnx file")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_cmd_info)

    demo = command(
        "demo",
        "Train on the shipped AirPassengers series, forecast a year with an interval, "
        "compare with seasonal naive, export to ONNX and check it, save a plot.",
    )
    demo.add_argument(
        "--output-dir",
        default="exported",
        metavar="DIR",
        help="where to write the model, the ONNX file and the plot (default: exported)",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="most passes over the data (default: the estimator's)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_cmd_demo)
    return parser


# the library's messages name Python parameters; the command line's user has flags
_FLAGS = {
    **{name: "--" + name.replace("_", "-") for name in (*_FIT_PARAMETERS, "interval", "steps")},
    "random_state": "--seed",
}
_NAMES = "|".join(sorted(_FLAGS, key=len, reverse=True))


def in_cli_terms(message: str) -> str:
    """A library message with its advice in flags: ``GRUForecaster(missing=
    'interpolate')`` becomes ``--missing interpolate``, ``interval=0.75`` ``--interval
    0.75``, ``calibration_fraction`` ``--calibration-fraction``; one line."""
    message = " ".join(message.split()).replace("X (the series)", "the series")
    message = re.sub(rf"GRUForecaster\(((?:{_NAMES})=[^)]*)\)", r"\1", message)
    message = re.sub(rf"\b({_NAMES})=('?)([\w.-]+)\2", lambda m: f"{_FLAGS[m[1]]} {m[3]}", message)
    message = re.sub(rf"\b({_NAMES})=(?=\s|$)", lambda m: _FLAGS[m[1]], message)
    # a bare name is a parameter only where it cannot be an English word
    return re.sub(
        rf"(?<![\w-])({_NAMES})(?![\w=])",
        lambda m: _FLAGS[m[1]] if "_" in m[1] else m[1],
        message,
    )


def _show_warning(message: Any, category: Any, *_: Any, **__: Any) -> None:
    print(f"{PROG}: warning: {in_cli_terms(str(message))}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for user errors)."""
    import warnings

    parser = build_parser()
    verbose = False
    try:
        arguments = parser.parse_args(argv)
        verbose = arguments.verbose
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return arguments.run(arguments)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`gruforecast info m.gruf | head`): nothing more to say,
        # and Python's flush of stdout at exit must not complain either
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, ValueError, TypeError, OSError, RuntimeError) as error:
        ours = type(error).__module__.startswith("gruforecast")
        if isinstance(error, RuntimeError) and not ours:
            raise  # not the user's mistake: a bug, with its traceback
        if verbose:
            traceback.print_exc()
        print(f"{PROG}: error: {in_cli_terms(str(error))}", file=sys.stderr)
        return 2
