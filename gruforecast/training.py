"""The training loop: Adam on MSE, shuffled minibatches, early stopping on the last part.

The seed tutorial's loop never called ``zero_grad``, ``backward`` or ``step``, so it
trained nothing. The loop here is small named steps, as in skorch
(``fit -> fit_loop -> run_single_epoch -> train_step``), and a :class:`History` records
each epoch.

Data lives on the training device for the whole fit: the caller moves the (scaled)
series there once, the windows are views of it (``Tensor.unfold``), and each minibatch is
gathered on the device by an index tensor. The only host/device traffic per epoch is
one permutation going in and one loss value coming out.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from ._state import History
from .network import GRUNet

__all__ = [
    "History",
    "Trainer",
    "TrainingDivergedError",
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


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss before any epoch finished with a finite one."""


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


@contextlib.contextmanager
def full_float32(device: torch.device) -> Iterator[None]:
    """Run cuDNN's float32 GRU at full float32 precision inside the block.

    PyTorch lets cuDNN compute float32 RNNs with TF32 tensor cores by default (10-bit
    mantissas: forecasts off by about 1e-4 relative on an H100). That is fine for
    training, but forecasts, and the calibration errors behind the intervals, must
    equal the CPU's and the exported model's. Only CUDA devices touch the setting, and
    it is restored after the block (it is process-wide: a thread running cuDNN at the
    same moment sees it too).
    """
    if device.type != "cuda":
        yield
        return
    rnn = getattr(torch.backends.cudnn, "rnn", None)
    exact: str | bool
    if hasattr(rnn, "fp32_precision"):  # torch >= 2.9; mixing in allow_tf32 would raise
        owner, name, exact = rnn, "fp32_precision", "ieee"
    else:
        owner, name, exact = torch.backends.cudnn, "allow_tf32", False
    previous = getattr(owner, name)
    setattr(owner, name, exact)
    try:
        yield
    finally:
        setattr(owner, name, previous)


def predict_in_chunks(network: GRUNet, inputs: Any, device: torch.device) -> np.ndarray:
    """The network's outputs for ``inputs`` (a NumPy array or a tensor on any device),
    as a NumPy array: chunk by chunk on ``device`` (see :func:`evaluation_batch_size`),
    at full float32 (:func:`full_float32`), without autograd."""
    rows = evaluation_batch_size(device, inputs.shape[1], network.hidden_size)
    outputs = []
    with torch.inference_mode(), full_float32(device):
        for start in range(0, len(inputs), rows):
            chunk = torch.as_tensor(inputs[start : start + rows], device=device)
            outputs.append(network(chunk).cpu().numpy())
    return np.concatenate(outputs)


