"""Covariates as declared, read from a frame and checked (gruforecast._covariates)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from gruforecast._covariates import (
    CovariateSpec,
    auto_calendar,
    calendar_features,
    covariate_spec,
    read_future,
    read_statics,
    read_time_varying,
    undeclared_columns,
)
from gruforecast._panel import as_panel
from gruforecast._time_index import decode_labels

NAMES = ("unique_id", "ds", "y")


def spec(**params):
    return covariate_spec(params, NAMES)


def retail(n_series=3, length=10, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range("2020-01-06", periods=length, freq="D"),
                    "y": rng.uniform(10, 20, length),
                    "price": rng.uniform(1, 2, length),
                    "promo": rng.integers(0, 2, length).astype(bool),
                    "region": ["north", "south", "north"][k % 3],
                    "size": float(k + 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_spec_lists_each_kind_and_refuses_what_cannot_be_meant():
    declared = spec(
        future_covariates=["price", "promo"],
        past_covariates=["sensor"],
        static_covariates=["region"],
        calendar=["day_of_week"],
    )
    assert declared.time_varying == ("price", "promo", "sensor")
    assert declared.columns == ("price", "promo", "sensor", "region")
    assert declared and not CovariateSpec()
    assert spec(calendar="auto").calendar == ("auto",)
    with pytest.raises(TypeError, match=r"future_covariates='price'.*\['price'\]"):
        spec(future_covariates="price")
    with pytest.raises(ValueError, match="past_covariates names 'y', the target column"):
        spec(past_covariates=["y"])
    with pytest.raises(ValueError, match="static_covariates names 'a' in future_covariates too"):
        spec(future_covariates=["a"], static_covariates=["a"])
    with pytest.raises(ValueError, match="future_covariates names 'a' twice"):
        spec(future_covariates=["a", "a"])
    with pytest.raises(ValueError, match="calendar names 'weekday'; the calendar features"):
        spec(calendar=["weekday"])
    with pytest.raises(ValueError, match="calendar='yes'"):
        spec(calendar="yes")
    with pytest.raises(TypeError, match="expected column names"):
        spec(future_covariates=[1])


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("30min", ("time_of_day", "day_of_week")),
        ("h", ("time_of_day", "day_of_week")),
        ("D", ("day_of_week", "day_of_year")),
        ("B", ("day_of_week", "day_of_year")),
        ("W-SUN", ("week_of_year",)),
        ("MS", ("month_of_year",)),
        ("QS-JAN", ("quarter_of_year",)),
        ("YS-JAN", ()),
    ],
)
def test_auto_calendar_takes_the_cycles_a_step_sees(freq, expected):
    assert auto_calendar("datetime", freq) == expected


def test_series_without_dates_have_no_calendar():
    with pytest.raises(ValueError, match="calendar='auto' needs series labelled by dates"):
        auto_calendar("integer", "1")
    with pytest.raises(ValueError, match="integer labels"):
        calendar_features(np.arange(3), "integer", "1", None, ["day_of_week"])


def test_calendar_features_are_the_sine_and_cosine_of_the_place_in_the_cycle():
    times = pd.date_range("2021-01-01", periods=12, freq="MS").as_unit("ns").asi8
    months = calendar_features(times.astype(np.int64), "datetime", "MS", None, ["month_of_year"])
    assert months.shape == (12, 2)
    np.testing.assert_allclose(months[0], [0.0, 1.0], atol=1e-12)  # January
    np.testing.assert_allclose(months[6], [0.0, -1.0], atol=1e-12)  # July, half way
    np.testing.assert_allclose(months[3], [1.0, 0.0], atol=1e-12)  # April, a quarter
    periods = pd.period_range("2021-01", periods=12, freq="M")
    from_periods = calendar_features(
        periods.asi8.astype(np.int64), "period", "M", None, ["month_of_year"]
    )
    np.testing.assert_allclose(from_periods, months)
    # in the series' own time zone: midnight UTC is 1 am in Berlin in winter
    utc_midnight = pd.DatetimeIndex(["2021-01-04 00:00"]).as_unit("ns").asi8.astype(np.int64)
    berlin = calendar_features(utc_midnight, "datetime", "h", "Europe/Berlin", ["time_of_day"])
    np.testing.assert_allclose(berlin[0], [np.sin(2 * np.pi / 24), np.cos(2 * np.pi / 24)])
    monday = calendar_features(utc_midnight, "datetime", "h", None, ["day_of_week"])
    np.testing.assert_allclose(monday[0], [0.0, 1.0], atol=1e-12)


def test_time_varying_columns_follow_the_panels_order_row_for_row():
    frame = retail()
    shuffled = frame.sample(frac=1.0, random_state=1)  # rows in any order
    panel = as_panel(shuffled)
    columns = read_time_varying(shuffled, panel, ["price", "promo"])
    assert columns.shape == (len(panel.values), 2)
    # each row's price goes with its own target value
    by_value = dict(zip(frame["y"], frame["price"], strict=True))
    np.testing.assert_array_equal(columns[:, 0], [by_value[v] for v in panel.values])
    assert set(np.unique(columns[:, 1])) <= {0.0, 1.0}


def test_a_missing_covariate_value_is_refused_or_filled_as_the_target_is():
    frame = retail(n_series=2)
    frame.loc[3, "price"] = np.nan
    panel = as_panel(frame)
    with pytest.raises(ValueError, match="covariate 'price' of series 's0' has no value .* 2020-01-09"):
        read_time_varying(frame, panel, ["price"])
    filled = read_time_varying(frame, panel, ["price"], missing="interpolate")
    assert filled[3, 0] == pytest.approx((frame.loc[2, "price"] + frame.loc[4, "price"]) / 2)
    # a row missing altogether: inserted by missing="interpolate", its covariate too
    gap = retail(n_series=2).drop(index=4)
    panel = as_panel(gap, missing="interpolate")
    assert len(panel.values) == 20
    filled = read_time_varying(gap, panel, ["price"], missing="interpolate")
    assert np.isfinite(filled).all()
    frame = retail(n_series=2)
    frame.loc[5, "price"] = np.inf
    with pytest.raises(ValueError, match="'price' of series 's0' is inf"):
        read_time_varying(frame, as_panel(frame), ["price"])


def test_text_in_a_time_varying_covariate_and_absent_columns_are_named():
    frame = retail(n_series=2)
    frame["price"] = frame["price"].astype(object)
    frame.loc[2, "price"] = "n/a"
    with pytest.raises(TypeError, match="column 'price' holds 'n/a' \\(row 2\\)"):
        read_time_varying(frame, as_panel(frame), ["price"])
    with pytest.raises(ValueError, match="has no column 'temperature' \\(declared as covariates\\)"):
        read_time_varying(frame, as_panel(frame), ["temperature"])


def test_static_covariates_one_value_per_series_categories_as_indicators():
    frame = retail(n_series=3)
    panel = as_panel(frame)
    statics = read_statics(frame, panel, ["region", "size"])
    assert statics.categories == {"region": ("north", "south"), "size": None}
    np.testing.assert_array_equal(
        statics.values, [[1.0, 0.0, 1.0], [0.0, 1.0, 2.0], [1.0, 0.0, 3.0]]
    )
    # at forecast time, the categories fit saw
    again = read_statics(frame, panel, ["region", "size"], statics.categories)
    np.testing.assert_array_equal(again.values, statics.values)
    other = frame.assign(region=frame["region"].replace("south", "east"))
    with pytest.raises(ValueError, match="'region' of series 's1' is 'east', a category fit did not see"):
        read_statics(other, panel, ["region"], statics.categories)
    changing = frame.copy()
    changing.loc[1, "region"] = "south"
    with pytest.raises(ValueError, match="'region' changes within series 's0'"):
        read_statics(changing, panel, ["region"])
    unknown = frame.copy()
    unknown.loc[0, "size"] = np.nan
    with pytest.raises(ValueError, match="'size' has no value \\(NaN\\) for series 's0'"):
        read_statics(unknown, panel, ["size"])


def future_labels_of(panel, steps):
    step = pd.Timedelta(days=1).value
    return panel.last[:, None] + step * np.arange(1, steps + 1)


def decoder(panel):
    return lambda labels: decode_labels(panel.kind, panel.freq, panel.tz, labels)


def test_future_values_are_read_for_each_series_and_step_ahead():
    frame = retail(n_series=2)
    panel = as_panel(frame)
    labels = future_labels_of(panel, 3)
    future = pd.DataFrame(
        {
            "unique_id": np.repeat(["s1", "s0"], 4),  # any order; a step more is ignored
            "ds": np.tile(pd.date_range("2020-01-16", periods=4, freq="D"), 2),
            "price": np.arange(8.0),
        }
    )
    values = read_future(future, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    np.testing.assert_array_equal(values[:, :, 0], [[4.0, 5.0, 6.0], [0.0, 1.0, 2.0]])
    short = future.drop(index=5)  # s0's second step
    with pytest.raises(
        ValueError, match="no row for series 's0' at 2020-01-17 00:00:00 \\(step 2 of 3; 1 of"
    ):
        read_future(short, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    gap = future.copy()
    gap.loc[6, "price"] = np.nan
    with pytest.raises(ValueError, match="'price' has no value \\(NaN\\) for series 's0' at 2020-01-18"):
        read_future(gap, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    with pytest.raises(TypeError, match="X_future is ndarray; expected a DataFrame"):
        read_future(np.zeros(3), panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    hourly = future.assign(ds=future["ds"] + pd.Timedelta(hours=12))  # off the daily step
    with pytest.raises(ValueError, match="rows of series 's0' are not at its next steps: the first is at 2020-01-16 12:00:00, the next step is 2020-01-16 00:00:00"):
        read_future(hourly, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    twice = pd.concat([future, future.iloc[:1]])
    with pytest.raises(ValueError, match="series 's1' has two rows at 2020-01-16"):
        read_future(twice, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))


def test_one_series_needs_no_id_column_in_its_future_frame():
    frame = retail(n_series=1)
    panel = as_panel(frame)
    labels = future_labels_of(panel, 2)
    future = pd.DataFrame(
        {"ds": pd.date_range("2020-01-16", periods=2, freq="D"), "price": [1.0, 2.0]}
    )
    values = read_future(future, panel.ids, labels, ["price"], NAMES, decode=decoder(panel))
    np.testing.assert_array_equal(values[0, :, 0], [1.0, 2.0])


def test_columns_no_parameter_declares_are_listed():
    frame = retail().rename(columns={"size": "Unnamed: 0"})
    declared = spec(future_covariates=["price"])
    assert undeclared_columns(frame, NAMES, declared) == ["promo", "region"]
    assert undeclared_columns(np.zeros(3), NAMES, declared) == []


def plan_with(frame, declared, **changes):
    from gruforecast import GRUForecaster
    from gruforecast._covariates import read_covariates
    from gruforecast._plan import plan_fit

    params = {**GRUForecaster(horizon=3, window=6).get_params(), **changes}
    panel = as_panel(frame)
    covariates = read_covariates(frame, panel, declared)
    return plan_fit(panel, params, covariates=covariates, widths=changes.get("widths")), panel


def test_a_plan_lays_out_the_covariates_as_its_values_scaled_on_the_training_part():
    frame = retail(n_series=3, length=60)
    declared = spec(
        future_covariates=["price"], past_covariates=["promo"], static_covariates=["region", "size"],
        calendar=["day_of_week"],
    )
    plan, panel = plan_with(frame, declared)
    assert plan.features.shape == (len(plan.scaled), 1 + 1 + 2 + 3)
    assert plan.ahead.shape == (len(plan.scaled), 1 + 2 + 3)  # no past covariate ahead
    assert plan.features.dtype == np.float32
    # in their own units, row for row with the values (the network scales them)
    price = read_time_varying(frame, panel, ["price"])[:, 0]
    np.testing.assert_allclose(plan.features[:, 0], price, rtol=1e-6)
    assert set(np.unique(plan.features[:, 1])) == {0.0, 1.0}  # the promotion flag
    np.testing.assert_array_equal(plan.ahead[:, 0], plan.features[:, 0])
    np.testing.assert_array_equal(plan.ahead[:, 1:], plan.features[:, 2:])
    regions = plan.features[:, 4:6]
    np.testing.assert_array_equal(regions[panel.offsets[1]], [0.0, 1.0])  # s1: south
    np.testing.assert_array_equal(plan.features[panel.offsets[:-1], 6], [1.0, 2.0, 3.0])
    # the scaling the network takes: the price's over the training part only, the
    # calendar and indicators as they are, the size across the series
    scaler = plan.covariate_scaler
    centres, spreads = scaler.window_scaling()
    np.testing.assert_allclose(centres[2:], [0, 0, 0, 0, 2.0])
    np.testing.assert_allclose(spreads[2:], [1, 1, 1, 1, np.std([1.0, 2.0, 3.0])])
    changed = frame.copy()
    changed.loc[changed.index[-1], "price"] = 1e6  # in the last series' held-out part
    again, _ = plan_with(changed, declared)
    assert again.covariate_scaler.centres[0] == scaler.centres[0]
    ahead_centres, _ = scaler.ahead_scaling()
    np.testing.assert_array_equal(ahead_centres, np.delete(centres, 1))  # without the past one


def test_padded_windows_pad_the_covariates_with_each_series_first_row():
    frame = retail(n_series=2, length=60)
    declared = spec(future_covariates=["price"])
    plan, panel = plan_with(frame, declared, window=21, widths=(21, 14, True))
    pad = 7
    assert len(plan.features) == len(panel.values) + pad * 2
    for start in plan.stretches[:-1]:
        np.testing.assert_array_equal(
            plan.features[start : start + pad + 1], np.repeat(plan.features[start + pad][None], pad + 1, 0)
        )
        assert plan.scaled[start] == plan.scaled[start + pad]
    assert plan.features[plan.stretches[1] - 1, 0] == np.float32(frame["price"].iloc[59])


def test_one_series_planned_on_its_own_terms_refuses_covariates():
    frame = retail(n_series=1, length=60)
    with pytest.raises(ValueError, match="covariates need the network to normalise each window"):
        plan_with(frame, spec(future_covariates=["price"]), normalize=None)


# ------------------------------------------------------------------ through the estimator

LIFTS = {"food": 1.3, "toys": 1.6}


def promoted(n_series=6, length=120, ahead=14, seed=0):
    """Daily sales whose promotions lift them by their category's lift: the training
    frame, and the frame of the next ``ahead`` days (their promotions) with the truth."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2022-01-03", periods=length + ahead, freq="D")
    frames = []
    for k in range(n_series):
        category = list(LIFTS)[k % 2]
        promo = (rng.random(length + ahead) < 0.2).astype(float)
        level = np.exp(rng.normal(3, 0.5))
        weekly = np.where(days.day_of_week >= 5, 1.3, 1.0)
        noise = np.exp(rng.normal(0, 0.05, length + ahead))
        sales = level * weekly * np.where(promo > 0, LIFTS[category], 1.0) * noise
        frames.append(
            pd.DataFrame(
                {"unique_id": f"s{k}", "ds": days, "y": sales, "promo": promo, "cat": category}
            )
        )
    full = pd.concat(frames, ignore_index=True)
    ahead_rows = full.groupby("unique_id").tail(ahead)
    return full.drop(index=ahead_rows.index), ahead_rows


