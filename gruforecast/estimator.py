"""GRUForecaster: the scikit-learn facade over windowing, scaling, GRUNet and training.

The one rule behind the API: **y is None means X is the series.** ``fit(series)``
windows the series itself; ``fit(X, y)`` is the plain regressor form on windows that
the caller made. Both are needed: GridSearchCV with ``cv=TimeSeriesSplit`` splits a raw
series and calls ``fit(X_train)`` and ``score(X_test)``, while ``cross_val_score`` and
``Pipeline`` pass windows and targets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import metrics
from ._forecasting import forecast_history
from ._time_index import TimeIndex, seasonal_period
from ._validation import (
    as_series,
    as_targets,
    as_windows,
    check_int,
    check_missing,
    check_real,
)
from .intervals import Calibration
from .network import GRUNet, check_normalize
from .scaling import SeriesScaler, check_scaler_kind
from .training import (
    Trainer,
    evaluation_batch_size,
    predict_in_chunks,
    resolve_device,
    usable_device,
)
from .windowing import make_windows, n_windows

__all__ = ["GRUForecaster"]

# window="auto" without a known seasonal period
DEFAULT_WINDOW = 24
# batch_size="auto": about AUTO_BATCH_STEPS minibatches per epoch, within these bounds
AUTO_BATCH_STEPS = 16
AUTO_BATCH_MIN = 16
AUTO_BATCH_MAX = 256
# normalize="window" applies from this window width on
MIN_NORMALIZED_WINDOW = 3
SKIP_KINDS = ("seasonal", None)
# precision: the dtype torch.autocast runs training's forward pass in (None: float32)
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def _label(label: Any) -> Any:
    """An index label as JSON holds it: ints stay ints, the rest (timestamps, periods)
    their string form."""
    return int(label) if isinstance(label, (int, np.integer)) else str(label)


def _validation_scores(
    network: GRUNet, inputs: torch.Tensor, targets: torch.Tensor, scaler: SeriesScaler
) -> dict[str, float] | None:
    """MAE, RMSE and sMAPE of the trained network on the validation windows, in the
    series' own units (all steps ahead pooled); None without a validation part."""
    if len(inputs) == 0:
        return None
    truth = scaler.inverse_transform(targets.cpu().numpy())
    forecast = scaler.inverse_transform(predict_in_chunks(network, inputs, inputs.device))
    return {
        "mae": metrics.mae(truth.ravel(), forecast.ravel()),
        "rmse": metrics.rmse(truth.ravel(), forecast.ravel()),
        "smape": metrics.smape(truth.ravel(), forecast.ravel()),
        "n_windows": len(inputs),
    }


