"""The fused CPU GRU that training uses in place of ``nn.GRU``'s forward and backward.

PyTorch's CPU ``nn.GRU`` spends its time at forecasting sizes in dispatching a dozen
small operations per time step, forward and (through autograd) backward.
``_fused_gru.cpp`` runs one layer's time loop in C++, the batch's rows split over the
threads: per step the input and recurrent products (its own small-matrix loops) and one
vectorised pass over the gates (``_fused_gru_loops.h``), and a hand-written backward
that adds each step's share of the weight gradients while the step's values are in
cache (bench/README.md has the speed-up). It serves training steps only (autograd on,
training mode): validation losses, ``predict`` and the ONNX export run ``nn.GRU``, on
the same parameters, and the tests check the kernel's outputs and gradients against it.

Whether a network trains through it is the estimator's ``gru_backend`` parameter,
resolved by :func:`resolve_backend` and handed to ``GRUNet``; nothing here decides it
from global state, except that the environment variable ``GRUFORECAST_FUSED_GRU``
overrides ``gru_backend="auto"`` (``0``: ``"torch"``, ``1``: ``"fused"``).

The kernel is compiled with PyTorch's C++ extension tools the first time it is needed
(about a minute, once per machine and Python environment; logged at WARNING level on
the ``gruforecast`` logger), in a child process that finds the ``ninja`` of the ninja
wheel (this process's ``PATH`` is left alone), and cached in a folder of its own name
under PyTorch's extension directory (``TORCH_EXTENSIONS_DIR``, else
``~/.cache/torch_extensions``); this process then imports the built library, without
importing ``torch.utils.cpp_extension`` (which imports setuptools: 0.15 s of the first
fit of every process).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "MAX_BATCH",
    "gru",
    "kernel",
    "resolve_backend",
]

ENVIRONMENT_VARIABLE = "GRUFORECAST_FUSED_GRU"
SOURCE = Path(__file__).with_name("_fused_gru.cpp")
LOOPS = SOURCE.with_name("_fused_gru_loops.h")  # included by SOURCE
# gru_backend="auto" trains batches of more windows than this through nn.GRU: there the
# work is large products and elementwise passes that ATen spreads well over many cores,
# while the kernel's small-matrix loops are written for forecasting's small batches
# (bench/README.md, "The fused CPU GRU kernel", has the measurement behind the number)
MAX_BATCH = 2048
# The longest a kernel build may take (or another process's build be waited for) before
# training goes on with nn.GRU
BUILD_TIMEOUT_SECONDS = 600

_lock = threading.Lock()
_kernel: ModuleType | None = None
_failure: str | None = None


_logger = logging.getLogger("gruforecast")
_warned = False  # whether the failed build was reported (once per process)


def resolve_backend(requested: str, device: torch.device, precision: str, batch_size: int) -> str:
    """The GRU implementation a fit uses, ``"fused"`` or ``"torch"``, for the
    estimator's ``gru_backend`` (``requested``), building the kernel if need be.

    Raises
    ------
    ValueError
        If ``"fused"`` is asked for where the kernel cannot run (not the CPU, not
        float32).
    RuntimeError
        If ``"fused"`` is asked for and the kernel cannot be built here.
    """
    global _warned
    if requested == "auto":
        override = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        requested = {"0": "torch", "1": "fused"}.get(override, "auto")
    if requested == "torch":
        return "torch"
    if requested == "fused":
        if device.type != "cpu" or precision != "float32":
            raise ValueError(
                f"gru_backend='fused' is a CPU kernel in float32, but training runs on "
                f"{device} in {precision}; use gru_backend='auto' or 'torch'"
            )
        if kernel() is None:
            raise RuntimeError(
                f"gru_backend='fused' needs the fused CPU GRU kernel, which could not be "
                f"built here: {_failure}; use gru_backend='auto' or 'torch'"
            )
        return "fused"
    if device.type != "cpu" or precision != "float32" or batch_size > MAX_BATCH:
        return "torch"
    if kernel() is None:
        with _lock:
            report, _warned = not _warned, True
        if report:
            warnings.warn(
                "gruforecast could not build its fused CPU GRU kernel, so training uses "
                f"nn.GRU (slower on the CPU, same results): {_failure}",
                RuntimeWarning,
                stacklevel=3,
            )
        return "torch"
    return "fused"


def kernel() -> ModuleType | None:
    """The compiled extension, built on first call; None where it cannot be built
    (the reason is kept for the error or warning of :func:`resolve_backend`)."""
    global _kernel, _failure
    with _lock:
        if _kernel is None and _failure is None:
            try:
                _kernel = _build()
            except Exception as error:  # no compiler, no ninja, a failed build
                _failure = f"{type(error).__name__}: {str(error).strip()[-500:]}"
    return _kernel


def _loaded() -> ModuleType:
    """The kernel, for code that runs only once it has been chosen (and so built)."""
    module = kernel()
    if module is None:
        raise RuntimeError(f"the fused CPU GRU kernel could not be built: {_failure}")
    return module


_FLAGS = ["-O3", "-fno-trapping-math"]
# -fno-trapping-math lets the compiler vectorise the gates' selects (_fused_gru.cpp);
# -fopenmp makes at::parallel_for parallel (without it ATen's header runs it serially):
# the library is torch's own libgomp.so.1, already loaded, found by its soname
_OPENMP = ["-fopenmp"] if sys.platform.startswith("linux") else []
_BUILD = (
    "import json, sys\n"
    "from torch.utils import cpp_extension\n"
    "name, source, directory = sys.argv[1:4]\n"
    "cflags, ldflags = map(json.loads, sys.argv[4:])\n"
    "cpp_extension.load(\n"
    "    name, [source], extra_cflags=cflags, extra_ldflags=ldflags, build_directory=directory\n"
    ")\n"
)


def _library_name() -> str:
    """The extension's name: a hash of the source, the flags and the torch and Python
    it is built for, so that each environment has a build directory of its own (torch
    would otherwise rebuild, a minute each time, whenever another one had used it)."""
    versions = f"{_FLAGS + _OPENMP} {torch.__version__} {torch.__file__} {sys.version}"
    key = SOURCE.read_bytes() + LOOPS.read_bytes() + versions.encode()
    return "gruforecast_fused_gru_" + hashlib.sha256(key).hexdigest()[:12]


def _build_directory(name: str) -> Path:
    """Where the library ``name`` is built and kept (made if missing): a folder of that
    name under ``TORCH_EXTENSIONS_DIR``, else under torch's default root for extensions.
    (The name hashes the torch and Python it is for, so no folder per version is needed,
    as torch's own choice of folder adds.)"""
    from torch import _appdirs

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or os.path.realpath(
        _appdirs.user_cache_dir(appname="torch_extensions")
    )
    directory = Path(root) / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _build() -> ModuleType:
    name = _library_name()
    directory = _build_directory(name)
    library = _ensure_built(name, directory)
    spec = importlib.util.spec_from_file_location(name, library)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the built kernel {library}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ensure_built(name: str, directory: Path) -> Path:
    """The library, built if it is missing or not what a finished build wrote.

    A library is imported only if its checksum is the one its build recorded: a
    truncated or overwritten file would take the process down on import (a bus error).
    Checking and rebuilding happen under a lock of gruforecast's own, so that no process
    imports a library another is replacing; the system drops the lock of a process that
    dies.
    """
    library = directory / f"{name}{'.pyd' if sys.platform == 'win32' else '.so'}"
    if _intact(library):
        return library
    with _exclusive(directory / "gruforecast.lock"):
        if not _intact(library):
            _logger.warning(
                "gruforecast: compiling the fused CPU GRU kernel, once per machine and "
                "Python environment (about a minute)"
            )
            library.unlink(missing_ok=True)
            _remove_stale_lock(directory)
            _compile(name, directory)
            if not library.is_file():
                raise RuntimeError(f"the build finished without writing {library}")
            _checksum_file(library).write_text(_checksum(library))
    return library


def _checksum_file(library: Path) -> Path:
    return library.with_name(library.name + ".sha256")


def _checksum(library: Path) -> str:
    return hashlib.sha256(library.read_bytes()).hexdigest()


def _intact(library: Path) -> bool:
    """Whether ``library`` is there with the checksum its build recorded."""
    recorded = _checksum_file(library)
    try:
        return library.is_file() and recorded.read_text().strip() == _checksum(library)
    except OSError:
        return False


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (POSIX ``flock``; elsewhere, nothing), waiting
    at most BUILD_TIMEOUT_SECONDS for another process's build."""
    try:
        import fcntl
    except ImportError:  # Windows: builds are not guarded against each other
        yield
        return
    with open(path, "a") as handle:
        deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another process held {path} for over {BUILD_TIMEOUT_SECONDS} s"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_lock(directory: Path) -> None:
    """torch's build waits forever on its lock file left by a build that was killed.
    Called under gruforecast's own build lock: no other build of this library can be
    running (its name is gruforecast's, hashed from this source), so one found is such a
    leftover."""
    lock = directory / "lock"
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
        _logger.warning("gruforecast: removed a kernel build lock left by a killed build")


def _compile(name: str, directory: Path) -> None:
    """Build the extension in a child process, whose PATH has the ninja wheel's binary
    directory in front (torch's build runs ``ninja`` from PATH)."""
    environment = dict(os.environ)
    try:
        import ninja

        environment["PATH"] = ninja.BIN_DIR + os.pathsep + environment.get("PATH", "")
    except (ImportError, AttributeError):
        pass  # then the build fails with torch's own message, and the caller falls back
    command = [
        sys.executable,
        "-c",
        _BUILD,
        name,
        str(SOURCE),
        str(directory),
        json.dumps(_FLAGS + _OPENMP),
        json.dumps(_OPENMP),
    ]
    try:
        result = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"the kernel build took over {BUILD_TIMEOUT_SECONDS} s (a stale lock file in "
            "TORCH_EXTENSIONS_DIR?)"
        ) from None
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"the build exited with {result.returncode}")


