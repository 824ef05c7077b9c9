"""History: the record of a fit, one row per epoch, written by the trainer and kept in
the fitted state. NumPy-free and torch-free (pandas only for :meth:`History.to_frame`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["History"]


class History(list):
    """The training record: one dict per epoch.

    Keys: ``epoch`` (from 1), ``train_loss`` and ``valid_loss`` (mean squared error in
    the scaled space; ``valid_loss`` is None without a validation part), ``seconds`` and
    ``best`` (whether this epoch's weights are the ones kept so far).
    """

    @property
    def best_epoch(self) -> int | None:
        """The epoch whose weights the network holds after fit."""
        best = [row["epoch"] for row in self if row["best"]]
        return best[-1] if best else None

    def to_frame(self) -> pd.DataFrame:
        """The history as a pandas DataFrame indexed by epoch."""
        import pandas as pd

        return pd.DataFrame(list(self)).set_index("epoch")