COVARIATES = {"future_covariates": ["promo"], "static_covariates": ["cat"], "calendar": "auto"}


@pytest.fixture(scope="module")
def fitted():
    from gruforecast import GRUForecaster

    train, ahead = promoted()
    forecaster = GRUForecaster(
        horizon=7, epochs=40, init="random", random_state=0, **COVARIATES
    ).fit(train)
    return forecaster, train, ahead


def test_a_fit_with_covariates_forecasts_with_their_values_ahead(fitted):
    forecaster, train, ahead = fitted
    assert forecaster.get_params()["future_covariates"] == ["promo"]
    network = forecaster.network_
    # promo, day of week and of year (sine, cosine), two categories
    assert (network.features, network.ahead_features) == (7, 7)
    table = forecaster.forecast(7, X_future=ahead[["unique_id", "ds", "promo"]], interval=0.9)
    assert len(table) == 6 * 7 and np.isfinite(table[["forecast", "lower_90", "upper_90"]]).all().all()
    merged = table.merge(ahead, on=["unique_id", "ds"])
    on = forecaster.forecast(7, X_future=ahead.assign(promo=1.0))
    off = forecaster.forecast(7, X_future=ahead.assign(promo=0.0))
    assert (on["forecast"] > off["forecast"]).mean() > 0.9  # it learned that promotions lift
    assert len(merged) == len(table)


