import numpy as np
import pandas as pd
import pytest

from gruforecast import make_windows
from gruforecast._windowing import last_window, n_windows


def test_first_and_last_windows_and_targets_are_exact():
    # the seed's create_sequences forgot to append: check the content, not just shapes
    series = np.arange(100.0)
    X, y = make_windows(series, window=10)
    assert X.shape == (90, 10) and y.shape == (90,)
    np.testing.assert_array_equal(X[0], np.arange(10.0))
    assert y[0] == 10.0
    np.testing.assert_array_equal(X[-1], np.arange(89.0, 99.0))
    assert y[-1] == 99.0
    np.testing.assert_array_equal(X[:, -1] + 1, y)


def test_multi_step_targets_are_the_next_horizon_values():
    series = np.arange(30.0)
    X, y = make_windows(series, window=5, horizon=3)
    assert X.shape == (23, 5) and y.shape == (23, 3)
    np.testing.assert_array_equal(X[0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y[0], [5, 6, 7])
    np.testing.assert_array_equal(X[-1], [22, 23, 24, 25, 26])
    np.testing.assert_array_equal(y[-1], [27, 28, 29])
    assert n_windows(30, 5, 3) == 23


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_windows_are_views_of_float_input(dtype):
    series = np.arange(10_000, dtype=dtype)
    X, y = make_windows(series, window=50, horizon=2)
    assert np.shares_memory(X, series) and np.shares_memory(y, series)
    assert X.base is not None and X.dtype == dtype
    assert not X.flags.writeable and not y.flags.writeable
    X1, y1 = make_windows(series, window=50)
    assert np.shares_memory(y1, series) and not y1.flags.writeable


def test_large_series_costs_no_window_copies():
    series = np.zeros(10**7)
    X, _ = make_windows(series, window=100)
    assert X.shape == (10**7 - 100, 100)
    assert np.shares_memory(X, series)  # a copy would need 8 GB


def test_accepts_pandas_and_lists_and_ints():
    X, y = make_windows(pd.Series([1, 2, 3, 4]), window=2)
    np.testing.assert_array_equal(X, [[1, 2], [2, 3]])
    np.testing.assert_array_equal(y, [3, 4])
    X, y = make_windows([[1], [2], [3]], window=2)
    assert X.dtype == np.float64 and X.shape == (1, 2)


def test_too_short_series_says_the_minimum():
    with pytest.raises(ValueError, match="has 5 values.*at least 7"):
        make_windows(np.arange(5.0), window=5, horizon=2)


@pytest.mark.parametrize("window", [0, -1, 2.5, "10", True])
def test_bad_window(window):
    with pytest.raises((TypeError, ValueError), match="window must be an integer"):
        make_windows(np.arange(10.0), window=window)


def test_last_window():
    series = np.arange(10.0)
    np.testing.assert_array_equal(last_window(series, 3), [7, 8, 9])
    with pytest.raises(ValueError, match="at least window=11"):
        last_window(series, 11)
