import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from conftest import FAST
from gruforecast import GRUForecaster, TrainingDivergedError, make_windows
from gruforecast._training import Trainer


def fast(**overrides) -> GRUForecaster:
    return GRUForecaster(**{**FAST, **overrides})


# ---------------------------------------------------------------- the two forms of fit


@pytest.mark.parametrize(
    "make",
    [
        lambda v: list(v),
        lambda v: np.asarray(v),
        lambda v: np.asarray(v).reshape(-1, 1),
        lambda v: np.asarray(v, dtype=np.float32),
        lambda v: np.round(np.asarray(v) * 100).astype(np.int32),
        lambda v: pd.Series(v),
        lambda v: pd.DataFrame({"value": v}),
    ],
)
def test_fit_on_a_series_in_any_form(make, sine):
    forecaster = fast(window=10).fit(make(sine[:200]))
    assert forecaster.window_ == 10 and forecaster.n_features_in_ == 10
    X, _ = make_windows(sine[:30], 10)
    assert forecaster.predict(X).shape == (20,)
    assert np.isfinite(forecaster.forecast(5)).all()


def test_fit_on_windows_is_the_plain_regressor_form(sine):
    X, y = make_windows(sine, window=20, horizon=3)
    forecaster = fast(horizon=3).fit(X, y)
    assert forecaster.window_ == 20  # window="auto" takes the width of X
    assert forecaster.predict(X[:7]).shape == (7, 3)
    assert forecaster.last_window_ is None
    with pytest.raises(ValueError, match=r"fitted on windows.*context="):
        forecaster.forecast(3)
    assert forecaster.forecast(4, context=sine[-50:]).shape == (4,)


def test_constructor_stores_parameters_untouched():
    forecaster = GRUForecaster(window="auto", lr="not validated here", device="nonsense")
    assert forecaster.lr == "not validated here" and forecaster.device == "nonsense"
    with pytest.raises(TypeError, match="lr must be a number"):
        forecaster.fit(np.arange(100.0))


def test_auto_window_follows_the_seasonal_period(monthly):
    # whole seasons, about a sixth of the series from two to four seasons, which the GRU
    # reads; the season is estimated and taken out from six seasons before it
    one = fast().fit(monthly)  # monthly, 144 values: two years, from six
    assert (one.window_, one.network_.gru_window, one.deseasonalize_) == (72, 24, True)
    quarterly = pd.Series(np.arange(80.0), index=pd.period_range("2000Q1", periods=80, freq="Q"))
    assert (fast().fit(quarterly).window_, fast().fit(quarterly).network_.gru_window) == (24, 12)
    assert fast().fit(np.arange(300.0)).window_ == 24  # no index: the default
    assert fast().fit(np.arange(31.0)).window_ == 10  # at most a third of the series


