"""The fused CPU GRU kernel (gruforecast._fused): nn.GRU's function and gradients,
used in CPU training only, and a clean fallback where it cannot be built."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gruforecast import GRUForecaster, _fused
from gruforecast._network import GRUNet
from gruforecast._training import Trainer

from conftest import FAST

# The CI machine and a newcomer's Linux machine have a C++ compiler; where there is
# none the kernel cannot exist, and only the fallback can be tested.
needs_kernel = pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None,
    reason="no C++ compiler to build the fused GRU kernel",
)


@pytest.fixture
def kernel_state(monkeypatch):
    """Forget the loaded kernel for one test (it is loaded again from the cache after)."""
    monkeypatch.setattr(_fused, "_kernel", None)
    monkeypatch.setattr(_fused, "_failure", None)
    monkeypatch.delenv(_fused.ENVIRONMENT_VARIABLE, raising=False)


def kernel_and_nn_gru(gru, x, threads=None, last_only=False):
    """Outputs and gradients (of x and every parameter) of the kernel and of nn.GRU, for
    a loss that reaches every output state (with ``last_only``, the last one only); the
    kernel on ``threads`` threads."""
    expected, _ = gru(x)
    if last_only:
        expected = expected[:, -1]
    weights = torch.randn_like(expected)
    expected_grads = torch.autograd.grad((expected * weights).sum(), [x, *gru.parameters()])
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        outputs = _fused.gru(gru, x, last_only=last_only)
        grads = torch.autograd.grad((outputs * weights).sum(), [x, *gru.parameters()])
    finally:
        torch.set_num_threads(previous)
    return (outputs, grads), (expected, expected_grads)


@needs_kernel
@pytest.mark.parametrize("last_only", [False, True])
@pytest.mark.parametrize(
    "num_layers, input_size, batch, steps",
    [(2, 1, 8, 20), (1, 3, 5, 7), (3, 2, 1, 1), (2, 1, 33, 50)],
)
def test_outputs_and_gradients_match_autograd_of_nn_gru(
    num_layers, input_size, batch, steps, last_only
):
    """All output states, or the last one only (what a forecasting head reads)."""
    torch.manual_seed(0)
    gru = nn.GRU(input_size, 16, num_layers, batch_first=True).double()
    x = torch.randn(batch, steps, input_size, dtype=torch.float64, requires_grad=True)
    (outputs, grads), (expected, expected_grads) = kernel_and_nn_gru(gru, x, last_only=last_only)

    assert outputs.shape == expected.shape
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)
    names = ["x"] + [name for name, _ in gru.named_parameters()]
    for name, grad, expected_grad in zip(names, grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-11, msg=name)


@needs_kernel
def test_without_autograd_the_outputs_are_the_same_and_no_gates_are_kept(monkeypatch):
    """Validation passes run under no_grad: the kernel keeps only the last step's gates."""
    torch.manual_seed(6)
    gru = nn.GRU(2, 16, 2, batch_first=True).double()
    x = torch.randn(40, 25, 2, dtype=torch.float64)
    expected, _ = gru(x)
    kept = []  # the steps of r and z that each layer's forward returns
    real = _fused.kernel()

    class Recording:
        @staticmethod
        def forward(*args):
            result = real.forward(*args)
            kept.append(result[1].shape[0])
            return result

    monkeypatch.setattr(_fused, "kernel", lambda: Recording)
    with torch.no_grad():
        outputs = _fused.gru(gru, x)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)
    assert kept == [1, 1]  # rz of one step per layer, not 25


@needs_kernel
@pytest.mark.parametrize("threads", [2, 3])
def test_batches_split_over_threads_match_nn_gru(threads):
    """Large batches run as one chunk of rows per thread (uneven ones with 3 threads):
    outputs and gradients as nn.GRU's, whatever the split."""
    torch.manual_seed(4)
    gru = nn.GRU(1, 16, 2, batch_first=True).double()
    x = torch.randn(100, 30, 1, dtype=torch.float64, requires_grad=True)
    (outputs, grads), (expected, expected_grads) = kernel_and_nn_gru(gru, x, threads)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-12)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-11)


