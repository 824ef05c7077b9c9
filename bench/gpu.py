"""GPU: training throughput on a 10^6-point series, and inference PyTorch CUDA vs ONNX Runtime CUDA.

Run it where ``torch.cuda.is_available()`` and onnxruntime-gpu's CUDA provider work (the
device machine; bench/README.md says how it was run there). The network is the seed
tutorial's size (window 50, hidden 64, 2 GRU layers, horizon 1).

1. Training: ``GRUForecaster.fit`` on a noisy sine of ``--points`` values, on CUDA, for
   each batch size and precision (float32; bfloat16 mixed precision), ``--epochs``
   epochs, no early stopping. Windows per second = training windows / the median epoch
   time after the first epoch (an epoch's time includes its validation pass). The
   validation MSE after the last epoch (scaled units) shows whether bfloat16 costs
   accuracy. A CPU row (all cores, fewer points: windows per second do not depend on the
   length) puts the GPU in proportion.
2. Accuracy with defaults on the shipped sunspots series (early stopping, 12-step
   horizon), float32 against bfloat16, on CUDA: MASE of the last 120 months.
3. Inference: batch-1 latency (median, p99) and throughput at batch 1024 and 65536 for
   ONNX Runtime's CUDA provider (``session.run`` and ``OnnxForecaster.predict``), PyTorch on
   CUDA (the same graph's module, and ``GRUForecaster.predict``), and ONNX Runtime on the
   CPU for reference. Every engine takes NumPy windows on the host and returns NumPy
   forecasts on the host: the copies in and out are part of each call.

    python bench/gpu.py [--points 1000000] [--batches 256 1024 4096 16384] [--epochs 3] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from gruforecast import GRUForecaster, OnnxForecaster, metrics
from gruforecast.datasets import load_sunspots
from gruforecast.export import _RawUnitsModel
from onnx_vs_torch import call_times, throughput

WINDOW, HIDDEN, LAYERS = 50, 64, 2


def noisy_sine(points: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.sin(np.arange(points) / 20.0) + 0.1 * rng.standard_normal(points)


def train(series: np.ndarray, batch: int, precision: str, device: str, epochs: int) -> tuple[dict, GRUForecaster]:
    forecaster = GRUForecaster(
        window=WINDOW, hidden_size=HIDDEN, num_layers=LAYERS, batch_size=batch, epochs=epochs,
        patience=None, validation_fraction=0.1, calibration_fraction=0.0, device=device,
        precision=precision, random_state=0,
    )
    forecaster.fit(series)
    seconds = [row["seconds"] for row in forecaster.history_]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    n_train = round(0.9 * (len(series) - WINDOW))
    row = {
        "device": device, "points": len(series), "batch": batch, "precision": precision,
        "first_epoch_s": seconds[0], "epoch_s": steady, "windows_per_s": n_train / steady,
        "valid_mse": forecaster.history_[-1]["valid_loss"],
    }
    print(json.dumps(row), flush=True)
    return row, forecaster


def precisions(device: str) -> tuple[str, ...]:
    return ("float32", "bfloat16") if device == "cuda" else ("float32",)


def training_section(arguments) -> tuple[list[dict], GRUForecaster]:
    series = noisy_sine(arguments.points)
    rows, keep = [], None
    for batch in arguments.batches:
        for precision in precisions(arguments.device):
            row, forecaster = train(series, batch, precision, arguments.device, arguments.epochs)
            rows.append(row)
            if precision == "float32" and batch == max(arguments.batches):
                keep = forecaster
    torch.set_num_threads(os.cpu_count() or 1)
    cpu_series = noisy_sine(arguments.cpu_points)
    rows.append(train(cpu_series, max(arguments.batches), "float32", "cpu", 2)[0])
    return rows, keep


def accuracy_section(device: str) -> list[dict]:
    series = load_sunspots()
    train_part, test_part = series.iloc[:-120], series.iloc[-120:].to_numpy()
    rows = []
    for precision in precisions(device):
        started = time.perf_counter()
        forecaster = GRUForecaster(horizon=12, device=device, precision=precision, random_state=0)
        forecaster.fit(train_part)
        seconds = time.perf_counter() - started
        forecast = forecaster.forecast(120).to_numpy()
        row = {
            "precision": precision, "fit_s": seconds, "epochs": len(forecaster.history_),
            "mase": metrics.mase(test_part, forecast, y_train=train_part.to_numpy(), m=12),
            "best_valid_mse": min(r["valid_loss"] for r in forecaster.history_),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def inference_section(forecaster: GRUForecaster, calls: int) -> list[dict]:
    device = forecaster.device_
    path = forecaster.export_onnx(Path(tempfile.mkdtemp()) / "gpu.onnx")
    served_cuda = OnnxForecaster(path, providers="cuda" if device.type == "cuda" else "cpu")
    served_cpu = OnnxForecaster(path, providers="cpu", threads=os.cpu_count() or 1)
    print("ONNX Runtime providers:", served_cuda.providers, flush=True)
    module = _RawUnitsModel(forecaster.network_, forecaster.scaler_.offset, forecaster.scaler_.scale).eval()

    def torch_cuda(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(windows).to(device)).cpu().numpy()

    rng = np.random.default_rng(0)
    batches = {size: np.ascontiguousarray(rng.standard_normal((size, WINDOW))) for size in (1, 1024, 65536)}
    engines = {
        "ONNX Runtime CUDA session.run": lambda w: served_cuda.session.run(None, {"windows": w}),
        "OnnxForecaster.predict (CUDA)": served_cuda.predict,
        "PyTorch CUDA module": torch_cuda,
        "GRUForecaster.predict (CUDA)": forecaster.predict,
        "ONNX Runtime CPU session.run (all cores)": lambda w: served_cpu.session.run(None, {"windows": w}),
    }
    reference = forecaster.predict(batches[1024])
    rows = []
    for name, engine in engines.items():
        output = engine(batches[1024])
        output = output[0] if isinstance(output, list) else output
        error = float(np.max(np.abs(np.ravel(output) - np.ravel(reference))))
        times = call_times(lambda: engine(batches[1]), calls)
        row = {
            "engine": name, "batch1_median_us": float(np.median(times)),
            "batch1_p99_us": float(np.percentile(times, 99)),
            "batch1024_windows_per_s": throughput(lambda: engine(batches[1024]), 1024),
            "batch65536_windows_per_s": throughput(lambda: engine(batches[65536]), 65536, 2.0),
            "max_abs_diff_vs_GRUForecaster": error,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--cpu-points", type=int, default=20_000)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--device", default="cuda", help="'cpu' only to try the script out, small")
    arguments = parser.parse_args()
    if arguments.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench/gpu.py needs CUDA (torch.cuda.is_available() is False)")
    gpu = torch.cuda.get_device_name() if arguments.device == "cuda" else "no GPU"
    print(f"# {gpu}, {os.cpu_count()} CPU cores ({platform.processor()}), "
          f"torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}), onnxruntime {ort.__version__}",
          flush=True)
    results = {}
    results["training"], forecaster = training_section(arguments)
    results["accuracy"] = accuracy_section(arguments.device)
    results["inference"] = inference_section(forecaster, arguments.calls)
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=1))

    print("\n| device | points | batch | precision | epoch s | windows/s | first epoch s | valid MSE |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["training"]:
        print(f"| {r['device']} | {r['points']:,} | {r['batch']} | {r['precision']} | {r['epoch_s']:.2f} | "
              f"{r['windows_per_s']:,.0f} | {r['first_epoch_s']:.2f} | {r['valid_mse']:.4f} |")
    print("\n| precision | fit s | epochs | MASE (last 120 months) | best valid MSE |")
    print("|---|---|---|---|---|")
    for r in results["accuracy"]:
        print(f"| {r['precision']} | {r['fit_s']:.1f} | {r['epochs']} | {r['mase']:.3f} | {r['best_valid_mse']:.4f} |")
    print("\n| engine | batch 1 median µs | p99 µs | batch 1024 windows/s | batch 65536 windows/s | max diff |")
    print("|---|---|---|---|---|---|")
    for r in results["inference"]:
        print(f"| {r['engine']} | {r['batch1_median_us']:.0f} | {r['batch1_p99_us']:.0f} | "
              f"{r['batch1024_windows_per_s']:,.0f} | {r['batch65536_windows_per_s']:,.0f} | "
              f"{r['max_abs_diff_vs_GRUForecaster']:.1e} |")


if __name__ == "__main__":
    main()