def test_predict_rows_are_independent(sine):
    forecaster = fast(window=20).fit(sine)
    X, _ = make_windows(sine, 20)
    full = forecaster.predict(X)
    # float32 kernels may round differently for another batch size: 1e-5, not bitwise
    np.testing.assert_allclose(forecaster.predict(X[100:101]), full[100:101], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(forecaster.predict(X[::-1]), full[::-1], rtol=1e-5, atol=1e-6)


def test_score_of_a_series_windows_it_first(sine):
    forecaster = fast(window=20).fit(sine[:800])
    X, y = make_windows(sine[800:], 20)
    assert forecaster.score(sine[800:]) == pytest.approx(forecaster.score(X, y))


# ---------------------------------------------------------------- forecasting


def test_forecast_is_recursive_one_step_prediction(sine):
    forecaster = fast(window=20).fit(sine)
    forecast = forecaster.forecast(30)
    history = list(sine[-20:])
    for _ in range(30):
        history.append(forecaster.predict(np.array([history[-20:]]))[0])
    np.testing.assert_allclose(forecast, history[20:], rtol=1e-5, atol=1e-6)


def test_forecast_past_the_horizon_goes_block_by_block(sine):
    forecaster = fast(window=20, horizon=4).fit(sine)
    forecast = forecaster.forecast(10)
    first = forecaster.predict(sine[None, -20:])[0]
    second = forecaster.predict(np.concatenate([sine[-16:], first])[None, :])[0]
    third = forecaster.predict(np.concatenate([sine[-12:], first, second])[None, :])[0]
    np.testing.assert_allclose(forecast, np.concatenate([first, second, third])[:10], rtol=1e-5)
    np.testing.assert_allclose(forecaster.forecast(3), forecast[:3])


def test_forecast_with_context_continues_that_history(monthly):
    forecaster = fast().fit(monthly[:-24])
    from_context = forecaster.forecast(6, context=monthly)
    assert from_context.index[0] == pd.Timestamp("1961-01-01")
    assert from_context.name == "air_passengers"
    as_array = forecaster.forecast(6, context=monthly.to_numpy())
    assert isinstance(as_array, np.ndarray)
    np.testing.assert_allclose(as_array, from_context.to_numpy())
    # the GRU's 24 values must be there; the 48 the season is estimated from before them
    # are padded with the first value, as a short series' are in fit
    with pytest.raises(ValueError, match=r"context has 5 values; at least 24 \(what the GRU reads of its window_=72"):
        forecaster.forecast(6, context=monthly[:5])
    np.testing.assert_array_equal(
        forecaster.forecast(6, context=monthly[-24:].to_numpy()),
        forecaster.forecast(6, context=np.r_[np.full(48, monthly.iloc[-24]), monthly[-24:]]),
    )


@pytest.mark.parametrize(
    "index, expected",
    [
        (pd.date_range("2020-01-01", periods=120, freq="MS"), pd.date_range("2030-01-01", periods=5, freq="MS")),
        (pd.date_range("2020-01-31", periods=120, freq="ME"), pd.date_range("2030-01-31", periods=5, freq="ME")),
        (pd.date_range("2020-01-01", periods=120, freq="D"), pd.date_range("2020-04-30", periods=5, freq="D")),
        (pd.date_range("2020-01-01", periods=120, freq="h", tz="Europe/Paris"),
         pd.date_range("2020-01-06", periods=5, freq="h", tz="Europe/Paris")),
        (pd.period_range("2000-01", periods=120, freq="M"), pd.period_range("2010-01", periods=5, freq="M")),
        (pd.RangeIndex(120), pd.RangeIndex(120, 125)),
        (pd.RangeIndex(10, 250, 2), pd.RangeIndex(250, 260, 2)),
        (pd.Index(np.arange(5, 125)), pd.RangeIndex(125, 130)),
    ],
    ids=["monthly-start", "monthly-end", "daily", "hourly-tz", "period", "range", "range-step", "integer"],
)
def test_forecast_index_continues_the_series(index, expected):
    series = pd.Series(np.sin(np.arange(120) / 3), index=index, name="load")
    forecast = fast(window=12).fit(series).forecast(5)
    assert isinstance(forecast, pd.Series) and forecast.name == "load"
    pd.testing.assert_index_equal(forecast.index, expected, check_names=False)
    if isinstance(expected, pd.DatetimeIndex):
        assert forecast.index.freq == expected.freq


def test_frequency_is_inferred_when_not_set():
    index = pd.DatetimeIndex(pd.date_range("2021-01-01", periods=60, freq="W-MON").to_list())
    assert index.freq is None
    forecast = fast(window=8).fit(pd.Series(np.arange(60.0), index=index)).forecast(2)
    assert list(forecast.index) == [pd.Timestamp("2022-02-28"), pd.Timestamp("2022-03-07")]


def test_irregular_index_fits_but_cannot_give_future_timestamps():
    # times off any step (not a daily index with days missing, which is refused)
    index = pd.to_datetime(["2020-01-01 00:00", "2020-01-02 05:00", "2020-01-05 13:20", "2020-01-09 00:00"])
    index = index.append(pd.date_range("2020-02-01", periods=56, freq="D"))
    series = pd.Series(np.arange(60.0), index=index)
    forecaster = fast(window=8).fit(series)  # fitting needs no future index
    with pytest.raises(ValueError, match=r"on no regular step.*resample\(step\)"):
        forecaster.forecast(3)
    assert forecaster.forecast(3, context=series.to_numpy()).shape == (3,)


def test_numpy_in_numpy_out(sine):
    assert isinstance(fast(window=10).fit(sine).forecast(3), np.ndarray)


# ---------------------------------------------------------------- training behaviour


def test_random_state_makes_cpu_runs_bitwise_repeatable(sine):
    # device="cpu": a promise of the CPU (CUDA's kernels need not repeat bitwise), kept on
    # a machine with a GPU too
    first = fast(window=20, epochs=2, dropout=0.2, num_layers=2, device="cpu").fit(sine)
    second = fast(window=20, epochs=2, dropout=0.2, num_layers=2, device="cpu").fit(sine)
    for a, b in zip(first.network_.state_dict().values(), second.network_.state_dict().values()):
        assert torch.equal(a, b)
    assert first.history_ == [{**row, "seconds": a["seconds"]} for row, a in zip(second.history_, first.history_)]
    other = fast(window=20, epochs=2, random_state=1, device="cpu").fit(sine)
    assert not np.array_equal(other.forecast(3), first.forecast(3))


def test_fit_leaves_the_global_torch_rng_alone(sine):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fast(window=10, epochs=1).fit(sine)
    assert torch.equal(torch.rand(3), expected)


# 300 values, window 20: 281 - horizon windows. Validation (20%) and calibration (10%,
# the default) take ceil(fraction * windows) of them, each after a gap of horizon - 1
# windows; training keeps the first n_train, which cover values[: n_train + 20 + horizon - 1].
#   horizon 1: 280 windows, 56 + 28 held out, no gaps: n_train 196, values[:216]
#   horizon 5: 276 windows, ceil(55.2) = 56 + ceil(27.6) = 28 held out, 2 gaps of 4:
#              n_train 184, values[:208]
@pytest.mark.parametrize("horizon, trained_on", [(1, 216), (5, 208)])
def test_scaler_and_training_see_only_the_training_part(horizon, trained_on):
    values = np.random.default_rng(0).normal(size=300)
    # on the CPU, whose fits repeat bitwise: the first epochs' losses are compared exactly
    forecaster = fast(window=20, horizon=horizon, validation_fraction=0.2, device="cpu").fit(values)
    # scaled by what its training windows cover (the network normalises each window, so
    # the model serves raw windows with the spread alone)
    assert forecaster.scaler_.offset == 0.0
    np.testing.assert_allclose(forecaster.scaler_.scale, values[:trained_on].std())
    changed = values.copy()
    changed[trained_on:] += 1000.0  # every held-out target: must not move scaler or weights
    other = fast(window=20, horizon=horizon, validation_fraction=0.2, device="cpu").fit(changed)
    assert other.scaler_ == forecaster.scaler_
    first_epoch = other.history_[0]["train_loss"], forecaster.history_[0]["train_loss"]
    assert first_epoch[0] == first_epoch[1]


def test_a_failed_fit_leaves_the_forecaster_as_it_was(sine):
    forecaster = fast(window=10, scaler=None).fit(sine)
    before = forecaster.forecast(3)
    with pytest.raises(TrainingDivergedError):
        forecaster.fit(sine * 1e25)
    np.testing.assert_array_equal(forecaster.forecast(3), before)
    fresh = fast(window=10, scaler=None)
    with pytest.raises(TrainingDivergedError):
        fresh.fit(sine * 1e25)
    with pytest.raises(NotFittedError):
        fresh.forecast(3)


def test_set_params_after_fit_does_not_change_what_was_fitted(sine):
    forecaster = fast(window=10, horizon=3).fit(sine)
    X, _ = make_windows(sine, 10)
    expected = forecaster.predict(X[:4])
    forecaster.set_params(horizon=1)
    np.testing.assert_array_equal(forecaster.predict(X[:4]), expected)
    assert forecaster.horizon_ == 3


def test_calibration_windows_are_held_out_from_training_and_early_stopping(sine):
    # on the CPU, whose fits repeat bitwise: two fits' histories are compared exactly;
    # without the refit, which trains on every window, held-out ones too (and keeps
    # the calibration errors of the first network, scored before it)
    forecaster = fast(window=20, calibration_fraction=0.25, device="cpu", refit=False).fit(sine)
    # 980 windows of 20 values: 637 train, then 98 (10%) validate, then 245 (25%)
    # calibrate: windows 735 to 979, whose targets are values 755 to 999
    calibration = forecaster.calibration_
    # the stretch starts with the first held-out window: its targets were never seen
    np.testing.assert_array_equal(calibration.series, sine[735:])
    assert calibration.n_origins == 245
    changed = sine.copy()
    changed[755:] = 5.0  # only calibration targets change
    other = fast(window=20, calibration_fraction=0.25, device="cpu", refit=False).fit(changed)
    assert other.history_ == [{**row, "seconds": a["seconds"]} for row, a in zip(forecaster.history_, other.history_)]
    assert fast(window=20, calibration_fraction=0.0).fit(sine).calibration_ is None


def test_history_and_early_stopping(sine):
    forecaster = fast(window=20, epochs=200, patience=2, lr=0.05, tol=0.0).fit(sine)
    frame = forecaster.history_.to_frame()
    assert list(frame.columns) == ["train_loss", "valid_loss", "seconds", "best"]
    assert forecaster.stop_reason_ == "early stopping" and len(frame) < 200
    best = forecaster.history_.best_epoch
    assert frame.loc[best, "valid_loss"] == frame["valid_loss"].min()
    assert len(frame) == best + 2  # stopped after `patience` epochs without improvement
    no_validation = fast(window=20, validation_fraction=0.0).fit(sine)
    assert all(row["valid_loss"] is None for row in no_validation.history_)
    assert no_validation.stop_reason_ == "completed"


def test_best_weights_are_restored(sine):
    values = torch.as_tensor(sine, dtype=torch.float32)
    inputs, targets = values[:-1].unfold(0, 20, 1), values[20:].unfold(0, 1, 1)
    torch.manual_seed(0)
    from gruforecast import GRUNet

    trainer = Trainer(
        GRUNet(8, 1), epochs=15, batch_size=64, lr=0.05, weight_decay=0.0,
        gradient_clip=1.0, patience=3, generator=torch.Generator().manual_seed(0),
    )
    history = trainer.fit(inputs[:800], targets[:800], inputs[800:], targets[800:])
    best = min(row["valid_loss"] for row in history)
    assert trainer.evaluate(inputs[800:], targets[800:]) == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("tol, epochs_run, best", [(0.0, 9, 6), (0.05, 5, 5)])
def test_tol_ends_training_on_small_gains_but_keeps_the_best_weights(tol, epochs_run, best):
    from gruforecast import GRUNet

    # validation losses: real progress until epoch 2, then gains of under 5% an epoch
    losses = iter([1.0, 0.5, 0.49, 0.485, 0.48, 0.479, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6])

    class Scripted(Trainer):
        def run_single_epoch(self, inputs, targets):
            return 0.1

        def evaluate(self, inputs, targets):
            return next(losses)

    inputs, targets = torch.zeros(8, 5), torch.zeros(8, 1)
    trainer = Scripted(
        GRUNet(4, 1), epochs=12, batch_size=4, lr=0.01, weight_decay=0.0, gradient_clip=None,
        patience=3, generator=torch.Generator().manual_seed(0), tol=tol,
    )
    history = trainer.fit(inputs, targets, inputs, targets)
    assert len(history) == epochs_run and history.best_epoch == best
    assert trainer.stop_reason == "early stopping"


def test_mixed_precision_steps_keep_float32_weights_and_learn(sine):
    """The autocast path of train_step, run on the CPU (the estimator allows it on CUDA only)."""
    from gruforecast import GRUNet

    values = torch.as_tensor(sine, dtype=torch.float32)
    inputs, targets = values[:-1].unfold(0, 10, 1), values[10:].unfold(0, 1, 1)
    torch.manual_seed(0)
    network = GRUNet(8, 1)
    trainer = Trainer(
        network, epochs=5, batch_size=64, lr=0.02, weight_decay=0.0, gradient_clip=1.0,
        patience=None, generator=torch.Generator().manual_seed(0),
        autocast_dtype=torch.bfloat16,
    )
    before = trainer.evaluate(inputs, targets)
    history = trainer.fit(inputs, targets, inputs[:0], targets[:0])
    assert all(p.dtype == torch.float32 for p in network.parameters())
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert trainer.evaluate(inputs, targets) < 0.5 * before


def test_full_float32_switches_cudnn_rnns_off_tf32_for_cuda_only_and_restores():
    from gruforecast._device import full_float32

    rnn = torch.backends.cudnn.rnn  # settable without a GPU
    before = rnn.fp32_precision
    with full_float32(torch.device("cpu")):
        assert rnn.fp32_precision == before
    with pytest.raises(KeyError), full_float32(torch.device("cuda")):
        assert rnn.fp32_precision == "ieee"
        raise KeyError  # restored on the way out of a failure too
    assert rnn.fp32_precision == before
    # nested or overlapping blocks (threads predicting at once): the last one out restores
    first, second = full_float32(torch.device("cuda")), full_float32(torch.device("cuda"))
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert rnn.fp32_precision == "ieee"  # the second is still inside
    second.__exit__(None, None, None)
    assert rnn.fp32_precision == before


def test_evaluation_chunks_are_larger_on_cuda_within_a_memory_bound():
    from gruforecast._device import EVALUATION_BATCH_SIZE, evaluation_batch_size

    assert evaluation_batch_size(torch.device("cpu"), 50, 64) == EVALUATION_BATCH_SIZE
    assert evaluation_batch_size(torch.device("cuda"), 50, 64) == 512 * 2**20 // (4 * 50 * 64)
    assert evaluation_batch_size(torch.device("cuda"), 5000, 1024) == EVALUATION_BATCH_SIZE


def test_mixed_precision_on_the_cpu_is_refused(sine):
    with pytest.raises(ValueError, match="precision='bfloat16' is for training on CUDA; the device here is cpu"):
        fast(precision="bfloat16", device="cpu").fit(sine)


def test_verbose_shows_a_progress_bar_with_losses(sine, capsys):
    fast(window=10, verbose=1).fit(sine)
    err = capsys.readouterr().err
    assert "fit" in err and "train_loss" in err and "valid_loss" in err
    fast(window=10).fit(sine)
    assert capsys.readouterr().err == ""


def test_divergence_before_any_finite_epoch_is_an_error():
    huge = np.sin(np.arange(200.0)) * 1e25  # squared errors overflow float32 without scaling
    with pytest.raises(TrainingDivergedError, match="diverged in epoch 1.*lower lr"):
        fast(window=10, scaler=None).fit(huge)


def test_divergence_later_restores_the_best_weights(sine, monkeypatch):
    original = Trainer.run_single_epoch
    calls = []

    def poisoned(self, inputs, targets):
        calls.append(1)
        return float("nan") if len(calls) == 3 else original(self, inputs, targets)

    monkeypatch.setattr(Trainer, "run_single_epoch", poisoned)
    with pytest.warns(RuntimeWarning, match="diverged in epoch 3.*restored the weights of epoch"):
        forecaster = fast(window=10, epochs=10).fit(sine)
    assert forecaster.stop_reason_ == "diverged" and len(forecaster.history_) == 2
    assert np.isfinite(forecaster.forecast(5)).all()


def test_ctrl_c_keeps_the_best_model_so_far(sine, monkeypatch):
    original = Trainer.train_step
    calls = []

    def interrupted(self, *batch):
        calls.append(1)
        if len(calls) == 60:  # 25 batches an epoch: in the third
            raise KeyboardInterrupt
        return original(self, *batch)

    monkeypatch.setattr(Trainer, "train_step", interrupted)
    with pytest.warns(RuntimeWarning, match="interrupted by the user after 2 complete epoch"):
        forecaster = fast(window=10, epochs=10, batch_size=32).fit(sine)
    assert forecaster.stop_reason_ == "interrupted" and len(forecaster.history_) == 2
    assert np.isfinite(forecaster.forecast(5)).all()


# ---------------------------------------------------------------- bad input


def test_not_fitted():
    forecaster = GRUForecaster()
    for call in (lambda: forecaster.predict(np.ones((1, 3))), lambda: forecaster.forecast(3),
                 lambda: forecaster.score(np.arange(10.0))):
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.r_[np.ones(50), np.nan, np.ones(49)], ValueError, "NaN .*at position 50"),
        (np.arange(5.0), ValueError, "has 5 values, but window=24 and horizon=1 need at least 25"),
        (pd.DataFrame({"a": np.ones(100), "b": np.ones(100)}), ValueError, "2 columns"),
        (["x"] * 100, TypeError, "text values"),
        (np.ones((100, 3)), ValueError, r"shape \(100, 3\).*fit\(X, y\)"),
    ],
)
def test_bad_series(X, error, message):
    with pytest.raises(error, match=message):
        GRUForecaster(window=24, epochs=1).fit(X)


