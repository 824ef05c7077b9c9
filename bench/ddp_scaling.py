"""Scaling of a distributed (DDP) fit: one process with T threads against N processes
with T/N threads each, same data, same global batches, same steps.

    python3 bench/ddp_scaling.py [--threads 2] [--processes 2] [--series 4000]
                                 [--length 120] [--epochs 4] [--batch-size auto]
                                 [--device cpu] [--json F]

Each configuration fits the synthetic panel of bench/panel_throughput.py (``--series``
daily series of ``--length`` values, window 14, horizon 7) for ``--epochs`` epochs of
``--windows-per-epoch`` windows in global batches of ``--batch-size`` (default: the
estimator's "auto", 256 windows here), without early stopping or
refit; one process runs as a plain script, N processes under ``torchrun
--standalone --nproc_per_node=N``. Reported per configuration (rank 0's view): the
median epoch time after the first (which pays for warm-up), windows per second, the
whole fit's wall time (data preparation included, process start not), the last
epoch's losses (equal across configurations up to float32 rounding, since the global
batches are the same), and the ratio to one process. ``--device cuda``: each process
takes its own GPU (``cuda:LOCAL_RANK``), so N is at most the number of GPUs; with one
GPU only ``--processes 1`` runs, through DDP (``distributed=True``) to show its cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(arguments: argparse.Namespace) -> None:
    """One fit (in each process of a run); rank 0 prints one JSON line."""
    import warnings

    import torch

    from gruforecast import GRUForecaster

    sys.path.insert(0, str(HERE))
    from panel_throughput import panel

    warnings.simplefilter("ignore")
    torch.set_num_threads(arguments.threads)
    frame = panel(arguments.series, arguments.length)
    model = GRUForecaster(
        window=14,
        horizon=7,
        epochs=arguments.epochs,
        patience=None,
        refit=False,
        windows_per_epoch=arguments.windows_per_epoch,
        batch_size=arguments.batch_size
        if arguments.batch_size == "auto"
        else int(arguments.batch_size),
        device=arguments.device,
        distributed=True if arguments.distributed else "auto",
        random_state=0,
    )
    started = time.perf_counter()
    model.fit(frame)
    wall = time.perf_counter() - started
    if int(os.environ.get("RANK", "0")) != 0:
        return
    seconds = [row["seconds"] for row in model.history_]
    median = statistics.median(seconds[1:] or seconds)
    last = model.history_[-1]
    print(
        "RESULT "
        + json.dumps(
            {
                "processes": int(os.environ.get("WORLD_SIZE", "1")),
                "threads_per_process": torch.get_num_threads(),
                "device": str(model.device_),
                "gru_backend": model.gru_backend_,
                "batch_size": arguments.batch_size,
                "epoch_s": round(median, 3),
                "windows_per_s": round(arguments.windows_per_epoch / median),
                "fit_wall_s": round(wall, 2),
                "train_loss": last["train_loss"],
                "valid_loss": last["valid_loss"],
            }
        ),
        flush=True,
    )


def run(arguments: argparse.Namespace, processes: int, distributed: bool) -> dict:
    threads = max(1, arguments.threads // processes)
    flags = [
        "--child",
        f"--threads={threads}",
        f"--series={arguments.series}",
        f"--length={arguments.length}",
        f"--epochs={arguments.epochs}",
        f"--windows-per-epoch={arguments.windows_per_epoch}",
        f"--batch-size={arguments.batch_size}",
        f"--device={arguments.device}",
    ] + (["--distributed"] if distributed else [])
    script = str(Path(__file__).resolve())
    if processes == 1 and not distributed:
        command = [sys.executable, script, *flags]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command = [*launcher, f"--nproc_per_node={processes}", script, *flags]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    env.pop("WORLD_SIZE", None)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    total = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["wall_with_start_s"] = round(total, 2)
    result["ddp"] = distributed or processes > 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--processes", type=int, nargs="+", default=[2])
    parser.add_argument("--series", type=int, default=4000)
    parser.add_argument("--length", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--windows-per-epoch", type=int, default=32768)
    parser.add_argument("--batch-size", default="auto", help="the global batch (default: auto)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
        return
    import torch

    results = [run(arguments, 1, distributed=False)]
    for processes in arguments.processes:
        results.append(run(arguments, processes, distributed=processes == 1))
    base = results[0]["windows_per_s"]
    print(
        f"{'processes x threads':>20} {'device':>7} {'GRU':>6} {'s/epoch':>8} "
        f"{'windows/s':>10} {'vs 1 process':>13} {'fit wall s':>11} {'train_loss':>11}"
    )
    for row in results:
        shape = f"{row['processes']} x {row['threads_per_process']}" + (
            " DDP" if row["ddp"] else ""
        )
        print(
            f"{shape:>20} {row['device']:>7} {row['gru_backend']:>6} {row['epoch_s']:>8} "
            f"{row['windows_per_s']:>10} {row['windows_per_s'] / base:>13.2f} "
            f"{row['fit_wall_s']:>11} {row['train_loss']:>11.6f}"
        )
    if arguments.json:
        meta = {
            "command": " ".join(sys.argv),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "python": platform.python_version(),
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
        }
        Path(arguments.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))


if __name__ == "__main__":
    main()
