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
from gruforecast._intervals import _prior_scale
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


def test_without_a_season_each_context_gets_the_prior_of_its_own():
    monthly = load_air_passengers()
    quarterly = monthly.resample("QS").sum()
    for make in (GRUForecaster.from_pretrained, OnnxForecaster.from_pretrained):
        chooser = make()  # season=None
        for series, season in ((monthly, 12), (quarterly, 4)):
            expected = make(season).forecast(5, context=series, interval=0.8)
            pd.testing.assert_frame_equal(chooser.forecast(5, context=series, interval=0.8), expected)
        assert sorted(chooser.priors_) == [4, 12]  # each loaded once, on first use
        with pytest.raises(ValueError, match=r"no frequency, so no prior can be chosen by season.*shipped: season-1"):
            chooser.forecast(5, context=np.arange(50.0))
        with pytest.raises(ValueError, match=r"hold no series of their own: pass"):
            chooser.forecast(5)


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


def half_widths(table: pd.DataFrame) -> np.ndarray:
    return (table["upper_90"] - table["lower_90"]).to_numpy() / 2


def test_a_priors_intervals_learn_from_the_context_it_forecasts():
    # the corpus' errors say nothing of how predictable a context is: the prior's errors
    # on the context's own last origins scale them (narrower for a smooth series)
    months = pd.date_range("1990-01-01", periods=144, freq="MS")
    t = np.arange(144)
    smooth = pd.Series(100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12), index=months)
    noisy = smooth + np.random.default_rng(0).normal(0, 8, 144)
    prior = GRUForecaster.from_pretrained(12)
    corpus_only = prior.state_.calibration.half_widths(
        lambda windows: GRUForecaster._predict_windows(prior.state_, windows),
        12,
        [0.9],
        smooth.to_numpy()[None, -prior.window_ :],
    )[0, :, 0]
    calm = half_widths(prior.forecast(12, context=smooth, interval=0.9))
    wild = half_widths(prior.forecast(12, context=noisy, interval=0.9))
    assert (calm < corpus_only).all()
    assert calm.mean() < wild.mean() / prior_spread_ratio(smooth, noisy, prior.window_)
    served = OnnxForecaster.from_pretrained(12).forecast(12, context=smooth, interval=0.9)
    np.testing.assert_allclose(half_widths(served), calm, rtol=1e-4)
    # a context too short for one origin (a window and a value) gets the corpus' errors
    # (both sides computed here, in this process, from the same file: 1e-9 holds on any CPU)
    short = smooth[-prior.window_:]
    np.testing.assert_allclose(
        half_widths(prior.forecast(12, context=short, interval=0.9)), corpus_only, rtol=1e-9
    )


def test_a_context_of_more_series_than_origins_calibrates_on_some_and_onnx_agrees():
    from gruforecast._intervals import CONTEXT_ORIGINS

    series = load_air_passengers()
    n = CONTEXT_ORIGINS + 88
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), len(series)),
            "ds": np.tile(series.index, n),
            "y": np.concatenate([series.to_numpy() * (1 + k / n) for k in range(n)]),
        }
    )
    ours = GRUForecaster.from_pretrained(12).forecast(6, context=frame, interval=0.9)
    theirs = OnnxForecaster.from_pretrained(12).forecast(6, context=frame, interval=0.9)
    assert len(ours) == 6 * n and np.isfinite(ours[["lower_90", "upper_90"]].to_numpy()).all()
    np.testing.assert_allclose(
        theirs[["forecast", "lower_90", "upper_90"]].to_numpy(),
        ours[["forecast", "lower_90", "upper_90"]].to_numpy(),
        rtol=1e-4,
    )


def prior_spread_ratio(a: pd.Series, b: pd.Series, window: int) -> float:
    """How much wider b's last window spreads than a's (the widths scale with it)."""
    return float(np.std(b.to_numpy()[-window:]) / np.std(a.to_numpy()[-window:]))


