"""The fused CPU GRU that training uses in place of ``nn.GRU``'s forward and backward.

PyTorch's CPU ``nn.GRU`` spends its time at forecasting sizes in dispatching a dozen
small operations per time step, forward and (through autograd) backward.
``_fused_gru.cpp`` runs one layer's time loop in C++, the batch's rows split over the
threads: per step the input and recurrent products (its own small-matrix loops) and one
vectorised pass over the gates (``_fused_gru_loops.h``), and a hand-written backward
that adds each step's share of the weight gradients while the step's values are in
cache (bench/README.md has the speed-up). Training steps inside :func:`workspace` reuse
their buffers. Batches of more than ``MAX_BATCH`` windows train through ``nn.GRU``. The
trainer's validation passes use the kernel's forward too (:func:`evaluation`). The
weights are ``nn.GRU``'s own parameters, so ``predict`` and the ONNX export still run
``nn.GRU``, and the tests check the kernel's outputs and gradients against it.

The kernel is compiled with PyTorch's C++ extension tools the first time a network
trains on the CPU (about a minute, once per machine and Python environment; the build
is cached in PyTorch's extension directory, ``TORCH_EXTENSIONS_DIR``). Where it cannot be
built (no C++ compiler or ninja), training falls back to ``nn.GRU`` with a warning. The
environment variable ``GRUFORECAST_FUSED_GRU`` decides: ``0`` never uses it, ``1``
requires it (an error if it cannot be built), anything else or unset uses it when it
builds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

__all__ = ["ENVIRONMENT_VARIABLE", "MAX_BATCH", "enabled", "evaluation", "gru", "in_evaluation",
           "kernel", "workspace"]

ENVIRONMENT_VARIABLE = "GRUFORECAST_FUSED_GRU"
SOURCE = Path(__file__).with_name("_fused_gru.cpp")
LOOPS = SOURCE.with_name("_fused_gru_loops.h")  # included by SOURCE
# Training batches of more windows than this use nn.GRU: there the work is large
# products and elementwise passes that ATen spreads over all cores. On 16 cores, batch
# 1024 trained 1.6x faster with the kernel and batch 16384 3x slower (bench/README.md),
# measured when the kernel's loops ran on one core; no default batch comes near (at most
# 256).
MAX_BATCH = 2048

_lock = threading.Lock()
_thread = threading.local()  # whether this thread is inside evaluation()
_kernel: ModuleType | None = None
_failure: str | None = None


def _setting() -> str:
    return os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip()


def enabled() -> bool:
    """Whether training on the CPU uses the fused kernel (building it if need be)."""
    return _setting() != "0" and kernel() is not None


@contextlib.contextmanager
def evaluation() -> Iterator[None]:
    """Inside the block, CPU forward passes in evaluation mode without autograd run
    through the kernel too: the trainer's validation losses (through nn.GRU, 8% of an
    epoch of the time-to-accuracy benchmark's sunspots fit; half that through the
    kernel). ``predict`` and everything else keep nn.GRU."""
    previous = in_evaluation()
    _thread.evaluation = True
    try:
        yield
    finally:
        _thread.evaluation = previous


@contextlib.contextmanager
def workspace() -> Iterator[None]:
    """Inside the block, the kernel's training steps reuse their large buffers from a
    cache (at most 256 MiB, dropped when the last open block ends) instead of having
    the system map fresh memory each step, which can cost a page fault for every 4 KiB
    first written (a training step at batch 124 up to 1.4x slower, depending on the
    allocator's state). The trainer's fit runs in one; elsewhere the block does nothing
    but build the kernel if need be."""
    module = kernel() if _setting() != "0" else None
    if module is None:
        yield
        return
    module.enter_workspace()
    try:
        yield
    finally:
        module.leave_workspace()


def in_evaluation() -> bool:
    """Whether this thread is inside :func:`evaluation`."""
    return getattr(_thread, "evaluation", False)


def kernel() -> ModuleType | None:
    """The compiled extension, built on first call; None where it cannot be built
    (after one warning), or an error if ``GRUFORECAST_FUSED_GRU=1``."""
    global _kernel, _failure
    with _lock:
        if _kernel is None and _failure is None:
            try:
                _kernel = _build()
            except Exception as error:  # no compiler, no ninja, a failed build
                _failure = f"{type(error).__name__}: {str(error).strip()[:500]}"
                if _setting() != "1":
                    warnings.warn(
                        "gruforecast could not build its fused CPU GRU kernel, so training "
                        f"uses nn.GRU (slower on the CPU, same results): {_failure}",
                        RuntimeWarning,
                        stacklevel=4,
                    )
    if _kernel is None and _setting() == "1":
        raise RuntimeError(
            f"{ENVIRONMENT_VARIABLE}=1 requires the fused CPU GRU kernel, which could not "
            f"be built: {_failure}"
        )
    return _kernel


def _build() -> ModuleType:
    from torch.utils import cpp_extension

    if shutil.which("ninja") is None:
        try:  # the ninja wheel (a dependency) puts its binary here, off PATH when its
            import ninja  # environment is not activated

            os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")
        except (ImportError, AttributeError):
            pass  # then the build fails with torch's own message, and we fall back
    # The name carries a hash of the source and of the torch it is built against (one
    # build directory per environment: torch would otherwise rebuild it, a minute each
    # time, whenever another virtual environment had used it last).
    # -fno-trapping-math lets the compiler vectorise the gates' selects (_fused_gru.cpp);
    # -fopenmp makes at::parallel_for parallel (without it ATen's header runs it serially):
    # the library is torch's own libgomp.so.1, already loaded, found by its soname
    flags = ["-O3", "-fno-trapping-math"]
    openmp = ["-fopenmp"] if sys.platform.startswith("linux") else []
    versions = f"{flags + openmp} {torch.__version__} {torch.__file__} {sys.version}"
    key = SOURCE.read_bytes() + LOOPS.read_bytes() + versions.encode()
    name = "gruforecast_fused_gru_" + hashlib.sha256(key).hexdigest()[:12]
    try:
        directory = Path(cpp_extension._get_build_directory(name, verbose=False))
        built = any(directory.glob(f"{name}*.so")) or any(directory.glob(f"{name}*.pyd"))
    except Exception:  # a private helper: only decides whether to say something
        built = False
    if not built:
        print(
            "gruforecast: compiling the fused CPU GRU kernel, once per machine and "
            "Python environment (about a minute)...",
            file=sys.stderr,
            flush=True,
        )
    return cpp_extension.load(
        name, [str(SOURCE)], extra_cflags=flags + openmp, extra_ldflags=openmp, verbose=False
    )


class _GRULayer(torch.autograd.Function):
    """One layer: time-major x (T, B, I) and nn.GRU's four parameters -> (T, B, H)."""

    @staticmethod
    def forward(ctx, x, weight_ih, weight_hh, bias_ih, bias_hh, save, last_only):
        # save: whether a backward may follow; without one (validation passes) the
        # kernel keeps no gates of past steps. last_only: only the last state (B, H) is
        # returned, and the backward reads no gradients of the others (zero)
        outputs, rz, candidate, hidden_n = kernel().forward(
            x.contiguous(), weight_ih, weight_hh, bias_ih, bias_hh, save
        )
        if save:
            ctx.save_for_backward(x, weight_ih, weight_hh, outputs, rz, candidate, hidden_n)
        return outputs[-1] if last_only else outputs[1:]

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        needs_x = ctx.needs_input_grad[0]
        grad_x, *rest = kernel().backward(grad, *saved, needs_x)
        return (grad_x if needs_x else None, *rest, None, None)


def gru(module: nn.GRU, windows: torch.Tensor, last_only: bool = False) -> torch.Tensor:
    """What ``module(windows)[0]`` computes (batch-first, zero initial state), by the
    fused kernel: the last layer's outputs (batch, steps, hidden), or with ``last_only``
    its last step's (batch, hidden), which spares the backward the zero gradients of the
    others. Dropout between layers as ``nn.GRU`` applies it in training mode."""
    if not module.batch_first or module.bidirectional or not module.bias:
        raise ValueError(
            "the fused GRU supports batch_first, one-directional nn.GRU with biases only"
        )
    outputs = windows.transpose(0, 1).contiguous()
    for layer in range(module.num_layers):
        if layer and module.dropout and module.training:
            outputs = nn.functional.dropout(outputs, module.dropout, training=True)
        outputs = _GRULayer.apply(
            outputs,
            getattr(module, f"weight_ih_l{layer}"),
            getattr(module, f"weight_hh_l{layer}"),
            getattr(module, f"bias_ih_l{layer}"),
            getattr(module, f"bias_hh_l{layer}"),
            torch.is_grad_enabled(),
            last_only and layer == module.num_layers - 1,
        )
    return outputs if last_only else outputs.transpose(0, 1)
