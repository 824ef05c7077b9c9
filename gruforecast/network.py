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

from . import fused
from ._params import check_choice

__all__ = ["GRUNet", "check_normalize", "seasonal_naive_weights"]

# Added to each window's variance (in the globally scaled units, where the series has
# spread about 1): a constant window is divided by about 0.003, not by zero.
NORMALIZE_EPSILON = 1e-5


def check_normalize(kind: object) -> str | None:
    """``kind`` if it is a normalisation (see gruforecast._params), else a clear error."""
    return check_choice("normalize", kind)


def seasonal_naive_weights(window: int, horizon: int, season: int) -> torch.Tensor:
    """The (horizon, window) matrix whose row j picks the value one season before step
    j + 1 of the forecast: seasonal naive forecasting as a linear map of the window.
    Zeros when there is no season (``season`` 1, or longer than the window)."""
    weights = torch.zeros(horizon, window)
    if not 1 < season <= window:
        return weights
    for step in range(horizon):
        weights[step, window - season + step % season] = 1.0
    return weights


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
    normalize : {"window"} or None
        ``"window"``: each window is standardised by its own mean and standard
        deviation before the GRU reads it, and the head's outputs are mapped back with
        the same two numbers (reversible instance normalisation, as in RevIN). The
        network then learns the *shape* of what follows a window, whatever its level
        and spread, which handles trends and level shifts that one global scaler
        cannot. None: windows go in as they are.
    window : int, optional
        The window width; needed only with ``season``.
    season : int, optional
        Adds a linear map from the (normalised) window straight to the outputs,
        initialised to seasonal naive forecasting with this period, while the head
        starts at zero: the untrained network forecasts "as one season ago", and
        training learns the GRU's correction to that. A period of 1 (no season) or one
        longer than the window starts the map at zero: the untrained network forecasts
        the window's mean (with ``normalize="window"``). None: no such map.
    gru_backend : {"torch", "fused"}, default="torch"
        What computes the GRU in training: ``nn.GRU``, or the fused CPU kernel
        (:mod:`gruforecast.fused`) on CPU inputs in training mode with autograd. Both
        use ``self.gru``'s parameters, so
        ``predict`` (evaluation mode) and the ONNX export run ``nn.GRU`` either way.
        Choosing is the estimator's job (``fused.resolve_backend``); the network only
        does as it is told.
    """

    def __init__(
        self,
        hidden_size: int = 64,
        num_layers: int = 2,
        horizon: int = 1,
        dropout: float = 0.0,
        input_size: int = 1,
        normalize: str | None = None,
        window: int | None = None,
        season: int | None = None,
        gru_backend: str = "torch",
    ) -> None:
        super().__init__()
        if gru_backend not in ("torch", "fused"):
            raise ValueError(f"gru_backend must be 'torch' or 'fused', got {gru_backend!r}")
        self.gru_backend = gru_backend
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.horizon = horizon
        self.input_size = input_size
        self.normalize = check_normalize(normalize)
        self.gru = nn.GRU(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            # nn.GRU warns about dropout with a single layer, where it does nothing
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size, horizon)
        self.window = window
        self.season = season
        # where dropout masks come from in training: torch's global generator (None),
        # or one a fit owns (set by the estimator); not part of the network's state
        self.generator: torch.Generator | None = None
        self.skip = None
        if season is not None:
            if window is None:
                raise ValueError("GRUNet(season=...) needs the window width")
            self.skip = nn.Linear(window, horizon)
            with torch.no_grad():
                self.skip.weight.copy_(seasonal_naive_weights(window, horizon, season))
                self.skip.bias.zero_()
                self.head.weight.zero_()
                self.head.bias.zero_()

    def config(self) -> dict:
        """The constructor arguments that rebuild this network's shape (dropout aside,
        which only matters in training): ``GRUNet(**network.config())``."""
        return {
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "horizon": self.horizon,
            "input_size": self.input_size,
            "normalize": self.normalize,
            "window": self.window,
            "season": self.season,
        }

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Map windows (batch, window) or (batch, window, input_size) to (batch, horizon)."""
        if windows.dim() == 2:
            windows = windows.unsqueeze(-1)
        if self.normalize is None:
            return self._outputs(windows)
        # statistics over the time axis, per window (and per input feature)
        level = windows.mean(dim=1)
        spread = torch.sqrt(windows.var(dim=1, unbiased=False) + NORMALIZE_EPSILON)
        outputs = self._outputs((windows - level.unsqueeze(1)) / spread.unsqueeze(1))
        # a univariate series: the first feature's statistics map the outputs back
        return outputs * spread[:, :1] + level[:, :1]

    def _outputs(self, windows: torch.Tensor) -> torch.Tensor:
        if (
            self.gru_backend == "fused"
            and windows.device.type == "cpu"
            and self.training
            and torch.is_grad_enabled()
        ):
            # training steps on the CPU: the same function, with a compiled time loop and
            # a hand-written backward; nn.GRU everywhere else
            last = fused.gru(self.gru, windows, last_only=True, generator=self.generator)
        elif self.training and self.gru.dropout and self.generator is not None:
            last = fused.layered_gru(self.gru, windows, self.generator)[:, -1, :]
        else:
            last = self.gru(windows)[0][:, -1, :]
        outputs = self.head(last)
        if self.skip is not None:
            outputs = outputs + self.skip(windows[..., 0])
        return outputs