def test_a_step_ahead_reads_its_own_covariates_and_none_later(fitted):
    forecaster, _, ahead = fitted
    base = forecaster.forecast(7, X_future=ahead)["forecast"].to_numpy().reshape(6, 7)
    changed = ahead.copy()
    day = changed["ds"] == changed["ds"].min() + pd.Timedelta(days=4)  # step 5 of each
    changed.loc[day, "promo"] = 1.0 - changed.loc[day, "promo"]
    after = forecaster.forecast(7, X_future=changed)["forecast"].to_numpy().reshape(6, 7)
    np.testing.assert_array_equal(after[:, :4], base[:, :4])
    assert not np.allclose(after[:, 4], base[:, 4])


def test_beyond_the_horizon_the_forecast_needs_the_covariates_of_every_step(fitted):
    from gruforecast import GRUForecaster

    forecaster, train, ahead = fitted
    with pytest.raises(ValueError, match="no row for series 's0' at 2022-05-10 00:00:00 \\(step 8 of 10"):
        forecaster.forecast(10, X_future=ahead[ahead["ds"] < "2022-05-10"])
    table = forecaster.forecast(14, X_future=ahead)
    assert len(table) == 6 * 14 and np.isfinite(table["forecast"]).all()
    # a past covariate is read in the window only: 7 steps need none of it ahead,
    # more need its values for the steps a later window reads
    past = GRUForecaster(
        horizon=7, epochs=2, init="random", random_state=0, past_covariates=["promo"]
    ).fit(train.drop(columns="cat"))
    assert len(past.forecast(7)) == 42
    with pytest.raises(ValueError, match="this model reads covariates of the steps ahead \\('promo'\\)"):
        past.forecast(8)
    assert len(past.forecast(8, X_future=ahead)) == 48


