"""One distributed fit, run by tests/test_ddp.py under torchrun: each rank writes what it
ended with (history, stop reason, the sums of squared errors of its own piece of the
validation windows, its weights) to OUT/rank<r>.json and OUT/rank<r>.npz, and saves the
model to OUT/model<r>.gruf (which only rank 0 may write).

    torchrun --standalone --nproc_per_node=2 tests/ddp_fit.py MODE OUT BACKEND [DEVICE]

MODE "same": the fit of test_ddp.FIT. MODE "stall": as "same" with early stopping, and
rank 1's own piece of the validation windows never improves after the first epoch.
MODE "series": as "same" on one series. MODE "covariates": as "same" on the panel with
covariates (test_ddp.covariate_panel). MODE "differ": rank 1 reads one series less
than rank 0. MODE "backend": run with BACKEND
"auto", which resolves to the fused kernel on rank 0 and to nn.GRU on rank 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from test_ddp import COVARIATES, FIT, STALL, covariate_panel, panel, series

from gruforecast import GRUForecaster
from gruforecast._training import Trainer


def main() -> None:
    mode, out, backend = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    device = sys.argv[4] if len(sys.argv) > 4 else "cpu"
    rank = int(os.environ["RANK"])
    local_sums: list[float] = []
    original = Trainer.squared_error

    def recorded(self, inputs, targets, rows):
        total = original(self, inputs, targets, rows)
        if mode == "stall" and rank == 1 and local_sums:
            total = total.new_tensor(local_sums[0])  # this rank alone sees no progress
        local_sums.append(float(total))
        return total

    Trainer.squared_error = recorded  # type: ignore[method-assign]
    params = {**FIT, **(STALL if mode == "stall" else {}), "gru_backend": backend}
    params.update(device=device, distributed=True)  # True: through DDP with one process too
    data = series() if mode == "series" else panel()
    if mode == "covariates":  # the panel with covariates, read by the fit
        data = covariate_panel()
        params.update(COVARIATES)
    if mode == "differ" and rank == 1:  # this rank read one series less
        data = data[data["unique_id"] != 5]
    if mode == "backend" and rank == 1:  # "auto" resolves to nn.GRU on this rank only
        os.environ["GRUFORECAST_FUSED_GRU"] = "0"
    model = GRUForecaster(**params).fit(data)
    model.save(out / f"model{rank}.gruf")
    weights = {name: t.detach().cpu().numpy() for name, t in model.network_.state_dict().items()}
    np.savez(out / f"rank{rank}.npz", **weights)
    result = {
        "history": [[row["epoch"], row["train_loss"], row["valid_loss"]] for row in model.history_],
        "stop_reason": model.stop_reason_,
        "local_sums": local_sums,
        "backend": model.gru_backend_,
        "device": str(model.device_),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
