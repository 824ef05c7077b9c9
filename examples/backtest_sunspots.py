"""Rolling-origin backtest on the shipped sunspots series, with prediction intervals.

The last 1500 months: the model is fitted on the first 1000, then forecasts 12 months
from an origin every 48 months, each with 80/90/95% intervals, and is scored against what
happened (MAE, sMAPE, MASE against seasonal naive, interval coverage). Saves a plot of
the last origin's forecast.

    python examples/backtest_sunspots.py [--refit] [--output examples/output]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gruforecast import GRUForecaster, backtest
from gruforecast.datasets import load_sunspots
from gruforecast.plotting import plot_forecast, save_figure


def main(output: Path, refit: bool = False):
    series = load_sunspots()[-1500:]
    forecaster = GRUForecaster(
        window=36, horizon=12, hidden_size=32, num_layers=1, batch_size=64, lr=3e-3,
        patience=10, random_state=0,
    )
    result = backtest(
        forecaster, series, 12, initial=1000, step=48, refit=refit, interval=[0.8, 0.9, 0.95], m=1,
    )
    print(result.metrics.round(3).to_string(index=False))
    summary = result.summary()
    print(f"\n{len(result.metrics)} origins, refit={refit}: mean MAE {summary['mae']:.1f}, "
          f"mean MASE {summary['mase']:.2f}")
    for level in ("80", "90", "95"):
        print(f"{level}% interval: coverage {summary[f'coverage_{level}']:.3f}")

    last = result.forecasts[result.forecasts["cutoff"] == result.metrics["cutoff"].iloc[-1]]
    table = last.set_index("time")[["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]]
    cutoff = series.index.get_loc(result.metrics["cutoff"].iloc[-1]) + 1
    figure = plot_forecast(
        series[:cutoff], table, truth=last["truth"].to_numpy(), history_tail=240,
        title="Sunspots: 12-month forecast from the last origin, 80% and 95% intervals",
    )
    print(f"plot saved to {save_figure(figure, output / 'backtest_sunspots.png')}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "output")
    parser.add_argument("--refit", action="store_true", help="refit at every origin (slower)")
    arguments = parser.parse_args()
    main(arguments.output, refit=arguments.refit)
