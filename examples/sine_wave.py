"""The seed tutorial's exercise, done right.

1000 points of sin(linspace(0, 100, 1000)), windows of 50 values, the first 800 windows
to train on and the rest to test; prints the test MSE and R^2 and saves a plot of the
true and predicted test values.

    python examples/sine_wave.py [--output examples/output]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gruforecast import GRUForecaster, make_windows
from gruforecast.plotting import save_figure


def main(output: Path) -> float:
    series = np.sin(np.linspace(0, 100, 1000))
    X, y = make_windows(series, window=50)  # 950 windows; the seed forgot to append them
    X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]

    forecaster = GRUForecaster(
        window=50, hidden_size=32, num_layers=1, epochs=20, batch_size=64, lr=5e-3,
        random_state=0, verbose=1,
    )
    forecaster.fit(X_train, y_train)  # the last 10% of the training windows validate
    predicted = forecaster.predict(X_test)
    mse = float(np.mean((predicted - y_test) ** 2))
    print(f"test MSE: {mse:.2e}   R^2: {forecaster.score(X_test, y_test):.5f}   "
          f"(epochs run: {len(forecaster.history_)}, best: {forecaster.history_.best_epoch})")

    figure = Figure(figsize=(9, 3.5), layout="constrained")
    axes = figure.subplots()
    steps = np.arange(800 + 50, 1000)
    axes.plot(steps, y_test, label="true", linewidth=2)
    axes.plot(steps, predicted, "--", label="predicted")
    axes.set(title=f"GRU on sin(t): test MSE {mse:.1e}", xlabel="time step", ylabel="value")
    axes.legend()
    print(f"plot saved to {save_figure(figure, output / 'sine_wave.png')}")
    return mse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "output")
    main(parser.parse_args().output)
