import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from conftest import FAST
from gruforecast import GRUForecaster
from gruforecast.plotting import plot_forecast, save_figure


def test_plot_with_intervals_and_truth(monthly, tmp_path):
    forecaster = GRUForecaster(**{**FAST, "calibration_fraction": 0.3}).fit(monthly[:-12])
    forecast = forecaster.forecast(6, interval=[0.8, 0.9])
    figure = plot_forecast(monthly[:-12], forecast, truth=monthly[-12:-6], history_tail=36, title="t")
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["history", "90% interval", "80% interval", "forecast", "truth"]
    assert len(axes.lines[0].get_xdata()) == 36
    assert save_figure(figure, tmp_path / "f.png").stat().st_size > 1000
    assert matplotlib.get_backend()  # no pyplot state was needed


def test_plot_numpy_forecast(sine):
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(sine)
    figure = plot_forecast(sine, forecaster.forecast(20, interval=0.9))
    assert list(figure.axes[0].lines[1].get_xdata()[:2]) == [1000, 1001]
    with pytest.raises(ValueError, match="truth has 3 values but the forecast has 20"):
        plot_forecast(sine, forecaster.forecast(20), truth=np.ones(3))