def test_what_a_model_with_covariates_cannot_do_yet_says_so(fitted, tmp_path):
    forecaster, train, ahead = fitted
    with pytest.raises(ValueError, match="reads covariates of the steps ahead \\('promo'\\): give"):
        forecaster.forecast(7)
    for call, what in [
        (lambda: forecaster.export_triton(tmp_path / "triton"), "export_triton"),
        (lambda: forecaster.predict(np.ones((2, forecaster.window_))), "predict"),
        (lambda: forecaster.score(train), "score"),
    ]:
        with pytest.raises(ValueError, match=f"{what}.* of a model with covariates is not available yet"):
            call()
    assert not (tmp_path / "triton").exists()


def test_covariates_are_refused_where_they_cannot_be_read():
    from gruforecast import GRUForecaster

    train, ahead = promoted(n_series=2, length=60)
    plain = GRUForecaster(horizon=7, epochs=1, init="random", random_state=0)
    with pytest.warns(UserWarning, match="X has columns 'promo', 'cat' that no parameter declares"):
        plain.fit(train)
    with pytest.raises(ValueError, match="X_future gives covariates .* fitted without any"):
        plain.forecast(7, X_future=ahead)
    declared = GRUForecaster(horizon=7, epochs=1, future_covariates=["promo"])
    with pytest.raises(TypeError, match="covariates \\('promo'\\) are columns of a long frame"):
        declared.fit(train[train["unique_id"] == "s0"].set_index("ds")["y"])
    with pytest.raises(ValueError, match="fit\\(X, y\\) on windows has none"):
        declared.fit(np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="has no column 'price' \\(declared as covariates\\)"):
        GRUForecaster(horizon=7, epochs=1, future_covariates=["price"]).fit(train[["unique_id", "ds", "y"]])
    with pytest.raises(TypeError, match="future_covariates must be a list of column names or None, got 'promo' \\(for example \\['promo'\\]\\)"):
        GRUForecaster(horizon=7, future_covariates="promo").fit(train)
    with pytest.raises(ValueError, match="calendar='auto' needs series labelled by dates"):
        plain = train[["unique_id", "ds", "y"]]
        GRUForecaster(horizon=7, calendar="auto").fit(plain.assign(ds=plain.groupby("unique_id").cumcount()))


