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

from typing import Any

import torch
from torch import nn

from . import _fused
from ._params import check_choice
from ._windowing import can_deseasonalize

__all__ = ["GRUNet", "SeasonalAdjustment", "check_normalize", "seasonal_naive_weights"]

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


class SeasonalAdjustment(nn.Module):
    """The seasonal pattern of each window, estimated from the window alone, so that
    training, ``predict`` and the ONNX graph compute the same thing.

    Classical additive decomposition (on ``log1p`` values it is the multiplicative one of
    the M3 benchmarks): the centred 2 x ``season`` moving average is the trend, and a
    phase's effect is the mean of the window's values less the trend at that phase,
    centred to sum to 0. It is kept only where the window passes the M3 competition's
    90% seasonality test, ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)`` with
    ``r_k`` the window's autocorrelation at lag k; elsewhere it is 0. ``forward``
    returns the effect at each of the window's positions and at each step ahead, as
    (batch, window) and (batch, horizon). Phases are counted from the window's end, so
    no date is needed. Fixed matrices, no parameters (nothing in the state dict).
    """

    trend: torch.Tensor  # fixed matrices (buffers, not saved): see __init__
    average: torch.Tensor
    inside: torch.Tensor
    ahead: torch.Tensor

    def __init__(self, window: int, horizon: int, season: int) -> None:
        super().__init__()
        if not can_deseasonalize(window, season):
            raise ValueError(
                f"seasonal adjustment needs a season of 2 or more and a window of at least "
                f"three seasons (got season={season}, window={window})"
            )
        self.season = season
        half = season // 2
        trend = torch.zeros(window, window - 2 * half)  # x @ trend: the moving average
        weights = torch.full((2 * half + 1,), 1.0 / season)
        if season % 2 == 0:
            weights[0] = weights[-1] = 0.5 / season
        for centre in range(half, window - half):
            trend[centre - half : centre + half + 1, centre - half] = weights
        # phase of a position: its distance from the window's last value, mod season
        phases = (window - 1 - torch.arange(window)) % season
        inner = phases[half : window - half]
        average = torch.zeros(window - 2 * half, season)
        average[torch.arange(len(inner)), inner] = 1.0
        average /= average.sum(dim=0, keepdim=True)
        ahead = (-1 - torch.arange(horizon)) % season
        self.register_buffer("trend", trend, persistent=False)
        self.register_buffer("average", average, persistent=False)
        inside = nn.functional.one_hot(phases, season).float().T
        outside = nn.functional.one_hot(ahead, season).float().T
        self.register_buffer("inside", inside, persistent=False)
        self.register_buffer("ahead", outside, persistent=False)

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``windows`` (batch, window) -> effects inside the window and ahead; zeros for
        a window that fails the seasonality test."""
        half = self.season // 2
        width = windows.shape[1]
        detrended = windows[:, half : width - half] - windows @ self.trend
        effects = detrended @ self.average  # (batch, season), one per phase
        effects = effects - effects.mean(dim=1, keepdim=True)
        centred = windows - windows.mean(dim=1, keepdim=True)
        energy = (centred * centred).sum(dim=1) + 1e-12
        lags = [
            (centred[:, k:] * centred[:, :-k]).sum(dim=1) / energy
            for k in range(1, self.season + 1)
        ]
        shorter = torch.stack(lags[:-1], dim=1)
        limit = 1.645 * torch.sqrt((1 + 2 * (shorter * shorter).sum(dim=1)) / width)
        effects = effects * (lags[-1].abs() > limit).to(windows.dtype).unsqueeze(1)
        return effects @ self.inside, effects @ self.ahead


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
    deseasonalize : bool, default=False
        Removes each window's own seasonal pattern (:class:`SeasonalAdjustment`, with
        ``season``) before anything else, and adds the pattern ahead to the outputs at
        the end: the GRU and the skip map read seasonally adjusted values. Needs
        ``normalize="window"``, a univariate input and a window of at least three
        seasons.
    gru_window : int, optional
        The GRU and the skip map read only the last ``gru_window`` values of the
        (adjusted) window, whose level and spread are what ``normalize`` uses, while
        the seasonal estimate uses all of it: a long window for the season costs the
        GRU nothing. None: the whole window.
    features : int, default=0
        Covariate channels read beside the target at each step of the window (the
        future-known, past, calendar and static covariates, in their own units): the
        GRU reads ``input_size + features`` values a step. ``forward`` takes them as
        ``features`` (batch, window, features) and scales each channel by its own
        centre and spread (buffers, set by :meth:`set_covariate_scaling` from the
        training data; never normalised with the window), so the scaling travels with
        the weights into files and the ONNX graph.
    ahead_features : int, default=0
        Covariate channels known over the horizon (future-known, calendar, static):
        a decoder, shared by the steps ahead, reads the GRU's last state beside each
        step's channels (batch, horizon, ahead_features) and adds its output to that
        step's (normalised) forecast, as neuralforecast's recurrent models' decoders
        read their future covariates. Its last layer starts at zero, so a network
        starts as if it had no such covariates.
    gru_backend : {"torch", "fused"}, default="torch"
        What computes the GRU in training: ``nn.GRU``, or the fused CPU kernel
        (:mod:`gruforecast._fused`) on CPU inputs in training mode with autograd. Both
        use ``self.gru``'s parameters, so
        ``predict`` (evaluation mode) and the ONNX export run ``nn.GRU`` either way.
        Choosing is the estimator's job (``_fused.resolve_backend``); the network only
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
        deseasonalize: bool = False,
        gru_window: int | None = None,
        features: int = 0,
        ahead_features: int = 0,
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
        self.features = int(features)
        self.ahead_features = int(ahead_features)
        # each covariate channel's centre and spread (identity until set); a network
        # without covariates has none (its weights are what they always were)
        if self.features:
            self.register_buffer("features_centres", torch.zeros(self.features))
            self.register_buffer("features_spreads", torch.ones(self.features))
        if self.ahead_features:
            self.register_buffer("ahead_centres", torch.zeros(self.ahead_features))
            self.register_buffer("ahead_spreads", torch.ones(self.ahead_features))
        self.gru = nn.GRU(
            input_size=input_size + self.features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            # nn.GRU warns about dropout with a single layer, where it does nothing
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size, horizon)
        self.decoder = None
        if self.ahead_features:
            last = nn.Linear(hidden_size, 1)
            with torch.no_grad():  # no covariate effect until training finds one
                last.weight.zero_()
                last.bias.zero_()
            self.decoder = nn.Sequential(
                nn.Linear(hidden_size + self.ahead_features, hidden_size), nn.Tanh(), last
            )
        self.window = window
        self.season = season
        self.deseasonalize = bool(deseasonalize)
        self.gru_window = gru_window
        if gru_window is not None and (window is None or not 1 <= gru_window <= window):
            raise ValueError(
                f"gru_window must be from 1 to the window ({window}), got {gru_window}"
            )
        self.adjustment = None
        if deseasonalize:
            if self.normalize != "window" or input_size != 1 or window is None or season is None:
                raise ValueError(
                    "GRUNet(deseasonalize=True) needs normalize='window', input_size=1, the "
                    "window width and the season"
                )
            self.adjustment = SeasonalAdjustment(window, horizon, season)
        # where dropout masks come from in training: torch's global generator (None),
        # or one a fit owns (set by the estimator); not part of the network's state
        self.generator: torch.Generator | None = None
        self.skip = None
        if season is not None:
            if window is None:
                raise ValueError("GRUNet(season=...) needs the window width")
            # the skip reads what the GRU reads
            read = gru_window or window
            self.skip = nn.Linear(read, horizon)
            with torch.no_grad():
                self.skip.weight.copy_(seasonal_naive_weights(read, horizon, season))
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
            "deseasonalize": self.deseasonalize,
            "gru_window": self.gru_window,
            "features": self.features,
            "ahead_features": self.ahead_features,
        }

    features_centres: torch.Tensor  # buffers
    features_spreads: torch.Tensor
    ahead_centres: torch.Tensor
    ahead_spreads: torch.Tensor

    def set_covariate_scaling(self, window: tuple[Any, Any], ahead: tuple[Any, Any]) -> None:
        """The centres and spreads of the covariate channels in the window and ahead
        (each a pair of sequences of the channels' length)."""
        with torch.no_grad():
            for (centres, spreads), names, width in (
                (window, ("features_centres", "features_spreads"), self.features),
                (ahead, ("ahead_centres", "ahead_spreads"), self.ahead_features),
            ):
                if width:
                    getattr(self, names[0]).copy_(torch.as_tensor(centres))
                    getattr(self, names[1]).copy_(torch.as_tensor(spreads))

    def load_prior(self, weights: dict[str, torch.Tensor]) -> None:
        """Load the weights of a network of this shape without covariates (a pretrained
        prior): the GRU's weights for the covariate channels start at zero and the
        decoder as it was built (its last layer zero), so the network forecasts as the
        prior does until training finds a use for the covariates."""
        if self.features:
            weights = dict(weights)
            given = weights["gru.weight_ih_l0"]
            zeros = given.new_zeros(given.shape[0], self.features)
            weights["gru.weight_ih_l0"] = torch.cat([given, zeros], dim=1)
        missing, unexpected = self.load_state_dict(weights, strict=False)
        own = ("decoder.", "features_", "ahead_")  # the covariates' parts: as they are
        left = [name for name in missing if not name.startswith(own)]
        if left or unexpected:
            raise RuntimeError(f"the prior's weights do not fit: {left or unexpected}")

    def forward(
        self,
        windows: torch.Tensor,
        features: torch.Tensor | None = None,
        ahead: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Map windows (batch, window) or (batch, window, input_size) to (batch, horizon);
        with covariates, their channels in the window, ``features`` (batch, window,
        features), and over the horizon, ``ahead`` (batch, horizon, ahead_features)."""
        if windows.dim() == 2:
            windows = windows.unsqueeze(-1)
        if ahead is not None and not ahead.shape[-1] and not self.ahead_features:
            ahead = None  # past covariates only: nothing is known ahead
        if (features is None) != (self.features == 0) or (ahead is None) != (
            self.ahead_features == 0
        ):
            raise ValueError(
                f"this network reads {self.features} covariate channel(s) in the window and "
                f"{self.ahead_features} ahead; it was given "
                f"{'none' if features is None else features.shape[-1]} and "
                f"{'none' if ahead is None else ahead.shape[-1]}"
            )
        if self.normalize is None:
            return self._outputs(windows, features, ahead)
        seasonal = None  # the window's seasonal pattern, continued over the horizon
        if self.adjustment is not None:  # (it commutes with the normalisation below)
            inside, seasonal = self.adjustment(windows[..., 0])
            windows = (windows[..., 0] - inside).unsqueeze(-1)
        # statistics over the time axis, per window (and per input feature), of the
        # part the GRU reads
        part = windows if self.gru_window is None else windows[:, -self.gru_window :]
        level = part.mean(dim=1)
        spread = torch.sqrt(part.var(dim=1, unbiased=False) + NORMALIZE_EPSILON)
        outputs = self._outputs(
            (windows - level.unsqueeze(1)) / spread.unsqueeze(1), features, ahead
        )
        # a univariate series: the first feature's statistics map the outputs back
        outputs = outputs * spread[:, :1] + level[:, :1]
        return outputs if seasonal is None else outputs + seasonal

    def _outputs(
        self,
        windows: torch.Tensor,
        features: torch.Tensor | None = None,
        ahead: torch.Tensor | None = None,
    ) -> torch.Tensor:
        target = windows if self.gru_window is None else windows[:, -self.gru_window :]
        read = target.contiguous()
        if features is not None:  # the covariates' channels beside the target's
            if self.gru_window is not None:
                features = features[:, -self.gru_window :]
            scaled = (features.to(read.dtype) - self.features_centres) / self.features_spreads
            read = torch.cat([read, scaled], dim=-1)
        if (
            self.gru_backend == "fused"
            and windows.device.type == "cpu"
            and self.training
            and torch.is_grad_enabled()
        ):
            # training steps on the CPU: the same function, with a compiled time loop and
            # a hand-written backward; nn.GRU everywhere else
            last = _fused.gru(self.gru, read, last_only=True, generator=self.generator)
        elif self.training and self.gru.dropout and self.generator is not None:
            last = _fused.layered_gru(self.gru, read, self.generator)[:, -1, :]
        else:
            last = self.gru(read)[0][:, -1, :]
        outputs = self.head(last)
        if self.skip is not None:
            outputs = outputs + self.skip(target[..., 0])
        if self.decoder is not None:
            assert ahead is not None  # forward checked it
            steps = last.unsqueeze(1).expand(-1, ahead.shape[1], -1)
            known = (ahead.to(last.dtype) - self.ahead_centres) / self.ahead_spreads
            decoded = self.decoder(torch.cat([steps, known], dim=-1))
            outputs = outputs + decoded[..., 0]
        return outputs
