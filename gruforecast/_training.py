"""The training loop: Adam on MSE, shuffled minibatches, early stopping on the last part.

The seed tutorial's loop never called ``zero_grad``, ``backward`` or ``step``, so it
trained nothing. The loop here is small named steps, as in skorch
(``fit -> fit_loop -> run_single_epoch -> train_step``), a :class:`History` records
each epoch, and listeners are told of the fit as it goes, as skorch's callbacks are
(:class:`Listener`; the progress display on stderr, ``gruforecast._progress``, is one).

Data lives on the training device for the whole fit: the caller moves the (scaled)
series there once, the windows are views of it (``Tensor.unfold``), and each minibatch is
gathered on the device by an index tensor. The only host/device traffic per epoch is
one permutation going in and one loss value coming out.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import torch
from torch import nn

from ._ddp import Group
from ._device import EVALUATION_BATCH_SIZE
from ._history import History

__all__ = [
    "Inputs",
    "Listener",
    "Trainer",
    "TrainingDivergedError",
    "WindowTable",
]


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss before any epoch finished with a finite one."""


class WindowTable:
    """Windows of ``width`` values cut from one 1-D tensor at ``starts`` (plus
    ``shift``): indexed like a (len(starts), width) tensor of windows (``table[rows]``,
    ``table[a:b]``), each index building only the rows asked for. How the windows of
    many series are trained on without existing (see ``gruforecast._panel``)."""

    def __init__(self, values: torch.Tensor, starts: torch.Tensor, width: int, shift: int = 0):
        self.values, self.starts, self.width = values, starts, width
        self._steps = torch.arange(shift, shift + width, device=values.device)

    @property
    def device(self) -> torch.device:
        return self.values.device

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.starts), self.width)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, rows: Any) -> torch.Tensor:
        return self.values[self.starts[rows].unsqueeze(-1) + self._steps]

    def numel(self) -> int:
        return len(self.starts) * self.width


class Inputs:
    """A network's inputs of several tensors, indexed together like one table:
    ``inputs[rows]`` is the tuple of each one's rows, the network's arguments (the
    windows, then their covariate channels and those over the horizon; see ``GRUNet``)."""

    def __init__(self, *tables: Any) -> None:
        self.tables = tables

    @property
    def device(self) -> torch.device:
        return self.tables[0].device

    def __len__(self) -> int:
        return len(self.tables[0])

    def __getitem__(self, rows: Any) -> tuple[torch.Tensor, ...]:
        return tuple(table[rows] for table in self.tables)


def _call(network: Any, inputs: Any) -> torch.Tensor:
    """``network`` on one batch of inputs: a tensor, or a tuple of them (:class:`Inputs`)."""
    return network(*inputs) if isinstance(inputs, tuple) else network(inputs)


class Listener(Protocol):
    """What a :class:`Trainer` tells those who watch it fit, as skorch tells its
    callbacks: its hooks, called in this order, each doing nothing here. A listener
    subclasses this and overrides the hooks it needs (or, the protocol being
    structural, defines all four); :class:`gruforecast._progress.Progress`, the display
    of ``verbose``, is one. An error raised by a hook ends the fit and goes on up.
    """

    def on_train_begin(self, epochs: int, patience: int | None, tol: float) -> None:
        """Before the first epoch: at most ``epochs`` epochs; with early stopping,
        ``patience`` epochs without a validation loss ``tol`` (a fraction) lower stop it
        (``patience`` None: no early stopping, every epoch runs)."""

    def on_epoch_end(self, history: History, patience_left: int | None) -> None:
        """After each finished epoch, appended to ``history``; ``patience_left``: epochs
        without a gain before training stops (None without early stopping)."""

    def on_diverged(self, epoch: int, train_loss: float, valid_loss: float | None) -> None:
        """Epoch ``epoch`` ended with a non-finite loss (it is not in the history); the
        trainer's warning, or its TrainingDivergedError, comes next."""

    def on_train_end(self, history: History, stop_reason: str | None) -> None:
        """After the last epoch: ``stop_reason`` is "completed", "early stopping",
        "diverged" or "interrupted" (Ctrl-C), or None when an error is on its way up."""


