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


def grunet_forward(
    state: dict, windows: np.ndarray, num_layers: int, normalize: str | None = None
) -> np.ndarray:
    """GRUNet's forward pass from its state_dict (NumPy arrays), windows (batch, steps).

    ``normalize="window"``: each window standardised by its own mean and standard
    deviation (population, variance + 1e-5), the output mapped back with them. A state
    with ``skip.weight`` adds the linear map of the (normalised) window to the head's."""
    x = np.asarray(windows, dtype=np.float64)
    level, spread = np.zeros((len(x), 1)), np.ones((len(x), 1))
    if normalize == "window":
        level = x.mean(axis=1, keepdims=True)
        spread = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    x = ((x - level) / spread)[:, :, None]
    skip = 0.0
    if "skip.weight" in state:
        skip = x[:, :, 0] @ state["skip.weight"].T + state["skip.bias"]
    for k in range(num_layers):
        x = gru_layer(
            x, state[f"gru.weight_ih_l{k}"], state[f"gru.weight_hh_l{k}"],
            state[f"gru.bias_ih_l{k}"], state[f"gru.bias_hh_l{k}"],
        )
    return (x[:, -1] @ state["head.weight"].T + state["head.bias"] + skip) * spread + level