@pytest.mark.parametrize("season", [1, 4, 12])
def test_a_priors_intervals_follow_the_scale_of_the_series(season, tmp_path):
    # its errors were normalised on a corpus of every scale: a floor in the corpus'
    # units gave a series of values near 0.4 bounds of +-45 (monthly prior)
    series = load_air_passengers()
    context = series if season == 12 else series.iloc[: 16 * season].set_axis(
        pd.date_range("1990-01-01", periods=16 * season, freq={1: "YS", 4: "QS"}[season])
    )
    prior = GRUForecaster.from_pretrained(season)
    assert prior.state_.calibration.relative
    big = prior.forecast(6, context=context, interval=0.9)
    small = prior.forecast(6, context=context / 1000, interval=0.9)
    # to 5%, not exactly: the prior's errors on the context itself (which scale its
    # corpus' errors) pass through log1p, which is not scale-free
    np.testing.assert_allclose(half_widths(small) * 1000, half_widths(big), rtol=5e-2)
    onnx = OnnxForecaster.from_pretrained(season).forecast(6, context=context / 1000, interval=0.9)
    np.testing.assert_allclose(half_widths(onnx), half_widths(small), rtol=1e-5)


def test_a_zero_shot_fit_keeps_the_priors_relative_intervals_in_its_files(tmp_path):
    short = load_air_passengers()[-40:] / 1000
    with pytest.warns(UserWarning, match="zero-shot"):
        model = GRUForecaster(horizon=12, random_state=0, device="cpu").fit(short)
    assert model.state_.calibration.relative
    expected = model.forecast(12, interval=0.9)
    assert half_widths(expected).max() < 0.2  # values near 0.4: not +-45
    again = GRUForecaster.load(model.save(tmp_path / "m.gruf"))
    pd.testing.assert_frame_equal(again.forecast(12, interval=0.9), expected)
    served = OnnxForecaster(model.export_onnx(tmp_path / "m.onnx")).forecast(12, interval=0.9)
    np.testing.assert_allclose(served.to_numpy(), expected.to_numpy(), rtol=1e-5)


def test_a_calibration_that_is_relative_in_a_file_must_say_so_with_a_bool(tmp_path):
    import struct

    data = priors.path_of(12, ".gruf").read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    config = json.loads(header["__metadata__"]["config"])
    assert config["state"]["calibration"]["relative"] is True
    config["state"]["calibration"]["relative"] = "yes"
    header["__metadata__"]["config"] = json.dumps(config)
    text = json.dumps(header).encode()
    path = tmp_path / "edited.gruf"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])
    with pytest.raises(ValueError, match=r"calibration.relative is 'yes'; expected true or false"):
        GRUForecaster.load(path)


# ---------------------------------------------------------------- fine-tuning (init)

FAST_TUNE = {"epochs": 3, "random_state": 0, "device": "cpu", "horizon": 12}


def test_a_monthly_series_starts_from_the_monthly_prior_and_says_so(tmp_path):
    series = load_air_passengers()
    tuned = GRUForecaster(**FAST_TUNE).fit(series)  # init="auto"
    assert tuned.init_ in ("fine-tuned", "zero-shot") and tuned.choices_.prior == "season-12"
    prior = GRUForecaster.from_pretrained(12)
    assert (tuned.window_, tuned.hidden_size_) == (prior.window_, prior.hidden_size_)
    assert tuned.network_.gru_window == prior.network_.gru_window
    random = GRUForecaster(**FAST_TUNE, init="random").fit(series)
    assert random.init_ == "random" and random.choices_.prior is None
    assert random.choices_.init_reason is None  # asked for, nothing to explain
    # kept in the model file and the exported model, shown by info
    again = GRUForecaster.load(tuned.save(tmp_path / "m.gruf"))
    assert again.choices_ == tuned.choices_
    assert OnnxForecaster(tuned.export_onnx(tmp_path / "m.onnx")).choices_.init == tuned.init_


