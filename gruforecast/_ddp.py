"""Training one model across processes: torch.distributed (DDP), as launched by torchrun.

``GRUForecaster(distributed="auto").fit(...)`` in a script started by ``torchrun
--nproc_per_node=N`` (or in a process whose ``torch.distributed`` group is already
initialised) trains one model with all N processes:

- every process reads the same data and prepares it the same way (windows, scaling,
  held-out parts); :meth:`Group.check_same` compares a digest of what each prepared
  and stops every rank with a clear error when one differs (instead of a hang);
- the seed comes from rank 0, so every rank starts from the same weights;
- each minibatch of ``batch_size`` windows (the *global* batch, drawn from one
  permutation that every rank draws alike) is split in N contiguous pieces, one per
  rank (:meth:`Group.share`); DDP averages the gradients, each rank's loss weighted so
  that the step equals the one a single process takes on the whole batch;
- the validation loss is the sum of each rank's piece of the validation windows, and
  every early-stopping or divergence decision is taken on all-reduced numbers (and the
  stop itself agreed on, :meth:`Group.agree`), so all ranks stop at the same epoch;
- at the end rank 0's weights are broadcast, so every rank holds the same model;
- files (``save``, ``export_onnx``, ``export_triton``) are written by rank 0 only
  (:func:`writes`).

Outside torchrun (no ``WORLD_SIZE`` above 1 in the environment, no initialised group)
nothing here runs and a fit is the single process fit it always was.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Group", "Launch", "digest", "launch", "warnings_from_rank_0", "writes"]

_TORCHRUN = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a distributed run, before any group is joined."""

    rank: int
    world_size: int
    local_rank: int
    initialized: bool  # True: the caller's torch.distributed group exists already

    @property
    def local_world_size(self) -> int:
        """Processes on this machine (torchrun's LOCAL_WORLD_SIZE; else all of them)."""
        return int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size))

    def device(self, device: torch.device, auto: bool) -> torch.device:
        """The device this process trains on: ``cuda:LOCAL_RANK`` for ``device``
        "cuda" without an index (one GPU per process), when this machine has a GPU for
        each of its processes. Too few GPUs: the CPU with a warning for "auto", else an
        error naming the fix."""
        if device.type != "cuda" or device.index is not None:
            return device
        processes, gpus = self.local_world_size, torch.cuda.device_count()
        if processes <= gpus:
            return torch.device("cuda", self.local_rank)
        advice = (
            f"torchrun started {processes} processes on this machine, which has {gpus} "
            f"GPU{'s' if gpus != 1 else ''}, and each process needs its own"
        )
        if not auto:
            raise ValueError(
                f"device={str(device)!r} under torchrun: {advice}; start at most {gpus} "
                "(--nproc_per_node), or train on the CPUs with device='cpu'"
            )
        warnings.warn(
            f"{advice}: training on the CPUs (gloo) instead; start at most {gpus} "
            "(--nproc_per_node) to train on the GPUs",
            RuntimeWarning,
            stacklevel=4,
        )
        return torch.device("cpu")


def launch(requested: Any) -> Launch | None:
    """This process's place in a distributed run, or None (one process trains alone).

    ``requested`` is the estimator's ``distributed``: False never trains across
    processes; "auto" does when torch.distributed is initialised with more than one
    process or torchrun's environment says so; True demands a torchrun launch or a
    group, and uses it even with one process (a setup check of a single GPU, say).
    """
    demanded = not isinstance(requested, str) and bool(requested)  # True (or np.True_)
    if not demanded and requested != "auto":
        return None
    import torch.distributed as dist

    found: Launch | None = None
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    except ValueError:
        raise ValueError(
            f"the environment variable WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a "
            "number of processes"
        ) from None
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        found = Launch(rank, world, local, initialized=True)
    elif world_size > 1 or (demanded and "WORLD_SIZE" in os.environ):
        missing = [name for name in _TORCHRUN if not os.environ.get(name)]
        if missing:
            raise ValueError(
                f"WORLD_SIZE={world_size} says torchrun started this process, "
                f"but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
                "start the script with torchrun, or set distributed=False to train in "
                "this process alone"
            )
        if not dist.is_available():
            raise ValueError(
                "this process was started by torchrun, but this build of torch has no "
                "torch.distributed; set distributed=False to train in each process alone"
            )
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        found = Launch(rank, world, int(os.environ.get("LOCAL_RANK", rank)), initialized=False)
    if demanded and found is None:
        raise ValueError(
            "distributed=True trains across the processes of torchrun, but this process "
            "was not started by torchrun (WORLD_SIZE is not set) and torch.distributed is "
            "not initialised: launch it with `torchrun --nproc_per_node=N script.py`, or "
            "use distributed='auto'"
        )
    if found is None or (found.world_size < 2 and not demanded):
        return None  # one process: "auto" trains alone; True goes through DDP anyway
    return found


