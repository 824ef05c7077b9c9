"""The command line, in-process (main(argv)) and as a subprocess."""

import json
import re
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gruforecast import GRUForecaster
from gruforecast.cli import build_parser, main

FAST_FIT = ["--epochs", "3", "--hidden-size", "8", "--num-layers", "1", "--seed", "0"]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    from gruforecast.datasets import load_air_passengers

    folder = tmp_path_factory.mktemp("cli")
    series = load_air_passengers()
    table = pd.DataFrame({"month": series.index.strftime("%Y-%m"), "passengers": series.to_numpy()})
    table["note"] = "ok"
    path = folder / "air.csv"
    table.to_csv(path, index=False)
    return path


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_fit_forecast_export_info_in_process(csv_file, tmp_path, capsys):
    model = tmp_path / "air.gruf"
    status, out, _ = run(capsys, "fit", csv_file, "--column", "passengers", "--time-column", "month",
                         "--window", 24, "--horizon", 12, *FAST_FIT, "--out", model)
    assert status == 0 and model.is_file()
    assert "validation (last" in out and "MAE" in out and f"saved {model}" in out

    status, out, _ = run(capsys, "forecast", model, "--steps", 12, "--interval", 0.8)
    assert status == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["forecast", "lower_80", "upper_80"] and len(lines) == 2 + 12
    assert lines[2].startswith("1961-01-01")

    table_path, plot = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    status, _, _ = run(capsys, "forecast", model, "--steps", 12, "--interval", 0.8, "--interval", 0.9,
                       "--output", table_path, "--plot", plot)
    assert status == 0 and plot.stat().st_size > 1000
    table = pd.read_csv(table_path)
    assert list(table.columns) == ["month", "forecast", "lower_80", "upper_80", "lower_90", "upper_90"]
    assert table["month"].iloc[0] == "1961-01-01"

    onnx_path = tmp_path / "exported" / "air.onnx"
    status, out, _ = run(capsys, "export", model, "--onnx", onnx_path)
    assert status == 0 and onnx_path.is_file() and "parity" in out

    json_path = tmp_path / "served.json"
    status, _, _ = run(capsys, "forecast", onnx_path, "--steps", 12, "--interval", 0.8,
                       "--output", json_path)
    served = pd.DataFrame(json.loads(json_path.read_text()))
    np.testing.assert_allclose(served[["forecast", "lower_80", "upper_80"]], table[["forecast", "lower_80", "upper_80"]], rtol=1e-5)

    for path in (model, onnx_path):
        status, out, _ = run(capsys, "info", path)
        assert status == 0
        assert "window" in out and "24" in out and "horizon" in out and "1949-01-01" in out
        status, out, _ = run(capsys, "info", path, "--json")
        info = json.loads(out)
        assert info["window"] == 24 and info["horizon"] == 12
        assert info["training_span"] == {"length": 144, "start": "1949-01-01 00:00:00", "end": "1960-12-01 00:00:00"}
        assert info["scaler"]["kind"] == "standard" and info["gruforecast_version"]


def test_forecast_from_input_uses_the_fitted_column(csv_file, tmp_path, capsys):
    model = tmp_path / "m.gruf"
    assert run(capsys, "fit", csv_file, "--column", "passengers", *FAST_FIT, "--out", model)[0] == 0
    recent = tmp_path / "recent.csv"
    table = pd.read_csv(csv_file).iloc[:100]
    table.to_csv(recent, index=False)
    status, out, _ = run(capsys, "forecast", model, "--steps", 3, "--input", recent, "-q")
    assert status == 0
    assert out.splitlines()[1].startswith("month")  # the time column found by itself
    assert out.splitlines()[2].startswith("1957-05-01")  # after the 100th month


def _one_line_error(status, err, *expected):
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for text in expected:
        assert text in lines[0], (text, lines[0])