def test_a_fine_tuned_series_pools_its_few_held_out_errors_with_the_priors(tmp_path):
    # AirPassengers' own calibration part gives few errors at step 12: a 90% interval was
    # infinite there; the prior's 500 relative errors fill in
    import warnings

    from gruforecast.intervals import IntervalWarning

    series = load_air_passengers()
    model = GRUForecaster(**FAST_TUNE).fit(series)
    calibration = model.state_.calibration
    prior = GRUForecaster.from_pretrained(12).state_.calibration
    assert calibration.relative and calibration.floor == prior.floor
    own = len(calibration.scores) - len(prior.scores)
    assert 0 < own < 30
    # the prior's errors, scaled to the series' own (as the prior scales them to a context);
    # both sides come from the same file and the same product in this process: 1e-12 holds
    factor = _prior_scale(calibration.scores[:own], prior.scores)
    assert factor != 1.0
    np.testing.assert_allclose(
        calibration.scores[own:, : prior.scores.shape[1]], prior.scores * factor, rtol=1e-12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntervalWarning)
        table = model.forecast(12, interval=0.9)
    assert np.isfinite(table[["lower_90", "upper_90"]].to_numpy()).all()
    served = OnnxForecaster(model.export_onnx(tmp_path / "m.onnx")).forecast(12, interval=0.9)
    np.testing.assert_allclose(served.to_numpy(), table.to_numpy(), rtol=1e-5)
    # from random weights, the series' own errors only, as before
    random = GRUForecaster(**FAST_TUNE, init="random").fit(series)
    assert not random.state_.calibration.relative


def test_epochs_that_do_not_validate_better_leave_the_prior_as_it_was():
    series = load_air_passengers()
    kept = GRUForecaster(**{**FAST_TUNE, "epochs": 1}, lr=1e-12, refit=False).fit(series)
    assert kept.init_ == "zero-shot" and kept.history_.best_epoch is None
    prior = GRUForecaster.from_pretrained(12)
    np.testing.assert_allclose(
        kept.forecast(12).to_numpy(), prior.forecast(12, context=series).to_numpy(), rtol=1e-5
    )


def test_parameters_that_contradict_the_prior_train_from_random_weights_or_refuse():
    series = load_air_passengers()
    auto = GRUForecaster(**FAST_TUNE, hidden_size=8).fit(series)
    assert auto.init_ == "random"
    assert "hidden_size=8 (the prior's is 48) contradict the prior 'season-12'" in auto.choices_.init_reason
    with pytest.raises(ValueError, match=r"init='pretrained', but hidden_size=8 \(the prior's is 48\), "
                                         r"horizon=30 \(the prior predicts 24 values a call\)"):
        GRUForecaster(**{**FAST_TUNE, "horizon": 30}, hidden_size=8, init="pretrained").fit(series)
    with pytest.raises(ValueError, match=r"values below 0 .*the prior works on log1p"):
        GRUForecaster(**FAST_TUNE, init="pretrained").fit(series - 200)
    with pytest.raises(ValueError, match=r"init='pretrained'.*fit\(X, y\) on windows has no series"):
        GRUForecaster(init="pretrained").fit(np.zeros((20, 4)), np.zeros(20))
    weekly = pd.Series(np.arange(200.0) + 5, index=pd.date_range("2000-01-02", periods=200, freq="W"))
    with pytest.raises(ValueError, match=r"no pretrained prior has season 52 \(shipped: season-1"):
        GRUForecaster(**FAST_TUNE, init="pretrained").fit(weekly)
    numbers = GRUForecaster(**{**FAST_TUNE, "horizon": 3}).fit(np.sin(np.arange(120.0)) + 5)
    assert numbers.init_ == "random" and "no seasonal period" in numbers.choices_.init_reason