class Trainer:
    """Fits a network on windows that already sit on the training device.

    Parameters
    ----------
    network : nn.Module
        Maps (batch, window) inputs to (batch, horizon) outputs.
    epochs, batch_size, lr, weight_decay, gradient_clip, patience, tol, verbose
        As documented on :class:`gruforecast.GRUForecaster`.
    generator : torch.Generator
        The CPU generator that shuffles minibatches (seeded for repeatable runs).
    autocast_dtype : torch.dtype or None
        Runs each training step's forward pass under ``torch.autocast`` in this dtype
        (mixed precision); None trains in float32. Evaluation is always float32.
    evaluation_batch_size : int
        Rows per forward pass when computing the validation loss.
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        epochs: int,
        batch_size: int,
        lr: float,
        weight_decay: float,
        gradient_clip: float | None,
        patience: int | None,
        verbose: int,
        tol: float = 0.0,
        generator: torch.Generator,
        autocast_dtype: torch.dtype | None = None,
        evaluation_batch_size: int = EVALUATION_BATCH_SIZE,
    ) -> None:
        self.network = network
        self.epochs = epochs
        self.batch_size = batch_size
        self.gradient_clip = gradient_clip
        self.patience = patience
        self.tol = tol
        self.verbose = verbose
        self.generator = generator
        self.autocast_dtype = autocast_dtype
        self.evaluation_batch_size = evaluation_batch_size
        # fused: one kernel for all parameters instead of a few small operations per
        # parameter tensor; the same update to float32 rounding
        device = next(network.parameters()).device.type
        self.optimizer = torch.optim.Adam(
            network.parameters(),
            lr=lr,
            weight_decay=weight_decay,
            fused=device in ("cpu", "cuda"),
        )
        self.loss_function = nn.MSELoss()
        self.history = History()
        self.stop_reason = "not started"
        self._best_loss = math.inf
        self._best_state: dict[str, torch.Tensor] | None = None

    def fit(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        valid_inputs: torch.Tensor,
        valid_targets: torch.Tensor,
    ) -> History:
        """Train on ``inputs``/``targets``; the validation part may be empty.

        With a validation part, training stops after ``patience`` epochs without a
        validation loss below ``(1 - tol)`` times the loss of the last epoch that reset
        the count, and the best weights (the lowest loss, however small the gain) are
        restored. A non-finite loss stops it
        too (the best finite weights are restored, with a warning). Ctrl-C stops it
        cleanly: the best weights so far are restored and the history is kept; before
        the first epoch ends there are none, and the interrupt goes on up.
        """
        try:
            self.fit_loop(inputs, targets, valid_inputs, valid_targets)
        except KeyboardInterrupt:
            if self._best_state is None:
                raise
            self.stop_reason = "interrupted"
            warnings.warn(
                f"training interrupted by the user after {len(self.history)} complete "
                "epoch(s); the model keeps the best weights so far",
                RuntimeWarning,
                stacklevel=3,
            )
        finally:
            self._restore_best()
            self.network.eval()
        return self.history

    def fit_loop(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        valid_inputs: torch.Tensor,
        valid_targets: torch.Tensor,
    ) -> None:
        from tqdm.auto import tqdm

        has_validation = len(valid_inputs) > 0
        epochs_without_improvement = 0
        reference = math.inf  # the loss an epoch must beat by tol to reset the count
        self.stop_reason = "completed"
        progress = tqdm(
            range(1, self.epochs + 1), desc="fit", unit="epoch", disable=not self.verbose
        )
        with progress:
            for epoch in progress:
                started = time.perf_counter()
                train_loss = self.run_single_epoch(inputs, targets)
                valid_loss = self.evaluate(valid_inputs, valid_targets) if has_validation else None
                monitored = valid_loss if valid_loss is not None else train_loss
                if not (math.isfinite(train_loss) and math.isfinite(monitored)):
                    self._diverged(epoch, train_loss, valid_loss)
                    return
                improved = monitored < self._best_loss
                if improved:
                    self._best_loss = monitored
                    self._best_state = {
                        name: tensor.detach().clone()
                        for name, tensor in self.network.state_dict().items()
                    }
                if monitored < reference * (1.0 - self.tol):
                    reference = monitored
                    epochs_without_improvement = 0
                else:
                    epochs_without_improvement += 1
                self.history.append(
                    {
                        "epoch": epoch,
                        "train_loss": train_loss,
                        "valid_loss": valid_loss,
                        "seconds": time.perf_counter() - started,
                        "best": improved,
                    }
                )
                postfix = {"train_loss": f"{train_loss:.4g}"}
                if valid_loss is not None:
                    postfix["valid_loss"] = f"{valid_loss:.4g}"
                progress.set_postfix(postfix, refresh=False)
                if (
                    has_validation
                    and self.patience is not None
                    and epochs_without_improvement >= self.patience
                ):
                    self.stop_reason = "early stopping"
                    return

    def run_single_epoch(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """One pass over shuffled minibatches; returns the mean training loss."""
        self.network.train()
        n_rows = len(inputs)
        # shuffled on the CPU generator (repeatable on any device), moved once per epoch
        order = torch.randperm(n_rows, generator=self.generator).to(inputs.device)
        total = torch.zeros((), dtype=torch.float64, device=inputs.device)
        for start in range(0, n_rows, self.batch_size):
            rows = order[start : start + self.batch_size]
            loss = self.train_step(inputs[rows], targets[rows])
            total += loss * len(rows)
        return float(total) / n_rows  # the one synchronisation of the epoch

    def train_step(self, batch_inputs: torch.Tensor, batch_targets: torch.Tensor) -> torch.Tensor:
        """zero_grad, forward, backward, clip, step: what the seed tutorial left out."""
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(
            batch_inputs.device.type,
            dtype=self.autocast_dtype,
            enabled=self.autocast_dtype is not None,
        ):
            predictions = self.network(batch_inputs)
        loss = self.loss_function(predictions.float(), batch_targets)
        loss.backward()
        if self.gradient_clip is not None:
            nn.utils.clip_grad_norm_(self.network.parameters(), self.gradient_clip)
        self.optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """Mean squared error over all rows, in evaluation mode (no dropout)."""
        self.network.eval()
        total = torch.zeros((), dtype=torch.float64, device=inputs.device)
        for start in range(0, len(inputs), self.evaluation_batch_size):
            stop = start + self.evaluation_batch_size
            error = self.network(inputs[start:stop]) - targets[start:stop]
            total += error.double().pow(2).sum()
        return float(total) / targets.numel()

    def _diverged(self, epoch: int, train_loss: float, valid_loss: float | None) -> None:
        self.stop_reason = "diverged"
        losses = f"train loss {train_loss}" + (
            f", validation loss {valid_loss}" if valid_loss is not None else ""
        )
        advice = "lower lr, set gradient_clip, or check the series for extreme values"
        if self._best_state is None:
            raise TrainingDivergedError(
                f"training diverged in epoch {epoch} ({losses}) before any epoch ended "
                f"with a finite loss, so there are no weights to keep; {advice}"
            )
        warnings.warn(
            f"training diverged in epoch {epoch} ({losses}); stopped and restored the "
            f"weights of epoch {self.history.best_epoch}; {advice}",
            RuntimeWarning,
            stacklevel=4,
        )

    def _restore_best(self) -> None:
        if self._best_state is not None:
            self.network.load_state_dict(self._best_state)
