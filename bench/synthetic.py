"""Synthetic series for the pretrained priors' corpus (bench/priors.py).

Each series is a sum (or, for a share, a product) of parts drawn at random from one
NumPy generator, so that a seed gives the same corpus on every machine: a level; a
trend (linear, damped, piecewise or none); a season of ``season`` values (a few
harmonics, additive or multiplicative, its amplitude drifting); level shifts; noise
(AR(1) or ARMA(1,1), of a size relative to the level); and, for a share of the series,
Gaussian-process draws whose kernel is a random sum or product of a few basic ones
(RBF, periodic at the season, rational quadratic, linear, white noise), as Chronos's
KernelSynth makes them (Ansari et al. 2024, "Chronos", section 4.2), and intermittent
demand (Bernoulli occurrences times gamma sizes). Values are shifted to be positive, as
sales, counts and prices are, and as the real series of the corpus are (one series below
zero would turn log1p off for the whole corpus).

NumPy only; nothing here reads data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["generate"]

# a Gaussian-process draw is at most this long (the Cholesky factor costs length**3)
MAX_GP_LENGTH = 320


def generate(n: int, season: int, lengths: tuple[int, int], seed: int) -> list[np.ndarray]:
    """``n`` series of ``season``'s period (1: none), each of a length drawn from
    ``lengths`` (inclusive), from ``seed``."""
    rng = np.random.default_rng(seed)
    return [_series(rng, season, int(rng.integers(lengths[0], lengths[1] + 1))) for _ in range(n)]


def _series(rng: np.random.Generator, season: int, length: int) -> np.ndarray:
    kind = rng.choice(["structural", "gp", "intermittent"], p=[0.6, 0.3, 0.1])
    if kind == "intermittent":
        return _intermittent(rng, length)
    t = np.arange(length, dtype=float)
    if kind == "gp":  # (no longer than MAX_GP_LENGTH)
        values = _gaussian_process(rng, season, min(length, MAX_GP_LENGTH))
        values = values / (np.std(values) or 1.0)
    else:
        values = _structural(rng, season, t)
    # a positive level, as sales, counts and prices have (and as the real series of the
    # corpus do: one series below zero would turn the prior's log1p off for all)
    spread = np.ptp(values) or 1.0
    values = values - values.min() + spread * rng.uniform(0.2, 3.0)
    return values * np.exp(rng.uniform(0.0, 8.0))


def _structural(rng: np.random.Generator, season: int, t: np.ndarray) -> np.ndarray:
    length = len(t)
    trend_kind = rng.choice(["none", "linear", "damped", "piecewise"], p=[0.3, 0.3, 0.2, 0.2])
    slope = rng.normal(0.0, 1.0) / length
    if trend_kind == "linear":
        trend = slope * t
    elif trend_kind == "damped":
        phi = rng.uniform(0.9, 0.995)
        trend = slope * (1 - phi ** (t + 1)) / (1 - phi) * length / 10
    elif trend_kind == "piecewise":
        knots = np.sort(rng.choice(length, size=int(rng.integers(1, 4)), replace=False))
        trend = slope * t
        for knot in knots:
            trend = trend + rng.normal(0.0, 1.0) / length * np.maximum(t - knot, 0)
    else:
        trend = np.zeros(length)
    seasonal = np.zeros(length)
    if season > 1 and rng.random() < 0.85:
        harmonics = int(rng.integers(1, min(4, season // 2 + 1) + 1))
        for k in range(1, harmonics + 1):
            amplitude = rng.normal(0.0, 1.0) / k
            seasonal += amplitude * np.sin(2 * np.pi * k * t / season + rng.uniform(0, 2 * np.pi))
        seasonal *= 1 + rng.normal(0.0, 0.3) * t / length  # a drifting amplitude
        seasonal *= rng.uniform(0.1, 1.5)
    shifts = np.zeros(length)
    for _ in range(int(rng.poisson(0.4))):
        shifts[int(rng.integers(1, length)) :] += rng.normal(0.0, 0.5)
    noise = _arma(rng, length) * rng.uniform(0.02, 0.4)
    base = trend + shifts + noise
    if rng.random() < 0.3:  # multiplicative season: it grows with the level
        level = base - base.min() + 1.0
        return level * (1 + 0.3 * seasonal / (np.abs(seasonal).max() or 1.0))
    return base + seasonal


def _arma(rng: np.random.Generator, length: int) -> np.ndarray:
    phi, theta = rng.uniform(-0.5, 0.95), rng.uniform(-0.5, 0.5)
    shocks = rng.normal(0.0, 1.0, length + 1)
    values = np.zeros(length)
    previous = 0.0
    for i in range(length):
        previous = phi * previous + shocks[i + 1] + theta * shocks[i]
        values[i] = previous
    return values


def _gaussian_process(rng: np.random.Generator, season: int, length: int) -> np.ndarray:
    t = np.arange(length, dtype=float)[:, None]
    distance = t - t.T

    def kernel() -> np.ndarray:
        kind = rng.choice(["rbf", "periodic", "rq", "linear", "white"], p=[0.3, 0.3, 0.15, 0.15, 0.1])
        scale = length * rng.uniform(0.02, 0.5)
        if kind == "rbf":
            return np.exp(-0.5 * (distance / scale) ** 2)
        if kind == "periodic":
            period = season if season > 1 and rng.random() < 0.8 else rng.uniform(3, max(4, length / 3))
            return np.exp(-2 * np.sin(np.pi * np.abs(distance) / period) ** 2 / rng.uniform(0.3, 2.0) ** 2)
        if kind == "rq":
            alpha = rng.uniform(0.5, 3.0)
            return (1 + distance**2 / (2 * alpha * scale**2)) ** -alpha
        if kind == "linear":
            centred = (t - length / 2) / length
            return centred @ centred.T + rng.uniform(0.0, 0.5)
        return np.eye(length) * rng.uniform(0.01, 0.3)

    covariance = kernel()
    for _ in range(int(rng.integers(0, 3))):
        covariance = covariance + kernel() if rng.random() < 0.6 else covariance * kernel()
    covariance = covariance + 1e-6 * np.eye(length)
    factor = np.linalg.cholesky(covariance + 1e-4 * np.trace(covariance) / length * np.eye(length))
    return factor @ rng.normal(0.0, 1.0, length)


def _intermittent(rng: np.random.Generator, length: int) -> np.ndarray:
    probability = rng.uniform(0.1, 0.7)
    sizes = rng.gamma(rng.uniform(0.5, 3.0), rng.uniform(1.0, 20.0), length)
    return np.round(np.where(rng.random(length) < probability, sizes, 0.0))
