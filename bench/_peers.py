"""What the benchmark scripts share to run the peers (Darts, neuralforecast) quietly."""

from __future__ import annotations

import logging
import warnings

# Lightning trainer settings for a timed CPU run: no progress bar, logs, checkpoints
# or model summary (Darts takes them as pl_trainer_kwargs, neuralforecast as keywords)
LIGHTNING_QUIET = {
    "accelerator": "cpu", "enable_progress_bar": False, "logger": False,
    "enable_checkpointing": False, "enable_model_summary": False,
}


def silence_peers() -> None:
    """Hide the peers' warnings and Lightning's info lines."""
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