def test_a_fit_with_covariates_starts_from_the_prior():
    from gruforecast import GRUForecaster

    train, ahead = promoted(n_series=4, length=100)
    forecaster = GRUForecaster(horizon=7, epochs=1, random_state=0, **COVARIATES).fit(train)
    assert forecaster.choices_.prior == "season-7"
    assert forecaster.init_ in ("fine-tuned", "zero-shot")
    assert np.isfinite(forecaster.forecast(7, X_future=ahead)["forecast"]).all()
    # too short to hold anything out: the prior as it is, with its intervals
    short, short_ahead = promoted(n_series=1, length=30)
    with pytest.warns(UserWarning, match="too short to hold out a validation part"):
        zero_shot = GRUForecaster(horizon=7, epochs=1, random_state=0, **COVARIATES).fit(short)
    assert zero_shot.init_ == "zero-shot"
    bounds = zero_shot.forecast(7, X_future=short_ahead, interval=0.9)
    assert np.isfinite(bounds[["lower_90", "upper_90"]]).all().all()


def test_a_model_with_covariates_is_saved_and_loaded_as_it_was(fitted, tmp_path):
    from gruforecast import GRUForecaster
    from gruforecast._state import decode, encode

    forecaster, _, ahead = fitted
    path = forecaster.save(tmp_path / "promoted.gruf")
    loaded = GRUForecaster.load(path)
    assert loaded.get_params()["static_covariates"] == ["cat"]
    with pytest.warns(UserWarning, match="90%"):  # beyond the horizon, unscored
        expected = forecaster.forecast(14, X_future=ahead, interval=0.9)
    with pytest.warns(UserWarning, match="90%"):
        pd.testing.assert_frame_equal(loaded.forecast(14, X_future=ahead, interval=0.9), expected)
    # a file whose covariates contradict its network is refused before use
    document, arrays = encode(forecaster.state_)
    document["network"]["features"] = 3
    with pytest.raises(ValueError, match="the covariates make 7 channels in the window and 7 "):
        decode(document, arrays, "crafted.gruf")
    document, arrays = encode(forecaster.state_)
    document["covariates"]["calendar"] = ["day_of_week"]  # two channels fewer
    with pytest.raises(ValueError, match="covariates.last_features has shape \\(6, 42, 7\\); expected \\(6, 42, 5\\)"):
        decode(document, arrays, "crafted.gruf")
    document, arrays = encode(forecaster.state_)
    arrays["covariates.last_features"] = arrays["covariates.last_features"][:2]
    with pytest.raises(ValueError, match="covariates.statics has shape|covariates.last_features has shape"):
        decode(document, arrays, "crafted.gruf")
    document, arrays = encode(forecaster.state_)
    document["covariates"]["categories"] = {}
    with pytest.raises(ValueError, match="covariates.categories must name the static covariates"):
        decode(document, arrays, "crafted.gruf")


