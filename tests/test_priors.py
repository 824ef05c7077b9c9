"""The pretrained priors shipped in gruforecast/priors/: zero-shot forecasts through
GRUForecaster, OnnxForecaster (without torch) and the CLI, their cards, and that a
prior is rebuilt the same from scratch (bench/priors.py)."""

import json
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gruforecast import GRUForecaster, OnnxForecaster, priors
from gruforecast.cli import main
from gruforecast.datasets import load_air_passengers

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = priors.shipped()


def test_every_prior_is_shipped_small_with_its_card():
    assert 12 in SHIPPED, SHIPPED
    total = 0
    for season, name in SHIPPED.items():
        assert name == f"season-{season}"
        for suffix in priors.SUFFIXES:
            size = priors.path_of(season, suffix).stat().st_size
            assert size < 1_000_000, (name, suffix, size)  # well under 1 MB each
            total += size
        card = GRUForecaster.from_pretrained(season).prior_
        assert card["name"] == name and card["season"] == season
        assert {"frequency", "horizon", "window", "series", "sources", "licences"} <= set(card)
        assert card["series"] == card["real_series"] + card["synthetic_series"]
    assert total < 5_000_000


def test_a_prior_holds_no_series_of_its_corpus():
    for season in SHIPPED:
        state = GRUForecaster.from_pretrained(season).state_
        assert state.panel is None and state.last_window is None and state.time_index is None
        calibration = state.calibration
        assert calibration.series is None and calibration.windows is None  # errors only
        assert all(row["seconds"] is None for row in state.history)  # rebuilt bit for bit


def test_zero_shot_forecasts_a_series_it_never_saw_with_intervals_and_onnx_agrees():
    series = load_air_passengers()[:-12]
    torch_model = GRUForecaster.from_pretrained(12)
    onnx_model = OnnxForecaster.from_pretrained(12)
    assert onnx_model.prior_ == torch_model.prior_
    ours = torch_model.forecast(12, context=series, interval=0.9)
    theirs = onnx_model.forecast(12, context=series, interval=0.9)
    assert list(ours.index) == list(pd.date_range("1960-01-01", periods=12, freq="MS"))
    np.testing.assert_allclose(theirs.to_numpy(), ours.to_numpy(), rtol=1e-5)
    assert (ours.lower_90 < ours.forecast).all() and (ours.forecast < ours.upper_90).all()
    truth = load_air_passengers()[-12:].to_numpy()
    snaive = series[-12:].to_numpy()
    # better than seasonal naive on the year it never saw (a check, not a benchmark)
    assert np.abs(ours.forecast.to_numpy() - truth).mean() < np.abs(snaive - truth).mean()
    # many series at once, as a fitted model of many series forecasts them
    frame = pd.DataFrame({"unique_id": "a", "ds": series.index, "y": series.to_numpy()})
    frame = pd.concat([frame, frame.assign(unique_id="b", y=frame.y * 10)])
    table = torch_model.forecast(3, context=frame)
    # each series normalised by its own window: ten times the series, ten times the
    # forecast (to 1e-3: log1p(10 x) is not log1p(x) + log(10) for values of a few hundred)
    np.testing.assert_allclose(table.forecast[3:].to_numpy(), 10 * table.forecast[:3].to_numpy(), rtol=1e-3)


