import numpy as np
import pytest
import torch

from gruforecast import GRUNet
from reference_gru import grunet_forward


@pytest.mark.parametrize("season", [None, 12])
@pytest.mark.parametrize("normalize", [None, "window"])
@pytest.mark.parametrize("num_layers, horizon", [(1, 1), (2, 12), (3, 4)])
def test_matches_the_numpy_reference_of_pytorchs_equations(num_layers, horizon, normalize, season):
    torch.manual_seed(0)
    network = GRUNet(
        hidden_size=16, num_layers=num_layers, horizon=horizon, normalize=normalize,
        window=30, season=season,
    ).eval()
    if season is not None:  # as after training: the head and the skip both matter
        with torch.no_grad():
            for parameter in (*network.head.parameters(), *network.skip.parameters()):
                parameter.normal_(0.0, 0.3)
    windows = np.random.default_rng(0).normal(1.0, 2.0, size=(7, 30)).astype(np.float32)
    with torch.no_grad():
        expected = network(torch.from_numpy(windows)).numpy()
    state = {k: v.double().numpy() for k, v in network.state_dict().items()}
    actual = grunet_forward(state, windows, num_layers, normalize)
    assert actual.shape == (7, horizon)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_the_tutorials_cho_form_is_a_different_function():
    # Cho et al. apply the reset gate before the recurrent matrix: r * (W_hn h), not
    # W_hn (r * h). Same weights, other numbers: proof that the docs' warning matters.
    torch.manual_seed(0)
    gru = GRUNet(hidden_size=8, num_layers=1).gru
    state = {k: v.double().numpy() for k, v in gru.state_dict().items()}
    w_ih, w_hh, b_ih, b_hh = (state[f"{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    x, h = np.array([[0.5]]), np.full((1, 8), 0.3)
    i_r, _, i_n = np.split(x @ w_ih.T + b_ih, 3, axis=1)
    h_r, _, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)
    r = 1 / (1 + np.exp(-(i_r + h_r)))
    pytorch = np.tanh(i_n + r * h_n)
    cho = np.tanh(i_n + (r * h) @ w_hh[16:].T + b_hh[16:])
    assert not np.allclose(pytorch, cho)


def test_shapes_and_dropout_between_layers():
    network = GRUNet(hidden_size=4, num_layers=2, horizon=3, dropout=0.3)
    assert network.gru.dropout == 0.3 and network.gru.batch_first
    assert GRUNet(hidden_size=4, num_layers=1, dropout=0.3).gru.dropout == 0.0
    assert network(torch.zeros(5, 10)).shape == (5, 3)
    assert network(torch.zeros(5, 10, 1)).shape == (5, 3)


def test_window_normalisation_follows_the_windows_level_and_spread():
    # RevIN: shifting a window shifts its forecast, stretching it stretches the
    # forecast (up to the variance epsilon); a constant window is no division by zero
    torch.manual_seed(0)
    network = GRUNet(hidden_size=8, num_layers=2, horizon=3, normalize="window").eval()
    windows = torch.randn(5, 20, dtype=torch.float64).float()
    with torch.no_grad():
        base = network(windows)
        np.testing.assert_allclose(network(windows + 100.0), base + 100.0, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(network(windows * 50.0), base * 50.0, rtol=1e-3, atol=1e-2)
        flat = network(torch.full((2, 20), 7.0))
    assert torch.isfinite(flat).all() and torch.allclose(flat, torch.full_like(flat, 7.0), atol=0.05)
    with pytest.raises(ValueError, match="normalize must be 'window' or None"):
        GRUNet(normalize="revin")


@pytest.mark.parametrize("season, picks", [(12, [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 12, 13]),
                                           (4, [20, 21, 22, 23] * 3 + [20, 21])])
def test_an_untrained_seasonal_skip_forecasts_seasonal_naive(season, picks):
    # the value one season before each step, whatever the GRU's weights
    torch.manual_seed(0)
    windows = torch.randn(6, 24) * 5 + 3
    for normalize in (None, "window"):
        network = GRUNet(hidden_size=8, horizon=14, normalize=normalize, window=24, season=season)
        with torch.no_grad():
            forecast = network.eval()(windows)
        torch.testing.assert_close(forecast, windows[:, picks], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="needs the window width"):
        GRUNet(season=12)


@pytest.mark.parametrize("season", [1, 30])
def test_without_a_season_the_skip_starts_at_zero(season):
    # no season (or one longer than the window): the map starts at zero, so the untrained
    # network forecasts the window's mean (normalised) or zero (the scaled series' mean)
    torch.manual_seed(0)
    windows = torch.randn(6, 24) * 5 + 3
    network = GRUNet(hidden_size=8, horizon=5, normalize="window", window=24, season=season)
    assert torch.count_nonzero(network.skip.weight) == 0
    with torch.no_grad():
        forecast = network.eval()(windows)
        flat = GRUNet(hidden_size=8, horizon=5, window=24, season=season).eval()(windows)
    torch.testing.assert_close(forecast, windows.mean(1, keepdim=True).expand(6, 5), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(flat, torch.zeros(6, 5))