class GRUForecaster(RegressorMixin, BaseEstimator):
    """Forecast a univariate series with a GRU network, the scikit-learn way.

    Parameters
    ----------
    window : int or "auto", default="auto"
        Number of past values the network reads to forecast. ``"auto"``: in the
        windowed form ``fit(X, y)``, the width of ``X``; in the series form, twice the
        seasonal period implied by a pandas index's frequency (monthly 24, quarterly 8,
        weekly 104, daily 14, hourly 48), else 24, and at most a third of the series,
        so that enough windows remain to train on.
    horizon : int, default=1
        Number of values one network call predicts (a direct multi-output head).
        ``forecast`` goes further by feeding forecasts back, ``horizon`` at a time.
    hidden_size : int, default=64
        Size of the GRU's hidden state.
    num_layers : int, default=2
        Number of stacked GRU layers.
    dropout : float, default=0.0
        Dropout between GRU layers during training, in [0, 1).
    scaler : {"standard", "minmax"} or None, default="standard"
        How values are scaled before the network sees them; fitted on the training
        part only (never on the validation part).
    normalize : {"window"} or None, default="window"
        ``"window"``: besides the global scaler, each input window is standardised by
        its own mean and standard deviation inside the network, and the forecasts are
        mapped back with them (reversible instance normalisation, RevIN). The network
        learns the shape of what follows, whatever the level, so trends and level
        shifts beyond the training range forecast well. It is part of the network, so
        the exported ONNX graph does the same. Windows of fewer than 3 values are not
        normalised (their own mean and spread would leave nothing to learn from).
        None: only the global scaler.
    skip : {"seasonal"} or None, default="seasonal"
        ``"seasonal"``: the network adds to its GRU's output a linear map of the input
        window, initialised to seasonal naive forecasting (the value one season before
        each step; the season from a pandas index's frequency, 12 for monthly data),
        with the GRU's head starting at zero. The untrained network forecasts "as one
        season ago", and training learns the correction. Without a known season (NumPy
        input, yearly data, windows given to ``fit(X, y)``, a window shorter than the
        season) the map starts at zero, so the untrained network forecasts the window's
        mean. Part of the network, so the exported ONNX graph does the same.
    missing : {"raise", "interpolate"}, default="raise"
        Missing values (NaN, None, pd.NA) in a series given to ``fit``, ``score`` or
        ``forecast(context=...)``: ``"raise"`` refuses them with an error naming the
        first position; ``"interpolate"`` fills them linearly between their neighbours,
        in time for a DatetimeIndex (a three-day gap weighs three times a one-day gap),
        by position otherwise, and with the nearest known value at either end.
        Windows given to ``predict`` or ``fit(X, y)`` must be complete either way.
    epochs : int, default=500
        Maximum number of passes over the training windows (early stopping usually
        ends training well before).
    batch_size : int or "auto", default="auto"
        Windows per minibatch. ``"auto"``: about 16 minibatches per epoch, between 16
        and 256 windows each, so that a short series still gets enough optimizer steps
        per epoch and a long one is not slowed by tiny batches.
    lr : float, default=1e-3
        Adam's learning rate.
    weight_decay : float, default=0.0
        Adam's L2 penalty.
    gradient_clip : float or None, default=1.0
        Maximum global norm of the gradient; None disables clipping.
    validation_fraction : float, default=0.1
        Share of the windows, the *last* ones chronologically, held out for early
        stopping. 0 trains for ``epochs`` epochs without early stopping.
    calibration_fraction : float, default=0.1
        Share of the windows, the very last ones, held out from training *and* early
        stopping; their errors calibrate the prediction intervals of
        ``forecast(steps, interval=...)`` (split conformal). 0 disables intervals.
    patience : int or None, default=40
        Epochs without a lower validation loss before training stops; the weights of
        the best epoch are restored. None trains all epochs (and still restores the best).
    tol : float, default=0.05
        The relative gain in validation loss that counts as progress for ``patience``:
        training stops after ``patience`` epochs none of which beat, by a factor
        ``1 - tol``, the loss of the last epoch that did. Gains smaller than that still
        update the best weights; they just do not keep training going (a validation
        loss that creeps down by chance kept fits of 500 values going for minutes).
        0 counts every gain.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU; ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"`` force one (an unavailable device is an error).
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of training's forward and backward passes. ``"bfloat16"``: mixed
        precision (``torch.autocast`` to bfloat16; the weights, the optimizer, the
        loss, early stopping's validation loss, ``predict`` and the exported model stay
        float32). CUDA only: on the CPU it is many times slower (about 9x on 2 cores),
        so asking for it there is an error. See bench/README.md for what it gives on a GPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. With an int, runs on the
        CPU are bitwise repeatable.
    verbose : int, default=0
        1 or more shows a progress bar with the current losses.

    Attributes
    ----------
    window_ : int
        The window used.
    scaler_ : SeriesScaler
        The fitted scaler.
    network_ : GRUNet
        The trained network, in evaluation mode, on ``device_``.
    device_ : torch.device
        Where the network lives.
    history_ : History
        One dict per epoch (train and validation loss, seconds, best).
    n_features_in_ : int
        Width of the windows ``predict`` takes (equal to ``window_``).
    last_window_ : ndarray of shape (window_,) or None
        The end of the fitted series, where ``forecast()`` starts; None after
        ``fit(X, y)``, where there is no series.
    time_index_ : TimeIndex or None
        How the fitted pandas series' index continues; None for non-pandas input.
    training_span_ : dict or None
        The fitted series' ``length`` and its first and last labels (``start``,
        ``end``; None for NumPy input); None after ``fit(X, y)``.
    validation_scores_ : dict or None
        ``mae``, ``rmse`` and ``smape`` of the trained network on the validation
        windows, in the series' units (all steps ahead pooled), and ``n_windows``;
        None when ``validation_fraction=0``.
    stop_reason_ : str
        Why training ended: "completed", "early stopping", "diverged" or "interrupted".

    Examples
    --------
    >>> from gruforecast import GRUForecaster
    >>> from gruforecast.datasets import load_air_passengers
    >>> series = load_air_passengers()
    >>> forecaster = GRUForecaster(epochs=5, random_state=0).fit(series)
    >>> forecaster.forecast(12).index[0]
    Timestamp('1961-01-01 00:00:00')
    """

    def __init__(
        self,
        window: int | str = "auto",
        horizon: int = 1,
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.0,
        scaler: str | None = "standard",
        normalize: str | None = "window",
        skip: str | None = "seasonal",
        missing: str = "raise",
        epochs: int = 500,
        batch_size: int | str = "auto",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        gradient_clip: float | None = 1.0,
        validation_fraction: float = 0.1,
        calibration_fraction: float = 0.1,
        patience: int | None = 40,
        tol: float = 0.05,
        device: str | torch.device = "auto",
        precision: str = "float32",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.window = window
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.scaler = scaler
        self.normalize = normalize
        self.skip = skip
        self.missing = missing
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.patience = patience
        self.tol = tol
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # fit(series) is the series form: y is optional, not missing
        tags.target_tags.required = False
        # y may be (n_samples, horizon): one column per step ahead
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ parameters

    def _check_params(self) -> None:
        """Validate the constructor parameters (sklearn: validation belongs in fit)."""
        if not (isinstance(self.window, str) and self.window == "auto"):
            check_int(self.window, "window")
        check_int(self.horizon, "horizon")
        check_int(self.hidden_size, "hidden_size")
        check_int(self.num_layers, "num_layers")
        check_real(self.dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
        check_scaler_kind(self.scaler)
        check_normalize(self.normalize)
        if self.skip not in SKIP_KINDS:
            raise ValueError(f"skip must be 'seasonal' or None, got {self.skip!r}")
        check_missing(self.missing)
        check_int(self.epochs, "epochs")
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int(self.batch_size, "batch_size")
        check_real(self.lr, "lr", low=0.0, low_inclusive=False)
        check_real(self.weight_decay, "weight_decay", low=0.0)
        if self.gradient_clip is not None:
            check_real(self.gradient_clip, "gradient_clip", low=0.0, low_inclusive=False)
        for name in ("validation_fraction", "calibration_fraction"):
            check_real(getattr(self, name), name, low=0.0, high=1.0, high_inclusive=False)
        if self.validation_fraction + self.calibration_fraction >= 1.0:
            raise ValueError(
                f"{self._fractions()} leave nothing to train on; their sum must be below 1"
            )
        if self.patience is not None:
            check_int(self.patience, "patience")
        check_real(self.tol, "tol", low=0.0, high=1.0, high_inclusive=False)
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be 'float32' or 'bfloat16', got {self.precision!r}"
            )
        check_int(self.verbose, "verbose", minimum=0)

    def _auto_window(self, length: int, freq: str | None) -> int:
        period = seasonal_period(freq)
        preferred = 2 * period if period and period > 1 else DEFAULT_WINDOW
        return max(1, min(preferred, (length - self.horizon) // 3))

    @staticmethod
    def _season(time_index: TimeIndex | None) -> int:
        """The seasonal period of the series' index frequency; 1 if none is known."""
        return (seasonal_period(time_index.freq) if time_index else None) or 1

    def _split(self, n_samples: int) -> tuple[int, int, int, int]:
        """Chronological parts of the windows: (n_train, n_valid, n_calibration, gap).

        Validation, then calibration, follow training, each after a gap of
        ``horizon - 1`` windows: a window's targets are its next ``horizon`` values, so
        without the gap the first held-out windows would share targets with the last
        windows before them.
        """
        gap = self.horizon - 1
        n_valid = math.ceil(self.validation_fraction * n_samples)
        n_calibration = math.ceil(self.calibration_fraction * n_samples)
        gaps = gap * ((n_valid > 0) + (n_calibration > 0))
        return n_samples - n_valid - n_calibration - gaps, n_valid, n_calibration, gap

    def _batch_size(self, n_train: int) -> int:
        if self.batch_size != "auto":
            return self.batch_size
        return int(min(AUTO_BATCH_MAX, max(AUTO_BATCH_MIN, n_train // AUTO_BATCH_STEPS)))

    def _min_samples(self) -> int:
        """Fewest windows that leave one to train on after the held-out parts."""
        n_samples = 1
        while self._split(n_samples)[0] < 1:
            n_samples += 1
        return n_samples

    def _fractions(self) -> str:
        return (
            f"validation_fraction={self.validation_fraction} and "
            f"calibration_fraction={self.calibration_fraction}"
        )

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None) -> "GRUForecaster":
        """Train the network.

        Parameters
        ----------
        X : series or array of shape (n_samples, window)
            With ``y=None``, the series itself (list, 1-D or (n, 1) array, pd.Series
            with any index, single-column DataFrame), oldest value first. With ``y``,
            windows of past values, one per row.
        y : None or array of shape (n_samples,) or (n_samples, horizon)
            The values that follow each window of ``X``.

        Returns
        -------
        self

        Raises
        ------
        TypeError, ValueError
            For bad parameters or data, with a message naming the problem. A fit that
            fails leaves the forecaster as it was before.
        """
        self._check_params()
        device = resolve_device(self.device)
        if self.precision != "float32" and device.type != "cuda":
            raise ValueError(
                f"precision={self.precision!r} is for training on CUDA; the device here is "
                f"{device} (where it is many times slower than float32): use "
                "precision='float32'"
            )
        horizon = self.horizon
        if y is None:
            values, fitted = self._prepare_series(X)
            window = fitted["window_"]
            n_samples = n_windows(len(values), window, horizon)
        else:
            windows, targets, fitted = self._prepare_windows(X, y)
            n_samples = len(windows)
        n_train, n_valid, _, gap = self._split(n_samples)
        training = slice(0, n_train)
        validation = slice(n_train + gap, n_train + gap + n_valid)
        scaler = fitted["scaler_"]
        # Data goes to the device once, as float32. From a series, only the values go:
        # the windows are views of them there (unfold), never copies.
        if y is None:
            used = values[: validation.stop + window + horizon - 1]
            scaled = torch.as_tensor(scaler.transform(used, np.float32), device=device)
            inputs = scaled[: len(scaled) - horizon].unfold(0, window, 1)
            outputs = scaled[window:].unfold(0, horizon, 1)
        else:
            inputs = torch.as_tensor(
                scaler.transform(windows[: validation.stop], np.float32), device=device
            )
            outputs = torch.as_tensor(
                scaler.transform(targets[: validation.stop], np.float32), device=device
            )

        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            network = GRUNet(
                hidden_size=self.hidden_size,
                num_layers=self.num_layers,
                horizon=self.horizon,
                dropout=self.dropout,
                # a window's own mean and spread leave (almost) nothing of 1 or 2 values
                normalize=self.normalize if fitted["window_"] >= MIN_NORMALIZED_WINDOW else None,
                window=fitted["window_"],
                season=self._season(fitted["time_index_"]) if self.skip else None,
            ).to(device)
            trainer = Trainer(
                network,
                epochs=self.epochs,
                batch_size=self._batch_size(n_train),
                lr=self.lr,
                weight_decay=self.weight_decay,
                gradient_clip=self.gradient_clip,
                patience=self.patience,
                tol=self.tol,
                verbose=self.verbose,
                generator=torch.Generator().manual_seed(seed),
                autocast_dtype=PRECISIONS[self.precision],
                evaluation_batch_size=evaluation_batch_size(
                    device, fitted["window_"], self.hidden_size
                ),
            )
            history = trainer.fit(
                inputs[training], outputs[training], inputs[validation], outputs[validation]
            )
            validation_scores = _validation_scores(
                network, inputs[validation], outputs[validation], scaler
            )
        # only now, with training done, does the forecaster change
        if y is None and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if y is not None:
            validate_data(self, X, reset=True, skip_check_array=True)  # n_features_in_, names
        for name, value in fitted.items():
            setattr(self, name, value)
        self.horizon_ = self.horizon
        self.n_features_in_ = self.window_
        self.history_ = history
        self.network_ = network
        self.device_ = device
        self.stop_reason_ = trainer.stop_reason
        self.validation_scores_ = validation_scores
        return self

    def _prepare_series(self, X: Any) -> tuple[np.ndarray, dict[str, Any]]:
        """The series' values, and what fit will set once training succeeds."""
        series = as_series(X, what="X (the series)", missing=self.missing)
        values, horizon = series.values, self.horizon
        time_index = TimeIndex.from_index(series.index) if series.is_pandas else None
        if self.window == "auto":
            window = self._auto_window(len(values), time_index and time_index.freq)
        else:
            window = self.window
        minimum = window + horizon - 1 + self._min_samples()
        if len(values) < minimum:
            raise ValueError(
                f"X (the series) has {len(values)} values, but window={window}, "
                f"horizon={horizon}, {self._fractions()} need at least {minimum}"
            )
        n_train, n_valid, n_calibration, gap = self._split(n_windows(len(values), window, horizon))
        calibration_start = n_train + n_valid + 2 * gap
        return values, {
            # scaling sees only what the training windows cover, inputs and targets
            "scaler_": SeriesScaler.fit(values[: n_train + window + horizon - 1], self.scaler),
            # the stretch from the first calibration window on: its targets are unseen
            "calibration_": (
                Calibration(window, series=values[calibration_start:].copy())
                if n_calibration
                else None
            ),
            "window_": window,
            "last_window_": values[-window:].copy(),
            "time_index_": time_index,
            "series_name_": series.name,
            "training_span_": {
                "length": len(values),
                "start": _label(series.index[0]) if series.is_pandas else None,
                "end": _label(series.index[-1]) if series.is_pandas else None,
            },
        }

    def _prepare_windows(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        windows = as_windows(X)
        targets = as_targets(y, n_samples=len(windows), horizon=self.horizon)
        if self.window != "auto" and windows.shape[1] != self.window:
            raise ValueError(
                f"X has {windows.shape[1]} columns, but window={self.window}: each row of "
                "X must be one window of that many past values (or use window='auto')"
            )
        if len(windows) < self._min_samples():
            raise ValueError(
                f"X has {len(windows)} sample{'s' if len(windows) != 1 else ''}, but "
                f"{self._fractions()} need at least {self._min_samples()}: one or more to "
                "train on, the last ones held out"
            )
        n_train, n_valid, n_calibration, gap = self._split(len(windows))
        calibration_start = n_train + n_valid + 2 * gap
        return windows, targets, {
            # windows overlap, so their values are the series many times over; scaling
            # statistics of the training rows are still those of the training period
            "scaler_": SeriesScaler.fit(
                np.concatenate([windows[:n_train].ravel(), targets[:n_train].ravel()]),
                self.scaler,
            ),
            "calibration_": (
                Calibration(
                    windows.shape[1],
                    windows=windows[calibration_start:].copy(),
                    targets=targets[calibration_start:].copy(),
                )
                if n_calibration
                else None
            ),
            "window_": windows.shape[1],
            "last_window_": None,
            "time_index_": None,
            "series_name_": None,
            "training_span_": None,
        }

    # ------------------------------------------------------------------ predict

    def _predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Raw windows (n, window_) float64 -> raw predictions (n, horizon) float64.

        Scaling in float64, the network in float32 (full float32 on CUDA too, not TF32),
        chunk by chunk: exactly what the exported ONNX graph does, so that both give the
        same numbers.
        """
        scaled = self.scaler_.transform(windows, np.float32)
        return self.scaler_.inverse_transform(
            predict_in_chunks(self.network_, scaled, self.device_)
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predict the values that follow each window.

        Parameters
        ----------
        X : array of shape (n_samples, window_)
            Windows of raw (unscaled) values, oldest first; rows are independent.

        Returns
        -------
        ndarray of shape (n_samples,) if ``horizon == 1`` else (n_samples, horizon)
        """
        check_is_fitted(self)
        windows = as_windows(X, width=self.window_)
        validate_data(self, X, reset=False, skip_check_array=True)  # feature names
        predictions = self._predict_windows(windows)
        return predictions[:, 0] if self.horizon_ == 1 else predictions

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """R^2 of the predictions; with ``y=None``, ``X`` is a series to window first.

        The series form scores every window of ``X`` against the ``horizon`` values that
        follow it, which is what ``GridSearchCV(..., cv=TimeSeriesSplit()).fit(series)``
        needs.
        """
        check_is_fitted(self)
        if y is None:
            X, y = make_windows(
                as_series(X, what="X (the series)", missing=self.missing).values,
                self.window_,
                self.horizon_,
            )
        return super().score(X, y, sample_weight=sample_weight)

    def forecast(
        self, steps: int, context: Any = None, interval: Any = None
    ) -> np.ndarray | pd.Series | pd.DataFrame:
        """Forecast the ``steps`` values after the fitted series (or after ``context``).

        Beyond ``horizon`` steps, forecasts are fed back as inputs, ``horizon`` values
        at a time (recursive forecasting).

        Parameters
        ----------
        steps : int
            Number of future values.
        context : series, optional
            Another history to continue (at least ``window_`` values; the last
            ``window_`` are used). Default: the series given to ``fit``.
        interval : float or list of floats, optional
            Levels in (0, 1) of prediction intervals to add, e.g. ``0.9`` or
            ``[0.8, 0.95]``: split-conformal bounds from the errors, at each step
            ahead, of forecasts from the held-out calibration windows (see
            ``calibration_fraction``).

        Returns
        -------
        ndarray of shape (steps,), or pd.Series
            A pd.Series indexed by the next timestamps, periods or integers when the
            history (``context``, else the fitted series) was a pandas object, named
            like it.
        With ``interval``: pd.DataFrame or ndarray of shape (steps, 1 + 2 * n_levels)
            Columns ``forecast``, then ``lower_90``, ``upper_90`` (for 0.9) and so on
            for each level in the order given.

        Raises
        ------
        ValueError
            If the forecaster was fitted on windows and no ``context`` is given, if the
            context is shorter than ``window_``, if a pandas index cannot be continued
            (an irregular DatetimeIndex), or if there are too few calibration errors
            for an interval level.
        """
        check_is_fitted(self)
        return forecast_history(self, steps, context, interval)

    def export_onnx(self, path: Any, **options: Any) -> Any:
        """Export to a self-contained ONNX file; see :func:`gruforecast.export_onnx`.

        Returns the path written. The file forecasts in raw units (scaling inside the
        graph) and is checked against PyTorch before it is written.
        """
        from .export import export_onnx

        return export_onnx(self, path, **options)

    # ------------------------------------------------------------------ persistence

    def save(self, path: Any) -> Any:
        """Save the fitted forecaster to one file (safetensors weights, JSON settings).

        Written atomically: a failure leaves whatever was at ``path`` untouched.
        :meth:`load` reads it back without unpickling anything, so model files are safe
        to load from anywhere (pickle and joblib files are not: load those only from
        sources you trust). Returns the path written.
        """
        from .persistence import save

        return save(self, path)

    @classmethod
    def load(cls, path: Any, device: Any = None) -> "GRUForecaster":
        """Load a forecaster written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str or torch.device, optional
            Where to put the network; default: where it was when saved if that device
            exists here, else the CPU.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is empty, truncated, not a gruforecast model, or from a newer
            format than this version reads; the message names the file.
        """
        from .persistence import load

        return load(path, device=device)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        # The network travels as CPU tensors plus its shape, so a model trained on CUDA
        # unpickles on a machine without a GPU.
        state = dict(super().__getstate__())  # a copy: object's own is __dict__ itself
        network = state.pop("network_", None)
        if network is not None:
            state["_network_config"] = network.config()
            state["_network_weights"] = {
                name: tensor.detach().cpu() for name, tensor in network.state_dict().items()
            }
            state["device_"] = str(self.device_)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        config = state.pop("_network_config", None)
        weights = state.pop("_network_weights", None)
        super().__setstate__(state)
        if config is not None:
            device = usable_device(state["device_"])
            network = GRUNet(**config)
            network.load_state_dict(weights)
            self.network_ = network.to(device).eval()
            self.device_ = device
