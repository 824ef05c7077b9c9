"""The fused CPU GRU kernel against nn.GRU: forward + backward of a training step.

A GRU of hidden 64 and 2 layers reads batch x steps windows of one value; the loss is
the last step's outputs summed (what a head on the last step back-propagates), and the
kernel runs as training runs it: ``last_only``. Median
milliseconds of ``--calls`` calls after 3 warm-up calls, for each batch and length, at
each thread count; the two engines alternate size by size.

    python3 bench/fused_gru.py            # --threads 1 2 --calls 30
"""

from __future__ import annotations

import argparse
import time

import torch

from gruforecast import _fused

SIZES = [(16, 24), (32, 50), (256, 50)]


def median_ms(step, batch: int, steps: int, calls: int) -> float:
    windows = torch.randn(batch, steps, 1)
    for _ in range(3):
        step(windows).sum().backward()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        step(windows).sum().backward()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--calls", type=int, default=30)
    arguments = parser.parse_args()
    if _fused.kernel() is None:
        raise SystemExit("the fused kernel could not be built here (see the warning)")
    torch.manual_seed(0)
    gru = torch.nn.GRU(1, 64, 2, batch_first=True)
    print(f"torch {torch.__version__}\n")
    print("| threads | batch x steps | nn.GRU ms | fused ms | speed-up |")
    print("|---|---|---|---|---|")
    for threads in arguments.threads:
        torch.set_num_threads(threads)
        for batch, steps in SIZES:
            reference = median_ms(lambda x: gru(x)[0][:, -1], batch, steps, arguments.calls)
            mine = median_ms(lambda x: _fused.gru(gru, x, last_only=True), batch, steps,
                             arguments.calls)
            print(f"| {threads} | {batch} x {steps} | {reference:.1f} | {mine:.1f} "
                  f"| {reference / mine:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