def test_the_onnx_prior_never_imports_torch():
    code = (
        "import sys\n"
        "from gruforecast import OnnxForecaster\n"
        "from gruforecast.datasets import load_air_passengers\n"
        "model = OnnxForecaster.from_pretrained(12)\n"
        "print(float(model.forecast(3, context=load_air_passengers()).iloc[0]))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    forecast, torch_loaded = out.stdout.split()
    assert np.isfinite(float(forecast)) and torch_loaded == "False"


def test_clear_errors_name_the_shipped_priors():
    listed = r"shipped: .*season-12 \(season=12\)"
    with pytest.raises(ValueError, match=r"no pretrained prior has season=5; " + listed):
        GRUForecaster.from_pretrained(5)
    with pytest.raises(ValueError, match=r"no pretrained prior is named 'weekly'; " + listed):
        OnnxForecaster.from_pretrained("weekly")
    with pytest.raises(TypeError, match=r"season must be a whole number.*got 1.5"):
        GRUForecaster.from_pretrained(1.5)
    model = GRUForecaster.from_pretrained(np.int64(12))  # a season computed by NumPy
    with pytest.raises(ValueError, match=r"prior 'season-12' holds no series of its own: pass"):
        model.forecast(3)
    quarterly = pd.Series(np.arange(40.0) + 10, index=pd.period_range("2000Q1", periods=40, freq="Q"))
    with pytest.raises(ValueError, match=r"a season of 4, but the pretrained prior 'season-12'.*from_pretrained\(4\)"):
        model.forecast(3, context=quarterly)
    model.forecast(3, context=np.arange(40.0) + 10)  # no frequency: the user's choice


def test_the_command_line_forecasts_with_a_prior_and_no_model_file(tmp_path, capsys):
    series = load_air_passengers()
    data = tmp_path / "air.csv"
    series.rename("passengers").rename_axis("month").to_csv(data)
    for how in (["--pretrained"], ["--pretrained", "season-12"], ["--pretrained", "12"]):
        assert main(["forecast", *how, "--input", str(data), "--steps", "4", "--interval", "0.9"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].split() == ["forecast", "lower_90", "upper_90"] and len(printed) == 6
    expected = OnnxForecaster.from_pretrained(12).forecast(4, context=series)
    assert np.allclose([float(line.split()[1]) for line in printed[2:]], expected, rtol=1e-5)
    assert main(["forecast", "--pretrained", "--steps", "4"]) == 2
    assert "give --input" in capsys.readouterr().err
    numbers = tmp_path / "numbers.csv"
    pd.DataFrame({"y": np.arange(30.0)}).to_csv(numbers, index=False)
    assert main(["forecast", "--pretrained", "--input", str(numbers), "--steps", "2"]) == 2
    assert "no prior can be chosen by season: name one" in capsys.readouterr().err
    assert main(["info", str(priors.path_of(12, ".onnx"))]) == 0
    assert "season-12" in capsys.readouterr().out


def _tiny_prior(out: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "priors.py"), "--season", "12", "--synthetic-only",
         "--series", "24", "--epochs", "2", "--out", str(out)],
        check=True, capture_output=True, text=True,
    )


@pytest.mark.slow
def test_a_prior_rebuilt_from_scratch_is_the_same(tmp_path):
    """What CI can build without the competitions' data: a tiny synthetic prior, twice."""
    from gruforecast import _state
    from gruforecast.persistence import read_state

    _tiny_prior(tmp_path / "a")
    _tiny_prior(tmp_path / "b")
    built = [GRUForecaster.load(tmp_path / side / "season-12.gruf") for side in "ab"]
    for name, weights in built[0].network_.state_dict().items():
        assert np.array_equal(weights.numpy(), built[1].network_.state_dict()[name].numpy()), name
    documents = [_state.encode(read_state(tmp_path / side / "season-12.gruf")[0]) for side in "ab"]
    assert json.dumps(documents[0][0]) == json.dumps(documents[1][0])
    for name, array in documents[0][1].items():
        assert np.array_equal(array, documents[1][1][name], equal_nan=True), name
    # the ONNX files are the same bytes
    assert (tmp_path / "a" / "season-12.onnx").read_bytes() == (tmp_path / "b" / "season-12.onnx").read_bytes()


@pytest.mark.slow
def test_the_built_wheel_holds_every_prior(tmp_path):
    """An editable install reads the priors from the checkout: only a wheel shows that the
    package data is in it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
         str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = (tmp_path / "dist").glob("gruforecast-*.whl")
    # the machine's packages (numpy, onnxruntime, ...) but this wheel's gruforecast
    venv.create(tmp_path / "venv", system_site_packages=True, with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, text=True)
    code = (
        "import sys, gruforecast, numpy as np\n"
        "from gruforecast import OnnxForecaster, priors\n"
        "assert gruforecast.__file__.startswith(sys.prefix), gruforecast.__file__\n"
        "for season in priors.shipped():\n"
        "    model = OnnxForecaster.from_pretrained(season)\n"
        "    values = np.sin(np.arange(120) * 2 * np.pi / max(season, 2)) + 10\n"
        "    forecast = model.forecast(5, context=values, interval=0.8)\n"
        "    assert np.isfinite(forecast).all(), season\n"
        "print(sorted(priors.shipped()))\n"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(SHIPPED))
