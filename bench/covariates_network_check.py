"""Can GRUNet's covariate inputs learn a promotion's lift? (issue 34, before the
estimator reads covariates: GRUNet and a plain Adam loop, no estimator.)

The synthetic retail panel of bench/covariates_retail.py (200 daily series of 730 days,
promotions with a lift by category: food 1.3, toys 1.6, garden 1.2; US holidays). The
network sees log1p of the sales, window 28, horizon 14, normalised per window, with and
without the covariates (promotion, holiday, day of the week as sine and cosine, the
category as indicators; in the window and over the horizon). Scored on the last 14
days: MASE against the in-sample seasonal naive (m=7), and the lift the model forecasts
(all 14 days on promotion divided by none) against the true one.

    python3 bench/covariates_network_check.py [steps]   # default 2000; bench/README.md
"""

import sys
import time

import numpy as np
import torch
from covariates_retail import LIFTS as LIFT
from covariates_retail import retail

from gruforecast import GRUNet

torch.set_num_threads(2)
N, T, H, W = 200, 730, 14, 28
frame = retail(0, N, T)  # the panel of bench/covariates_retail.py, as arrays
y = frame["y"].to_numpy().reshape(N, T)
promo = frame["promo"].to_numpy().reshape(N, T)
is_hol = frame["holiday"].to_numpy()[:T]
cats = frame["category"].to_numpy()[::T]
dow = frame["ds"].dt.day_of_week.to_numpy()[:T]
cat_onehot = np.stack([(cats == c).astype(float) for c in LIFT], 1)  # (N, 3)
cal = np.stack([np.sin(2 * np.pi * dow / 7), np.cos(2 * np.pi * dow / 7)], 1)  # (T, 2)


def channels(promo_k):  # (N, T, C): promo, holiday, dow sin/cos, category
    return np.concatenate(
        [
            promo_k[:, :, None],
            np.broadcast_to(is_hol[None, :, None], (N, T, 1)),
            np.broadcast_to(cal[None], (N, T, 2)),
            np.broadcast_to(cat_onehot[:, None], (N, T, 3)),
        ],
        2,
    )


C = channels(promo)
logy = np.log1p(y)
train_end = T - H  # last H days are the test


def windows(starts_k, starts_t, cov, promo_ahead=None):
    idx = starts_t[:, None] + np.arange(W)
    win = logy[starts_k[:, None], idx]
    feat = cov[starts_k[:, None], idx]
    aidx = starts_t[:, None] + W + np.arange(H)
    ahead = cov[starts_k[:, None], aidx].copy()
    tgt = logy[starts_k[:, None], aidx] if (aidx < T).all() else None
    return win, feat, ahead, tgt


ks, ts = np.meshgrid(np.arange(N), np.arange(0, train_end - W - H + 1), indexing="ij")
ks, ts = ks.ravel(), ts.ravel()


STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def train(with_cov, steps=STEPS):
    torch.manual_seed(0)
    net = GRUNet(
        hidden_size=48,
        num_layers=2,
        horizon=H,
        normalize="window",
        window=W,
        season=7,
        features=7 if with_cov else 0,
        ahead_features=7 if with_cov else 0,
        gru_backend="fused",
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = np.random.default_rng(1)
    net.train()
    for _ in range(steps):
        b = g.integers(0, len(ks), 256)
        win, feat, ahead, tgt = windows(ks[b], ts[b], C)
        args = [torch.tensor(win, dtype=torch.float32)]
        if with_cov:
            args += [
                torch.tensor(feat, dtype=torch.float32),
                torch.tensor(ahead, dtype=torch.float32),
            ]
        loss = torch.nn.functional.mse_loss(net(*args), torch.tensor(tgt, dtype=torch.float32))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    net.eval()
    return net


def forecast(net, with_cov, promo_override=None):
    k = np.arange(N)
    t = np.full(N, train_end - W)
    cov = C if promo_override is None else channels(promo_override)
    win, feat, ahead, _ = windows(k, t, cov)
    args = [torch.tensor(win, dtype=torch.float32)]
    if with_cov:
        args += [torch.tensor(feat, dtype=torch.float32), torch.tensor(ahead, dtype=torch.float32)]
    with torch.no_grad():
        return np.expm1(net(*args).numpy())


truth = y[:, train_end:]
scale = np.array([np.mean(np.abs(y[k, 7:train_end] - y[k, : train_end - 7])) for k in range(N)])
for with_cov in (False, True):
    start = time.perf_counter()
    net = train(with_cov)
    f = forecast(net, with_cov)
    mase = np.mean(np.abs(f - truth).mean(1) / scale)
    line = f"covariates={with_cov}: MASE {mase:.3f} ({time.perf_counter() - start:.0f} s)"
    if with_cov:
        on = promo.copy()
        on[:, train_end:] = 1
        off = promo.copy()
        off[:, train_end:] = 0
        ratio = forecast(net, True, on) / forecast(net, True, off)
        for c in LIFT:
            r = ratio[cats == c].mean()
            line += (
                f"; {c}: lift {r:.3f} (true {LIFT[c]}, error {abs(r - 1) / (LIFT[c] - 1) - 1:+.0%})"
            )
    print(line, flush=True)
