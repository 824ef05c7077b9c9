"""Train on AirPassengers, export to ONNX, and serve the model without PyTorch.

Writes exported/air_passengers.onnx and exported/air_passengers.expected.json (inputs and
outputs that tests/test_exported.py checks the committed model still reproduces), then
serves the model twice: with gruforecast's OnnxForecaster, and with plain onnxruntime
and NumPy, as a deployment without gruforecast would.

    python examples/export_and_serve.py [--output exported]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
from pathlib import Path

import numpy as np

from gruforecast import GRUForecaster, OnnxForecaster, make_windows
from gruforecast.datasets import load_air_passengers


def serve_with_plain_onnxruntime(path: Path, steps: int) -> np.ndarray:
    """What a deployment needs: onnxruntime, NumPy, and the model's own metadata."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    window, horizon = int(metadata["window"]), int(metadata["horizon"])
    state = json.loads(metadata["state"])  # the fitted state, format 3 (gruforecast._state)
    # the end of the training series: the base64 of its little-endian float64 bytes
    last_window = base64.b64decode(state["arrays"]["last_window"]["float64"])
    history = list(np.frombuffer(last_window, dtype="<f8"))
    while len(history) < window + steps:  # recursive: feed forecasts back, horizon at a time
        windows = np.array([history[-window:]], dtype=np.float64)
        history.extend(session.run(["forecast"], {"windows": windows})[0][0])
    return np.array(history[window : window + steps])


def main(output: Path) -> float:
    series = load_air_passengers()
    forecaster = GRUForecaster(random_state=0).fit(series)
    path = forecaster.export_onnx(output / "air_passengers.onnx")
    print(f"exported {path} ({path.stat().st_size / 1024:.0f} KiB)")

    served = OnnxForecaster(path)  # providers="auto": CUDA if it really runs, else CPU
    forecast = served.forecast(12)
    plain = serve_with_plain_onnxruntime(path, 12)
    estimator = forecaster.forecast(12)
    difference = float(np.max(np.abs(forecast.to_numpy() - estimator.to_numpy())))
    # the plain deployment above runs on the CPU: compare it with the CPU's forecast
    on_cpu = OnnxForecaster(path, providers="cpu").forecast(12).to_numpy()
    print(f"served on {served.providers[0]}; 1961 forecast:")
    print(forecast.round(1).to_string())
    print("with an 80% interval:")
    print(served.forecast(6, interval=0.8).round(1).to_string())
    print(f"max |ONNX - PyTorch| over 12 months: {difference:.2e}; "
          f"plain onnxruntime agrees: {np.allclose(plain, on_cpu, rtol=1e-9)}")

    windows = np.ascontiguousarray(make_windows(series, forecaster.window_)[0][::12])
    expected = {
        "model": path.name,
        "windows": windows.tolist(),
        "predictions": served.predict(windows).tolist(),
        "forecast_12": forecast.to_numpy().tolist(),
        "forecast_index": [str(t.date()) for t in forecast.index],
        # 80% intervals from the calibration data the model carries (AirPassengers is
        # short: its 11 held-out windows support an 80% level up to 8 months ahead)
        "interval_80_6": served.forecast(6, interval=0.8).to_numpy().tolist(),
    }
    # written whole or not at all: a file beside it, then one rename
    target = output / "air_passengers.expected.json"
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(expected, indent=1) + "\n")
    os.replace(partial, target)
    return difference


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parents[1] / "exported")
    main(parser.parse_args().output)