class _FusedAdam:
    """Adam as ``torch.optim.Adam(fused=True)`` updates (the same kernel,
    ``torch._fused_adam_``, on the same state: bitwise the same weights), without
    ``torch.optim.Optimizer``, whose first use in a process imports ``torch._dynamo``:
    0.6 to 0.9 s of a fit that then takes 0.6 s (M1 yearly's 181 series), in every
    process that fits, the command line's included. Float32 parameters on the CPU or
    a CUDA device; no per-parameter options, no state_dict (nothing resumes a fit)."""

    def __init__(
        self,
        parameters: Any,
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = list(parameters)
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.exp_avgs = [
            torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params
        ]
        self.exp_avg_sqs = [
            torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params
        ]
        # as torch's fused Adam keeps it: a float32 count on the parameter's device
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients (always set to None, as the trainer asks)."""
        for parameter in self.params:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [k for k, parameter in enumerate(self.params) if parameter.grad is not None]
        if not live:
            return
        steps = [self.steps[k] for k in live]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            [self.params[k] for k in live],
            [self.params[k].grad for k in live],
            [self.exp_avgs[k] for k in live],
            [self.exp_avg_sqs[k] for k in live],
            [],
            steps,
            amsgrad=False,
            lr=self.lr,
            beta1=self.betas[0],
            beta2=self.betas[1],
            weight_decay=self.weight_decay,
            eps=self.eps,
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> None:
        """Scale the gradients to a total 2-norm of at most ``max_norm``: what
        ``nn.utils.clip_grad_norm_`` computes (the same foreach kernels, so the same
        numbers to the bit), without its per-call sorting of the tensors by device and
        dtype, a quarter of a small network's training step on the CPU."""
        grads = [parameter.grad for parameter in self.params if parameter.grad is not None]
        if not grads:
            return
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))