def test_too_few_windows_names_the_count():
    with pytest.raises(ValueError, match="X has 1 sample, but validation_fraction=0.1 and calibration_fraction=0.1 need at least 3"):
        fast().fit(np.ones((1, 5)), [1.0])
    # without held-out parts, 1 is enough
    fast(validation_fraction=0.0, calibration_fraction=0.0).fit(np.ones((1, 5)), [1.0])
    with pytest.raises(ValueError, match="leave nothing to train on; their sum must be below 1"):
        fast(validation_fraction=0.5, calibration_fraction=0.5).fit(np.arange(100.0))


def test_windows_of_the_wrong_width(sine):
    forecaster = fast(window=10).fit(sine)
    with pytest.raises(ValueError, match="X has 9 features, but GRUForecaster is expecting 10"):
        forecaster.predict(np.ones((2, 9)))
    with pytest.raises(ValueError, match="Reshape your data"):
        forecaster.predict(np.ones(10))
    X, y = make_windows(sine, 12)
    with pytest.raises(ValueError, match="X has 12 columns, but window=10"):
        fast(window=10).fit(X, y)


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(window=0), ValueError, "window must be an integer >= 1, got 0"),
        (dict(window="big"), TypeError, "window must be an integer"),
        (dict(horizon=1.5), TypeError, "horizon must be an integer"),
        (dict(lr=-1), ValueError, r"lr must be a finite number in \(0.0, inf\)"),
        (dict(dropout=1.0), ValueError, "dropout must be"),
        (dict(scaler="robust"), ValueError, "scaler must be one of"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be"),
        (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
        (dict(patience=0), ValueError, "patience must be an integer >= 1"),
        (dict(device="tpu"), ValueError, "device must be"),
        (dict(precision="float16"), ValueError, "precision must be 'float32' or 'bfloat16', got 'float16'"),
        (dict(precision=None), ValueError, "precision must be"),
        (dict(tol=1.0), ValueError, "tol must be"),
        (dict(skip="trend"), ValueError, "skip must be 'seasonal' or None"),
    ],
)
def test_bad_parameters(params, error, message, sine):
    with pytest.raises(error, match=message):
        GRUForecaster(**params).fit(sine)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is absent")
