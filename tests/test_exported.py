"""The committed model in exported/ still loads and gives the numbers it gave when made.

This guards the file format and the served numbers across versions: a change that makes
old exported models unreadable, or changes what they compute, fails here.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from gruforecast import OnnxForecaster

EXPORTED = Path(__file__).resolve().parents[1] / "exported"
MODEL = EXPORTED / "air_passengers.onnx"
# Float32 GRU kernels may change between ONNX Runtime releases in the last bits.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def expected():
    return json.loads((EXPORTED / "air_passengers.expected.json").read_text())


def test_committed_model_reproduces_its_outputs(expected):
    served = OnnxForecaster(MODEL, providers="cpu")
    assert served.window_ == 24 and served.horizon_ == served.horizon == 1
    assert served.state.frequency == "MS" and served.state.missing == "raise"
    windows = np.array(expected["windows"])
    np.testing.assert_allclose(served.predict(windows), expected["predictions"], rtol=TOLERANCE)
    forecast = served.forecast(12)
    np.testing.assert_allclose(forecast.to_numpy(), expected["forecast_12"], rtol=TOLERANCE)
    assert [str(t.date()) for t in forecast.index] == expected["forecast_index"]
    bounds = served.forecast(6, interval=0.8)
    assert list(bounds.columns) == ["forecast", "lower_80", "upper_80"]
    # recorded before intervals stopped narrowing over the steps: the recorded
    # half-widths, made non-decreasing, are today's
    recorded = np.asarray(expected["interval_80_6"])
    np.testing.assert_allclose(bounds["forecast"], recorded[:, 0], rtol=TOLERANCE)
    widened = np.maximum.accumulate((recorded[:, 2] - recorded[:, 1]) / 2)
    np.testing.assert_allclose(bounds["lower_80"], recorded[:, 0] - widened, rtol=TOLERANCE)
    np.testing.assert_allclose(bounds["upper_80"], recorded[:, 0] + widened, rtol=TOLERANCE)


def test_committed_model_serves_with_plain_onnxruntime(expected):
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["format_version"] == "1" and metadata["window"] == "24"
    windows = np.array(expected["windows"])
    outputs = session.run(["forecast"], {"windows": windows})[0]
    np.testing.assert_allclose(outputs[:, 0], expected["predictions"], rtol=TOLERANCE)
