"""Forecast many series on Spark with an exported model: `mapInPandas` over the frame
partitioned by series id, one ONNX Runtime session per Python worker process
(`gruforecast.distributed.served`), checked against one OnnxForecaster on the whole frame.

    python3 -m pip install pyspark      # needs Java 17 or later
    python3 examples/spark_forecast.py [--series 2000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def panel(n_series: int, length: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(10, 1000, (n_series, 1))
    values = level * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6, (n_series, 1))))
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{k}" for k in range(n_series)], length),
            "ds": np.tile(pd.date_range("2000-01-01", periods=length, freq="MS"), n_series),
            "y": (values * np.exp(rng.normal(0, 0.05, values.shape))).ravel(),
        }
    )


def check_equal(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    """A distributed result against one OnnxForecaster's, row by row after sorting; the
    network computes in float32, so batches of other sizes round differently."""
    key = ["unique_id", "ds"]
    result = result.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert (result.unique_id == expected.unique_id).all()
    assert (pd.to_datetime(result.ds).to_numpy() == expected.ds.to_numpy()).all()
    for column in ("forecast", "lower_90", "upper_90"):
        np.testing.assert_allclose(result[column], expected[column], rtol=1e-5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    arguments = parser.parse_args()

    from pyspark.sql import SparkSession

    from gruforecast import GRUForecaster, OnnxForecaster

    steps = 12
    model = GRUForecaster(horizon=12, window=24, epochs=3, random_state=0).fit(panel(100, 96, 1))
    path = str(model.export_onnx(Path(tempfile.mkdtemp()) / "m.onnx"))
    frame = panel(arguments.series, 60, 2)
    digest = OnnxForecaster(path).digest  # the model the executors must serve

    def forecast_partition(batches):
        # a partition holds whole series (repartitioned by id); Arrow may cut it into
        # several batches, so they are joined before forecasting
        from gruforecast.distributed import served

        part = pd.concat(list(batches), ignore_index=True)
        if len(part):
            table = served(path, digest=digest).forecast(steps, context=part, interval=0.9)
            table["ds"] = table["ds"].astype("datetime64[us]")
            yield table

    spark = SparkSession.builder.master("local[2]").appName("gruforecast").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    schema = "unique_id string, ds timestamp, forecast double, lower_90 double, upper_90 double"
    result = (
        spark.createDataFrame(frame)
        .repartition(8, "unique_id")
        .mapInPandas(forecast_partition, schema=schema)
        .toPandas()
    )
    spark.stop()

    check_equal(result, OnnxForecaster(path).forecast(steps, context=frame, interval=0.9))
    print(
        f"Spark: {arguments.series} series x {steps} steps, "
        "equal to one OnnxForecaster (to float32 rounding)"
    )


if __name__ == "__main__":
    main()
