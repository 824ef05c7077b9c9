import decimal

import numpy as np
import pandas as pd
import pytest

from gruforecast._validation import as_series, as_targets, as_windows, check_int, check_real


@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        (1.0, 2.0, 3.0),
        np.array([1, 2, 3], dtype=np.int8),
        np.array([1, 2, 3], dtype=np.uint64),
        np.array([1, 2, 3], dtype=np.float16),
        np.array([[1], [2], [3]], dtype=np.float32),
        pd.Series([1, 2, 3]),
        pd.Series([1, 2, 3], dtype="Int64"),
        pd.DataFrame({"value": [1.0, 2.0, 3.0]}),
        np.array([1, 2.0, decimal.Decimal("3")], dtype=object),
    ],
)
def test_series_inputs_become_float_vectors(data):
    series = as_series(data)
    assert series.values.dtype == np.float64 and series.values.shape == (3,)
    np.testing.assert_array_equal(series.values, [1, 2, 3])


def test_pandas_index_and_name_are_kept():
    frame = pd.DataFrame({"sales": [1.0, 2.0]}, index=pd.period_range("2020-01", periods=2, freq="M"))
    series = as_series(frame)
    assert series.name == "sales" and isinstance(series.index, pd.PeriodIndex)
    assert as_series([1.0]).index is None


@pytest.mark.parametrize(
    "data, message",
    [
        ([1.0, np.nan, 3.0], "NaN .*at position 1"),
        (np.array([1.0, 2.0, np.inf]), "inf at position 2"),
        ([1, None, 3], "NaN .*at position 1"),
        (pd.Series([1.0, 2.0, np.nan], index=pd.date_range("2020-01-01", periods=3)),
         r"position 2 \(index 2020-01-03"),
        (pd.Series([1, pd.NA], dtype="Int64"), "NaN .*at position 1"),
        (np.ones((5, 2)), r"shape \(5, 2\).*fit\(X, y\)"),
        (np.ones((2, 2, 2)), r"shape \(2, 2, 2\)"),
        (pd.DataFrame({"a": [1.0], "b": [2.0]}), r"2 columns \('a', 'b'\).*single column"),
        (pd.DataFrame(index=[0, 1]), "no columns"),
        ([[1, 2], [3]], "1-D sequence of numbers"),
        (pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-02-01", "2020-01-01"])), "not sorted"),
        (pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-01", "2020-01-01"])), "duplicated"),
    ],
)
def test_bad_values_raise_value_error_naming_the_problem(data, message):
    with pytest.raises(ValueError, match=message):
        as_series(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (None, "got NoneType"),
        ("123", "got str"),
        (5.0, "single float"),
        ([1.0, 2.0, "a", 3.0], r"text values \(first at position 2: 'a'\)"),
        (np.array([1.0, "a"], dtype=object), r"non-numeric value at position 1: 'a'"),
        (np.array([True, False]), "boolean"),
        (pd.Series(["1", "2"]), r"holds numbers as text \(first at position 0: '1'\)"),
        # read_csv of a column with one bad cell: the bad cell is named, not the first
        (pd.Series(["0.489", "1", None, "n/a?", "2"], index=pd.RangeIndex(54, 59)),
         r"non-numeric value at (position 3|label 57).*'n/a\?'.*pd.to_numeric"),
        (pd.Series(pd.date_range("2020", periods=3)), "dates or durations"),
        (np.array([1.0, {"a": 1}], dtype=object), "non-numeric value at position 1"),
    ],
)
def test_non_numeric_input_raises_type_error(data, message):
    with pytest.raises(TypeError, match=message):
        as_series(data)


def test_windows_validation():
    assert as_windows([[1, 2], [3, 4]]).dtype == np.float64
    with pytest.raises(ValueError, match="Reshape your data"):
        as_windows(np.arange(3.0))
    with pytest.raises(ValueError, match="0 samples"):
        as_windows(np.ones((0, 3)))
    with pytest.raises(ValueError, match="NaN .*at row 1, column 2"):
        as_windows(np.array([[1.0, 2, 3], [4, 5, np.nan]]))
    with pytest.raises(TypeError, match="sparse input is not supported"):
        import scipy.sparse

        as_windows(scipy.sparse.csr_matrix(np.ones((2, 2))))


def test_targets_validation():
    np.testing.assert_array_equal(as_targets([1, 2], n_samples=2, horizon=1), [[1], [2]])
    assert as_targets(np.ones((2, 3)), n_samples=2, horizon=3).shape == (2, 3)
    with pytest.raises(ValueError, match="X has 3 windows but y has 2 rows"):
        as_targets([1, 2], n_samples=3, horizon=1)
    with pytest.raises(ValueError, match=r"horizon=3 expects \(2, 3\)"):
        as_targets([1, 2], n_samples=2, horizon=3)


def test_parameter_checks():
    assert check_int(np.int64(3), "window") == 3
    with pytest.raises(TypeError, match="window must be an integer >= 1, got 2.0"):
        check_int(2.0, "window")
    with pytest.raises(ValueError, match="window must be an integer >= 1, got 0"):
        check_int(0, "window")
    assert check_real(0.5, "dropout", low=0, high=1, high_inclusive=False) == 0.5
    with pytest.raises(ValueError, match=r"dropout must be a finite number in \[0.0, 1.0\), got 1.0"):
        check_real(1.0, "dropout", low=0.0, high=1.0, high_inclusive=False)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        check_real(float("nan"), "lr", low=0.0, low_inclusive=False)
    with pytest.raises(TypeError, match="lr must be a number"):
        check_real("0.1", "lr", low=0.0)


def test_missing_values_interpolate_in_time_or_by_position():
    from gruforecast._validation import as_series

    days = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"])
    series = pd.Series([0.0, np.nan, 4.0, 5.0], index=days)
    # time-aware: Jan 2 is one day of four between 0 and 4
    assert as_series(series, missing="interpolate").values.tolist() == [0.0, 1.0, 4.0, 5.0]
    # by position without a DatetimeIndex; both ends take the nearest known value
    values = as_series([np.nan, 1.0, None, 3.0, np.nan], missing="interpolate").values
    assert values.tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]
    original = np.array([1.0, np.nan, 3.0])
    as_series(original, missing="interpolate")
    assert np.isnan(original[1])  # the caller's array is not written to
    with pytest.raises(ValueError, match="only missing values"):
        as_series([np.nan, np.nan], missing="interpolate")
    with pytest.raises(ValueError, match="contains inf"):
        as_series([1.0, np.inf, np.nan], missing="interpolate")
    with pytest.raises(ValueError, match=r"NaN \(a missing value\) at position 1.*missing='interpolate'"):
        as_series([1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="missing must be 'raise' or 'interpolate'"):
        from gruforecast._params import check_choice

        check_choice("missing", "drop")