class _GRULayer(torch.autograd.Function):
    """One layer: time-major x (T, B, I) and nn.GRU's four parameters -> (T, B, H)."""

    @staticmethod
    def forward(ctx, x, weight_ih, weight_hh, bias_ih, bias_hh, save, last_only):
        # save: whether a backward may follow; without one (validation passes) the
        # kernel keeps no gates of past steps. last_only: only the last state (B, H) is
        # returned, and the backward reads no gradients of the others (zero)
        outputs, rz, candidate, hidden_n = _loaded().forward(
            x.contiguous(), weight_ih, weight_hh, bias_ih, bias_hh, save
        )
        if save:
            ctx.save_for_backward(x, weight_ih, weight_hh, outputs, rz, candidate, hidden_n)
        return outputs[-1] if last_only else outputs[1:]

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        needs_x = ctx.needs_input_grad[0]
        grad_x, *rest = _loaded().backward(grad, *saved, needs_x)
        return (grad_x if needs_x else None, *rest, None, None)


def _layer_weights(module: nn.GRU, layer: int) -> list[torch.Tensor]:
    return [getattr(module, f"{name}_l{layer}") for name in _WEIGHT_NAMES]


_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def dropout(outputs: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout of one layer's time-major outputs (steps, batch, hidden), as
    ``nn.GRU`` applies it between layers in training; with a ``generator`` the masks
    come from it (a fit's own, so fits in parallel threads stay repeatable), without
    one from torch's global generator."""
    if generator is None:
        return nn.functional.dropout(outputs, p, training=True)
    keep = torch.empty_like(outputs).bernoulli_(1.0 - p, generator=generator)
    return outputs * keep / (1.0 - p)


def gru(
    module: nn.GRU,
    windows: torch.Tensor,
    last_only: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """What ``module(windows)[0]`` computes (batch-first, zero initial state), by the
    fused kernel: the last layer's outputs (batch, steps, hidden), or with ``last_only``
    its last step's (batch, hidden), which spares the backward the zero gradients of the
    others. Dropout between layers as ``nn.GRU`` applies it in training mode, with masks
    from ``generator`` when one is given (see ``dropout``)."""
    if not module.batch_first or module.bidirectional or not module.bias:
        raise ValueError(
            "the fused GRU supports batch_first, one-directional nn.GRU with biases only"
        )
    outputs = windows.transpose(0, 1).contiguous()
    for layer in range(module.num_layers):
        if layer and module.dropout and module.training:
            outputs = dropout(outputs, module.dropout, generator)
        outputs = _GRULayer.apply(
            outputs,
            *_layer_weights(module, layer),
            torch.is_grad_enabled(),
            last_only and layer == module.num_layers - 1,
        )
    return outputs if last_only else outputs.transpose(0, 1)


def _one_chunk(weights: list[torch.Tensor]) -> list[torch.Tensor]:
    """``weights`` as views of one new buffer, in their order (a copy that gradients
    pass through). A layer's weights inside nn.GRU's flattened buffer are not one
    chunk, so cuDNN would copy them itself on every call, with a warning each time."""
    flat = torch.cat([weight.reshape(-1) for weight in weights])
    pieces = flat.split([weight.numel() for weight in weights])
    return [piece.view_as(weight) for piece, weight in zip(pieces, weights, strict=True)]


def layered_gru(module: nn.GRU, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``module(windows)[0]`` in training mode with dropout masks from ``generator``:
    ``nn.GRU``'s own kernels (cuDNN on a GPU) one layer at a time, the masks drawn in the
    same order and layout as ``gru`` draws them, so both backends train alike."""
    outputs = windows.transpose(0, 1)
    for layer in range(module.num_layers):
        if layer and module.dropout and module.training:
            outputs = dropout(outputs, module.dropout, generator)
        initial = outputs.new_zeros(1, outputs.shape[1], module.hidden_size)
        weights = _layer_weights(module, layer)
        if outputs.is_cuda:  # cuDNN reads one layer's weights from one chunk of memory only
            weights = _one_chunk(weights)
        # the function nn.GRU.forward calls, given one layer's weights: time-major in
        # and out, biases, 1 layer, no dropout of its own, train, one direction
        outputs = torch._VF.gru(
            outputs,
            initial,
            weights,
            True,
            1,
            0.0,
            module.training,
            False,
            False,
        )[0]
    return outputs.transpose(0, 1)
