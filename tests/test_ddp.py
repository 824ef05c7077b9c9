"""Training across processes with torch.distributed (gloo, on this machine's CPU).

The slow tests launch ``tests/ddp_fit.py`` with torchrun (2 processes) and compare what
each rank ended with against a fit in this process over the same global batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gruforecast import GRUForecaster, _fused
from gruforecast._ddp import Group, Launch, digest, launch, writes

HERE = Path(__file__).parent
# 40 series: 161 windows an epoch in batches of 32, so the last batch has one window and
# rank 1 takes part in that step with none (Group.share)
FIT = dict(
    window=12,
    horizon=3,
    epochs=3,
    batch_size=32,
    windows_per_epoch=161,
    patience=None,
    refit=False,
    calibration_fraction=0.0,
    random_state=0,
    device="cpu",  # gloo; the reference fit too, on a machine with a GPU
)
# early stopping, with a validation loss that improves for 7 epochs (in one process)
STALL = dict(epochs=8, patience=2, tol=0.0, lr=3e-3, windows_per_epoch="auto")


def panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(60)
    frames = []
    for i in range(40):
        level = rng.uniform(10, 100)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + i)) + rng.normal(0, 1, len(t))
        frames.append(
            pd.DataFrame(
                {"unique_id": i, "ds": pd.date_range("2020-01", periods=len(t), freq="MS"), "y": y}
            )
        )
    return pd.concat(frames, ignore_index=True)


# the panel with covariates: a future-known flag, a static category, the calendar
COVARIATES = dict(future_covariates=["promo"], static_covariates=["group"], calendar="auto")


def covariate_panel() -> pd.DataFrame:
    data = panel()
    rng = np.random.default_rng(1)
    promo = rng.random(len(data)) < 0.2
    return data.assign(
        y=data["y"] * np.where(promo, 1.3, 1.0),
        promo=promo.astype(float),
        group=np.where(data["unique_id"] % 2 == 0, "even", "odd"),
    )


def series() -> np.ndarray:
    """One series of 400 values: 161 of its windows an epoch, as the panel's."""
    t = np.arange(400)
    return 50 + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(1).normal(0, 1, len(t))


