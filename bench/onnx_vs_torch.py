"""Inference speed: ONNX Runtime (CPU) against PyTorch eager and Darts, same model, same threads.

The model is the seed tutorial's size: window 50, hidden 64, 2 GRU layers, horizon 1.
Measured side by side in one run, for each thread count:

- batch-1 latency (median and p99 over many calls) and batch-1024 throughput;
- for the raw engines (``session.run`` on the exported graph; the same graph's PyTorch
  module, scaling included, under ``torch.inference_mode``) and for the user-facing
  calls (``OnnxForecaster.predict``, ``GRUForecaster.predict``, which add input checks);
- when Darts is importable (run it with ``bench/.venv-peers/bin/python``, see
  ``bench/peers_training.py --setup``): Darts' ``BlockRNNModel(model="GRU")`` of the same
  size, ``predict(n=1, series=...)`` on one context and on 1024 contexts, as its users
  call it.

    python bench/onnx_vs_torch.py [--threads 1 2] [--calls 1000] [--rounds 5] [--json results.json]

Prints a Markdown table; bench/README.md holds the results and the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from gruforecast import GRUForecaster, OnnxForecaster
from gruforecast.export import _RawUnitsModel

WINDOW, HIDDEN, LAYERS = 50, 64, 2


def call_times(call: Callable[[], object], calls: int) -> list[float]:
    """Wall time of each of ``calls`` calls, in microseconds, after a warm-up."""
    for _ in range(max(20, calls // 20)):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    return times


def throughput(call: Callable[[], object], rows: int, seconds: float = 1.0) -> float:
    """Windows per second over repeated calls for about ``seconds``."""
    call()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        done += rows
    return done / (time.perf_counter() - start)


def darts_engine(series: np.ndarray, one: np.ndarray, many: np.ndarray):
    """Darts' predict on the same contexts, or None when Darts is not installed."""
    try:
        from darts import TimeSeries
        from darts.models import BlockRNNModel
    except ImportError:
        return None
    from _peers import LIGHTNING_QUIET, silence_peers

    silence_peers()
    model = BlockRNNModel(
        model="GRU", input_chunk_length=WINDOW, output_chunk_length=1, hidden_dim=HIDDEN,
        n_rnn_layers=LAYERS, n_epochs=1, random_state=0, pl_trainer_kwargs=LIGHTNING_QUIET,
    )
    model.fit(TimeSeries.from_values(series.astype(np.float32)), verbose=False)
    single = [TimeSeries.from_values(one[0].astype(np.float32))]
    batch = [TimeSeries.from_values(row.astype(np.float32)) for row in many]
    return (
        lambda: model.predict(n=1, series=single, verbose=False),
        lambda: model.predict(n=1, series=batch, verbose=False, batch_size=1024),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--calls", type=int, default=1000, help="batch-1 calls per engine and round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="engines are measured in turn, this many times over, so that a "
                             "noisy moment of the machine does not fall on one engine only")
    parser.add_argument("--json", type=Path, help="also write the results here")
    arguments = parser.parse_args()

    series = np.sin(np.linspace(0, 100, 1000))
    forecaster = GRUForecaster(
        window=WINDOW, hidden_size=HIDDEN, num_layers=LAYERS, epochs=1, device="cpu", random_state=0
    ).fit(series)
    folder = Path(tempfile.mkdtemp())
    path = forecaster.export_onnx(folder / "bench.onnx")
    module = _RawUnitsModel(forecaster.network_, forecaster.scaler_.offset, forecaster.scaler_.scale).eval()

    rng = np.random.default_rng(0)
    one = np.ascontiguousarray(rng.standard_normal((1, WINDOW)))
    many = np.ascontiguousarray(rng.standard_normal((1024, WINDOW)))
    one_tensor, many_tensor = torch.from_numpy(one), torch.from_numpy(many)
    darts = darts_engine(series, one, many)

    results = []
    for threads in arguments.threads:
        torch.set_num_threads(threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        served = OnnxForecaster(path, providers="cpu", threads=threads)

        def torch_eager(tensor):
            with torch.inference_mode():
                return module(tensor).numpy()

        engines = {
            "ONNX Runtime session.run": (
                lambda: session.run(None, {"windows": one}),
                lambda: session.run(None, {"windows": many}),
            ),
            "PyTorch eager module": (lambda: torch_eager(one_tensor), lambda: torch_eager(many_tensor)),
            "OnnxForecaster.predict": (lambda: served.predict(one), lambda: served.predict(many)),
            "GRUForecaster.predict": (lambda: forecaster.predict(one), lambda: forecaster.predict(many)),
        }
        if darts is not None:
            engines["Darts BlockRNNModel.predict"] = darts
        times = {name: [] for name in engines}
        rates = {name: [] for name in engines}
        for _ in range(arguments.rounds):
            for name, (single, batch) in engines.items():
                # Darts takes milliseconds a call: a tenth of the calls keeps rounds short
                calls = arguments.calls // 10 if name.startswith("Darts") else arguments.calls
                times[name].extend(call_times(single, calls))
                rates[name].append(throughput(batch, 1024))
        for name in engines:
            results.append(
                {"threads": threads, "engine": name,
                 "batch1_median_us": float(np.median(times[name])),
                 "batch1_p99_us": float(np.percentile(times[name], 99)),
                 "batch1024_windows_per_s": float(np.median(rates[name]))}
            )

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads max, "
          f"torch {torch.__version__}, onnxruntime {ort.__version__}, "
          f"window {WINDOW}, hidden {HIDDEN}, {LAYERS} layers\n")
    print("| threads | engine | batch 1 median (µs) | batch 1 p99 (µs) | batch 1024 (windows/s) |"
          " speed-up vs PyTorch eager, batch 1 | batch 1024 |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        eager = next(r for r in results if r["threads"] == row["threads"] and r["engine"] == "PyTorch eager module")
        print(f"| {row['threads']} | {row['engine']} | {row['batch1_median_us']:.0f} | "
              f"{row['batch1_p99_us']:.0f} | {row['batch1024_windows_per_s']:,.0f} | "
              f"{eager['batch1_median_us'] / row['batch1_median_us']:.1f}x | "
              f"{row['batch1024_windows_per_s'] / eager['batch1024_windows_per_s']:.1f}x |")
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
