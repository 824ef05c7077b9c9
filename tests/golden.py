"""Golden pins: what small fixed-epoch fits forecast, recorded while the one-series and
many-series paths were merged (issue 32), so that the merge can be shown to change
nothing it did not mean to. The one-series cases were recorded anew when one series got
the many-series defaults (a change meant to move them); the panels' did not move.

Each case fits a small network (hidden 8, a few epochs, on the CPU) and records its
forecast with an interval, ``predict`` on a few windows, a short backtest and the
forecast of its ONNX export. ``tests/test_golden.py`` compares today's numbers with
``tests/data/golden.json``: at rtol 1e-6 on the machine that recorded them (float32
rounding), more loosely elsewhere (see there);
``python3 tests/golden.py`` records them anew (only when a change is meant to move them:
say which, and why, in the commit).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "data" / "golden.json"
SMALL = dict(hidden_size=8, num_layers=1, epochs=3, batch_size=32, random_state=0, device="cpu")


def _datasets() -> dict[str, pd.Series]:
    from gruforecast.datasets import load_air_passengers, load_sunspots, load_uk_driver_deaths

    return {
        "air_passengers": load_air_passengers(),
        "uk_driver_deaths": load_uk_driver_deaths(),
        "sunspots": load_sunspots(),
    }


def _long(series: dict[str, pd.Series]) -> pd.DataFrame:
    return pd.concat(
        (pd.DataFrame({"unique_id": key, "ds": s.index, "y": s.to_numpy()}) for key, s in series.items()),
        ignore_index=True,
    )


def _forty() -> pd.DataFrame:
    """40 monthly series of different lengths, starts, levels and seasons."""
    rng = np.random.default_rng(40)
    parts = {}
    for k in range(40):
        n = int(rng.integers(36, 100))
        start = pd.Timestamp("2001-01-01") + pd.DateOffset(months=int(rng.integers(0, 24)))
        t = np.arange(n)
        level = 10.0 + 15 * k
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + k) + 0.004 * t) + rng.normal(0, 0.05 * level, n)
        parts[f"s{k:02d}"] = pd.Series(y, index=pd.date_range(start, periods=n, freq="MS"))
    return _long(parts)


def cases() -> dict[str, tuple[dict, object]]:
    """name -> (GRUForecaster parameters, data)."""
    data = _datasets()
    two = _long({"air_passengers": data["air_passengers"], "uk_driver_deaths": data["uk_driver_deaths"]})
    gappy = data["uk_driver_deaths"].copy()
    gappy.iloc[[20, 21, 90, 150]] = np.nan
    gappy_panel = two.copy()
    gappy_panel.loc[[5, 30, 200], "y"] = np.nan
    return {
        "air_passengers": (dict(SMALL, horizon=3), data["air_passengers"]),
        "uk_driver_deaths": (dict(SMALL, horizon=1), data["uk_driver_deaths"]),
        "sunspots": (dict(SMALL, horizon=6, epochs=2), data["sunspots"]),
        "series_dropout": (dict(SMALL, horizon=3, num_layers=2, dropout=0.2), data["air_passengers"]),
        "series_interpolate": (dict(SMALL, horizon=2, missing="interpolate"), gappy),
        "series_deseasonalize": (dict(SMALL, horizon=3, window=48, deseasonalize=True), data["uk_driver_deaths"]),
        "panel_2": (dict(SMALL, horizon=3), two),
        "panel_2_interpolate": (dict(SMALL, horizon=3, missing="interpolate"), gappy_panel),
        "panel_40": (dict(SMALL, horizon=4), _forty()),
        "panel_40_no_deseasonalize": (dict(SMALL, horizon=4, deseasonalize=False), _forty()),
        "panel_40_dropout": (dict(SMALL, horizon=4, num_layers=2, dropout=0.2), _forty()),
    }


def _numbers(frame: pd.DataFrame | pd.Series | np.ndarray) -> list:
    if isinstance(frame, pd.DataFrame):
        frame = frame.select_dtypes("number")
    return np.asarray(frame, dtype=np.float64).round(12).tolist()


def run(name: str, params: dict, data: object) -> dict:
    """The numbers a case records."""
    import warnings

    from gruforecast import GRUForecaster, OnnxForecaster, make_windows
    from gruforecast.evaluation import backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short series, unhonoured interval levels: expected
        forecaster = GRUForecaster(**params).fit(data)
        forecast = forecaster.forecast(12, interval=[0.8])
        panel = isinstance(data, pd.DataFrame)
        longest = data.unique_id.value_counts().idxmax() if panel else None
        first = data[data.unique_id == longest].y if panel else data
        values = np.asarray(pd.Series(first).interpolate().to_numpy(), np.float64)
        windows = make_windows(values, forecaster.window_, 1)[0][::7][:8]
        predictions = forecaster.predict(windows)
        cut = int(len(values) * 0.8) if not panel else 0.8
        result = backtest(GRUForecaster(**params), data, 3, initial=cut, step=6, refit=False)
        with tempfile.TemporaryDirectory() as folder:
            path = forecaster.export_onnx(Path(folder) / f"{name}.onnx")
            served = OnnxForecaster(path, providers="cpu").forecast(12, interval=[0.8])
    return {
        "window": forecaster.window_,
        "forecast": _numbers(forecast),
        "predict": _numbers(predictions),
        "backtest": _numbers(result.metrics.drop(columns=["refitted"], errors="ignore")),
        "onnx_forecast": _numbers(served),
    }


def machine() -> str:
    """What decides the float32 kernels a fit runs: the CPU, the instruction set PyTorch
    chose, and PyTorch's version."""
    import platform

    import torch

    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}; {torch.backends.cpu.get_cpu_capability()}; torch {torch.__version__}"


def record() -> None:
    results = {name: run(name, params, data) for name, (params, data) in cases().items()}
    results["machine"] = machine()
    RECORDED.write_text(json.dumps(results, indent=0) + "\n")
    print(f"recorded {len(results) - 1} cases in {RECORDED}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    record()
