"""Where the network runs: the ``device`` parameter resolved to a device that works
here, full float32 for cuDNN's GRU outside training, and prediction in chunks that fit
the device's memory (torch)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:  # pragma: no cover
    from ._network import GRUNet

__all__ = [
    "EVALUATION_BATCH_SIZE",
    "evaluation_batch_size",
    "full_float32",
    "predict_in_chunks",
    "resolve_device",
    "usable_device",
]

# Rows per forward pass when evaluating: large enough to be fast, small enough that the
# GRU's activations for a long series never sit in memory at once (their size grows with
# rows x window x hidden size; bench/README.md's scaling table shows fit's memory).
EVALUATION_BATCH_SIZE = 2048
# On CUDA, larger chunks keep the GPU busy: as many rows as keep one GRU layer's output
# sequence under this many bytes (bench/README.md, the GPU section, has the measurement)
CUDA_EVALUATION_BYTES = 512 * 2**20


def evaluation_batch_size(device: torch.device, window: int, hidden_size: int) -> int:
    """Rows per forward pass outside training: EVALUATION_BATCH_SIZE on the CPU; on
    CUDA as many as keep a layer's outputs under CUDA_EVALUATION_BYTES (not fewer)."""
    if device.type != "cuda":
        return EVALUATION_BATCH_SIZE
    per_row = 4 * window * hidden_size  # float32 outputs of one layer
    return max(EVALUATION_BATCH_SIZE, CUDA_EVALUATION_BYTES // per_row)


def resolve_device(device: Any) -> torch.device:
    """Turn the ``device`` parameter into a ``torch.device`` that really works here.

    ``"auto"`` picks CUDA when ``torch.cuda.is_available()``, else the CPU. An explicit
    CUDA request that cannot be honoured is an error, not a silent CPU fallback.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} asks for CUDA, but torch.cuda.is_available() is False "
                f"here (torch {torch.__version__}); use device='auto' or 'cpu'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}, but only {torch.cuda.device_count()} CUDA device(s) "
                "are visible"
            )
    elif resolved.type != "cpu":
        raise ValueError(f"device must be 'auto', 'cpu' or a CUDA device, got {device!r}")
    return resolved


def usable_device(saved: str) -> torch.device:
    """The device a model was saved or pickled from if it exists here, else the CPU
    (a model trained on ``cuda:1`` loads on a machine with one GPU, or none)."""
    try:
        return resolve_device(saved)
    except ValueError:
        return torch.device("cpu")


class _FullFloat32:
    """Who is inside :func:`full_float32` (the setting is process-wide): the first to
    enter sets it, the last to leave puts it back, so that threads that predict at the
    same time never see it switched back in the middle of a forward pass."""

    lock = threading.Lock()
    inside = 0
    saved: tuple[Any, str, Any] | None = None


@contextlib.contextmanager
def full_float32(device: torch.device) -> Iterator[None]:
    """Run cuDNN's float32 GRU at full float32 precision inside the block.

    PyTorch lets cuDNN compute float32 RNNs with TF32 tensor cores by default (10-bit
    mantissas: forecasts off by about 1e-4 relative on an H100). That is fine for
    training, but forecasts, and the calibration errors behind the intervals, must
    equal the CPU's and the exported model's. Only CUDA devices touch the setting, and
    it is restored when the last block of any thread ends (it is process-wide: training
    in another thread meanwhile runs at full float32 too, slower, never less exact).
    """
    if device.type != "cuda":
        yield
        return
    with _FullFloat32.lock:
        if _FullFloat32.inside == 0:
            rnn = getattr(torch.backends.cudnn, "rnn", None)
            exact: str | bool
            if hasattr(rnn, "fp32_precision"):  # torch >= 2.9; mixing in allow_tf32 would raise
                owner, name, exact = rnn, "fp32_precision", "ieee"
            else:
                owner, name, exact = torch.backends.cudnn, "allow_tf32", False
            _FullFloat32.saved = (owner, name, getattr(owner, name))
            setattr(owner, name, exact)
        _FullFloat32.inside += 1
    try:
        yield
    finally:
        with _FullFloat32.lock:
            _FullFloat32.inside -= 1
            if _FullFloat32.inside == 0 and _FullFloat32.saved is not None:
                owner, name, previous = _FullFloat32.saved
                setattr(owner, name, previous)
                _FullFloat32.saved = None


def predict_in_chunks(network: GRUNet, inputs: Any, device: torch.device) -> np.ndarray:
    """The network's outputs for ``inputs`` (a NumPy array or a tensor on any device;
    or, for a network with covariates, a tuple of them: windows, their covariate
    channels, those over the horizon), as a NumPy array: chunk by chunk on ``device``
    (see :func:`evaluation_batch_size`), at full float32 (:func:`full_float32`),
    without autograd."""
    parts = inputs if isinstance(inputs, tuple) else (inputs,)
    rows = evaluation_batch_size(device, parts[0].shape[1], network.hidden_size)
    outputs = []
    with torch.inference_mode(), full_float32(device):
        for start in range(0, len(parts[0]), rows):
            chunk = [torch.as_tensor(part[start : start + rows], device=device) for part in parts]
            outputs.append(network(*chunk).cpu().numpy())
    return np.concatenate(outputs)