class Trainer:
    """Fits a network on windows that already sit on the training device.

    Parameters
    ----------
    network : nn.Module
        Maps (batch, window) inputs to (batch, horizon) outputs.
    epochs, batch_size, lr, weight_decay, gradient_clip, patience, tol
        As documented on :class:`gruforecast.GRUForecaster`.
    generator : torch.Generator
        The CPU generator that shuffles minibatches (seeded for repeatable runs).
    autocast_dtype : torch.dtype or None
        Runs each training step's forward pass under ``torch.autocast`` in this dtype
        (mixed precision); None trains in float32. Evaluation is always float32.
    evaluation_batch_size : int
        Rows per forward pass when computing the validation loss.
    rows_per_epoch : int, optional
        Train on this many rows an epoch, drawn anew each epoch, instead of all of them
        (a panel of many series, where a full pass would take too long).
    group : gruforecast._ddp.Group, optional
        The processes that train together (torch.distributed): each minibatch and the
        validation windows are split among them, the network trains inside
        DistributedDataParallel, and every loss the loop decides on is all-reduced, so
        every rank stops at the same epoch with the same weights (see
        ``gruforecast._ddp``). None: this process alone.
    listeners : sequence of Listener, optional
        Told of the fit as it goes (:class:`Listener`'s hooks, called in the order
        given); kept in ``self.listeners``.
    baseline : bool, default=False
        Measure the starting weights on the validation part before the first epoch
        (``baseline_loss``): an epoch is kept only where it beats them, and where none
        does the network ends with the weights it started with (fine-tuning a
        pretrained prior keeps the prior unless training validates better).

    The inputs and targets :meth:`fit` takes are tensors of windows, or
    :class:`WindowTable` s indexed like them.
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
        tol: float = 0.0,
        generator: torch.Generator,
        autocast_dtype: torch.dtype | None = None,
        evaluation_batch_size: int = EVALUATION_BATCH_SIZE,
        rows_per_epoch: int | None = None,
        group: Group | None = None,
        listeners: Sequence[Listener] = (),
        baseline: bool = False,
    ) -> None:
        self.listeners: list[Listener] = list(listeners)
        self.baseline = baseline
        self.baseline_loss: float | None = None
        self.network = network
        self.group = group
        # what training steps call: the network, or DDP around it (same parameters)
        self.model = network if group is None else group.wrap(network)
        self.epochs = epochs
        self.batch_size = batch_size
        self.gradient_clip = gradient_clip
        self.patience = patience
        self.tol = tol
        self.generator = generator
        self.autocast_dtype = autocast_dtype
        self.evaluation_batch_size = evaluation_batch_size
        self.rows_per_epoch = rows_per_epoch
        # fused: one kernel for all parameters instead of a few small operations per
        # parameter tensor; the same update to float32 rounding
        device = next(network.parameters()).device.type
        self.optimizer: Any = (
            _FusedAdam(network.parameters(), lr=lr, weight_decay=weight_decay)
            if device in ("cpu", "cuda")
            else torch.optim.Adam(network.parameters(), lr=lr, weight_decay=weight_decay)
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
        if self.group is not None:  # the same model on every rank, whatever happened
            self.group.broadcast_module(self.network)
        return self.history

    def fit_loop(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        valid_inputs: torch.Tensor,
        valid_targets: torch.Tensor,
    ) -> None:
        has_validation = len(valid_inputs) > 0
        epochs_without_improvement = 0
        reference = math.inf  # the loss an epoch must beat by tol to reset the count
        self.stop_reason = "completed"
        early_stopping = has_validation and self.patience is not None
        if self.baseline and has_validation:  # the start is the best until beaten
            self.baseline_loss = self.evaluate(valid_inputs, valid_targets)
            if math.isfinite(self.baseline_loss):
                self._best_loss = reference = self.baseline_loss
                self._best_state = {
                    name: tensor.detach().clone()
                    for name, tensor in self.network.state_dict().items()
                }
        for listener in self.listeners:
            listener.on_train_begin(
                self.epochs, self.patience if early_stopping else None, self.tol
            )
        try:
            for epoch in range(1, self.epochs + 1):
                started = time.perf_counter()
                train_loss = self.run_single_epoch(inputs, targets)
                valid_loss = self.evaluate(valid_inputs, valid_targets) if has_validation else None
                monitored = valid_loss if valid_loss is not None else train_loss
                # in a group the losses are all-reduced, so each decision below is the
                # same on every rank; agree() makes sure of it
                diverged = not (math.isfinite(train_loss) and math.isfinite(monitored))
                if self.group is not None:
                    diverged = self.group.agree(diverged)
                if diverged:
                    for listener in self.listeners:  # before the warning or error
                        listener.on_diverged(epoch, train_loss, valid_loss)
                    self._diverged(epoch, train_loss, valid_loss)
                    break
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
                patience_left = (
                    self.patience - epochs_without_improvement
                    if has_validation and self.patience is not None  # early stopping
                    else None
                )
                for listener in self.listeners:
                    listener.on_epoch_end(self.history, patience_left)
                stop = patience_left is not None and patience_left <= 0
                if self.group is not None:  # every rank stops with the others
                    stop = self.group.agree(stop)
                if stop:
                    self.stop_reason = "early stopping"
                    break
        except KeyboardInterrupt:
            self._tell_end("interrupted")
            raise
        except BaseException:
            self._tell_end(None)  # the error says what happened
            raise
        self._tell_end(self.stop_reason)

    def _tell_end(self, stop_reason: str | None) -> None:
        for listener in self.listeners:
            listener.on_train_end(self.history, stop_reason)

    def run_single_epoch(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """One pass over shuffled minibatches; returns the mean training loss."""
        self.model.train()
        # shuffled on the CPU generator (repeatable on any device), moved once per epoch;
        # with rows_per_epoch, an epoch is that many rows drawn anew each epoch
        # (every rank of a group draws the same order and trains on its share of each
        # minibatch)
        order = torch.randperm(len(inputs), generator=self.generator)[: self.rows_per_epoch]
        order = order.to(inputs.device)
        n_rows = len(order)
        total = torch.zeros((), dtype=torch.float64, device=inputs.device)
        for start in range(0, n_rows, self.batch_size):
            rows, factor = order[start : start + self.batch_size], 1.0
            if self.group is not None:
                rows, factor = self.group.share(rows)
            loss = self.train_step(inputs[rows], targets[rows], factor)
            if factor:
                total += loss * len(rows)
        if self.group is not None:
            self.group.all_reduce(total)
        return float(total) / n_rows  # the one synchronisation of the epoch

    def train_step(
        self,
        batch_inputs: torch.Tensor | tuple[torch.Tensor, ...],
        batch_targets: torch.Tensor,
        factor: float = 1.0,
    ) -> torch.Tensor:
        """zero_grad, forward, backward, clip, step: what the seed tutorial left out.
        ``factor`` weights this process's loss in a group's step (``Group.share``)."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.autocast_dtype is None:  # (entering a disabled autocast costs a step 5%)
            predictions = _call(self.model, batch_inputs)
        else:
            with torch.autocast(batch_targets.device.type, dtype=self.autocast_dtype):
                predictions = _call(self.model, batch_inputs)
        loss = self.loss_function(predictions.float(), batch_targets)
        (loss if factor == 1.0 else loss * factor).backward()
        if self.gradient_clip is not None:
            if isinstance(self.optimizer, _FusedAdam):
                self.optimizer.clip_grad_norm_(self.gradient_clip)
            else:
                nn.utils.clip_grad_norm_(self.network.parameters(), self.gradient_clip)
        self.optimizer.step()
        return loss.detach()

    def evaluate(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """Mean squared error over all rows, in evaluation mode (no dropout); in a
        group, each rank sums the errors of its piece of the rows."""
        rows = slice(0, len(inputs)) if self.group is None else self.group.piece(len(inputs))
        total = self.squared_error(inputs, targets, rows)
        if self.group is not None:
            self.group.all_reduce(total)
        return float(total) / targets.numel()

    @torch.no_grad()
    def squared_error(
        self, inputs: torch.Tensor, targets: torch.Tensor, rows: slice
    ) -> torch.Tensor:
        """The sum of squared errors over ``rows`` (float64, on the device)."""
        self.network.eval()
        total = torch.zeros((), dtype=torch.float64, device=inputs.device)
        for start in range(rows.start, rows.stop, self.evaluation_batch_size):
            stop = min(start + self.evaluation_batch_size, rows.stop)
            error = _call(self.network, inputs[start:stop]) - targets[start:stop]
            total += error.double().pow(2).sum()
        return total

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
        best = self.history.best_epoch
        kept = f"weights of epoch {best}" if best is not None else "starting weights"
        warnings.warn(
            f"training diverged in epoch {epoch} ({losses}); stopped and restored the "
            f"{kept}; {advice}",
            RuntimeWarning,
            stacklevel=4,
        )

    def _restore_best(self) -> None:
        if self._best_state is not None:
            self.network.load_state_dict(self._best_state)
