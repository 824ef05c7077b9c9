"""The collectives of ``gruforecast._ddp.Group``, run by tests/test_ddp.py under torchrun:
each returns only once gloo's threads hold none of its tensors (else a script whose last
collective comes just before it exits can abort at shutdown, see ``_ddp._released``).
Each rank writes to OUT/held<r>.json how many of ROUNDS rounds left a tensor held.

    torchrun --standalone --nproc_per_node=2 tests/ddp_collectives.py OUT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

from gruforecast._ddp import Group, Launch

ROUNDS = 200


def main() -> None:
    out = Path(sys.argv[1])
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    group = Group(Launch(rank, world, rank, initialized=False), torch.device("cpu"))
    network = nn.GRU(4, 8)
    kept = network.state_dict()  # the tensors broadcast_module sends, kept to look at
    network.state_dict = lambda: kept  # type: ignore[method-assign]
    held = 0
    for round_ in range(ROUNDS):
        tensor = torch.zeros(3)
        group.all_reduce(tensor)
        group.broadcast_int(round_)
        group.check_same(round_, "round", "")
        group.broadcast_module(network)
        held += any(t._use_count() > 1 for t in [tensor, *kept.values()])
    (out / f"held{rank}.json").write_text(json.dumps(held))


if __name__ == "__main__":
    main()