@needs_kernel
@pytest.mark.parametrize("hidden", [13, 40, 64])
def test_float32_outputs_and_gradients_match_nn_gru(hidden):
    """float32 runs its own small-matrix loops in blocks of 4 rows by 16 columns: hidden
    sizes that leave columns over (13, 40: 3 x 13 and 3 x 40 are no multiples of 16) and
    chunks of rows that leave rows over (37 rows on 2 threads: 18 and 19)."""
    torch.manual_seed(5)
    gru = nn.GRU(2, hidden, 2, batch_first=True)
    x = torch.randn(37, 23, 2, requires_grad=True)
    (outputs, grads), (expected, expected_grads) = kernel_and_nn_gru(gru, x, threads=2)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=2e-6)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-4)


@needs_kernel
@pytest.mark.parametrize("scale", [0.0, 1e-30, 1.0, 30.0, 1e4, 1e30])
def test_float32_outputs_match_nn_gru_at_any_magnitude(scale):
    """float32 computes sigmoid and tanh itself: saturation, underflow and tiny values
    as nn.GRU has them; hidden 13 is no multiple of the vector width."""
    torch.manual_seed(2)
    gru = nn.GRU(3, 13, 2, batch_first=True)
    x = torch.randn(7, 11, 3) * scale
    expected, _ = gru(x)
    outputs = _fused.gru(gru, x)
    assert torch.isfinite(outputs).all()
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-5)


@needs_kernel
def test_a_nan_input_gives_nan_outputs_as_nn_gru_does():
    torch.manual_seed(3)
    gru = nn.GRU(1, 16, 2, batch_first=True)
    x = torch.randn(4, 9, 1)
    x[1, 5, 0] = float("nan")
    expected, _ = gru(x)
    outputs = _fused.gru(gru, x)
    assert torch.equal(outputs.isnan(), expected.isnan())
    assert outputs[1, 5:].isnan().all() and not outputs[[0, 2, 3]].isnan().any()


@needs_kernel
def test_two_graphs_alive_at_once_keep_their_own_buffers():
    """Two forward passes before a backward, one backward run twice: every gradient as
    nn.GRU's."""
    torch.manual_seed(7)
    gru = nn.GRU(1, 16, 2, batch_first=True).double()
    xs = [torch.randn(20, 15, 1, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    weights = [torch.randn(20, 16, dtype=torch.float64) for _ in range(2)]
    parameters = list(gru.parameters())
    expected = [torch.autograd.grad((gru(x)[0][:, -1] * w).sum(), [x, *parameters])
                for x, w in zip(xs, weights)]
    losses = [(_fused.gru(gru, x, last_only=True) * w).sum() for x, w in zip(xs, weights)]
    first = torch.autograd.grad(losses[0], [xs[0], *parameters], retain_graph=True)
    again = torch.autograd.grad(losses[0], [xs[0], *parameters])
    second = torch.autograd.grad(losses[1], [xs[1], *parameters])
    for grads, expected_grads in zip([first, again, second], [expected[0], *expected]):
        for grad, expected_grad in zip(grads, expected_grads):
            torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-11)


@needs_kernel
def test_float32_gradients_of_the_training_loss_match_nn_gru():
    """What training computes: float32, a head on the last step only."""
    torch.manual_seed(1)
    network = GRUNet(hidden_size=64, num_layers=2, horizon=12, normalize="window",
                     window=24, season=12).train()
    windows, targets = torch.randn(32, 24), torch.randn(32, 12)

    def gradients(use_fused: bool) -> list[torch.Tensor]:
        network.zero_grad()
        network.gru_backend = "fused" if use_fused else "torch"
        nn.functional.mse_loss(network(windows), targets).backward()
        return [p.grad.clone() for p in network.parameters()]

    for grad, expected in zip(gradients(True), gradients(False)):
        torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-6)


