import numpy as np
import pandas as pd
import pytest

from gruforecast.metrics import mae, mape, mase, rmse, smape


def test_values_on_a_small_example():
    truth, prediction = [1.0, 2.0, 4.0], [2.0, 2.0, 2.0]
    assert mae(truth, prediction) == pytest.approx(1.0)
    assert rmse(truth, prediction) == pytest.approx(np.sqrt(5 / 3))
    assert mape(truth, prediction) == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert smape(truth, prediction) == pytest.approx(100 * (2 / 3 + 0 + 4 / 6) / 3)
    # in-sample naive (m=1) error of [1, 3, 4, 8] is mean(2, 1, 4) = 7/3
    assert mase(truth, prediction, y_train=[1, 3, 4, 8]) == pytest.approx(1.0 / (7 / 3))
    assert mase(truth, prediction, y_train=[1, 5, 2, 6], m=2) == pytest.approx(1.0 / 1.0)


def test_smape_is_bounded_and_handles_double_zeros():
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert 0 <= smape(np.random.rand(50), np.random.rand(50) - 0.5) <= 200


def test_pandas_are_compared_by_position():
    truth = pd.Series([1.0, 2.0], index=pd.date_range("2020", periods=2, freq="D"))
    prediction = pd.Series([1.0, 3.0], index=[10, 11])
    assert mae(truth, prediction) == 0.5


def test_clear_errors():
    with pytest.raises(ValueError, match="different lengths: 3 and 2"):
        mae([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        rmse([], [])
    with pytest.raises(ValueError, match="y_true is 0 at position 1"):
        mape([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="scale, is 0"):
        mase([1.0], [2.0], y_train=[3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="seasonal naive forecast \\(m=2\\) is exact"):
        mase([1.0], [2.0], y_train=[1.0, 2.0, 1.0, 2.0], m=2)
    with pytest.raises(ValueError, match="y_train has 2 values; MASE with m=2 needs more than 2"):
        mase([1.0], [2.0], y_train=[1.0, 2.0], m=2)
    with pytest.raises(ValueError, match="NaN"):
        mae([1.0, np.nan], [1.0, 1.0])
