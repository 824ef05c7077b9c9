import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.dates import ConciseDateFormatter
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
    # the forecast line starts at the last observed value (position 999)
    assert list(figure.axes[0].lines[1].get_xdata()[:3]) == [999, 1000, 1001]
    with pytest.raises(ValueError, match="truth has 3 values but the forecast has 20"):
        plot_forecast(sine, forecaster.forecast(20), truth=np.ones(3))


def _lines(figure):
    """(history, forecast) lines of a plot, by their legend labels."""
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    return lines["history"], lines["forecast"]


def test_x_axis_uses_the_labels_of_a_series_without_dates():
    """A series without dates is labelled by position: the forecast of a history
    indexed 476..499 is indexed 500..; the plot uses those labels (it used 0..47)."""
    history = pd.Series(np.sin(np.arange(24.0)), index=pd.RangeIndex(476, 500), name="load")
    forecast = pd.Series(np.ones(24), index=pd.RangeIndex(500, 524), name="load")
    past, future = _lines(plot_forecast(history, forecast))
    assert list(past.get_xdata()) == list(range(476, 500))
    assert list(future.get_xdata()[1:]) == list(forecast.index)


def test_labels_of_one_side_are_continued_to_the_other():
    # a NumPy history before a table counted by step: the history ends at step 0
    table = pd.DataFrame({"forecast": np.ones(3)}, index=pd.RangeIndex(1, 4, name="step"))
    figure = plot_forecast(np.arange(5.0), table)
    past, future = _lines(figure)
    assert list(past.get_xdata()) == [-4, -3, -2, -1, 0]
    assert list(future.get_xdata()[1:]) == [1, 2, 3]
    assert figure.axes[0].get_xlabel() == "step"
    # a NumPy forecast after a history with whole-number labels continues them
    history = pd.Series(np.arange(4.0), index=pd.RangeIndex(10, 18, 2))
    _, future = _lines(plot_forecast(history, np.ones(2)))
    assert list(future.get_xdata()) == [16, 18, 20]
    # dates before a NumPy forecast: the next dates
    dated = pd.Series(np.arange(6.0), index=pd.date_range("2020-01-06", periods=6, freq="D"))
    _, future = _lines(plot_forecast(dated, np.ones(2)))
    assert list(pd.DatetimeIndex(future.get_xdata())) == list(
        pd.date_range("2020-01-11", periods=3, freq="D")
    )


def test_the_forecast_and_its_bands_start_at_the_last_observed_value(monthly):
    index = pd.date_range("1961-01", periods=3, freq="MS", name="month")
    table = pd.DataFrame(
        {
            "forecast": [450.0, 460, 470],
            "lower_90": [400.0, 405, 410],
            "upper_90": [500.0, 510, 520],
        },
        index=index,
    )
    figure = plot_forecast(monthly, table, truth=[440.0, 455, 480])
    past, future = _lines(figure)
    truth = figure.axes[0].lines[-1]
    for line in (future, truth):
        assert line.get_xdata()[0] == past.get_xdata()[-1] == np.datetime64("1960-12-01")
        assert line.get_ydata()[0] == past.get_ydata()[-1] == monthly.iloc[-1]
    assert list(future.get_xdata()[1:]) == list(index.to_numpy())
    band = figure.axes[0].collections[0].get_paths()[0].vertices
    start = figure.axes[0].xaxis.convert_units(np.datetime64("1960-12-01"))
    assert [start, monthly.iloc[-1]] in band.tolist()


def test_axes_are_labelled_dates_concise_and_the_title_says_what_was_forecast(monthly):
    forecaster = GRUForecaster(**{**FAST, "calibration_fraction": 0.3}).fit(monthly)
    figure = plot_forecast(monthly, forecaster.forecast(12, interval=[0.95, 0.8]))
    axes = figure.axes[0]
    assert isinstance(axes.xaxis.get_major_formatter(), ConciseDateFormatter)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("month", "air_passengers")
    assert axes.get_title() == "air_passengers: 12-step forecast with 80% and 95% intervals"
    # the caller's title wins, "" for none
    for title in ("mine", ""):
        figure = plot_forecast(monthly, forecaster.forecast(2), title=title)
        assert figure.axes[0].get_title() == title
    # periods: dates on the axis; unnamed: "time" and "value"
    quarters = pd.Series(np.arange(8.0), index=pd.period_range("2000Q1", periods=8, freq="Q"))
    table = pd.DataFrame(
        {"forecast": [8.0], "lower_90": [7.0], "upper_90": [9.0]},
        index=pd.period_range("2002Q1", periods=1, freq="Q"),
    )
    axes = plot_forecast(quarters, table).axes[0]
    assert isinstance(axes.xaxis.get_major_formatter(), ConciseDateFormatter)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("time", "value")
    assert axes.get_title() == "1-step forecast with a 90% interval"
    eighty = table.rename(columns={"lower_90": "lower_80", "upper_90": "upper_80"})
    assert plot_forecast(quarters, eighty).axes[0].get_title().endswith("with an 80% interval")
    assert pd.Timestamp(axes.lines[1].get_xdata()[1]) == pd.Timestamp("2002-01-01")
    # positions
    axes = plot_forecast(np.arange(30.0), np.ones(5)).axes[0]
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("position", "value")


def test_a_short_history_is_drawn_with_markers():
    one = pd.Series([3.0], index=pd.RangeIndex(99, 100))
    past, future = _lines(plot_forecast(one, pd.Series([4.0], index=pd.RangeIndex(100, 101))))
    assert past.get_marker() == "o" and list(past.get_xdata()) == [99]
    assert future.get_marker() == "o" and list(future.get_xdata()) == [99, 100]
    past, _ = _lines(plot_forecast(np.arange(500.0), np.ones(100)))
    assert past.get_marker() in ("None", "", None)
    with pytest.raises(ValueError, match="history_tail"):
        plot_forecast(np.arange(5.0), np.ones(2), history_tail=0)


def test_infinite_bounds_draw_only_the_finite_band(tmp_path):
    """A level the calibration data cannot honour has infinite bounds: the band is
    drawn where it is finite, left out (and named in the title) where it never is."""
    history = pd.Series(np.arange(24.0), index=pd.date_range("2000-01", periods=24, freq="MS"))
    table = pd.DataFrame(
        {
            "forecast": np.full(4, 24.0),
            "lower_80": np.full(4, 20.0),
            "upper_80": np.full(4, 28.0),
            "lower_95": [10.0, 10.0, -np.inf, -np.inf],
            "upper_95": [38.0, 38.0, np.inf, np.inf],
            "lower_99": np.full(4, -np.inf),
            "upper_99": np.full(4, np.inf),
        },
        index=pd.date_range("2002-01", periods=4, freq="MS"),
    )
    figure = plot_forecast(history, table)
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["history", "95% interval", "80% interval", "forecast"]
    assert axes.get_title() == (
        "4-step forecast with 80% and 95% intervals (99% interval unbounded, not drawn)"
    )
    assert len(axes.collections) == 2
    for band in axes.collections:
        assert all(np.isfinite(path.vertices).all() for path in band.get_paths())
    wide = np.concatenate([path.vertices for path in axes.collections[0].get_paths()])
    assert wide[:, 1].min() == 10.0 and wide[:, 1].max() == 38.0
    assert np.isfinite(axes.get_ylim()).all() and axes.get_ylim()[1] < 50
    assert save_figure(figure, tmp_path / "inf.png").stat().st_size > 1000