@needs_kernel
def test_used_for_cpu_training_only(monkeypatch):
    calls = []
    original = _fused.gru
    monkeypatch.setattr(_fused, "gru", lambda *a, **k: calls.append(1) or original(*a, **k))
    GRUNet(hidden_size=8, num_layers=2).train()(torch.randn(4, 10)).sum().backward()
    assert calls == []  # the network's default: nn.GRU
    network = GRUNet(hidden_size=8, num_layers=2, gru_backend="fused")
    windows = torch.randn(4, 10)
    network.train()(windows).sum().backward()
    assert calls == [1]
    with torch.no_grad():  # no autograd, even in training mode
        network(windows)
    network.eval()(windows)  # predict, export: nn.GRU, as the ONNX graph
    assert calls == [1]


@needs_kernel
def test_validation_losses_run_through_nn_gru(monkeypatch):
    calls = []
    original = _fused.gru
    monkeypatch.setattr(_fused, "gru", lambda *a, **k: calls.append(1) or original(*a, **k))
    network = GRUNet(hidden_size=16, num_layers=2, horizon=3, gru_backend="fused").eval()
    windows, targets = torch.randn(50, 20), torch.randn(50, 3)
    trainer = Trainer(network, epochs=1, batch_size=16, lr=1e-3, weight_decay=0.0,
                      gradient_clip=None, patience=None,
                      generator=torch.Generator(), evaluation_batch_size=32)
    loss = trainer.evaluate(windows, targets)
    with torch.no_grad():
        expected = float(((network(windows) - targets) ** 2).mean())
    assert calls == [] and loss == pytest.approx(expected, rel=1e-6)  # float64 sums


@needs_kernel
def test_dropout_between_layers_is_applied_in_training():
    torch.manual_seed(0)
    gru = nn.GRU(1, 16, 2, batch_first=True, dropout=0.5).train()
    x = torch.randn(4, 6, 1)
    with torch.no_grad():
        first, second = _fused.gru(gru, x), _fused.gru(gru, x)
        expected, _ = gru.eval()(x)
        without = _fused.gru(gru, x)  # eval mode: no dropout, nn.GRU's numbers
    assert not torch.allclose(first, second)
    torch.testing.assert_close(without, expected, rtol=1e-5, atol=1e-6)


