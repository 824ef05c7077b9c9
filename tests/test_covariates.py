"""Covariates as declared, read from a frame and checked (gruforecast._covariates)."""

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
    times = pd.date_range("2021-01-01", periods=12, freq="MS").asi8
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
    utc_midnight = pd.DatetimeIndex(["2021-01-04 00:00"]).asi8.astype(np.int64)
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
