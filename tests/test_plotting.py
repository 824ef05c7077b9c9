import subprocess
import sys

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


def test_plotting_never_imports_pyplot(tmp_path):
    """plot_forecast and save_figure use the object API only: pyplot, its global figure
    registry and its choice of a GUI backend are never loaded (a fresh process, since
    other tests may import pyplot)."""
    code = (
        "import sys\n"
        "import numpy as np, pandas as pd\n"
        "from gruforecast.plotting import plot_forecast, save_figure\n"
        "history = pd.Series(np.arange(48.0), index=pd.date_range('2000-01', periods=48, freq='MS'))\n"
        "table = pd.DataFrame({'forecast': np.ones(6), 'lower_90': np.zeros(6), 'upper_90': 2 * np.ones(6)},\n"
        "                     index=pd.date_range('2004-01', periods=6, freq='MS'))\n"
        "figure = plot_forecast(history, table, truth=np.ones(6), title='t')\n"
        f"save_figure(figure, {str(tmp_path / 'g.png')!r})\n"
        "save_figure(plot_forecast(np.arange(30.0), np.ones(5)), "
        f"{str(tmp_path / 'g.svg')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()[:1000]


def test_plot_numpy_forecast(sine):
    forecaster = GRUForecaster(**{**FAST, "window": 10}).fit(sine)
    figure = plot_forecast(sine, forecaster.forecast(20, interval=0.9))
    assert list(figure.axes[0].lines[1].get_xdata()[:2]) == [1000, 1001]
    with pytest.raises(ValueError, match="truth has 3 values but the forecast has 20"):
        plot_forecast(sine, forecaster.forecast(20), truth=np.ones(3))