def test_user_errors_are_one_line_and_exit_2(csv_file, tmp_path, capsys):
    model_for_errors = tmp_path / "fitted.gruf"
    assert run(capsys, "fit", csv_file, *FAST_FIT, "--out", model_for_errors)[0] == 0
    model = tmp_path / "m.gruf"
    bad = tmp_path / "bad.csv"
    bad.write_text("month,value\n1949-01,112\n1949-02,oops\n" + "".join(f"1950-{m:02d},1\n" for m in range(1, 13)))
    cases = [
        (["fit", tmp_path / "missing.csv", "--out", model], "missing.csv: no such file"),
        (["fit", csv_file, "--column", "sales", "--out", model], "no column 'sales'"),
        (["fit", csv_file, "--out", model, "--window", "ten"], "argument --window: expected a positive whole number or 'auto', got 'ten'"),
        (["fit", csv_file, "--out", model, "--horizon", "0"], "positive whole number"),
        (["fit", bad, "--column", "value", "--out", model], "row 2 holds 'oops'"),
        (["fit", csv_file, "--column", "passengers", "--window", "1000", "--out", model], "need at least"),
        (["forecast", tmp_path / "missing.gruf", "--steps", "3"], "no such file"),
        (["forecast", csv_file, "--steps", "3"], "not a gruforecast model file"),
        (["forecast", csv_file, "--steps", "x"], "argument --steps: expected a positive whole number, got 'x'"),
        (["forecast", csv_file, "--steps", "3", "--interval", "90"], "between 0 and 1"),
        (["info", tmp_path / "nothing.onnx"], "no such file"),
        (["fit", csv_file], "--out"),
        (["forecast", model_for_errors, "--steps", 3, "--plot", tmp_path / "p.txt"], "--plot"),
        ([], "COMMAND"),
    ]
    for argv, expected in cases:
        status, _, err = run(capsys, *argv)
        _one_line_error(status, err, "gruforecast", expected)
    assert not model.exists()


def test_every_command_has_help_with_an_example():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    assert set(subparsers) == {"fit", "forecast", "export", "info", "demo"}
    for name, sub in subparsers.items():
        assert "example" in sub.format_help() and "gruforecast " in sub.format_help(), name
    assert "example" in parser.format_help()