def test_the_command_line_fits_and_forecasts_with_covariates(tmp_path):
    import subprocess
    import sys

    train, ahead = promoted()
    train.to_csv(tmp_path / "sales.csv", index=False)
    ahead[["unique_id", "ds", "promo"]].to_csv(tmp_path / "future.csv", index=False)

    def run(*arguments):
        command = [sys.executable, "-m", "gruforecast", *map(str, arguments)]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)

    fitted = run("fit", "sales.csv", "--horizon", 7, "--epochs", 3, "--future-columns", "promo",
                 "--static-columns", "cat", "--calendar", "auto", "--seed", 0, "--out", "m.gruf")
    assert fitted.returncode == 0, fitted.stderr
    from gruforecast import GRUForecaster

    model = GRUForecaster.load(tmp_path / "m.gruf")
    assert model.get_params()["future_covariates"] == ["promo"] and model.calendar == "auto"
    forecast = run("forecast", "m.gruf", "--steps", 7, "--future", "future.csv", "--output", "f.csv")
    assert forecast.returncode == 0, forecast.stderr
    written = pd.read_csv(tmp_path / "f.csv", parse_dates=["ds"])
    expected = model.forecast(7, X_future=ahead)
    np.testing.assert_allclose(written["forecast"], expected["forecast"], rtol=1e-6)
    # the same from a context file
    context = run("forecast", "m.gruf", "--steps", 7, "--input", "sales.csv", "--future",
                  "future.csv", "--output", "g.csv")
    assert context.returncode == 0, context.stderr
    np.testing.assert_allclose(pd.read_csv(tmp_path / "g.csv")["forecast"], written["forecast"])
    missing = run("forecast", "m.gruf", "--steps", 7)
    assert missing.returncode == 2
    assert "reads covariates known ahead ('promo'): give their values" in missing.stderr
    plain = run("fit", "sales.csv", "--column", "y", "--horizon", 7, "--epochs", 1, "--out", "p.gruf")
    assert plain.returncode == 0, plain.stderr
    refused = run("forecast", "p.gruf", "--steps", 7, "--future", "future.csv")
    assert refused.returncode == 2 and "--future gives covariates, and p.gruf reads none" in refused.stderr
    absent = run("fit", "sales.csv", "--horizon", 7, "--future-columns", "price", "--out", "x.gruf")
    assert absent.returncode == 2 and "no column 'price' (a covariate)" in absent.stderr


