"""A NumPy GRU written from the equations (PyTorch's gate convention): a test oracle.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

PyTorch stores the three gates stacked as rows (r, z, n) in weight_ih_l{k}/weight_hh_l{k}.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gru_layer(inputs: np.ndarray, w_ih, w_hh, b_ih, b_hh) -> np.ndarray:
    """inputs (batch, steps, features) -> hidden states (batch, steps, hidden), float64."""
    hidden_size = w_hh.shape[1]
    h = np.zeros((inputs.shape[0], hidden_size))
    outputs = []
    for t in range(inputs.shape[1]):
        gi = inputs[:, t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        i_r, i_z, i_n = np.split(gi, 3, axis=1)
        h_r, h_z, h_n = np.split(gh, 3, axis=1)
        r = _sigmoid(i_r + h_r)
        z = _sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        h = (1.0 - z) * n + z * h
        outputs.append(h)
    return np.stack(outputs, axis=1)


def seasonal_effects(window: np.ndarray, season: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The M3 way, one window at a time: the 90% seasonality test on its autocorrelations,
    then classical additive decomposition (centred moving average of 2 x season, the mean
    of the detrended values by phase, centred). Phases count back from the window's last
    value. Returns the effects at the window's positions and at the steps ahead."""
    n = len(window)
    c = window - window.mean()
    r = [np.sum(c[k:] * c[:-k]) / np.sum(c * c) for k in range(1, season + 1)]
    limit = 1.645 * np.sqrt((1 + 2 * sum(v * v for v in r[:-1])) / n)
    if abs(r[-1]) <= limit:
        return np.zeros(n), np.zeros(horizon)
    half = season // 2
    weights = np.full(2 * half + 1, 1.0 / season)
    if season % 2 == 0:
        weights[0] = weights[-1] = 0.5 / season
    phase_of = lambda t: (n - 1 - t) % season  # noqa: E731
    sums, counts = np.zeros(season), np.zeros(season)
    for t in range(half, n - half):
        trend = float(np.dot(weights, window[t - half : t + half + 1]))
        sums[phase_of(t)] += window[t] - trend
        counts[phase_of(t)] += 1
    effects = sums / counts
    effects -= effects.mean()
    return (
        np.array([effects[phase_of(t)] for t in range(n)]),
        np.array([effects[phase_of(n + j)] for j in range(horizon)]),
    )


def grunet_forward(
    state: dict, windows: np.ndarray, num_layers: int, normalize: str | None = None,
    season: int | None = None, gru_window: int | None = None,
) -> np.ndarray:
    """GRUNet's forward pass from its state_dict (NumPy arrays), windows (batch, steps).

    ``normalize="window"``: each window standardised by its own mean and standard
    deviation (population, variance + 1e-5), the output mapped back with them. A state
    with ``skip.weight`` adds the linear map of the (normalised) window to the head's.
    ``season`` (deseasonalize): each window's seasonal effects (:func:`seasonal_effects`)
    are removed first, and those ahead added to the output at the end. ``gru_window``:
    the GRU and the skip map read only the last values, and they alone give the
    normalisation's level and spread."""
    x = np.asarray(windows, dtype=np.float64)
    ahead = 0.0
    if season is not None:
        horizon = len(state["head.bias"])
        pairs = [seasonal_effects(row, season, horizon) for row in x]
        x = x - np.stack([inside for inside, _ in pairs])
        ahead = np.stack([outside for _, outside in pairs])
    level, spread = np.zeros((len(x), 1)), np.ones((len(x), 1))
    if normalize == "window":
        part = x if gru_window is None else x[:, -gru_window:]
        level = part.mean(axis=1, keepdims=True)
        spread = np.sqrt(part.var(axis=1, keepdims=True) + 1e-5)
    x = ((x - level) / spread)[:, :, None]
    if gru_window is not None:
        x = x[:, -gru_window:]
    skip = 0.0
    if "skip.weight" in state:
        skip = x[:, :, 0] @ state["skip.weight"].T + state["skip.bias"]
    for k in range(num_layers):
        x = gru_layer(
            x, state[f"gru.weight_ih_l{k}"], state[f"gru.weight_hh_l{k}"],
            state[f"gru.bias_ih_l{k}"], state[f"gru.bias_hh_l{k}"],
        )
    return (x[:, -1] @ state["head.weight"].T + state["head.bias"] + skip) * spread + level + ahead