def test_data_larger_than_the_priors_corpus_trains_from_random_weights(monkeypatch):
    import gruforecast.persistence as persistence

    original = persistence.load

    def smaller_corpus(*args, **kwargs):  # the prior as if trained on 100 values
        state, *rest = original(*args, **kwargs)
        if state.prior is not None:
            state = state.replace(prior={**state.prior, "values": 100})
        return (state, *rest)

    monkeypatch.setattr(persistence, "load", smaller_corpus)
    series = load_air_passengers()  # 144 values
    auto = GRUForecaster(**FAST_TUNE).fit(series)
    assert auto.init_ == "random"
    assert auto.choices_.init_reason == (
        "the data's 144 values outnumber the 100 the prior 'season-12' was trained on"
    )
    assert GRUForecaster(**FAST_TUNE).fit(series[-100:]).init_ != "random"  # not more
    pretrained = GRUForecaster(**FAST_TUNE, init="pretrained").fit(series)
    assert pretrained.init_ != "random" and pretrained.choices_.prior == "season-12"


def test_a_series_too_short_to_validate_on_gets_the_priors_forecast_and_intervals():
    short = load_air_passengers()[-40:]  # 40 months: windows for training, none held out
    with pytest.warns(UserWarning, match=r"the model is the prior itself, zero-shot"):
        model = GRUForecaster(**FAST_TUNE).fit(short)
    assert model.init_ == "zero-shot" and len(model.history_) == 0
    prior = GRUForecaster.from_pretrained(12)
    ours = model.forecast(12, interval=0.9)
    theirs = prior.forecast(12, context=short, interval=0.9)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-5)


def test_a_short_series_gets_the_intervals_from_pretrained_gives_it_as_context():
    # 30 quarters: no validation part, but windows before its last values that the
    # prior scores itself on; 34: a validation part (fine-tuned), no calibration part
    values = load_air_passengers().to_numpy()
    quarters = pd.date_range("1990-01-01", periods=34, freq="QS")
    short = pd.Series(values[:30], index=quarters[:30])
    with pytest.warns(UserWarning):
        model = GRUForecaster(**{**FAST_TUNE, "horizon": 8}).fit(short)
    assert model.init_ == "zero-shot"
    ours = model.forecast(8, interval=0.9)
    theirs = GRUForecaster.from_pretrained(4).forecast(8, context=short, interval=0.9)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-5)
    corpus = GRUForecaster.from_pretrained(4).state_.calibration
    assert len(model.state_.calibration.scores) > len(corpus.scores)  # its own origins too
    longer = pd.Series(values[:34], index=quarters)
    with pytest.warns(UserWarning, match="not long enough"):
        tuned = GRUForecaster(**{**FAST_TUNE, "horizon": 8}).fit(longer)
    assert tuned.init_ == "fine-tuned" and tuned.state_.calibration.relative
    table = tuned.forecast(8, interval=0.9)  # was: no calibration data for intervals
    assert np.isfinite(table[["lower_90", "upper_90"]].to_numpy()).all()


def test_no_validation_asked_for_trains_every_epoch_from_the_prior():
    series = load_air_passengers()
    model = GRUForecaster(**FAST_TUNE, validation_fraction=0.0).fit(series)
    assert model.init_ == "fine-tuned" and len(model.history_) == FAST_TUNE["epochs"]
    assert model.lr_ == 1e-4  # lr="auto" fine-tuning
    # too short to validate on, without calibration asked for: the prior, no intervals
    with pytest.warns(UserWarning, match=r"the model is the prior itself"):
        short = GRUForecaster(**FAST_TUNE, calibration_fraction=0.0).fit(series[-40:])
    assert short.init_ == "zero-shot" and short.calibration_ is None
    # the shipped priors' parameters are the defaults: a refit of one starts from it
    assert GRUForecaster.from_pretrained(12).get_params()["init"] == "auto"