def test_the_onnx_model_takes_the_covariates_raw_and_forecasts_as_pytorch(fitted, tmp_path):
    import onnx

    from gruforecast import OnnxForecaster

    forecaster, train, ahead = fitted
    path = forecaster.export_onnx(tmp_path / "promoted.onnx")
    graph = onnx.load(path).graph
    assert [i.name for i in graph.input] == ["windows", "features", "ahead"]
    served = OnnxForecaster(path)
    for steps in (7, 14):  # the direct head, and recursively past it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no errors scored beyond the horizon
            ours = forecaster.forecast(steps, X_future=ahead, interval=0.9)
            theirs = served.forecast(steps, X_future=ahead, interval=0.9)
        pd.testing.assert_frame_equal(theirs[["unique_id", "ds"]], ours[["unique_id", "ds"]])
        for column in ("forecast", "lower_90", "upper_90"):
            expected, served_values = ours[column].to_numpy(), theirs[column].to_numpy()
            finite = np.isfinite(expected)  # the bounds past the scored steps are infinite
            np.testing.assert_array_equal(np.isfinite(served_values), finite)
            difference = np.abs(served_values[finite] - expected[finite])
            assert np.max(difference / (1 + np.abs(expected[finite]))) < 1e-5
    on = served.forecast(7, X_future=ahead.assign(promo=1.0))["forecast"]
    assert (on.to_numpy() > served.forecast(7, X_future=ahead.assign(promo=0.0))["forecast"].to_numpy()).mean() > 0.9
    with pytest.raises(ValueError, match="reads covariates of the steps ahead \\('promo'\\): give"):
        served.forecast(7)
    # a context with its covariates: the fitted series again, as the torch model does
    pd.testing.assert_frame_equal(
        served.forecast(7, context=train, X_future=ahead),
        served.forecast(7, X_future=ahead),
    )
    with pytest.raises(ValueError, match="predict\\(X\\) on windows of a model with covariates"):
        served.predict(np.ones((2, served.window_)))


def test_a_context_with_its_covariates_is_forecast_as_the_fitted_series_are(fitted):
    forecaster, train, ahead = fitted
    expected = forecaster.forecast(14, X_future=ahead)
    pd.testing.assert_frame_equal(forecaster.forecast(14, context=train, X_future=ahead), expected)
    # series never seen in fit: their own ids, histories and covariates
    renamed = {f"s{k}": f"new{k}" for k in range(6)}
    other = forecaster.forecast(
        7,
        context=train.replace({"unique_id": renamed}).iloc[30:],  # one series shorter
        X_future=ahead.replace({"unique_id": renamed}),
    )
    assert sorted(set(other["unique_id"])) == sorted(renamed.values())
    assert np.isfinite(other["forecast"]).all()
    unseen = train.assign(cat=train["cat"].replace("toys", "games"))
    with pytest.raises(ValueError, match="'cat' of series 's1' is 'games', a category fit did not see"):
        forecaster.forecast(7, context=unseen, X_future=ahead)
    with pytest.raises(TypeError, match="the context of a model with covariates is a long frame"):
        forecaster.forecast(7, context=train[train["unique_id"] == "s0"].set_index("ds")["y"])
    with pytest.raises(ValueError, match="context has no column 'promo' \\(declared as covariates\\)"):
        forecaster.forecast(7, context=train.drop(columns="promo"), X_future=ahead)