def test_explicit_cuda_without_cuda_is_an_error(sine):
    with pytest.raises(ValueError, match="asks for CUDA, but torch.cuda.is_available\\(\\) is False"):
        fast(device="cuda").fit(sine)


@pytest.mark.parametrize("steps", [0, -1, 2.5])
def test_bad_steps(steps, sine):
    with pytest.raises((TypeError, ValueError), match="steps must be an integer >= 1"):
        fast(window=10).fit(sine).forecast(steps)


def test_constant_series_forecasts_its_constant():
    forecaster = fast(window=10, epochs=20, lr=1e-2).fit(np.full(200, 42.0))
    np.testing.assert_allclose(forecaster.forecast(5), 42.0, atol=0.5)


# ---------------------------------------------------------------- persistence


def test_pickle_and_joblib_round_trip_predict_identically(monthly, tmp_path):
    forecaster = fast().fit(monthly)
    expected = forecaster.forecast(12)
    restored = pickle.loads(pickle.dumps(forecaster))
    pd.testing.assert_series_equal(restored.forecast(12), expected)
    joblib.dump(forecaster, tmp_path / "model.joblib")
    pd.testing.assert_series_equal(joblib.load(tmp_path / "model.joblib").forecast(12), expected)
    assert forecaster.network_ is not None  # pickling did not strip the original


