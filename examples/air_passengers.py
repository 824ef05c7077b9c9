"""Forecast the last year of the shipped AirPassengers series, the pandas way.

Fits on all but the last 12 months, forecasts 12, and compares with the truth and with
the seasonal naive forecast (the same month one year earlier); saves a plot.

    python examples/air_passengers.py [--output examples/output]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gruforecast import GRUForecaster
from gruforecast.plotting import save_figure
from gruforecast.datasets import load_air_passengers


def errors(truth: pd.Series, forecast: pd.Series) -> tuple[float, float]:
    """MAE and MAPE (percent)."""
    difference = (truth - forecast).abs()
    return float(difference.mean()), float((difference / truth.abs()).mean() * 100)


def main(output: Path) -> dict[str, tuple[float, float]]:
    series = load_air_passengers()  # monthly, 1949-1960, DatetimeIndex with freq "MS"
    train, test = series[:-12], series[-12:]

    forecaster = GRUForecaster(random_state=0, verbose=1).fit(train)
    forecast = forecaster.forecast(12)  # a pd.Series indexed 1960-01 .. 1960-12
    seasonal_naive = pd.Series(train[-12:].to_numpy(), index=test.index)

    results = {"GRU": errors(test, forecast), "seasonal naive": errors(test, seasonal_naive)}
    print(f"window chosen: {forecaster.window_} months; epochs run: {len(forecaster.history_)}")
    print(pd.DataFrame({"truth": test, "GRU": forecast.round(1), "seasonal naive": seasonal_naive}))
    for name, (mae, mape) in results.items():
        print(f"{name:>15}: MAE {mae:6.1f}   MAPE {mape:5.2f}%")

    figure = Figure(figsize=(9, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot(series.index, series.to_numpy(), label="observed", color="black")
    axes.plot(forecast.index, forecast.to_numpy(), "o-", label="GRU forecast")
    axes.plot(test.index, seasonal_naive.to_numpy(), "x:", label="seasonal naive")
    axes.set(title="AirPassengers: the last 12 months", ylabel="passengers (thousands)")
    axes.legend()
    print(f"plot saved to {save_figure(figure, output / 'air_passengers.png')}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "output")
    main(parser.parse_args().output)
