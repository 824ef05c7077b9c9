"""What the fused kernel's workspace and its evaluation thread-local each give a training
epoch, and torch.compile on the same epoch beside them.

One epoch is what ``GRUForecaster().fit(series)`` runs per epoch: ``Trainer.fit``'s
``run_single_epoch`` and ``evaluate`` (the validation loss) and the bookkeeping between
them, timed by the trainer's own history. The data, network and trainer are built as
``GRUForecaster.fit`` builds them (its own helpers: scaler, window "auto", the
chronological split, batch_size "auto", the seed), with the defaults: hidden 64, 2
layers, horizon 1, window 24 for monthly data. Series: the shipped sunspots (3177 monthly
values: 2521 training windows, batch 157, 316 validation windows) and AirPassengers (144:
96 windows, batch 16, 12 validation windows). Variants, each with its own network (the
same initial weights):

    a  as is: the kernel, its workspace, validation through the kernel (evaluation())
    b  without the workspace: ``_fused.workspace`` patched to a null context (Trainer.fit
       looks the name up in the module at each fit, so the patch takes effect)
    c  without the evaluation thread-local: ``_fused.evaluation`` patched to a null
       context, so validation passes (eval mode, no autograd) run through nn.GRU
    d  nn.GRU only: GRUFORECAST_FUSED_GRU=0 (the reference)
    e  torch.compile(network) on the nn.GRU path (GRUFORECAST_FUSED_GRU=0), training and
       validation, at the thread counts of --compile-threads (default 2 only: each
       compiles anew); its first two epochs (compilation) are timed apart
    f  (--allow-rnn only) as e with torch._dynamo.config.allow_rnn=True, which traces
       nn.GRU instead of breaking the graph there; compiling takes many minutes

A round runs each variant once, in an order that rotates from round to round: a, b and c
a fit of ``1 + --block`` epochs whose first is not counted (in a real fit the
workspace's first mapping of its blocks happens once per fit, not per epoch); d, e and f,
which have no workspace, a fit of ``--reference-block`` epochs, all counted. Each epoch
is timed by the wall clock (the history's seconds) and by the process's CPU time (all
threads) and minor page faults of its training and validation passes: on a machine that
other processes load, the CPU time of one thread is the steadier cost (with two threads
it includes OpenMP's spinning). Medians pool all counted epochs of a variant; "round
ratios" are the lowest and highest of the per-round ratios of block medians, a measure
of the noise. Gain of a part = median epoch without it / with it. ``Trainer.evaluate``
alone is then timed for a against c, alternating. A check first confirms which path
each variant takes (nn.GRU calls counted by a forward hook, the workspace's bytes after
a step). Last, since whether glibc maps the buffers afresh each step depends on the
allocator's state, a and b also run as real ``GRUForecaster(random_state=0).fit``
calls in ``--processes`` pairs of fresh processes (--process-epochs counted epochs each).

    python bench/fused_parts.py     # --threads 2 1 --compile-threads 2 --processes 4

Both parts fell short of the 10% that would keep them and were removed after this
measurement (bench/README.md has the results). The script measures the code it was
written for, the release before the fitted-state refactor (commit 32f7d36: its
``GRUForecaster`` helpers ``_prepare_series``, ``_split``, ``_batch_size``, and the
parts themselves). To run it again:

    git worktree add /tmp/parts 32f7d36 && cp bench/fused_parts.py /tmp/parts/bench/
    cd /tmp && PYTHONPATH=/tmp/parts python /tmp/parts/bench/fused_parts.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# a fresh inductor cache, so that compile times are those of a first compile on this
# machine (not earlier runs' cached kernels); later compiles in this run may reuse it
if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:  # (fresh processes inherit it)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="fused_parts_")

import numpy as np
import torch
from sklearn.utils import check_random_state

from gruforecast import GRUForecaster, _fused
from gruforecast.datasets import load_air_passengers, load_sunspots
from gruforecast._network import GRUNet
from gruforecast._device import evaluation_batch_size
from gruforecast._training import Trainer
from gruforecast._windowing import n_windows

SERIES = {"sunspots": load_sunspots, "air_passengers": load_air_passengers}
# rounds per series unless --rounds says otherwise: an AirPassengers epoch costs a tenth
# to a twentieth of a sunspots one
ROUNDS = {"sunspots": 6, "air_passengers": 16}
NAMES = {
    "a": "as is (workspace + evaluation through the kernel)",
    "b": "without the workspace",
    "c": "without evaluation() (validation through nn.GRU)",
    "d": "nn.GRU only (GRUFORECAST_FUSED_GRU=0)",
    "e": "torch.compile(network), nn.GRU path",
    "f": "torch.compile(network), nn.GRU path, allow_rnn=True",
}
REFERENCES = ("d", "e", "f")


@contextlib.contextmanager
def patched(owner, name: str, value):
    previous = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, previous)


@contextlib.contextmanager
def setting(value: str):
    previous = os.environ.get(_fused.ENVIRONMENT_VARIABLE)
    os.environ[_fused.ENVIRONMENT_VARIABLE] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_fused.ENVIRONMENT_VARIABLE]
        else:
            os.environ[_fused.ENVIRONMENT_VARIABLE] = previous


def context(variant: str):
    if variant == "b":
        return patched(_fused, "workspace", contextlib.nullcontext)
    if variant == "c":
        return patched(_fused, "evaluation", contextlib.nullcontext)
    if variant in REFERENCES:
        return setting("0")
    return contextlib.nullcontext()


class Setup:
    """The training and validation windows, network and trainer settings of
    ``GRUForecaster(random_state=0).fit(series)``, built by the estimator's own helpers
    as its fit builds them."""

    def __init__(self, series) -> None:
        forecaster = GRUForecaster(random_state=0)
        forecaster._check_params()
        values, fitted = forecaster._prepare_series(series)
        window, horizon = fitted["window_"], forecaster.horizon
        n_train, n_valid, _, gap = forecaster._split(n_windows(len(values), window, horizon))
        training = slice(0, n_train)
        validation = slice(n_train + gap, n_train + gap + n_valid)
        used = values[: validation.stop + window + horizon - 1]
        scaled = torch.as_tensor(fitted["scaler_"].transform(used, np.float32))
        inputs = scaled[: len(scaled) - horizon].unfold(0, window, 1)
        outputs = scaled[window:].unfold(0, horizon, 1)
        self.data = (inputs[training], outputs[training], inputs[validation],
                     outputs[validation])
        self.seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
        self.window = window
        self.batch_size = forecaster._batch_size(n_train)
        self.network_arguments = dict(
            hidden_size=forecaster.hidden_size, num_layers=forecaster.num_layers,
            horizon=horizon, dropout=forecaster.dropout, normalize=forecaster.normalize,
            window=window, season=forecaster._season(fitted["time_index_"]),
        )
        self.trainer_arguments = dict(
            batch_size=self.batch_size, lr=forecaster.lr,
            weight_decay=forecaster.weight_decay, gradient_clip=forecaster.gradient_clip,
            patience=None, tol=forecaster.tol, autocast_dtype=None,
            evaluation_batch_size=evaluation_batch_size(
                torch.device("cpu"), window, forecaster.hidden_size),
        )
        self.n_train, self.n_valid = n_train, n_valid

    def network(self) -> GRUNet:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return GRUNet(**self.network_arguments)

    def trainer(self, network, epochs: int, round_: int = 0) -> Trainer:
        generator = torch.Generator().manual_seed(self.seed + round_)
        return Trainer(network, epochs=epochs, generator=generator, **self.trainer_arguments)

    def epochs(self, network, variant: str, epochs: int,
               round_: int = 0) -> list[tuple[float, float, int]]:
        """(wall s, CPU s, page faults) of each epoch of one fit of ``epochs`` epochs."""
        trainer = self.trainer(network, epochs, round_)
        counted = instrument(trainer)
        with context(variant):
            history = trainer.fit(*self.data)
        return [(row["seconds"], *more) for row, more in zip(history, counted, strict=True)]


def instrument(owner) -> list[list]:
    """Wrap ``owner``'s (a Trainer's, or the class's) run_single_epoch and evaluate to
    count, per epoch, the CPU seconds (all of the process's threads) and the minor page
    faults of its training and validation passes; the wall time is the history's
    (training, validation loss, the best weights' copy)."""
    counted = []
    run_single_epoch, evaluate = owner.run_single_epoch, owner.evaluate

    def usage() -> tuple[float, int]:
        return time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def timed_epoch(*args):
        cpu, faults = usage()
        loss = run_single_epoch(*args)
        now = usage()
        counted.append([now[0] - cpu, now[1] - faults])
        return loss

    def timed_evaluate(*args):
        cpu, faults = usage()
        loss = evaluate(*args)
        now = usage()
        counted[-1][0] += now[0] - cpu
        counted[-1][1] += now[1] - faults
        return loss

    owner.run_single_epoch, owner.evaluate = timed_epoch, timed_evaluate
    return counted


def check_paths(setup: Setup) -> list[str]:
    """Rows saying, per variant, how its training steps and validation passes ran."""
    return [check_path(setup, variant) for variant in "abcd"]


def check_path(setup: Setup, variant: str) -> str:
    network = setup.network()
    calls = {True: 0, False: 0}  # nn.GRU forward calls, by network.training

    def count(module, args, output) -> None:
        calls[module.training] += 1

    hook = network.gru.register_forward_hook(count)
    trainer = setup.trainer(network, 1)
    steps, held = 0, []
    train_step = trainer.train_step

    def counted(*args):
        nonlocal steps
        steps += 1
        loss = train_step(*args)
        held.append(_fused.kernel().workspace_bytes() if _fused.kernel() else 0)
        return loss

    trainer.train_step = counted
    with context(variant):
        trainer.fit(*setup.data)
    hook.remove()
    return (f"| {variant} | {steps - calls[True]} of {steps} | "
            f"{'nn.GRU' if calls[False] else 'kernel'} | {max(held) / 2**20:.1f} |")


def median(values: list[float]) -> float:
    return statistics.median(values)


def quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def explain(setup: Setup, network) -> str:
    """Graphs and graph breaks dynamo makes of one training step's forward."""
    inputs = setup.data[0][: setup.batch_size]
    network.train()
    with setting("0"):
        result = torch._dynamo.explain(network)(inputs)
    torch._dynamo.reset()
    reasons = sorted({str(reason.reason).splitlines()[0] for reason in result.break_reasons})
    return (f"{result.graph_count} graph(s), {result.graph_break_count} break(s)"
            + (f": {'; '.join(reasons)}" if reasons else ""))


def measure(name: str, setup: Setup, threads: int, arguments) -> dict:
    torch.set_num_threads(threads)
    compiling = threads in arguments.compile_threads
    variants = ["a", "b", "c", "d"] + (["e"] if compiling else []) + (
        ["f"] if compiling and arguments.allow_rnn else [])
    networks = {variant: setup.network() for variant in variants}
    compiled = {}
    for variant in ("e", "f"):
        if variant not in variants:
            continue
        torch._dynamo.config.allow_rnn = variant == "f"
        torch._dynamo.reset()
        breaks = explain(setup, networks[variant])
        counters = torch._dynamo.utils.counters
        counters.clear()
        networks[variant] = torch.compile(networks[variant])
        started = time.perf_counter()
        try:
            first = [row[0] for row in setup.epochs(networks[variant], variant, 2)]
        except Exception as error:  # a failure to compile is a result too
            print(f"\n{variant} ({NAMES[variant]}) failed: {type(error).__name__}: "
                  f"{str(error)[:800]}", flush=True)
            variants.remove(variant)
            continue
        compiled[variant] = {
            "explain": breaks, "first": first, "wall": time.perf_counter() - started,
            "graphs": counters["stats"]["unique_graphs"],
            "breaks": sum(counters["graph_break"].values()),
        }
    # every variant's one-off costs (the kernel's, Adam's, the allocator's) before timing
    for variant in variants:
        setup.epochs(networks[variant], variant, 1)
    rounds = arguments.rounds or ROUNDS[name]
    times = {variant: [] for variant in variants}  # (wall, CPU) per counted epoch
    blocks = {variant: [] for variant in variants}  # per round: median wall, median CPU
    for round_ in range(rounds):
        shift = round_ % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            if variant in REFERENCES:  # no workspace: every epoch of the fit counts
                epochs = setup.epochs(networks[variant], variant, arguments.reference_block,
                                      round_)
            else:
                epochs = setup.epochs(networks[variant], variant, 1 + arguments.block,
                                      round_)[1:]
            times[variant] += epochs
            blocks[variant].append(medians(epochs))
    # the validation pass alone: a's network through the kernel (a) and nn.GRU (c)
    trainer = setup.trainer(networks["a"], 1)
    evaluation = {"a": [], "c": []}
    for repeat in range(arguments.evaluations + 3):
        for variant in ("a", "c") if repeat % 2 else ("c", "a"):
            with context(variant):
                wall, cpu = time.perf_counter(), time.process_time()
                trainer.evaluate(*setup.data[2:])
                if repeat >= 3:
                    evaluation[variant].append(
                        (time.perf_counter() - wall, time.process_time() - cpu))
    return {"times": times, "blocks": blocks, "compiled": compiled, "evaluation": evaluation}


def medians(pairs: list[tuple]) -> tuple:
    """The median of each column (wall s, CPU s[, page faults])."""
    return tuple(median(list(column)) for column in zip(*pairs, strict=True))


def ratio_range(blocks: dict, without: str, with_: str, column: int) -> str:
    ratios = [x[column] / y[column] for x, y in zip(blocks[without], blocks[with_], strict=True)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def report(name: str, setup: Setup, threads: int, result: dict) -> list[str]:
    times, blocks = result["times"], result["blocks"]
    print(f"\n### {name}, {threads} thread(s): {setup.n_train} training windows, batch "
          f"{setup.batch_size}, {setup.n_valid} validation windows, window {setup.window}\n")
    print("| variant | epoch ms (median) | p25-p75 ms | CPU ms (median) | page faults "
          "| epochs counted | a's time / this (wall) | (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    a = medians(times["a"])
    for variant, rows in times.items():
        wall, cpu, faults = medians(rows)
        low, high = quartiles([row[0] for row in rows]) if len(rows) > 1 else (wall, wall)
        print(f"| {variant}: {NAMES[variant]} | {wall * 1e3:.1f} | "
              f"{low * 1e3:.1f}-{high * 1e3:.1f} | {cpu * 1e3:.1f} | {faults:.0f} | "
              f"{len(rows)} | {a[0] / wall:.2f}x | {a[1] / cpu:.2f}x |")
    evaluation = result["evaluation"]
    eval_a, eval_c = medians(evaluation["a"]), medians(evaluation["c"])
    c = medians(times["c"])
    print(f"\nTrainer.evaluate alone ({len(evaluation['a'])} calls each, alternating), "
          f"wall (CPU): kernel (a) {eval_a[0] * 1e3:.2f} ms ({eval_a[1] * 1e3:.2f}), nn.GRU "
          f"(c) {eval_c[0] * 1e3:.2f} ms ({eval_c[1] * 1e3:.2f}): nn.GRU / kernel "
          f"{eval_c[0] / eval_a[0]:.2f}x ({eval_c[1] / eval_a[1]:.2f}x); share of a's epoch "
          f"{eval_a[0] / a[0]:.1%} ({eval_a[1] / a[1]:.1%}), of c's {eval_c[0] / c[0]:.1%} "
          f"({eval_c[1] / c[1]:.1%})")
    for variant, info in result["compiled"].items():
        steady = medians(times[variant])[0]
        overhead = sum(info["first"]) - 2 * steady
        print(f"\n{variant}: dynamo.explain on a training step: {info['explain']}. First two "
              f"epochs {info['first'][0]:.1f} s + {info['first'][1]:.1f} s (compile "
              f"overhead about {overhead:.1f} s; {info['graphs']} graphs compiled, "
              f"{info['breaks']} graph breaks met); steady {steady * 1e3:.1f} ms an epoch "
              f"(wall): {steady / a[0]:.2f}x the kernel's (a), nn.GRU's (d) / this "
              f"{medians(times['d'])[0] / steady:.2f}x")
    rows = []
    for part, without in (("workspace", "b"), ("evaluation thread-local", "c")):
        gain = [medians(times[without])[column] / a[column] for column in (0, 1)]
        rows.append(f"| {part} | {name} | {threads} | {gain[0]:.3f}x | "
                    f"{ratio_range(blocks, without, 'a', 0)} | {gain[1]:.3f}x | "
                    f"{ratio_range(blocks, without, 'a', 1)} |")
    return rows


def child(variant: str, name: str, threads: int, epochs: int) -> None:
    """One real ``GRUForecaster(random_state=0).fit(series)`` of ``1 + epochs`` epochs
    (no early stopping) in this fresh process, as variant a or b; prints the counted
    epochs' (wall s, CPU s, page faults) as JSON."""
    from gruforecast._training import Trainer

    torch.set_num_threads(threads)
    counted = instrument(Trainer)
    forecaster = GRUForecaster(epochs=1 + epochs, patience=None, random_state=0)
    with context(variant):
        forecaster.fit(SERIES[name]())
    print(json.dumps([(row["seconds"], *more)
                      for row, more in zip(forecaster.history_, counted, strict=True)][1:]))


def fresh_processes(name: str, threads: int, arguments) -> list[str]:
    """The workspace in fresh processes: whether glibc maps training's buffers afresh
    each step depends on the allocator's state (bench/README.md), which a long
    benchmark process may not share with a fit's own process. Pairs of processes, a
    then b, then b then a."""
    rows = {"a": [], "b": []}
    per_process = {"a": [], "b": []}
    for pair in range(arguments.processes):
        for variant in ("a", "b") if pair % 2 == 0 else ("b", "a"):
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", variant, name,
                 str(threads), str(arguments.process_epochs)],
                capture_output=True, text=True, check=True)
            epochs = json.loads(done.stdout.strip().splitlines()[-1])
            rows[variant] += epochs
            per_process[variant].append(medians(epochs))
    print(f"\n{name}, {threads} thread(s), fresh processes: {arguments.processes} pairs of "
          f"fits of 1 + {arguments.process_epochs} epochs (the first not counted)\n")
    print("| variant | epoch ms (median) | CPU ms (median) | page faults per epoch "
          "| per process: median epoch ms (page faults per epoch) |")
    print("|---|---|---|---|---|")
    for variant in ("a", "b"):
        wall, cpu, faults = medians(rows[variant])
        spread = ", ".join(f"{process[0] * 1e3:.0f} ({process[2]:.0f})"
                           for process in per_process[variant])
        print(f"| {variant}: {NAMES[variant]} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | "
              f"{faults:.0f} | {spread} |")
    a, b = medians(rows["a"]), medians(rows["b"])
    blocks = {variant: per_process[variant] for variant in ("a", "b")}
    return [f"| workspace (fresh processes) | {name} | {threads} | {b[0] / a[0]:.3f}x | "
            f"{ratio_range(blocks, 'b', 'a', 0)} | {b[1] / a[1]:.3f}x | "
            f"{ratio_range(blocks, 'b', 'a', 1)} |"]


def main() -> None:
    if not hasattr(_fused, "workspace") or not hasattr(GRUForecaster, "_prepare_series"):
        raise SystemExit(
            "this gruforecast no longer has the parts this script measures; run it on "
            "commit 32f7d36 as its docstring says"
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--series", nargs="+", choices=list(SERIES), default=list(SERIES))
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"rounds per series (default {ROUNDS})")
    parser.add_argument("--block", type=int, default=3,
                        help="counted epochs of a, b, c per round")
    parser.add_argument("--reference-block", type=int, default=1,
                        help="epochs of d, e (and f) per round, all counted")
    parser.add_argument("--evaluations", type=int, default=40,
                        help="Trainer.evaluate calls timed for a and for c")
    parser.add_argument("--compile-threads", type=int, nargs="*", default=[2],
                        help="thread counts at which variant e runs (none: never)")
    parser.add_argument("--allow-rnn", action="store_true",
                        help="add variant f (compiles for minutes)")
    parser.add_argument("--processes", type=int, default=4,
                        help="pairs of fresh processes timing a against b (0: none)")
    parser.add_argument("--process-epochs", type=int, default=4,
                        help="counted epochs of each fresh process's fit")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        variant, name, threads, epochs = arguments.child
        child(variant, name, int(threads), int(epochs))
        return
    if _fused.kernel() is None:
        raise SystemExit("the fused kernel could not be built here (see the warning)")
    import gruforecast

    print(f"torch {torch.__version__}, gruforecast from {os.path.dirname(gruforecast.__file__)}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    gains = []
    for name in arguments.series:
        setup = Setup(SERIES[name]())
        print(f"\n{name}: which path each variant took in one epoch\n")
        print("| variant | training steps through the kernel | validation | "
              "workspace MiB after a step |")
        print("|---|---|---|---|")
        print("\n".join(check_paths(setup)), flush=True)
        for threads in arguments.threads:
            started = time.perf_counter()
            result = measure(name, setup, threads, arguments)
            gains += report(name, setup, threads, result)
            if arguments.processes:
                gains += fresh_processes(name, threads, arguments)
            print(f"\n({time.perf_counter() - started:.0f} s; load average "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
    print("\n### Gain of each part on a training epoch at the default batch size\n")
    print("| part | series | threads | wall: without / with | round ratios | "
          "CPU: without / with | round ratios |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(gains))


if __name__ == "__main__":
    main()