def torchrun(*arguments: str, processes: int = 2, gpu: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if not gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.pop("WORLD_SIZE", None)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return subprocess.run(
        [*launcher, f"--nproc_per_node={processes}", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def run_ranks(
    tmp_path: Path, mode: str, backend: str, device: str = "cpu", processes: int = 2
) -> list[dict]:
    arguments = (str(HERE / "ddp_fit.py"), mode, str(tmp_path), backend, device)
    result = torchrun(*arguments, processes=processes, gpu=device != "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = []
    for rank in range(processes):
        found = json.loads((tmp_path / f"rank{rank}.json").read_text())
        found["weights"] = dict(np.load(tmp_path / f"rank{rank}.npz"))
        ranks.append(found)
    return ranks


def weights_of(model: GRUForecaster) -> dict[str, np.ndarray]:
    return {name: t.detach().cpu().numpy() for name, t in model.network_.state_dict().items()}


def backends() -> list[str]:
    return ["torch", "fused"] if _fused.kernel() is not None else ["torch"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends())
def test_two_processes_fit_the_model_one_process_fits(tmp_path, backend):
    ranks = run_ranks(tmp_path, "same", backend)
    alone = GRUForecaster(**FIT, gru_backend=backend).fit(panel())
    for rank in ranks:
        assert rank["backend"] == backend
        assert len(rank["history"]) == FIT["epochs"] == len(alone.history_)
        for (_, train, valid), row in zip(rank["history"], alone.history_, strict=True):
            assert train == pytest.approx(row["train_loss"], rel=1e-4)
            assert valid == pytest.approx(row["valid_loss"], rel=1e-4)
        for name, expected in weights_of(alone).items():
            np.testing.assert_allclose(rank["weights"][name], expected, rtol=1e-6, atol=1e-5)
    # every rank holds the very same model (rank 0's weights, broadcast at the end: equal
    # by construction, not computed twice), and only rank 0 wrote it
    for name, tensor in ranks[0]["weights"].items():
        np.testing.assert_array_equal(ranks[1]["weights"][name], tensor)
    assert (tmp_path / "model0.gruf").exists() and not (tmp_path / "model1.gruf").exists()
    loaded = GRUForecaster.load(tmp_path / "model0.gruf")
    for name, expected in ranks[0]["weights"].items():
        np.testing.assert_array_equal(weights_of(loaded)[name], expected)


@pytest.mark.slow
def test_two_processes_fit_the_model_with_covariates_one_process_fits(tmp_path):
    ranks = run_ranks(tmp_path, "covariates", "torch")
    alone = GRUForecaster(**FIT, **COVARIATES, gru_backend="torch").fit(covariate_panel())
    assert alone.network_.features == 5  # promo, month (sine, cosine), two groups
    for rank in ranks:
        assert [row[1] for row in rank["history"]] == pytest.approx(
            [row["train_loss"] for row in alone.history_], rel=1e-4
        )
        for name, expected in weights_of(alone).items():
            np.testing.assert_allclose(rank["weights"][name], expected, rtol=1e-6, atol=1e-5)


@pytest.mark.slow
def test_one_series_trains_across_processes_as_in_one(tmp_path):
    ranks = run_ranks(tmp_path, "series", "torch")
    alone = GRUForecaster(**FIT, gru_backend="torch").fit(series())
    for rank in ranks:
        assert [row[1] for row in rank["history"]] == pytest.approx(
            [row["train_loss"] for row in alone.history_], rel=1e-4
        )
        for name, expected in weights_of(alone).items():
            np.testing.assert_allclose(rank["weights"][name], expected, rtol=1e-6, atol=1e-5)


def alone_stops(sums: list[float], patience: int) -> int:
    """The epoch at which early stopping (tol 0) on these losses alone would stop."""
    best, waited = np.inf, 0
    for epoch, value in enumerate(sums, start=1):
        if value < best:
            best, waited = value, 0
        else:
            waited += 1
        if waited >= patience:
            return epoch
    return len(sums)


@pytest.mark.slow
def test_ranks_stop_together_when_one_would_have_stopped_alone(tmp_path):
    ranks = run_ranks(tmp_path, "stall", "torch")
    first, second = ranks
    # rank 1's own validation windows stopped improving after epoch 1: alone, it would
    # have stopped at epoch 1 + patience
    assert alone_stops(second["local_sums"], STALL["patience"]) == 1 + STALL["patience"]
    # the ranks decide on the sum of both pieces, which kept improving: both go on,
    # and stop at the same epoch, with the same history and the same weights
    assert len(first["history"]) == len(second["history"]) > 1 + STALL["patience"]
    assert first["history"] == second["history"]
    assert first["stop_reason"] == second["stop_reason"]
    for name, tensor in first["weights"].items():
        np.testing.assert_array_equal(second["weights"][name], tensor)


@pytest.mark.slow
def test_collectives_return_once_gloo_holds_none_of_their_tensors(tmp_path):
    # else a rank whose last collective comes just before it exits could abort at shutdown
    # ("terminate called without an active exception": 4 runs in 47 of a doc example)
    result = torchrun(str(HERE / "ddp_collectives.py"), str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    held = [json.loads((tmp_path / f"held{rank}.json").read_text()) for rank in range(2)]
    assert held == [0, 0]


@pytest.mark.slow
def test_ranks_that_read_other_data_are_stopped_with_a_clear_error(tmp_path):
    result = torchrun(str(HERE / "ddp_fit.py"), "differ", str(tmp_path), "torch")
    assert result.returncode != 0
    assert "every process to prepare the same training data, but rank 1 differs" in result.stderr
    assert not list(tmp_path.glob("model*.gruf"))


@pytest.mark.slow
@pytest.mark.skipif(_fused.kernel() is None, reason="needs the fused CPU kernel built here")
def test_ranks_that_would_train_with_other_gru_implementations_are_told_why(tmp_path):
    result = torchrun(str(HERE / "ddp_fit.py"), "backend", str(tmp_path), "auto")
    assert result.returncode != 0
    assert "the same GRU implementation (here gru_backend='fused'), but rank 1" in result.stderr
    assert "fused CPU kernel did not build" in result.stderr


@pytest.mark.slow
def test_the_command_line_fits_under_torchrun(tmp_path):
    data = tmp_path / "panel.csv"
    panel().to_csv(data, index=False)
    out = tmp_path / "model.gruf"
    result = torchrun(
        "-m", "gruforecast", "fit", str(data), "--out", str(out), "--epochs", "2", "--seed", "0"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.exists()
    # one summary, from rank 0
    assert result.stdout.count("saved ") == 1, result.stdout
    assert "in each of 2 processes" in result.stdout
    assert GRUForecaster.load(out).history_ is not None


@pytest.mark.gpu
def test_through_nccl_on_one_gpu_the_fit_is_the_plain_fit(tmp_path):
    # one process (a machine with one GPU): distributed=True goes through NCCL and DDP
    (rank,) = run_ranks(tmp_path, "same", "torch", device="cuda", processes=1)
    assert rank["device"] == "cuda:0"
    alone = GRUForecaster(**{**FIT, "device": "cuda"}, gru_backend="torch").fit(panel())
    assert [row[0] for row in rank["history"]] == [row["epoch"] for row in alone.history_]
    for name, expected in weights_of(alone).items():
        np.testing.assert_allclose(rank["weights"][name], expected, rtol=1e-6, atol=1e-4)
    assert (tmp_path / "model0.gruf").exists()


# ------------------------------------------------------------------ without torchrun


def test_outside_torchrun_a_fit_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launch("auto") is None and launch(False) is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launch("auto") is None


def test_distributed_true_outside_torchrun_is_refused(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ValueError, match="not started by torchrun"):
        GRUForecaster(distributed=True, epochs=1).fit(np.sin(np.arange(100.0)))


def test_a_partial_torchrun_environment_is_named(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RANK, MASTER_ADDR, MASTER_PORT are not set"):
        GRUForecaster(epochs=1).fit(np.sin(np.arange(100.0)))
    # distributed=False trains alone whatever the environment says
    GRUForecaster(epochs=1, distributed=False).fit(np.sin(np.arange(100.0)))


@pytest.mark.parametrize("value", ["yes", 2, None])
def test_distributed_takes_auto_or_a_bool(value):
    with pytest.raises((TypeError, ValueError), match="distributed"):
        GRUForecaster(distributed=value).fit(np.sin(np.arange(100.0)))


def group(rank: int, world_size: int) -> Group:
    made = Group.__new__(Group)
    made.rank, made.world_size = rank, world_size
    return made


@pytest.mark.parametrize("n", [0, 1, 2, 7, 32])
@pytest.mark.parametrize("world_size", [2, 3])
def test_each_row_of_a_batch_goes_to_one_rank(n, world_size):
    import torch

    pieces = [group(rank, world_size).piece(n) for rank in range(world_size)]
    assert sorted(i for piece in pieces for i in range(n)[piece]) == list(range(n))
    sizes = [len(range(n)[piece]) for piece in pieces]
    assert max(sizes) - min(sizes) <= 1
    if n == 0:
        return
    rows = torch.arange(100, 100 + n)
    losses = torch.rand(200, dtype=torch.float64)  # a loss per row
    shares = [group(rank, world_size).share(rows) for rank in range(world_size)]
    # the rows trained on with a weight are the batch, once each
    weighted = sorted(int(i) for mine, factor in shares if factor for i in mine)
    assert weighted == rows.tolist()
    # a rank with no rows still steps (on one row, weighted 0), and DDP's average of
    # the weighted mean losses is the batch's mean loss
    assert all(len(mine) >= 1 for mine, _ in shares)
    average = sum(factor * losses[mine].mean() for mine, factor in shares) / world_size
    assert float(average) == pytest.approx(float(losses[rows].mean()), rel=1e-12)


def test_digest_sees_values_order_and_shapes():
    a = np.arange(6.0)
    assert digest([a, 3, "x"]) == digest([a.copy(), 3, "x"])
    assert digest([a]) != digest([a[::-1]])
    assert digest([a]) != digest([a.reshape(2, 3)])
    assert digest([a]) != digest([a.astype(np.float32)])
    assert 0 <= digest([a]) < 2**63


def test_a_model_of_one_process_is_always_written():
    assert writes(1)
    # no group in this process: whatever trained it, this process writes
    assert writes(2)


def test_distributed_true_uses_a_group_of_one_under_torchrun(monkeypatch):
    for name, value in dict(WORLD_SIZE="1", RANK="0", MASTER_ADDR="h", MASTER_PORT="1").items():
        monkeypatch.setenv(name, value)
    assert launch(True) == Launch(rank=0, world_size=1, local_rank=0, initialized=False)
    assert launch(np.True_) == launch(True)
    assert launch("auto") is None  # one process: trains alone
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not a number"):
        launch("auto")


def test_one_gpu_for_each_process_or_the_cpus(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    second = Launch(rank=1, world_size=2, local_rank=1, initialized=False)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert second.device(cpu, auto=False) == cpu
    assert second.device(torch.device("cuda", 0), auto=False) == torch.device("cuda", 0)
    with pytest.warns(RuntimeWarning, match="2 processes on this machine, which has 1 GPU"):
        assert second.device(cuda, auto=True) == cpu
    with pytest.raises(ValueError, match=r"start at most 1 \(--nproc_per_node\), or train on"):
        second.device(cuda, auto=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")  # one process a machine, on two machines
    other_machine = Launch(rank=1, world_size=2, local_rank=0, initialized=False)
    assert other_machine.device(cuda, auto=False) == torch.device("cuda", 0)


def test_launch_reads_torchrun_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert launch("auto") == Launch(rank=3, world_size=4, local_rank=1, initialized=False)
    assert launch(False) is None


@pytest.mark.slow
def test_a_warning_of_the_fit_is_given_once_not_by_every_rank(tmp_path):
    script = tmp_path / "short.py"
    script.write_text(
        "from gruforecast import GRUForecaster\n"
        "from gruforecast.datasets import load_air_passengers\n"
        "GRUForecaster(horizon=12, random_state=0, device='cpu').fit(load_air_passengers()[-40:])\n"
    )
    result = torchrun(str(script))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("the model is the prior itself, zero-shot") == 1, result.stderr