def test_a_cuda_model_unpickles_on_a_cpu_only_machine(sine):
    forecaster = fast(window=10, device="cpu").fit(sine)
    expected = forecaster.forecast(5)
    forecaster.state_ = forecaster.state_.replace(device="cuda")  # as if trained on a GPU
    state = forecaster.__getstate__()
    assert all(isinstance(w, np.ndarray) for w in state["_fitted"][1].values())
    payload = pickle.dumps(forecaster)
    code = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "f = pickle.loads(sys.stdin.buffer.read())\n"
        "assert f.device_.type == 'cpu', f.device_\n"
        "sys.stdout.write(repr(f.forecast(5).tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=payload, capture_output=True,
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}, check=True,
    )
    np.testing.assert_allclose(eval(result.stdout), expected)


# ---------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_trains_and_predicts_on_cuda(sine):
    setting = torch.backends.cudnn.rnn.fp32_precision
    forecaster = fast(window=20, device="auto", epochs=5).fit(sine)
    assert forecaster.device_.type == "cuda"
    assert next(forecaster.network_.parameters()).device.type == "cuda"
    cpu = pickle.loads(pickle.dumps(forecaster))
    cpu.network_.cpu()
    cpu.state_ = cpu.state_.replace(device="cpu")
    X, _ = make_windows(sine, 20)
    # full float32 on CUDA (no TF32): the GPU's forecasts are the CPU's, to rounding
    np.testing.assert_allclose(cpu.predict(X), forecaster.predict(X), rtol=1e-5, atol=1e-6)
    assert torch.backends.cudnn.rnn.fp32_precision == setting  # put back after predict


