"""Coverage of the conformal intervals on non-stationary series: three Gaussian random
walks of 600 daily values, backtested with defaults (horizon 1, recursive) at 5 origins
24 days apart (refitted at each), 80% and 90% intervals.

    python3 bench/coverage_random_walk.py

Prints the share of true values inside each interval per walk, over all 24 steps,
steps 1-6 ("early") and steps 19-24 ("late"), and whether the width never narrows over
the steps at any origin.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from gruforecast import GRUForecaster, backtest

rows = []
started = time.time()
for seed in range(3):
    rng = np.random.default_rng(100 + seed)
    walk = pd.Series(
        rng.normal(size=600).cumsum() + 100, index=pd.date_range("2020", periods=600, freq="D")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backtest(
            GRUForecaster(random_state=seed), walk, 24, initial=480, step=24, interval=[0.8, 0.9]
        )
    frame = result.forecasts
    for level in ("80", "90"):
        inside = (frame.truth >= frame[f"lower_{level}"]) & (frame.truth <= frame[f"upper_{level}"])
        rows.append(
            {
                "walk": seed,
                "level": level,
                "coverage": inside.mean(),
                "early": inside[frame.step <= 6].mean(),
                "late": inside[frame.step > 18].mean(),
            }
        )
    widths = (frame.upper_90 - frame.lower_90).groupby(frame.cutoff)
    print("widths never narrow:", all((np.diff(w.to_numpy()) >= -1e-9).all() for _, w in widths))
table = pd.DataFrame(rows)
print(table.to_string(index=False))
print(table.groupby("level")[["coverage", "early", "late"]].mean().round(3))
print(f"{time.time() - started:.0f} s")
