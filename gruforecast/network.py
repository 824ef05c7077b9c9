r"""GRUNet: the seed tutorial's network, generalised to several steps ahead.

``nn.GRU(batch_first=True)`` reads the window one value per time step; a ``nn.Linear``
on the last hidden state gives ``horizon`` outputs at once (a direct multi-step head).

The equations are PyTorch's, which are also what the ONNX ``GRU`` operator computes with
``linear_before_reset=1``. For input :math:`x_t` and previous state :math:`h_{t-1}`::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

The seed tutorial wrote the original form of Cho et al. (2014), which differs twice:
its reset gate multiplies the state *before* the recurrent matrix,
``n_t = tanh(W x_t + U (r_t * h_{t-1}))``, and its update gate weighs the candidate,
``h_t = (1 - z_t) * h_{t-1} + z_t * n_t``. The second difference only swaps the role of
``z`` (a network learns either), the first is a genuinely different function; both are
documented so that nobody "fixes" the code toward the tutorial.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GRUNet"]


class GRUNet(nn.Module):
    """A stacked GRU reading one value per step, with a linear head on the last step.

    Parameters
    ----------
    hidden_size : int
        Size of the GRU's hidden state.
    num_layers : int
        Number of stacked GRU layers.
    horizon : int
        Number of values predicted at once (the size of the linear head).
    dropout : float
        Dropout applied to the outputs of each GRU layer but the last (PyTorch's
        ``nn.GRU(dropout=...)``); ignored with one layer.
    input_size : int
        Number of values per time step; 1 for a univariate series.
    """

    def __init__(
        self,
        hidden_size: int = 64,
        num_layers: int = 2,
        horizon: int = 1,
        dropout: float = 0.0,
        input_size: int = 1,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.horizon = horizon
        self.input_size = input_size
        self.gru = nn.GRU(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            # nn.GRU warns about dropout with a single layer, where it does nothing
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Map windows (batch, window) or (batch, window, input_size) to (batch, horizon)."""
        if windows.dim() == 2:
            windows = windows.unsqueeze(-1)
        output, _ = self.gru(windows)
        return self.head(output[:, -1, :])