@pytest.mark.gpu
def test_mixed_precision_on_cuda_learns_as_well_as_float32(sine):
    plain = fast(window=20, device="cuda", epochs=30, patience=None, random_state=0).fit(sine)
    mixed = fast(window=20, device="cuda", epochs=30, patience=None, random_state=0,
                 precision="bfloat16").fit(sine)
    assert all(p.dtype == torch.float32 for p in mixed.network_.parameters())
    X, y = make_windows(sine, 20)
    assert mixed.predict(X).dtype == plain.predict(X).dtype
    assert mixed.score(X, y) > 0.95 and mixed.score(X, y) > plain.score(X, y) - 0.02


@pytest.mark.gpu
def test_dropout_on_cuda_takes_masks_from_the_fit_and_warns_of_nothing(sine):
    """Dropout > 0 runs nn.GRU's kernels (cuDNN) a layer at a time with the fit's own
    masks: no warning (such as cuDNN's about weights outside one chunk), a model that
    learns, and the global CUDA generator left as it was."""
    before = torch.cuda.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster = fast(
            window=20, device="cuda", epochs=20, num_layers=2, dropout=0.2, patience=None
        ).fit(sine)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    X, y = make_windows(sine, 20)
    assert forecaster.score(X, y) > 0.9


@pytest.mark.gpu
def test_cuda_model_unpickles_where_cuda_is_hidden(sine):
    forecaster = fast(window=10, device="cuda").fit(sine)
    expected = forecaster.forecast(5)
    code = (
        "import pickle, sys\n"
        "f = pickle.loads(sys.stdin.buffer.read())\n"
        "assert f.device_.type == 'cpu'\n"
        "sys.stdout.write(repr(f.forecast(5).tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(forecaster), capture_output=True,
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}, check=True,
    )
    np.testing.assert_allclose(eval(result.stdout), expected, rtol=1e-4, atol=1e-5)