class Group:
    """The processes that train one model together, and the few collectives they need.

    Collectives run on tensors on the training ``device``: gloo for the CPU, NCCL for
    CUDA (one device per process). A group the caller initialised is used as it is.
    """

    def __init__(self, where: Launch, device: torch.device) -> None:
        import torch.distributed as dist

        self.rank, self.world_size, self.device = where.rank, where.world_size, device
        if not where.initialized:
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
            atexit.register(_leave)
        backend = str(dist.get_backend()).lower()
        if device.type == "cpu" and "gloo" not in backend:
            raise ValueError(
                f"training runs on the CPU, but the torch.distributed group uses {backend!r}, "
                "which cannot reduce CPU tensors: initialise it with 'gloo' (or "
                "'cpu:gloo,cuda:nccl'), or train on CUDA"
            )

    # --------------------------------------------------------------- collectives

    def all_reduce(self, tensor: torch.Tensor, maximum: bool = False) -> torch.Tensor:
        """Sum (or maximum) of ``tensor`` over the ranks, in place; returns it."""
        import torch.distributed as dist

        op = dist.ReduceOp.MAX if maximum else dist.ReduceOp.SUM
        with _released([tensor]):
            dist.all_reduce(tensor, op=op)
        return tensor

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value``, on every rank."""
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.int64, device=self.device)
        with _released([tensor]):
            dist.broadcast(tensor, src=0)
        return int(tensor.item())

    def agree(self, stop: bool) -> bool:
        """True on every rank if any rank wants to stop (a decision all ranks share)."""
        flag = torch.tensor([float(stop)], device=self.device)
        return bool(self.all_reduce(flag, maximum=True).item())

    def check_same(self, value: int, what: str, advice: str) -> None:
        """Raise on every rank if a rank's ``value`` (a digest) differs from rank 0's."""
        import torch.distributed as dist

        mine = torch.tensor([value], dtype=torch.int64, device=self.device)
        gathered = [torch.zeros_like(mine) for _ in range(self.world_size)]
        with _released([mine, *gathered]):
            dist.all_gather(gathered, mine)
        values = [int(tensor.item()) for tensor in gathered]
        differ = [rank for rank, other in enumerate(values) if other != values[0]]
        if differ:
            raise ValueError(
                f"a distributed fit needs every process to prepare the same {what}, but "
                f"rank{'s' if len(differ) > 1 else ''} {', '.join(map(str, differ))} "
                f"differ{'' if len(differ) > 1 else 's'} from rank 0: {advice}"
            )

    def broadcast_module(self, network: nn.Module) -> None:
        """Make every rank's parameters and buffers rank 0's."""
        import torch.distributed as dist

        tensors = list(network.state_dict().values())
        with torch.no_grad(), _released(tensors):
            for tensor in tensors:
                dist.broadcast(tensor, src=0)

    # --------------------------------------------------------------- sharding

    def piece(self, n: int) -> slice:
        """This rank's contiguous piece of ``range(n)`` (pieces differ by at most one)."""
        size, extra = divmod(n, self.world_size)
        start = self.rank * size + min(self.rank, extra)
        return slice(start, start + size + (self.rank < extra))

    def share(self, rows: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's rows of a global minibatch, and the factor its mean loss is
        multiplied by so that DDP's average of the gradients is the gradient of the
        mean loss over the whole batch. A rank with no rows (a last batch smaller than
        the group) trains on one row with factor 0: it must take part in the step."""
        mine = rows[self.piece(len(rows))]
        if len(mine) == 0:
            return rows[:1], 0.0
        return mine, len(mine) * self.world_size / len(rows)

    def wrap(self, network: nn.Module) -> nn.Module:
        """``network`` in DistributedDataParallel (gradients averaged over the ranks)."""
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device] if self.device.type == "cuda" else None
        return DistributedDataParallel(network, device_ids=device_ids)


RELEASE_SECONDS = 5.0


@contextmanager
def _released(tensors: list[torch.Tensor]) -> Iterator[None]:
    """Around collectives on ``tensors``: on leaving, wait (GIL released, at most
    :data:`RELEASE_SECONDS`) until the backend's threads hold none of them any more.

    gloo's worker thread drops its reference to a finished collective's tensors a moment
    after the caller's ``wait()`` returns, and dropping a tensor that has a Python object
    takes the GIL. When that moment falls after the interpreter began to shut down (a
    script whose last collective is the final broadcast, then exits), the thread is
    killed inside a C++ destructor and the process aborts with "terminate called without
    an active exception" (4 runs in 47 of docs/fitting.md's torchrun
    example; pytorch/pytorch#179291 describes the same race).
    """
    before = [_uses(tensor) for tensor in tensors]
    try:
        yield
    finally:
        deadline = time.monotonic() + RELEASE_SECONDS
        while any(_uses(t) > n for t, n in zip(tensors, before, strict=True)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.0005)


def _uses(tensor: torch.Tensor) -> int:
    """How many references hold ``tensor``'s storage-owning object (0 where torch does
    not say, which makes :class:`_released` wait for nothing)."""
    count = getattr(tensor, "_use_count", None)
    return int(count()) if count is not None else 0


def _leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def digest(parts: Iterable[Any]) -> int:
    """A 63-bit digest of arrays, tensors and plain values (what a rank prepared)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().numpy()
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype.str, part.shape)).encode())
            h.update(np.ascontiguousarray(part).data)
        else:
            h.update(repr(part).encode())
    return int.from_bytes(h.digest(), "little") >> 1


@contextmanager
def warnings_from_rank_0(where: Launch | None) -> Iterator[None]:
    """Warnings as usual in a process that trains alone or on rank 0; none on the other
    ranks, which read the same data (their warnings would repeat rank 0's). Outside
    torchrun the process' warning filters are left alone (fits may run in threads)."""
    if where is None or where.rank == 0:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def writes(ranks: int) -> bool:
    """Whether this process writes the files of a model trained by ``ranks`` processes:
    always for a model of one process; for a distributed one, rank 0 only."""
    if ranks < 2:
        return True
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
