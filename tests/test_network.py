import numpy as np
import pytest
import torch

from gruforecast import GRUNet
from gruforecast._network import SeasonalAdjustment
from reference_gru import grunet_forward, seasonal_effects


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


def seasonal_windows(n=6, width=72, seed=0):
    """Rows 0, 2, 4: a season of 12 over a trend and noise; rows 1, 3, 5: noise only."""
    rng = np.random.default_rng(seed)
    t = np.arange(width)
    rows = [(3 * np.sin(2 * np.pi * (t + k) / 12) if k % 2 == 0 else 0) + 0.05 * t * k + rng.normal(0, 1, width)
            for k in range(n)]
    return np.array(rows, dtype=np.float32)


def test_seasonal_adjustment_is_the_m3_decomposition_of_each_window():
    windows = seasonal_windows()
    with torch.no_grad():
        inside, ahead = SeasonalAdjustment(72, 15, 12)(torch.from_numpy(windows))
    for row, got_inside, got_ahead in zip(windows, inside.numpy(), ahead.numpy(), strict=True):
        expected_inside, expected_ahead = seasonal_effects(row.astype(np.float64), 12, 15)
        np.testing.assert_allclose(got_inside, expected_inside, atol=1e-5)
        np.testing.assert_allclose(got_ahead, expected_ahead, atol=1e-5)
    # the seasonal rows pass the test, the noise rows do not (their effects are 0)
    assert (np.abs(ahead.numpy()[::2]).max(axis=1) > 1).all() and not ahead.numpy()[1::2].any()
    # the pattern continues: step j ahead has the effect of the value one season before it
    np.testing.assert_allclose(ahead.numpy()[:, :12], inside.numpy()[:, -12:], atol=1e-6)
    with pytest.raises(ValueError, match="at least three seasons"):
        SeasonalAdjustment(35, 3, 12)


@pytest.mark.parametrize("gru_window", [None, 24])
def test_a_deseasonalizing_network_matches_the_numpy_reference(gru_window):
    torch.manual_seed(0)
    network = GRUNet(hidden_size=16, num_layers=2, horizon=15, normalize="window", window=72, season=12,
                     deseasonalize=True, gru_window=gru_window).eval()
    with torch.no_grad():
        for parameter in (*network.head.parameters(), *network.skip.parameters()):
            parameter.normal_(0.0, 0.3)
    windows = seasonal_windows() * 4 + 50
    with torch.no_grad():
        expected = network(torch.from_numpy(windows)).numpy()
    state = {k: v.double().numpy() for k, v in network.state_dict().items()}
    assert not any("adjustment" in k for k in state)  # fixed matrices, not saved
    actual = grunet_forward(state, windows, 2, "window", season=12, gru_window=gru_window)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-4)


def test_an_untrained_deseasonalizing_network_forecasts_seasonal_naive_of_the_adjusted_window():
    # the skip starts as seasonal naive on the adjusted values the GRU reads; the season
    # estimated from the whole window is added back ahead
    windows = seasonal_windows() * 4 + 50
    network = GRUNet(hidden_size=8, horizon=15, normalize="window", window=72, season=12, deseasonalize=True,
                     gru_window=24).eval()
    with torch.no_grad():
        forecast = network(torch.from_numpy(windows)).numpy()
    for row, got in zip(windows.astype(np.float64), forecast, strict=True):
        inside, ahead = seasonal_effects(row, 12, 15)
        adjusted = row - inside
        one_season_before = adjusted[-12:][np.arange(15) % 12]
        np.testing.assert_allclose(got, one_season_before + ahead, rtol=1e-4, atol=1e-3)


