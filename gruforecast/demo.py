"""``gruforecast demo``: the main job, end to end, on the AirPassengers series we ship.

1. Hold out 1960, fit on 1949-1959, forecast 1960, and compare with seasonal naive
   (1960 = 1959) on MASE and sMAPE.
2. Fit on all 144 months and forecast 1961 with a 90% prediction interval.
3. Save the model (``demo.gruf``), export it to ONNX (``demo.onnx``), and check that
   ONNX Runtime gives the same forecast and bounds.
4. Save a plot (``demo.png``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["run_demo"]

HORIZON = 12
LEVEL = 0.9


def run_demo(
    output_dir: Path,
    *,
    epochs: int | None = None,
    seed: int = 0,
    quiet: bool = False,
    verbose: bool = False,
) -> int:
    """Run the demo, writing into ``output_dir``; returns the exit status."""
    from . import metrics
    from .datasets import load_air_passengers
    from .estimator import GRUForecaster
    from .evaluation import temporal_train_test_split
    from .plotting import plot_forecast, save_figure
    from .runtime import OnnxForecaster

    say = (lambda *_: None) if quiet else (lambda text="": print(text, flush=True))
    started = time.perf_counter()
    series = load_air_passengers()
    settings: dict[str, Any] = {"horizon": HORIZON, "random_state": seed, "verbose": int(verbose)}
    if epochs is not None:
        settings["epochs"] = epochs

    say(
        f"AirPassengers: {len(series)} monthly totals (thousands), "
        f"{series.index[0]:%Y-%m} to {series.index[-1]:%Y-%m}"
    )
    train, test = temporal_train_test_split(series, test_size=HORIZON)
    holdout = GRUForecaster(**settings).fit(train)
    predicted = cast("pd.Series", holdout.forecast(HORIZON)).to_numpy()  # a pandas series
    naive = train.to_numpy()[-HORIZON:]  # seasonal naive: the same month a year before
    truth = test.to_numpy()
    rows = {
        "gruforecast": predicted,
        "seasonal naive": naive,
    }
    say(
        f"\nHoldout {test.index[0]:%Y-%m} to {test.index[-1]:%Y-%m}, fitted on the "
        f"{len(train)} months before ({holdout.window_}-month window, {HORIZON} months "
        "per network call):"
    )
    say(f"  {'':<16}{'MASE':>8}{'sMAPE %':>10}{'MAE':>9}")
    for name, forecast in rows.items():
        mase = metrics.mase(truth, forecast, y_train=train.to_numpy(), m=12)
        say(
            f"  {name:<16}{mase:>8.3f}{metrics.smape(truth, forecast):>10.2f}"
            f"{metrics.mae(truth, forecast):>9.1f}"
        )

    forecaster = GRUForecaster(**settings).fit(series)
    table = cast("pd.DataFrame", forecaster.forecast(HORIZON, interval=LEVEL))
    say(
        f"\nForecast of {table.index[0]:%Y-%m} to {table.index[-1]:%Y-%m} "
        f"with its {LEVEL:.0%} interval (fitted on all {len(series)} months):"
    )
    label = f"{LEVEL * 100:g}"
    for when, row in table.iterrows():
        say(
            f"  {when:%Y-%m}  {row['forecast']:7.1f}   [{row[f'lower_{label}']:7.1f}, "
            f"{row[f'upper_{label}']:7.1f}]"
        )

    output_dir = Path(output_dir)
    model_path = forecaster.save(output_dir / "demo.gruf")
    onnx_path = forecaster.export_onnx(output_dir / "demo.onnx")
    served = OnnxForecaster(onnx_path)
    served_table = cast("pd.DataFrame", served.forecast(HORIZON, interval=LEVEL))
    difference = float(
        np.max(np.abs(served_table.to_numpy() - table.to_numpy()) / (1 + np.abs(table.to_numpy())))
    )
    same_index = served_table.index.equals(table.index)
    say(f"\nSaved {model_path} and exported {onnx_path}.")
    say(
        f"ONNX Runtime ({served.providers[0]}) forecast and bounds vs PyTorch: max relative "
        f"difference {difference:.1e}{'' if same_index else ', but the dates differ'}"
    )
    figure = plot_forecast(series, table, title="AirPassengers: forecast of 1961")
    plot_path = save_figure(figure, output_dir / "demo.png")
    say(f"Saved the plot {plot_path}.")
    say(
        f"\nDone in {time.perf_counter() - started:.1f} s. Next: gruforecast forecast "
        f"{onnx_path} --steps 24 --interval 0.9"
    )
    if difference > 1e-4 or not same_index:
        print(
            f"gruforecast demo: the exported model does not reproduce the forecast (max "
            f"relative difference {difference:.2g}); please report this",
            file=sys.stderr,
        )
        return 1
    return 0