def test_a_backtest_with_covariates_reads_nothing_after_each_cutoff():
    from gruforecast import GRUForecaster, backtest

    frame, _ = promoted(n_series=3, length=90)
    frame = frame.assign(weekend=(frame["ds"].dt.day_of_week >= 5).astype(float))
    forecaster = GRUForecaster(
        horizon=7, epochs=2, init="random", random_state=0, past_covariates=["promo"],
        future_covariates=["weekend"], static_covariates=["cat"],
    )
    first = backtest(forecaster, frame, horizon=7, initial=70, step=7)
    assert len(first.metrics) == 3 * 2 and np.isfinite(first.metrics["mae"]).all()
    cutoffs = sorted(first.metrics["cutoff"].unique())
    # after the second cutoff: other values, other past covariates (the future-known
    # one stays: its values are known ahead, as the data has them)
    later = frame["ds"] > cutoffs[1]
    changed = frame.assign(
        y=np.where(later, frame["y"] * 3, frame["y"]),
        promo=np.where(later, 1.0 - frame["promo"], frame["promo"]),
    )
    again = backtest(forecaster, changed, horizon=7, initial=70, step=7)
    pd.testing.assert_frame_equal(
        again.forecasts[["unique_id", "time", "forecast"]], first.forecasts[["unique_id", "time", "forecast"]]
    )
    with pytest.raises(ValueError, match="recursive steps would read past covariates after each cutoff"):
        backtest(forecaster, frame, horizon=8, initial=70)
    with pytest.raises(TypeError, match="a backtest of a forecaster with covariates reads a long frame"):
        backtest(forecaster, frame[frame["unique_id"] == "s0"].set_index("ds")["y"], horizon=7, initial=70)


def test_one_series_as_a_frame_with_its_covariates_is_a_series_of_one():
    from gruforecast import GRUForecaster, backtest

    train, ahead = promoted(n_series=1, length=120)
    frame = train.set_index("ds")[["y", "promo"]]  # the time in the index, no id column
    forecaster = GRUForecaster(
        horizon=7, epochs=5, init="random", random_state=0, future_covariates=["promo"]
    ).fit(frame)
    future = ahead.set_index("ds")[["promo"]].reset_index()  # no id column either
    table = forecaster.forecast(7, X_future=future)
    assert list(table["unique_id"].unique()) == ["y"] and len(table) == 7
    long = GRUForecaster(
        horizon=7, epochs=5, init="random", random_state=0, future_covariates=["promo"]
    ).fit(train.assign(unique_id="y").drop(columns="cat"))
    pd.testing.assert_frame_equal(long.forecast(7, X_future=ahead.assign(unique_id="y")), table)
    pd.testing.assert_frame_equal(forecaster.forecast(7, context=frame, X_future=future), table)
    assert len(backtest(forecaster, frame, horizon=7, initial=100).metrics) == 2
    with pytest.raises(ValueError, match="needs its target column 'y' \\(target_col=...\\)"):
        forecaster.fit(frame.rename(columns={"y": "sales"}))


def test_series_labelled_by_integers_take_covariates_without_a_calendar():
    from gruforecast import GRUForecaster

    train, ahead = promoted(n_series=3, length=80)
    steps = {day: k for k, day in enumerate(sorted(set(train["ds"]) | set(ahead["ds"])))}
    train, ahead = (part.assign(ds=part["ds"].map(steps)) for part in (train, ahead))
    forecaster = GRUForecaster(
        horizon=7, epochs=2, init="random", random_state=0, future_covariates=["promo"]
    ).fit(train.drop(columns="cat"))
    table = forecaster.forecast(7, X_future=ahead)
    assert table["ds"].tolist()[:2] == [80, 81] and np.isfinite(table["forecast"]).all()


def test_one_series_given_as_one_takes_a_calendar():
    from gruforecast import GRUForecaster
    from gruforecast.datasets import load_air_passengers

    series = load_air_passengers()
    forecaster = GRUForecaster(
        horizon=12, epochs=2, init="random", random_state=0, calendar="auto"
    ).fit(series)
    assert forecaster.network_.features == 2  # the month's sine and cosine
    table = forecaster.forecast(12)
    assert list(table["unique_id"].unique()) == ["air_passengers"]
    assert table["ds"].iloc[0] == pd.Timestamp("1961-01-01") and len(table) == 12