def test_subprocess_round_trip_and_onnx_without_torch(csv_file, tmp_path):
    model, onnx_path = tmp_path / "m.gruf", tmp_path / "m.onnx"
    command = [sys.executable, "-m", "gruforecast"]
    fit = subprocess.run([*command, "fit", str(csv_file), "--column", "passengers", *FAST_FIT,
                          "--out", str(model), "--quiet"], capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr
    assert fit.stdout == "" and fit.stderr == ""  # --quiet: no progress bar either
    export = subprocess.run([*command, "export", str(model), "--onnx", str(onnx_path)], capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    # serving an .onnx file never imports torch
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from gruforecast.cli import main\n"
        f"sys.exit(main(['forecast', {str(onnx_path)!r}, '--steps', '3']) or "
        f"main(['info', {str(onnx_path)!r}]))"
    )
    served = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert served.returncode == 0, served.stderr
    assert "1961-01-01" in served.stdout and "window" in served.stdout
    missing = subprocess.run([*command, "info", str(tmp_path / "none.gruf")], capture_output=True, text=True)
    _one_line_error(missing.returncode, missing.stderr, "no such file")
    if shutil.which("gruforecast"):  # the console script, where the package is installed
        help_text = subprocess.run(["gruforecast", "forecast", "--help"], capture_output=True, text=True)
        assert help_text.returncode == 0 and "example" in help_text.stdout


def test_parquet_input(csv_file, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "air.parquet"
    table = pd.read_csv(csv_file)
    table["month"] = pd.to_datetime(table["month"])
    table.to_parquet(parquet)
    model = tmp_path / "p.gruf"
    status, _, err = run(capsys, "fit", parquet, "--column", "passengers", "--time-column", "month",
                         *FAST_FIT, "--out", model, "-q")
    assert status == 0, err
    status, out, _ = run(capsys, "forecast", model, "--steps", 2)
    assert "1961-01-01" in out


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    # the README's first command; it prints its own timing ("Done in ... s")
    status, out, _ = run(capsys, "demo", "--output-dir", tmp_path)
    assert status == 0
    assert "seasonal naive" in out and "max relative difference" in out
    assert {p.name for p in tmp_path.iterdir()} == {"demo.gruf", "demo.onnx", "demo.png"}
    difference = float(re.search(r"max relative difference (\S+)", out).group(1))
    assert difference < 1e-5


def test_outputs_never_overwrite_inputs_and_are_checked_before_training(csv_file, tmp_path, capsys, monkeypatch):
    import gruforecast.estimator

    monkeypatch.setattr(gruforecast.estimator.GRUForecaster, "fit", lambda *a: pytest.fail("trained"))
    victim = tmp_path / "victim.csv"
    victim.write_bytes(csv_file.read_bytes())
    before = victim.read_bytes()
    status, _, err = run(capsys, "fit", victim, "--column", "passengers", "--out", victim)
    _one_line_error(status, err, "--out", "is a file this command reads")
    assert victim.read_bytes() == before
    status, _, err = run(capsys, "fit", victim, "--column", "passengers", "--out", tmp_path / "m.onnx")
    _one_line_error(status, err, "--out", "a .onnx name is for another kind of file")
    (tmp_path / "plain").write_text("a file")
    status, _, err = run(capsys, "fit", victim, "--column", "passengers", "--out", tmp_path / "plain" / "m.gruf")
    _one_line_error(status, err, "is a file, not a folder")
    assert not (tmp_path / "m.onnx").exists()


def test_forecast_refuses_to_write_over_its_history(csv_file, tmp_path, capsys):
    model = tmp_path / "m.gruf"
    assert run(capsys, "fit", csv_file, "--column", "passengers", *FAST_FIT, "--out", model)[0] == 0
    recent = tmp_path / "recent.csv"
    recent.write_bytes(csv_file.read_bytes())
    before = recent.read_bytes()
    status, _, err = run(capsys, "forecast", model, "--steps", 3, "--input", recent, "--output", recent)
    _one_line_error(status, err, "--output", "is a file this command reads")
    status, _, err = run(capsys, "forecast", model, "--steps", 3, "--plot", model)
    _one_line_error(status, err, "--plot", "is a file this command reads")
    assert recent.read_bytes() == before and GRUForecaster.load(model).window_ > 0


def test_a_closed_pipe_ends_quietly(csv_file, tmp_path, capsys):
    model = tmp_path / "m.gruf"
    assert run(capsys, "fit", csv_file, "--column", "passengers", *FAST_FIT, "--out", model)[0] == 0
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m gruforecast info {model} | head -1"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith("file")


def test_european_csv_day_first_dates_and_mixed_offsets_are_read_as_meant(tmp_path):
    from gruforecast._tables import UsageError, read_series

    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("date;value\n2020-01-01;1000,0\n2020-02-01;1010,5\n2020-03-01;1020,0\n")
    series = read_series(str(semicolons), None, None)
    assert series.tolist() == [1000.0, 1010.5, 1020.0] and series.index[0] == pd.Timestamp("2020-01-01")
    # a comma in the header of a semicolon file is part of a name, not a separator
    euros = tmp_path / "euros.csv"
    euros.write_text("date;sales, EUR\n2020-01-01;1000,00\n2020-02-01;1025,11\n2020-03-01;1030,68\n")
    series = read_series(str(euros), None, None)
    assert series.name == "sales, EUR" and series.tolist() == [1000.0, 1025.11, 1030.68]
    # one column of decimal commas: pandas would make the whole parts an index and fit
    # the fractional parts; refused, naming the column
    one = tmp_path / "one.csv"
    one.write_text("sales\n1000,00\n1025,11\n1030,68\n")
    with pytest.raises(UsageError, match=r"one field more than its header \('sales'\).*decimal marks in column 'sales'"):
        read_series(str(one), None, None)
    day_first = tmp_path / "ddmm.csv"
    day_first.write_text("date,value\n01/02/2020,1\n13/02/2020,2\n14/02/2020,3\n")
    assert list(read_series(str(day_first), None, None).index.day) == [1, 13, 14]
    offsets = tmp_path / "tz.csv"
    offsets.write_text("date,value\n2020-03-28T00:00:00+01:00,1\n2020-03-29T00:00:00+01:00,2\n"
                       "2020-03-30T00:00:00+02:00,3\n")
    index = read_series(str(offsets), None, None).index
    assert str(index.tz) == "UTC" and index[2] == pd.Timestamp("2020-03-29T22:00:00Z")
    broken = tmp_path / "broken.csv"
    broken.write_text("date,value\n2020-01-01,1\n2020-02-01,2\nnot a date,3\n2020-04-01,4\n")
    with pytest.raises(UsageError, match="first column 'date' looks like dates, but some do not parse"):
        read_series(str(broken), None, None)
    one_column = tmp_path / "pipes.csv"
    one_column.write_text("date|value\n2020-01-01|1\n")
    with pytest.raises(UsageError, match="one column named 'date|value'"):
        read_series(str(one_column), None, None)


def _plotted(monkeypatch):
    """The figures `forecast --plot` saves, kept for the test to read."""
    import gruforecast.plotting

    figures = []
    save = gruforecast.plotting.save_figure
    def keep(figure, path, **options):
        figures.append(figure)
        return save(figure, path, **options)

    monkeypatch.setattr(gruforecast.plotting, "save_figure", keep)
    return figures


def _history_and_forecast_x(figure):
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    return list(lines["history"].get_xdata()), list(lines["forecast"].get_xdata()), lines["history"]


def test_plot_of_a_series_without_dates_uses_the_tables_positions(tmp_path, capsys, monkeypatch):
    """The table of a series without dates continues its positions (120, 121, ...): the
    plot's x axis is the same (it was 0..19), with the whole --input history, else the
    last window_ values the model holds, and a line saying so."""
    data = tmp_path / "load.csv"
    values = np.sin(np.arange(120) / 5) + np.arange(120) / 50
    pd.DataFrame({"load": values}).to_csv(data, index=False)
    model, table_path, plot = tmp_path / "m.gruf", tmp_path / "t.csv", tmp_path / "p.png"
    assert run(capsys, "fit", data, "--window", 14, *FAST_FIT, "--out", model, "-q")[0] == 0
    figures = _plotted(monkeypatch)

    status, out, _ = run(capsys, "forecast", model, "--steps", 6, "--output", table_path,
                         "--plot", plot)
    assert status == 0 and plot.stat().st_size > 1000
    table = pd.read_csv(table_path)
    assert list(table["index"]) == list(range(120, 126))
    history_x, forecast_x, _ = _history_and_forecast_x(figures[-1])
    assert history_x == list(range(106, 120))  # the 14 values the model holds
    assert forecast_x == [119, *table["index"]]  # joined to the last observed value
    assert "the last 14 values" in out and "give --input" in out and str(model) in out

    status, out, _ = run(capsys, "forecast", model, "--steps", 6, "--input", data, "--plot", plot)
    assert status == 0
    history_x, forecast_x, _ = _history_and_forecast_x(figures[-1])
    assert history_x == list(range(120)) and forecast_x == list(range(119, 126))
    assert "--input" not in out and f"saved plot {plot}" in out

    # a window of one value: a visible point, not an invisible line
    single = tmp_path / "one.gruf"
    assert run(capsys, "fit", data, "--window", 1, *FAST_FIT, "--out", single, "-q")[0] == 0
    status, out, _ = run(capsys, "forecast", single, "--steps", 2, "--plot", plot)
    history_x, forecast_x, history = _history_and_forecast_x(figures[-1])
    assert history_x == [119] and forecast_x == [119, 120, 121] and history.get_marker() == "o"
    assert "the last value of the series" in out


def test_plot_of_a_model_fitted_on_an_array_counts_steps_like_its_table(tmp_path, capsys,
                                                                        monkeypatch):
    model = tmp_path / "array.gruf"
    GRUForecaster(hidden_size=8, num_layers=1, epochs=3, window=10, random_state=0).fit(
        np.sin(np.arange(200) / 5)).save(model)
    figures = _plotted(monkeypatch)
    status, out, _ = run(capsys, "forecast", model, "--steps", 3, "--plot", tmp_path / "p.png")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["1", "2", "3"]  # "step" rows
    history_x, forecast_x, _ = _history_and_forecast_x(figures[-1])
    assert history_x == list(range(-9, 1)) and forecast_x == [0, 1, 2, 3]
    assert figures[-1].axes[0].get_xlabel() == "step"
