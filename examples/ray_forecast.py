"""Forecast many series on Ray Data with an exported model: `groupby` series id and
`map_groups` with a class whose calls take the worker process's session of the model
(`gruforecast.distributed.served`: opened once, opened anew if the file is replaced, and
checked to be the model the driver read) and forecast whole series; checked against one
OnnxForecaster on the whole frame.

    python3 -m pip install "ray[data]"
    python3 examples/ray_forecast.py [--series 2000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from spark_forecast import check_equal, panel  # the same series and check as on Spark

STEPS = 12


class Forecast:
    """One per Ray worker; the model is the process's, from `served`."""

    def __init__(self, path: str, digest: str) -> None:
        self.path, self.digest = path, digest

    def __call__(self, group: pd.DataFrame) -> pd.DataFrame:
        from gruforecast.distributed import served

        model = served(self.path, digest=self.digest)
        return model.forecast(STEPS, context=group, interval=0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    arguments = parser.parse_args()

    import ray

    from gruforecast import GRUForecaster, OnnxForecaster

    model = GRUForecaster(horizon=12, window=24, epochs=3, random_state=0).fit(panel(100, 96, 1))
    path = str(model.export_onnx(Path(tempfile.mkdtemp()) / "m.onnx"))
    frame = panel(arguments.series, 60, 2)
    digest = OnnxForecaster(path).digest  # the model the workers must serve

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    result = (
        ray.data.from_pandas(frame)
        .groupby("unique_id")
        .map_groups(Forecast, fn_constructor_args=(path, digest), batch_format="pandas", concurrency=1)
        .to_pandas()
    )
    ray.shutdown()

    check_equal(result, OnnxForecaster(path).forecast(STEPS, context=frame, interval=0.9))
    print(
        f"Ray Data: {arguments.series} series x {STEPS} steps, "
        "equal to one OnnxForecaster (to float32 rounding)"
    )


if __name__ == "__main__":
    main()