def test_warnings_are_not_emitted_on_a_plain_fit(monthly):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast().fit(monthly).forecast(3)


def test_ctrl_c_before_the_first_epoch_ends_goes_on_up(sine, monkeypatch):
    def interrupted(self, *batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_step", interrupted)
    forecaster = fast(window=10)
    with pytest.raises(KeyboardInterrupt):
        forecaster.fit(sine)
    with pytest.raises(NotFittedError):
        forecaster.forecast(3)


@pytest.mark.parametrize("empty", [pd.Series([], dtype=float), pd.DataFrame({"a": []}),
                                   pd.Series([], index=pd.DatetimeIndex([]), dtype=float), []])
def test_an_empty_series_is_a_clear_error(empty):
    with pytest.raises(ValueError, match="has 0 values, but window="):
        GRUForecaster(window=5).fit(empty)


def test_multiples_of_a_frequency_have_no_seasonal_window():
    from gruforecast._time_index import seasonal_period

    assert [seasonal_period(f) for f in ("15min", "10D", "12h", "1h", "h", "MS", "QE-DEC")] == [
        None, None, None, 24, 24, 12, 4,
    ]


# ---------------------------------------------------------------- missing values


def test_missing_values_raise_by_default_or_interpolate(monthly, tmp_path):
    from gruforecast import OnnxForecaster

    holed = monthly.copy()
    holed.iloc[[5, 60, 61]] = np.nan
    with pytest.raises(ValueError, match=r"NaN \(a missing value\) at .*1949-06-01"):
        fast().fit(holed)
    # on the CPU, whose fits repeat bitwise: two fits' forecasts are compared exactly
    forecaster = fast(missing="interpolate", device="cpu").fit(holed)
    filled = holed.interpolate(method="time")
    expected = fast(device="cpu").fit(filled)  # the same as interpolating first
    np.testing.assert_array_equal(forecaster.forecast(6), expected.forecast(6))
    context = holed[:100]
    assert np.isfinite(forecaster.forecast(6, context=context)).all()
    assert np.isfinite(forecaster.score(holed))
    # served models interpolate a context the same way
    served = OnnxForecaster(forecaster.export_onnx(tmp_path / "m.onnx"))
    np.testing.assert_allclose(served.forecast(6, context=context), forecaster.forecast(6, context=context), rtol=1e-5)
    with pytest.raises(ValueError, match="missing must be"):
        fast(missing="drop").fit(monthly)
    with pytest.raises(ValueError, match="NaN"):  # windows are never filled
        forecaster.predict(np.full((1, forecaster.window_), np.nan))