@needs_kernel
def test_dropout_masks_come_from_the_generator_given():
    torch.manual_seed(0)
    gru = nn.GRU(1, 16, 2, batch_first=True, dropout=0.5).train()
    x = torch.randn(4, 6, 1)

    def run(layered):
        generator = torch.Generator().manual_seed(7)
        torch.manual_seed(1)  # the global generator is not what decides
        if layered:
            return _fused.layered_gru(gru, x, generator)
        return _fused.gru(gru, x, generator=generator)

    with torch.no_grad():
        kernel, layered = run(False), run(True)
        assert torch.equal(kernel, run(False))
        torch.testing.assert_close(kernel, layered, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(kernel, gru.eval()(x)[0])


@needs_kernel
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_fit_gives_the_same_model_as_with_nn_gru(monthly, dropout):
    """With dropout too: both backends draw the masks from the fit's own generator, in
    the same order and layout. On the CPU, where the kernel runs (on a machine with a
    GPU too: there "auto" would train on CUDA, where "fused" is an error)."""
    params = dict(FAST, hidden_size=16, num_layers=2, horizon=3, dropout=dropout, device="cpu")
    with_kernel = GRUForecaster(**params, gru_backend="fused").fit(monthly)
    without = GRUForecaster(**params, gru_backend="torch").fit(monthly)
    assert (with_kernel.gru_backend_, without.gru_backend_) == ("fused", "torch")
    np.testing.assert_allclose(with_kernel.forecast(6), without.forecast(6), rtol=1e-4)


CPU = torch.device("cpu")


def test_environment_variable_overrides_auto_only(kernel_state, monkeypatch):
    monkeypatch.setenv(_fused.ENVIRONMENT_VARIABLE, "0")
    monkeypatch.setattr(_fused, "_build", lambda: pytest.fail("built although not asked for"))
    assert _fused.resolve_backend("auto", CPU, "float32", 64) == "torch"
    assert _fused.resolve_backend("torch", CPU, "float32", 64) == "torch"
    monkeypatch.setenv(_fused.ENVIRONMENT_VARIABLE, "1")
    assert _fused.resolve_backend("torch", CPU, "float32", 64) == "torch"  # explicit wins


def test_auto_chooses_the_kernel_only_where_it_is_meant_to_run(monkeypatch):
    monkeypatch.delenv(_fused.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(_fused, "kernel", lambda: object())  # as if built
    assert _fused.resolve_backend("auto", CPU, "float32", 256) == "fused"
    assert _fused.resolve_backend("auto", CPU, "float32", _fused.MAX_BATCH + 1) == "torch"
    assert _fused.resolve_backend("auto", torch.device("cuda"), "float32", 64) == "torch"
    assert _fused.resolve_backend("auto", torch.device("cuda"), "bfloat16", 64) == "torch"
    # asked for by name, the kernel runs at any batch size, and nowhere but the CPU
    assert _fused.resolve_backend("fused", CPU, "float32", _fused.MAX_BATCH + 1) == "fused"
    with pytest.raises(ValueError, match="gru_backend='fused' is a CPU kernel in float32.*cuda"):
        _fused.resolve_backend("fused", torch.device("cuda"), "float32", 64)


def test_a_failed_build_falls_back_to_nn_gru_with_one_warning(kernel_state, monkeypatch, monthly):
    def no_compiler():
        raise RuntimeError("Error building extension: c++ not found")

    monkeypatch.setattr(_fused, "_build", no_compiler)
    monkeypatch.setattr(_fused, "_warned", False)
    with pytest.warns(RuntimeWarning, match="uses nn.GRU.*c\\+\\+ not found"):
        assert _fused.resolve_backend("auto", CPU, "float32", 64) == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second attempt, no second warning
        # trains all the same, on the CPU (where the kernel would have run) on any machine
        forecaster = GRUForecaster(**FAST, device="cpu").fit(monthly)
    assert forecaster.gru_backend_ == "torch" and np.isfinite(forecaster.forecast(3)).all()


def test_fused_asked_for_by_name_makes_a_failed_build_an_error(kernel_state, monkeypatch, monthly):
    def no_compiler():
        raise RuntimeError("c++ not found")

    monkeypatch.setattr(_fused, "_build", no_compiler)
    with pytest.raises(RuntimeError, match="gru_backend='fused' needs.*c\\+\\+ not found"):
        # on the CPU: on CUDA "fused" is refused (ValueError) before any build
        GRUForecaster(**FAST, gru_backend="fused", device="cpu").fit(monthly)
    monkeypatch.setenv(_fused.ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(RuntimeError, match="gru_backend='fused' needs"):
        _fused.resolve_backend("auto", CPU, "float32", 64)


def test_the_build_runs_in_a_child_and_leaves_path_and_stderr_alone(
    kernel_state, monkeypatch, caplog, capfd, tmp_path
):
    ninja = pytest.importorskip("ninja")
    monkeypatch.setattr(_fused, "_library_name", lambda: "gruforecast_test_never_built")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    seen = {}

    def child(command, env, **options):
        seen["path"], seen["command"] = env["PATH"], command
        return subprocess.CompletedProcess(command, 1, "", "c++: not found")

    monkeypatch.setattr(subprocess, "run", child)
    path = os.environ.get("PATH")
    with caplog.at_level(logging.WARNING, logger="gruforecast"):
        assert _fused.kernel() is None
    assert os.environ.get("PATH") == path  # this process's PATH is untouched
    assert seen["path"].split(os.pathsep)[0] == ninja.BIN_DIR  # the child's finds ninja
    assert "compiling the fused CPU GRU kernel" in caplog.text
    assert capfd.readouterr().err == ""  # logged, not printed
    assert "c++: not found" in _fused._failure
    # torch builds in the folder this process will import from
    assert str(tmp_path / "gruforecast_test_never_built") in seen["command"]


def test_importing_the_built_kernel_imports_no_build_tools():
    # torch.utils.cpp_extension imports setuptools: 0.15 s of every process's first fit
    if _fused.kernel() is None:
        pytest.skip(f"the kernel cannot be built here: {_fused._failure}")
    code = (
        "import sys\n"
        "from gruforecast import _fused\n"
        "assert _fused.kernel() is not None, _fused._failure\n"
        "print(sorted(m for m in ('setuptools', 'torch.utils.cpp_extension') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_estimator_parameter_is_visible_to_scikit_learn():
    from sklearn.base import clone

    forecaster = GRUForecaster(gru_backend="torch")
    assert forecaster.get_params()["gru_backend"] == "torch"
    assert clone(forecaster).gru_backend == "torch"
    with pytest.raises(ValueError, match="gru_backend must be one of 'auto', 'fused' or 'torch'"):
        GRUForecaster(gru_backend="cudnn").fit(np.arange(100.0))


def test_refuses_what_it_does_not_compute():
    with pytest.raises(ValueError, match="batch_first"):
        _fused.gru(nn.GRU(1, 4, batch_first=False), torch.randn(2, 3, 1))
    with pytest.raises(ValueError, match="one-directional"):
        _fused.gru(nn.GRU(1, 4, batch_first=True, bidirectional=True), torch.randn(2, 3, 1))


def test_a_damaged_cached_library_is_rebuilt_not_imported(monkeypatch, tmp_path):
    """A truncated library would crash the process on import (a bus error): only one
    whose checksum the finished build recorded is used; another is rebuilt."""
    builds = []

    def build(name, directory):  # stands in for the compiler: writes a library
        builds.append(name)
        (directory / f"{name}.so").write_bytes(b"a built library " * 1000)

    monkeypatch.setattr(_fused, "_compile", build)
    library = _fused._ensure_built("kernel", tmp_path)
    assert builds == ["kernel"] and _fused._intact(library)
    assert _fused._ensure_built("kernel", tmp_path) == library and len(builds) == 1
    library.write_bytes(library.read_bytes()[:100])  # truncated, as by a killed copy
    assert not _fused._intact(library)
    _fused._ensure_built("kernel", tmp_path)
    assert len(builds) == 2 and _fused._intact(library)
    _fused._checksum_file(library).unlink()  # a library no finished build vouches for
    _fused._ensure_built("kernel", tmp_path)
    assert len(builds) == 3

    def failed(name, directory):
        raise RuntimeError("c++ killed")

    library.write_bytes(b"random bytes")
    monkeypatch.setattr(_fused, "_compile", failed)
    with pytest.raises(RuntimeError, match="c\\+\\+ killed"):
        _fused._ensure_built("kernel", tmp_path)
    assert not library.exists()  # never imported, and gone for the next attempt


def test_a_build_lock_left_by_a_killed_build_does_not_hang_the_next(monkeypatch, tmp_path):
    """torch's build waits forever on a lock file a killed build left; the next build,
    under gruforecast's own lock, removes it first."""
    (tmp_path / "lock").write_text("")

    def build(name, directory):
        assert not (directory / "lock").exists()  # torch's build would wait on it
        (directory / f"{name}.so").write_bytes(b"built")

    monkeypatch.setattr(_fused, "_compile", build)
    _fused._ensure_built("kernel", tmp_path)
    assert _fused._intact(tmp_path / "kernel.so")