def test_the_gru_reads_only_its_own_part_of_the_window():
    torch.manual_seed(0)
    network = GRUNet(hidden_size=8, horizon=2, window=30, gru_window=10).eval()
    windows = torch.randn(4, 30)
    changed = windows.clone()
    changed[:, :20] = 99.0
    with torch.no_grad():
        torch.testing.assert_close(network(windows), network(changed))
    with pytest.raises(ValueError, match="gru_window must be from 1 to the window"):
        GRUNet(window=30, gru_window=31)
    with pytest.raises(ValueError, match="needs normalize='window'"):
        GRUNet(window=48, season=12, deseasonalize=True)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_the_trainers_adam_updates_as_torchs_fused_adam_to_the_bit(weight_decay):
    # the same kernel on the same state, without torch.optim (which imports torch._dynamo
    # at its first use in a process: 0.6 s of every command-line fit); its clipping too,
    # without nn.utils' sorting of the tensors by device and dtype at every step
    from gruforecast._training import _FusedAdam

    def trained(make, clip):
        torch.manual_seed(0)
        network = GRUNet(window=12, hidden_size=8, num_layers=2, horizon=3)
        optimizer = make(list(network.parameters()))
        generator = torch.Generator().manual_seed(1)
        clipped = 0
        for _ in range(50):
            inputs = torch.randn(16, 12, generator=generator)
            targets = torch.randn(16, 3, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(network(inputs), targets).backward()
            norm = torch.nn.utils.get_total_norm([p.grad for p in network.parameters()])
            clipped += bool(norm > 0.5)
            clip(optimizer, network)
            optimizer.step()
        assert 0 < clipped < 50  # the clipping bites at some steps, not all
        return list(network.parameters())

    ours = trained(
        lambda ps: _FusedAdam(ps, lr=1e-3, weight_decay=weight_decay),
        lambda optimizer, network: optimizer.clip_grad_norm_(0.5),
    )
    theirs = trained(
        lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=weight_decay, fused=True),
        lambda optimizer, network: torch.nn.utils.clip_grad_norm_(network.parameters(), 0.5),
    )
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_a_fit_imports_no_torch_dynamo():
    import subprocess
    import sys

    code = (
        "import sys, warnings; warnings.simplefilter('ignore')\n"
        "from gruforecast import GRUForecaster\n"
        "from gruforecast.datasets import load_air_passengers\n"
        "GRUForecaster(horizon=12, epochs=2, random_state=0).fit(load_air_passengers())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def covariate_network(features=2, ahead_features=3, **options):
    torch.manual_seed(0)
    return GRUNet(
        hidden_size=8,
        num_layers=2,
        horizon=4,
        normalize="window",
        window=12,
        season=4,
        gru_window=8,
        deseasonalize=True,
        features=features,
        ahead_features=ahead_features,
        **options,
    )


def test_covariates_are_read_beside_the_window_and_over_the_horizon():
    network = covariate_network()
    generator = torch.Generator().manual_seed(1)
    windows = torch.randn(5, 12, generator=generator) + 10
    features = torch.randn(5, 12, 2, generator=generator)
    ahead = torch.randn(5, 4, 3, generator=generator)
    assert network.gru.input_size == 3
    assert network(windows, features, ahead).shape == (5, 4)
    assert GRUNet(**network.config()).config() == network.config()
    # the decoder starts at zero: what lies ahead changes nothing until training
    torch.testing.assert_close(network(windows, features, ahead), network(windows, features, -ahead))
    with torch.no_grad():
        network.decoder[2].weight.fill_(0.1)
    assert not torch.allclose(network(windows, features, ahead), network(windows, features, -ahead))
    # the window's channels do count (the GRU reads them)
    assert not torch.allclose(network(windows, features, ahead), network(windows, -features, ahead))
    with pytest.raises(ValueError, match="reads 2 covariate channel\\(s\\) in the window and 3 ahead; it was given none and 3"):
        network(windows, None, ahead)
    with pytest.raises(ValueError, match="reads 0 covariate"):
        covariate_network(0, 0)(windows, features, None)


def test_a_network_with_covariates_whose_weights_for_them_are_zero_is_the_one_without():
    # how a fit with covariates can start from a prior that has none
    plain = covariate_network(0, 0)
    wide = covariate_network()
    state = dict(plain.state_dict())
    weight = state["gru.weight_ih_l0"]
    state["gru.weight_ih_l0"] = torch.cat([weight, torch.zeros(weight.shape[0], 2)], dim=1)
    missing, unexpected = wide.load_state_dict(state, strict=False)
    assert all(name.startswith(("decoder.", "features_", "ahead_")) for name in missing)
    assert not unexpected
    prior = covariate_network()
    prior.load_prior(plain.state_dict())  # how a fit from a prior widens its weights
    torch.testing.assert_close(prior.state_dict()["gru.weight_ih_l0"], state["gru.weight_ih_l0"])
    generator = torch.Generator().manual_seed(2)
    windows = torch.randn(6, 12, generator=generator)
    features = torch.randn(6, 12, 2, generator=generator)
    ahead = torch.randn(6, 4, 3, generator=generator)
    plain.eval(), wide.eval()
    torch.testing.assert_close(wide(windows, features, ahead), plain(windows), rtol=1e-6, atol=1e-6)


def test_the_fused_kernel_trains_a_network_with_covariates_as_nn_gru_does():
    from gruforecast import _fused

    if _fused.kernel() is None:
        pytest.skip(f"the kernel cannot be built here: {_fused._failure}")
    generator = torch.Generator().manual_seed(3)
    windows = torch.randn(7, 12, generator=generator)
    features = torch.randn(7, 12, 2, generator=generator)
    ahead = torch.randn(7, 4, 3, generator=generator)
    gradients = []
    for backend in ("torch", "fused"):
        network = covariate_network(gru_backend=backend)
        with torch.no_grad():
            network.decoder[2].weight.fill_(0.1)
        network.train()
        network(windows, features, ahead).square().sum().backward()
        gradients.append([p.grad.clone() for p in network.parameters()])
    for theirs, ours in zip(*gradients, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_the_network_scales_its_covariate_channels_itself():
    # so that the scaling goes with the weights into files and the ONNX graph
    scaled, raw = covariate_network(), covariate_network()
    centres, spreads = np.array([10.0, -3.0]), np.array([2.0, 0.5])
    ahead_centres, ahead_spreads = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    raw.set_covariate_scaling((centres, spreads), (ahead_centres, ahead_spreads))
    with torch.no_grad():
        for network in (scaled, raw):
            network.decoder[2].weight.fill_(0.1)
    generator = torch.Generator().manual_seed(4)
    windows = torch.randn(5, 12, generator=generator)
    features = torch.randn(5, 12, 2, generator=generator) * 3 + 7
    ahead = torch.randn(5, 4, 3, generator=generator) * 2 + 1
    expected = scaled(
        windows,
        (features - torch.as_tensor(centres).float()) / torch.as_tensor(spreads).float(),
        (ahead - torch.as_tensor(ahead_centres).float()) / torch.as_tensor(ahead_spreads).float(),
    )
    torch.testing.assert_close(raw(windows, features, ahead), expected, rtol=1e-5, atol=1e-6)
    assert {"features_centres", "ahead_spreads"} <= set(raw.state_dict())
    assert "features_centres" not in covariate_network(0, 0).state_dict()
