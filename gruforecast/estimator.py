"""GRUForecaster: the scikit-learn facade over windowing, scaling, GRUNet and training.

The one rule behind the API: **y is None means X is the series.** ``fit(series)``
windows the series itself; ``fit(X, y)`` is the plain regressor form on windows that
the caller made. Both are needed: GridSearchCV with ``cv=TimeSeriesSplit`` splits a raw
series and calls ``fit(X_train)`` and ``score(X_test)``, while ``cross_val_score`` and
``Pipeline`` pass windows and targets.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _ddp, _fused, _state, metrics
from ._attributes import absent_if_none, fitted_attribute
from ._covariates import (
    CovariateState,
    as_long_frame,
    covariate_spec,
    read_covariates,
    undeclared_columns,
)
from ._device import evaluation_batch_size, predict_in_chunks, resolve_device, usable_device
from ._forecasting import check_finite, forecast_history, prior_calibration
from ._intervals import minimum_residuals
from ._limits import Limits
from ._network import GRUNet
from ._panel import Panel, last_windows, read_one_or_many, seasonal_period_of
from ._params import PARAMETERS, check_params
from ._plan import Plan, plan_fit
from ._policy import (
    REFIT_LENGTH,
    Choices,
    PriorShape,
    choose,
    choose_init,
    prior_conflicts,
)
from ._pretrained import PriorBySeason
from ._progress import Progress
from ._scaling import SeriesScaler, check_in_domain
from ._state import FittedState, NetworkShape, PanelState
from ._time_index import TimeIndex, tz_key
from ._training import Inputs, Trainer, WindowTable
from ._validation import SeriesInput, as_targets, as_windows
from ._windowing import make_windows

__all__ = ["GRUForecaster"]

# precision: the dtype torch.autocast runs training's forward pass in (None: float32)
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def _plan_parts(plan: Plan) -> list[Any]:
    """What defines a fit's windows (for a distributed fit's check that every rank
    prepared the same): the values, how they are split and scaled, and the sizes."""
    sizes = [plan.window, plan.horizon, plan.season, plan.scaler.to_dict()]
    return [*sizes, plan.scaled, plan.train_starts, plan.valid_starts, plan.refit_starts]


def _network_from(state: FittedState, weights: dict[str, Any], device: torch.device) -> GRUNet:
    """The trained network of ``state`` rebuilt from its weights, on ``device``."""
    network = GRUNet(**state.shape.arguments(state.window, state.horizon))
    network.load_state_dict({name: torch.as_tensor(np.array(w)) for name, w in weights.items()})
    return network.to(device).eval()


def _panel_record(panel: Panel, window: int) -> PanelState:
    """What a fitted model keeps of the series it was given as a long frame, a dict or
    a list: their ids, names, time labels and last windows, to answer in that shape."""
    return PanelState(
        ids=panel.ids,
        names=panel.names,
        kind=panel.kind,
        freq=panel.freq,
        tz=tz_key(panel.tz),
        last_labels=tuple(int(label) for label in panel.last),
        lengths=panel.lengths,
        last_windows=last_windows(panel, window),
    )


def _network_shape(network: GRUNet) -> NetworkShape:
    return NetworkShape(
        hidden_size=network.hidden_size,
        num_layers=network.num_layers,
        input_size=network.input_size,
        normalize=network.normalize,
        season=network.season,
        deseasonalize=network.deseasonalize,
        gru_window=network.gru_window,
        features=network.features,
        ahead_features=network.ahead_features,
    )


@dataclasses.dataclass(frozen=True)
class _Start:
    """Where a fit's weights start: the shipped prior of the data's season (what it fixes
    of the network, its file's state and weights), or random weights and why."""

    prior: PriorShape | None = None
    state: FittedState | None = None
    weights: dict[str, Any] | None = None
    reason: str | None = None  # why random weights, where "auto" chose them
    panel: Panel | None = None  # the data, where the prior is the start

    @classmethod
    def of(cls, panel: Panel, params: dict[str, Any]) -> _Start:
        """The start ``params["init"]`` asks for, for ``panel``'s series.

        Raises
        ------
        ValueError
            With ``init="pretrained"`` where no shipped prior fits the data and the
            parameters (naming what contradicts it).
        """
        from . import priors
        from .persistence import load

        if params["init"] == "random":
            return cls(reason="init='random'")
        period = seasonal_period_of(panel)
        if period is None and params["init"] == "auto":
            return cls(reason="the data's time labels give no seasonal period to choose a prior by")
        season = period or 1  # init='pretrained' without a seasonal period: season 1
        shipped = priors.shipped()
        prior = state = weights = None
        if season in shipped:
            state, _, weights = load(priors.path_of(season, ".gruf"), Limits())
            shape = state.shape
            prior = PriorShape(
                name=str(cast(dict, state.prior)["name"]),
                values=int(cast(dict, state.prior)["values"]),
                window=state.window,
                gru_window=shape.gru_window,
                deseasonalize=shape.deseasonalize,
                hidden_size=shape.hidden_size,
                num_layers=shape.num_layers,
                horizon=state.horizon,
                log=state.scaler.log,
            )
        minimum = float(np.nanmin(panel.values)) if len(panel.values) else 0.0
        conflicts = [] if prior is None else prior_conflicts(params, prior, minimum)
        listed = ", ".join(shipped.values()) or "none"
        reason = choose_init(params, season, prior, conflicts, listed, len(panel.values))
        if reason is not None:
            return cls(reason=reason)
        return cls(prior=prior, state=state, weights=weights, panel=panel)

    def weights_for(self, horizon: int) -> dict[str, torch.Tensor]:
        """The prior's weights for a network of ``horizon`` steps: its direct head and
        skip map predict the first ``horizon`` of the prior's steps."""
        cut = {}
        for name, value in cast(dict, self.weights).items():
            tensor = torch.as_tensor(np.array(value))
            cut[name] = tensor[:horizon] if name.startswith(("head.", "skip.")) else tensor
        return cut

    def calibration(self) -> Any:
        """The prior's own calibration errors (scores of windows normalised by their
        spread: they serve any series)."""
        return cast(FittedState, self.state).calibration

    def zero_shot_calibration(self) -> Any:
        """The intervals of the prior kept as it is, for the data it starts from: as
        ``from_pretrained`` gives them for that data as context (its errors on the
        data's own last origins pooled with its corpus', scaled to them)."""
        state, cpu = cast(FittedState, self.state), torch.device("cpu")
        network = _network_from(state, cast(dict, self.weights), cpu)  # its whole horizon
        predict = GRUForecaster._raw_predictor(network, state.scaler, cpu)
        return prior_calibration(state, predict, cast(Panel, self.panel))

    def warn_zero_shot(self) -> None:
        name = cast(PriorShape, self.prior).name
        warnings.warn(
            "the series are too short to hold out a validation part, so nothing could "
            f"tell whether training improves on the pretrained prior {name!r}: the model "
            "is the prior itself, zero-shot, with the prior's intervals (init='random' "
            "trains on the series instead)",
            UserWarning,
            stacklevel=3,
        )


class _GlobalGenerator:
    """torch's global generator, seeded for one fit and given back afterwards (as
    ``torch.random.fork_rng``), safely among threads.

    torch draws initial weights from its one global generator, which all threads share:
    seeding it and drawing a network's initial weights happen as one step under a lock,
    so fits in parallel threads with the same ``random_state`` start from the same
    weights. Shuffling and dropout masks come from generators of each fit's own.
    """

    _lock = threading.Lock()

    def __init__(self, device: torch.device) -> None:
        self.device = device if device.type == "cuda" else None
        self.saved: torch.Tensor | None = None

    def seeded(self, seed: int, build: Callable[[], GRUNet]) -> GRUNet:
        with self._lock:
            if self.saved is None:  # the caller's state, kept over every build
                self.saved = torch.get_rng_state()
                self.saved_cuda = torch.cuda.get_rng_state(self.device) if self.device else None
            torch.manual_seed(seed)
            return build()

    def restore(self) -> None:
        if self.saved is None:
            return
        with self._lock:
            torch.set_rng_state(self.saved)
            if self.saved_cuda is not None and self.device is not None:
                torch.cuda.set_rng_state(self.saved_cuda, self.device)


class _FeatureNames(BaseEstimator):
    """Receives what scikit-learn's ``validate_data(reset=True)`` records of ``X``
    (``n_features_in_``, ``feature_names_in_``), which on a forecaster are read from
    its fitted state."""


class GRUForecaster(RegressorMixin, BaseEstimator):
    """Forecast a univariate series with a GRU network, the scikit-learn way.

    One series or many, the defaults (each ``"auto"``) follow the data, never what
    holds it: one series is fitted as a panel of one. Only a series that window
    normalisation cannot serve (``normalize=None``, or a window of fewer than 3 values)
    is fitted on its own terms, with the defaults of earlier versions (hidden size 64,
    patience 40, no refit, no ``log1p``, a window narrowed to fit a short series; the
    user guide's "A short series"), and so is the windowed form ``fit(X, y)``.

    Parameters
    ----------
    window : int or "auto", default="auto"
        Number of past values the network reads to forecast. ``"auto"``: in the
        windowed form ``fit(X, y)``, the width of ``X``; in the series form, whole
        seasons of a pandas index's frequency, about a sixth of the series (the median
        one's, for many) but from two to four seasons, else 24, and at most a third of
        what the series leaves after the horizon (24 for 144 monthly values); with
        ``deseasonalize`` the network's window is six seasons, of which the GRU reads
        that many.
    horizon : int, default=1
        Number of values one network call predicts (a direct multi-output head).
        ``forecast`` goes further by feeding forecasts back, ``horizon`` at a time.
    hidden_size : int or "auto", default="auto"
        Size of the GRU's hidden state; ``"auto"``: 48 (as accurate as 64 on the
        validation parts of M3 and Tourism monthly, in about 30% less time).
    num_layers : int, default=2
        Number of stacked GRU layers.
    dropout : float, default=0.0
        Dropout between GRU layers during training, in [0, 1).
    scaler : {"standard", "minmax"} or None, default="standard"
        How values are scaled before the network sees them; fitted on the training
        part only (never on the validation part).
    target_transform : {"auto", "log"} or None, default="auto"
        ``"log"``: the network sees ``log1p`` of the values and its forecasts are
        mapped back by ``expm1``, so it learns relative changes (a season that grows
        with the level, as in sales and tourism counts, becomes one that does not),
        and its errors weigh like the percentage errors forecasting is often judged
        by; the values must all be above -1. It is part of the model: ``predict``,
        ``forecast`` and the exported ONNX graph (``Log`` in, ``Exp`` out) all do it.
        ``"auto"``: ``"log"`` when the values are all 0 or more (on M3 and Tourism
        monthly it lowered sMAPE and MAPE; see bench/README.md). None: the values as
        they are.
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
    deseasonalize : bool or "auto", default="auto"
        True: the network estimates each input window's own seasonal pattern (the
        classical decomposition of the M3 competition's benchmarks, kept where the
        window passes that competition's 90% seasonality test), takes it out before its
        GRU and skip map read the window, and adds it back to the forecast. The estimate
        comes from the window alone, so the exported ONNX graph does the same. Needs a
        season (a pandas frequency with one, such as monthly), ``skip="seasonal"``,
        ``normalize="window"`` and a window of at least three seasons. ``"auto"``: True
        with a season where the window allows it and the (median) series holds three
        seasons; with
        ``window="auto"`` the network's window is then six seasons (72 values for
        monthly data), of which the GRU reads the last values it would read without
        (two to four seasons), and training windows may start up to the difference
        before a series, padded with its first value, so that no series loses a
        training window. On M3 monthly's validation part it lowered sMAPE from 14.24
        to 13.99 (see bench/README.md). False: never.
    missing : {"raise", "interpolate"}, default="raise"
        Missing values (NaN, None, pd.NA) in a series given to ``fit``, ``score`` or
        ``forecast(context=...)``: ``"raise"`` refuses them with an error naming the
        first position; ``"interpolate"`` fills them linearly between their neighbours,
        in time for a DatetimeIndex (a three-day gap weighs three times a one-day gap),
        by position otherwise, and with the nearest known value at either end.
        Windows given to ``predict`` or ``fit(X, y)`` must be complete either way.
    id_col, time_col, target_col : str, default="unique_id", "ds", "y"
        The columns of a long frame of many series (one row per series and time, the
        convention of neuralforecast and statsforecast): a frame given to ``fit`` with
        the ``id_col`` column is many series, fitted as one model (see the user guide's
        "Many series"); without it, it is one series as always.
    future_covariates : list of str, optional
        Columns of the long frame whose values for the steps ahead are known when the
        forecast is made (a price, a promotion, a holiday): the network reads them in
        the window and over the horizon, and ``forecast(steps, X_future=...)`` takes
        their values for the next ``steps``. Numbers or bools; scaled by their mean and
        standard deviation over the training part of all series.
    past_covariates : list of str, optional
        Columns observed only up to the forecast origin (another sensor): read in the
        window. Forecasts beyond ``horizon`` steps need their values for the steps
        in between, in ``X_future``.
    static_covariates : list of str, optional
        Columns holding one value per series (a region, a size): numbers (scaled
        across the series) or categories (text, category or bool columns: one
        indicator column per category seen in ``fit``; another one at forecast time is
        an error).
    calendar : None, "auto" or list of str, default=None
        Calendar features made from the time labels, each as the sine and cosine of its
        place in its cycle: ``"time_of_day"``, ``"day_of_week"``, ``"day_of_year"``,
        ``"week_of_year"``, ``"month_of_year"``, ``"quarter_of_year"``. ``"auto"``:
        those the data's time step sees change (hourly: time of day and day of week;
        daily: day of week and of year; weekly, monthly, quarterly: their own; yearly:
        none). Needs dates or periods as time labels.

        Covariates (any of the four) need a long frame with the covariate columns
        (``id_col``, ``time_col``, ``target_col`` and them; one series may come as a
        frame without the id column, its time in the index or ``time_col``) and the
        global rules (``normalize="window"``). Such a model saves, loads, exports to
        ONNX, forecasts a ``context``, backtests and serves on the command line;
        ``export_triton``, ``predict`` and ``score`` on windows refuse it for now
        (docs/fitting.md). A fit from a pretrained prior starts the weights that read
        covariates at zero (the prior has none).
    init : {"auto", "pretrained", "random"}, default="auto"
        Where the weights start. ``"pretrained"``: from the pretrained prior shipped for
        the data's season (``gruforecast.priors``; data whose time labels give no
        seasonal period, such as a NumPy array, takes the season-1 prior), whose window,
        hidden size and seasonal adjustment the fit takes; training is kept only where
        an epoch validates better than the prior did, so the model is the fine-tuned or
        the zero-shot one, whichever validates better (``init_``), with intervals from
        its own held-out errors (pooled with the prior's where fewer than 99 windows
        are held out), and a series too
        short to hold out a validation part gets the prior as it is, with its intervals,
        and a warning. An error where no prior has the data's season, or where
        parameters contradict the prior (a window, hidden size, number of layers or
        seasonal adjustment other than its, a horizon beyond its 6 to 48 values,
        ``normalize``/``skip`` off, values below 0 for its log1p). ``"random"``: random
        weights, as before priors existed. ``"auto"``: the prior where one fits the data
        (a frequency of a shipped season) and the parameters and the data has fewer
        values than the prior was trained on (``prior_["values"]`` of
        ``from_pretrained``; 82,191 to 969,780), else random weights, saying why in
        ``choices_.init_reason``. With ``validation_fraction=0`` a fit
        from the prior trains all ``epochs`` (nothing to compare with the prior on), and
        with ``calibration_fraction=0`` it has no intervals, as any fit. ``fit(X, y)``
        on windows always starts from random weights.
    epochs : int, default=500
        Maximum number of passes over the training windows (early stopping usually
        ends training well before).
    batch_size : int or "auto", default="auto"
        Windows per minibatch. ``"auto"``: about 16 minibatches per epoch, between 16
        and 256 windows each, so that a short series still gets enough optimizer steps
        per epoch and a long one is not slowed by tiny batches.
    windows_per_epoch : int or "auto", default="auto"
        Training windows an epoch draws (anew each epoch). ``"auto"``: at most 32,768,
        so that an epoch over a large panel stays short and early stopping checks
        often.
    lr : float or "auto", default="auto"
        Adam's learning rate. ``"auto"``: 1e-3 from random weights, 1e-4 fine-tuning a
        pretrained prior (see ``init``; the lower rate kept the fits nearer the prior and
        more accurate on the development series of bench/README.md), 1e-3 again for a
        fit from a prior with covariates (the weights that read them start at zero).
    weight_decay : float, default=0.0
        Adam's L2 penalty.
    gradient_clip : float or None, default=1.0
        Maximum global norm of the gradient; None disables clipping.
    validation_fraction : float, default=0.1
        Share of the windows, the *last* ones chronologically, held out for early
        stopping. 0 trains for ``epochs`` epochs without early stopping. A series too
        short for both held-out parts keeps validation only, or trains on all its
        windows; when no series keeps a part, fit says so in a warning (user guide, "A
        short series").
    calibration_fraction : float, default=0.1
        Share of the windows, the very last ones, held out from training *and* early
        stopping; their errors calibrate the prediction intervals of
        ``forecast(steps, interval=...)`` (split conformal). 0 disables intervals.
    patience : int, "auto" or None, default="auto"
        Epochs without a lower validation loss before training stops; the weights of
        the best epoch are restored. None trains all epochs (and still restores the
        best). ``"auto"``: 10, of up to ``windows_per_epoch`` windows each (on M3
        monthly the validation loss was lowest by epoch 11 and rose from there).
    refit : bool or "auto", default="auto"
        True: once early stopping has chosen the epoch, train the network again from
        the same start on every window (the held-out ones too), so the final model has
        seen the most recent values, for 1.5 times as many epochs (of as many windows
        each) as the first fit took to its best one, as it has more windows to learn
        from. The held-out windows' errors that calibrate the intervals are those of
        the first network, which never saw them (the refit one usually errs less, so
        intervals are if anything wide); ``validation_scores_`` and ``history_`` are
        the first network's too. Takes about twice as long. ``"auto"``: True (on the
        validation parts of M3 and Tourism monthly it lowered sMAPE by 4 to 6%; see
        bench/README.md). Nothing changes without a validation part.
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
    gru_backend : {"auto", "fused", "torch"}, default="auto"
        Which GRU implementation trains (the function is the same; results agree to
        float32 rounding). ``"fused"``: gruforecast's C++ CPU kernel (compiled on first
        use, about a minute, cached in PyTorch's extension directory); an error if it
        cannot be built, or if training is not on the CPU in float32. ``"torch"``:
        PyTorch's ``nn.GRU``. ``"auto"``: the kernel when training on the CPU in
        float32 with at most ``gruforecast._fused.MAX_BATCH`` windows a batch and the
        kernel builds (else one warning, then ``nn.GRU``); ``nn.GRU`` otherwise. The
        environment variable ``GRUFORECAST_FUSED_GRU`` overrides ``"auto"`` only:
        ``0`` means ``"torch"``, ``1`` means ``"fused"``. ``predict`` and the exported
        model always run ``nn.GRU``'s weights.
    distributed : "auto" or bool, default="auto"
        Train one model with all the processes of a ``torch.distributed`` run: a
        script started by ``torchrun --nproc_per_node=N`` (or whose process group is
        already initialised). ``"auto"``: when there are two or more processes; False:
        never (each process fits alone); True: through DDP even with one process, and
        an error outside torchrun. Every process reads the same data; each minibatch of
        ``batch_size`` windows is split among them (DDP; the step equals one process's
        on the whole batch); gloo on the CPU, NCCL on CUDA, where ``device="auto"`` or
        ``"cuda"`` means ``cuda:LOCAL_RANK`` (with fewer GPUs than processes on a
        machine, "auto" trains on the CPUs with a warning); all ranks stop at the same
        epoch and end with the same model, and only rank 0 writes files (``save``,
        ``export_onnx``, ``export_triton``). Outside torchrun nothing changes. See
        docs/fitting.md.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. With an int, runs on the
        CPU are bitwise repeatable. In a distributed fit rank 0's seed is used.
    verbose : int, default=0
        Progress on stderr during ``fit``. 0: nothing. 1: on a terminal, one line
        redrawn in place (``fit: epoch 37 | train_loss 0.0123 | valid_loss 0.015 |
        best 30 | patience 3/10 left | 0.05 s/epoch``); where stderr is not a terminal
        (a file, a pipe, a CI log), plain lines only: one at the start, one every 30
        seconds, and a summary (epochs run, why training stopped, the epoch kept, the
        time). 2 or more: the same plain lines for every epoch, on a terminal or not.
        With early stopping the number of epochs is not known in advance, so progress
        is shown as the best epoch and the patience left, never against ``epochs``;
        without it (``patience=None`` or ``validation_fraction=0``) the line shows
        ``epoch 37/500`` and an ETA.

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
    refit_epochs_ : int or None
        The epochs of the refit (see ``refit``); None without one.
    gru_backend_ : str or None
        The GRU implementation that trained: "fused" or "torch" (None for a model
        file written before it was recorded).
    choices_ : Choices
        What the fit decided for the data, every ``"auto"`` resolved, one by one also:
    hidden_size_ : int
    target_transform_ : "log" or None
    deseasonalize_ : bool
    refit_ : bool
        Whether a refit on every window was asked (``refit_epochs_``: whether it ran).
    patience_ : int or None
    batch_size_ : int
    windows_per_epoch_ : int or None
        None: every training window, each epoch. Of a model file written before these
        were recorded, ``patience_``, ``batch_size_`` and ``windows_per_epoch_`` are
        None (the others are read from its network, scaler and refit).
    lr_ : float or None
        Adam's learning rate (see ``lr``; None for a model file written before it was
        recorded).
    init_ : str or None
        Where the weights started (see ``init``): "random", "fine-tuned" (from the
        prior ``choices_.prior``) or "zero-shot" (the prior kept as it was); None for a
        model file written before it was recorded.
    prior_ : dict
        Of a pretrained prior (``from_pretrained``) only: its card (what it was trained
        on, its season, horizon and window).
    state_ : FittedState
        Everything above in one object, replaced as a whole by each ``fit``: a thread
        that forecasts meanwhile uses the old model or the new one, never a mix.

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
        hidden_size: int | str = "auto",
        num_layers: int = 2,
        dropout: float = 0.0,
        scaler: str | None = "standard",
        target_transform: str | None = "auto",
        normalize: str | None = "window",
        skip: str | None = "seasonal",
        deseasonalize: bool | str = "auto",
        missing: str = "raise",
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        future_covariates: list[str] | None = None,
        past_covariates: list[str] | None = None,
        static_covariates: list[str] | None = None,
        calendar: str | list[str] | None = None,
        init: str = "auto",
        epochs: int = 500,
        batch_size: int | str = "auto",
        windows_per_epoch: int | str = "auto",
        lr: float | str = "auto",
        weight_decay: float = 0.0,
        gradient_clip: float | None = 1.0,
        validation_fraction: float = 0.1,
        calibration_fraction: float = 0.1,
        patience: int | str | None = "auto",
        refit: bool | str = "auto",
        tol: float = 0.05,
        device: str | torch.device = "auto",
        precision: str = "float32",
        gru_backend: str = "auto",
        distributed: bool | str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.window = window
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.scaler = scaler
        self.target_transform = target_transform
        self.normalize = normalize
        self.skip = skip
        self.deseasonalize = deseasonalize
        self.missing = missing
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.future_covariates = future_covariates
        self.past_covariates = past_covariates
        self.static_covariates = static_covariates
        self.calendar = calendar
        self.init = init
        self.epochs = epochs
        self.batch_size = batch_size
        self.windows_per_epoch = windows_per_epoch
        self.lr = lr
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.patience = patience
        self.refit = refit
        self.tol = tol
        self.device = device
        self.precision = precision
        self.gru_backend = gru_backend
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # fit(series) is the series form: y is optional, not missing
        tags.target_tags.required = False
        # y may be (n_samples, horizon): one column per step ahead
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ fitted state

    window_ = fitted_attribute(lambda state: state.window)
    horizon_ = fitted_attribute(lambda state: state.horizon)
    n_features_in_ = fitted_attribute(lambda state: state.window)
    feature_names_in_ = fitted_attribute(
        lambda state: absent_if_none(
            None if state.feature_names is None else np.asarray(state.feature_names, dtype=object)
        )
    )
    scaler_ = fitted_attribute(lambda state: state.scaler)
    network_ = fitted_attribute(lambda state: state.network)
    device_ = fitted_attribute(lambda state: torch.device(state.device))
    history_ = fitted_attribute(lambda state: state.history)
    last_window_ = fitted_attribute(lambda state: state.last_window)
    calibration_ = fitted_attribute(lambda state: state.calibration)
    time_index_ = fitted_attribute(lambda state: state.index)
    series_name_ = fitted_attribute(lambda state: state.series_name)
    training_span_ = fitted_attribute(lambda state: state.training_span)
    validation_scores_ = fitted_attribute(lambda state: state.validation_scores)
    stop_reason_ = fitted_attribute(lambda state: state.stop_reason)
    gru_backend_ = fitted_attribute(lambda state: state.gru_backend)
    refit_epochs_ = fitted_attribute(lambda state: state.refit_epochs)
    # what each "auto" parameter resolved to for the data (gruforecast._policy.Choices)
    choices_ = fitted_attribute(lambda state: state.chosen)
    hidden_size_ = fitted_attribute(lambda state: state.chosen.hidden_size)
    target_transform_ = fitted_attribute(lambda state: state.chosen.target_transform)
    deseasonalize_ = fitted_attribute(lambda state: state.chosen.deseasonalize)
    refit_ = fitted_attribute(lambda state: state.chosen.refit)
    patience_ = fitted_attribute(lambda state: state.chosen.patience)
    batch_size_ = fitted_attribute(lambda state: state.chosen.batch_size)
    windows_per_epoch_ = fitted_attribute(lambda state: state.chosen.windows_per_epoch)
    # "random", "fine-tuned" or "zero-shot" (None: a file written before it was recorded)
    init_ = fitted_attribute(lambda state: state.chosen.init)
    lr_ = fitted_attribute(lambda state: state.chosen.lr)
    # a pretrained prior's card (from_pretrained); absent for a model fitted here
    prior_ = fitted_attribute(lambda state: absent_if_none(state.prior))

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None) -> GRUForecaster:
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
        params = self.get_params(deep=False)
        check_params(params)
        where = _ddp.launch(self.distributed)  # None: this process trains alone
        # every rank reads the same data with the same parameters (checked): what one
        # would warn of, all would, and rank 0 alone says it (errors still raise)
        with _ddp.warnings_from_rank_0(where):
            device = self._training_device(where)
            group = None if where is None else _ddp.Group(where, device)
            plan, start = self._plan(X, y, params)
            choices = choose(
                params,
                window=plan.window,
                log=plan.scaler.log,
                deseasonalize=plan.deseasonalize,
                normalizes=plan.normalizes,
                global_rules=plan.global_rules,
                n_train=plan.n_train,
                prior=start.prior,
                init_reason=start.reason,
                covariates=plan.features is not None,
            )
            backend = _fused.resolve_backend(
                self.gru_backend, device, self.precision, cast(int, choices.batch_size)
            )
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            if group is not None:
                # (not random_state: an instance's repr differs, and rank 0's seed is used)
                same = {k: v for k, v in params.items() if k not in ("random_state", "verbose")}
                group.check_same(
                    _ddp.digest([*_plan_parts(plan), same]),
                    "training data",
                    "every process must read the same data, in the same order, with the same "
                    "parameters",
                )
                group.check_same(
                    _ddp.digest([backend]),
                    f"GRU implementation (here gru_backend={backend!r})",
                    "a process where the fused CPU kernel did not build trains with nn.GRU; "
                    "set gru_backend='torch' (or 'fused') for all",
                )
                seed = group.broadcast_int(seed)
            generator = _GlobalGenerator(device)

            def build() -> GRUNet:
                network = self._build_network(plan, choices, backend)
                if plan.covariate_scaler is not None:  # scaled inside the network
                    scaler = plan.covariate_scaler
                    network.set_covariate_scaling(scaler.window_scaling(), scaler.ahead_scaling())
                if start.weights is not None:  # the prior's, its head cut to this horizon
                    network.load_prior(start.weights_for(plan.horizon))
                return network.to(device)

            network = generator.seeded(seed, build)
            try:
                # a prior that the data is too short to validate on is kept as it is: no
                # epoch is run (with validation_fraction=0 asked, it trains all epochs)
                zero_shot = (
                    start.prior is not None
                    and not len(plan.valid_starts)
                    and params["validation_fraction"] > 0
                )
                trainer, scores = self._train(
                    network, plan, choices, device, seed, group, epochs=0 if zero_shot else None
                )
                kept_prior = (
                    start.prior is not None
                    and len(plan.valid_starts) > 0
                    and trainer.history.best_epoch is None
                )
                if zero_shot or kept_prior:
                    # too short to validate on, or no epoch validated better than the prior
                    choices = dataclasses.replace(choices, init="zero-shot")
                    if zero_shot:
                        start.warn_zero_shot()
                calibration, refit = plan.calibration, self._refit(plan, choices, trainer)
                if (  # no calibration part (too short): the prior's intervals for the data
                    calibration is None
                    and start.prior is not None
                    and params["calibration_fraction"] > 0
                ):
                    calibration = start.zero_shot_calibration()
                elif (  # too few errors of its own for a 99% interval: with the prior's
                    calibration is not None
                    and start.prior is not None
                    and calibration.n_origins < minimum_residuals(0.99)
                ):
                    predictor = self._calibration_predictor(network, plan, device)
                    calibration = calibration.with_prior(start.calibration(), predictor, seed)
                if refit is not None:
                    if calibration is not None:  # the errors of the network that never saw them
                        predictor = self._calibration_predictor(network, plan, device)
                        calibration = calibration.scored(predictor, seed)
                    # the same start, trained as long on every window
                    network = generator.seeded(seed, build)
                    self._train(network, plan, choices, device, seed, group, refit)
            finally:
                generator.restore()
            if plan.features is not None and calibration is not None:
                # scored now: only this network, with the windows' own covariates, can
                predictor = self._calibration_predictor(network, plan, device)
                calibration = calibration.scored(predictor, seed)
            # only now, with training done, does the forecaster change: in one step
            self.state_ = self._fitted_state(
                plan, network, device, trainer, scores, X if y is not None else None
            ).replace(
                calibration=calibration,
                refit_epochs=None if refit is None else refit[0],
                ranks=1 if group is None else group.world_size,
                choices=choices,
            )
            return self

    def _refit(self, plan: Plan, choices: Choices, trainer: Trainer) -> tuple[int, int] | None:
        """The refit's epochs (REFIT_LENGTH times the first fit's best) and rows per
        epoch (the first fit's), or None: not asked for, or no validation part that
        chose an epoch."""
        best = trainer.history.best_epoch
        if not choices.refit or not len(plan.valid_starts) or best is None:
            return None
        return max(1, round(best * REFIT_LENGTH)), trainer.rows_per_epoch or plan.n_train

    def _calibration_predictor(
        self, network: GRUNet, plan: Plan, device: torch.device
    ) -> Callable[[np.ndarray], np.ndarray]:
        """``network`` as a map of the plan's calibration windows (raw) to raw
        predictions: with covariates, each window with its own channels (so only those
        windows, in their order: a calibration with covariates is scored at once)."""
        predict = self._raw_predictor(network, plan.scaler, device)
        if plan.features is None or plan.calibration_starts is None:
            return predict  # (with covariates, a calibration not the plan's is scored already)
        starts = plan.calibration_starts
        features = plan.features[starts[:, None] + np.arange(plan.window)]
        ahead = cast(np.ndarray, plan.ahead)[
            starts[:, None] + plan.window + np.arange(plan.horizon)
        ]

        def predict_calibration_windows(windows: np.ndarray) -> np.ndarray:
            if len(windows) != len(starts):
                raise RuntimeError("a calibration with covariates is scored on its windows only")
            return predict(windows, features, ahead)

        return predict_calibration_windows

    def _fitted_state(
        self,
        plan: Plan,
        network: GRUNet,
        device: torch.device,
        trainer: Trainer,
        scores: dict[str, float] | None,
        windows: Any,
    ) -> FittedState:
        """Everything the fit produced, as the one object the forecaster publishes."""
        common: dict[str, Any] = {
            "window": plan.window,
            "horizon": plan.horizon,
            "scaler": plan.scaler,
            "shape": _network_shape(network),
            "network": network,
            "device": str(device),
            "gru_backend": network.gru_backend,
            "missing": self.missing,
            "calibration": plan.calibration,
            "validation_scores": scores,
            "stop_reason": trainer.stop_reason,
            "history": trainer.history,
        }
        covariates = None
        if plan.features is not None:
            stretches = plan.stretches
            last = stretches[1:, None] - plan.window + np.arange(plan.window)
            # a series shorter than the window: its first row repeated, as its values are
            last = np.maximum(last, stretches[:-1, None])
            # the statics are the last channels (as _covariates.channels lays them out)
            width = len(cast(Any, plan.covariate_scaler).static_centres)
            covariates = CovariateState(
                spec=cast(Any, plan.covariate_spec),
                categories=cast(dict, plan.covariate_categories),
                last_features=plan.features[last],
                statics=plan.features[stretches[:-1], plan.features.shape[1] - width :],
            )
        return FittedState(
            **common,
            covariates=covariates,
            last_window=plan.last_window,
            time_index=plan.time_index,
            series_name=plan.series_name,
            training_span=plan.training_span,
            feature_names=None if windows is None else self._feature_names(windows),
            panel=None if plan.recorded is None else _panel_record(plan.recorded, plan.window),
        )

    def _training_device(self, where: _ddp.Launch | None = None) -> torch.device:
        device = resolve_device(self.device)
        if where is not None:  # one GPU per process: "auto" and "cuda" mean its own
            auto = isinstance(self.device, str) and self.device == "auto"
            device = where.device(device, auto)
        if self.precision != "float32" and device.type != "cuda":
            raise ValueError(
                f"precision={self.precision!r} is for training on CUDA; the device here is "
                f"{device} (where it is many times slower than float32): use "
                "precision='float32'"
            )
        return device

    def _read(self, X: Any) -> tuple[Panel, SeriesInput | None, TimeIndex | None]:
        """Series as ``fit`` and ``score`` read them (:func:`read_one_or_many`, with this
        forecaster's column names and missing-value policy)."""
        names = (self.id_col, self.time_col, self.target_col)
        return read_one_or_many(X, names, missing=self.missing)

    def _plan(self, X: Any, y: Any, params: dict[str, Any]) -> tuple[Plan, _Start]:
        """The data of this fit and the decisions on it (NumPy/pandas only): the series
        as :meth:`_read` reads them, or ``fit(X, y)``'s windows and targets; and the
        pretrained prior it starts from, if any (see ``init``)."""
        names = (self.id_col, self.time_col, self.target_col)
        spec = covariate_spec(params, names)
        if y is None:
            X = as_long_frame(X, names, spec)  # one series' frame with its covariates
            panel, source, time_index = self._read(X)
            unused = undeclared_columns(X, names, spec) if source is None else []
            if unused:
                shown = ", ".join(map(repr, unused[:10])) + (", ..." if len(unused) > 10 else "")
                warnings.warn(
                    f"X has column{'s' if len(unused) > 1 else ''} {shown} that no parameter "
                    "declares (future_covariates, past_covariates, static_covariates): "
                    f"{'they are' if len(unused) > 1 else 'it is'} not used",
                    UserWarning,
                    stacklevel=3,
                )
            covariates = None
            if spec:
                covariates = read_covariates(X, panel, spec, missing=self.missing)
            start = _Start.of(panel, params)
            prior = start.prior
            widths = (
                None if prior is None else (prior.window, prior.gru_window, prior.deseasonalize)
            )
            plan = plan_fit(
                panel,
                params,
                source=source,
                time_index=time_index,
                widths=widths,
                covariates=covariates,
            )
            return plan, start
        if spec:
            raise ValueError(
                "covariates are columns of a long frame of series; fit(X, y) on windows "
                "has none: fit the series with their covariate columns"
            )
        if params["init"] == "pretrained":
            raise ValueError(
                "init='pretrained' starts from the prior of a series' season, and fit(X, y) "
                "on windows has no series: use init='auto' or 'random'"
            )
        windows = as_windows(X)
        targets = as_targets(y, n_samples=len(windows), horizon=self.horizon)
        return Plan.from_windows(windows, targets, params), _Start(reason="fit(X, y) on windows")

    def _build_network(self, plan: Plan, choices: Choices, backend: str) -> GRUNet:
        return GRUNet(
            hidden_size=cast(int, choices.hidden_size),
            num_layers=self.num_layers,
            horizon=plan.horizon,
            dropout=self.dropout,
            normalize=self.normalize if plan.normalizes else None,
            window=plan.window,
            season=plan.season if self.skip else None,
            gru_backend=backend,
            deseasonalize=choices.deseasonalize,
            gru_window=plan.gru_window,
            features=0 if plan.features is None else plan.features.shape[1],
            ahead_features=0 if plan.ahead is None else plan.ahead.shape[1],
        )

    def _train(
        self,
        network: GRUNet,
        plan: Plan,
        choices: Choices,
        device: torch.device,
        seed: int,
        group: _ddp.Group | None,
        refit: tuple[int, int] | None = None,
        epochs: int | None = None,
    ) -> tuple[Trainer, dict[str, float] | None]:
        """Train ``network`` on the plan's training windows, stopping on its validation
        windows; returns the trainer (history, stop reason) and the validation scores
        (MAE, RMSE and sMAPE in the series' own units, all steps ahead pooled; None
        without a validation part). With ``refit`` (epochs, rows per epoch): train that
        long on every window, the held-out ones too, with nothing to stop on. With
        ``group``: together with the other processes of a distributed fit. Windows are
        positions in one array of scaled values, cut when a minibatch needs them.
        ``epochs``: at most that many (0: none), in place of the parameter's. A network
        that starts from a pretrained prior keeps its start unless an epoch validates
        better (``Trainer``'s ``baseline``)."""
        values = torch.as_tensor(plan.scaled, device=device)
        window, horizon = plan.window, plan.horizon
        channels = None
        if plan.features is not None and plan.ahead is not None:
            channels = (
                torch.as_tensor(plan.features, device=device),
                torch.as_tensor(plan.ahead, device=device),
            )

        def tables(starts: np.ndarray) -> tuple[WindowTable | Inputs, WindowTable]:
            positions = torch.as_tensor(starts, device=device)
            inputs: WindowTable | Inputs = WindowTable(values, positions, window)
            if channels is not None:  # and their covariates, in the window and ahead
                inputs = Inputs(
                    inputs,
                    WindowTable(channels[0], positions, window),
                    WindowTable(channels[1], positions, horizon, shift=window),
                )
            return inputs, WindowTable(values, positions, horizon, shift=window)

        train_starts, valid_starts = plan.train_starts, plan.valid_starts
        if refit is not None:
            train_starts, valid_starts = plan.refit_starts, valid_starts[:0]
        (train_inputs, train_targets), (valid_inputs, valid_targets) = (
            tables(train_starts),
            tables(valid_starts),
        )
        network.generator = torch.Generator(device=device).manual_seed(seed + 1)
        trainer = self._trainer(network, plan, choices, device, seed, group, refit, epochs)
        trainer.fit(train_inputs, train_targets, valid_inputs, valid_targets)  # type: ignore[arg-type]
        network.generator = None
        scores = None
        if len(valid_starts):
            scaled_truth = valid_targets[:].cpu().numpy()
            scaled_forecast = predict_in_chunks(
                network,
                valid_inputs.tables if isinstance(valid_inputs, Inputs) else valid_inputs,
                device,
            )
            truth = plan.to_raw(plan.valid_starts, scaled_truth)
            forecast = plan.to_raw(plan.valid_starts, scaled_forecast)
            scores = {
                "mae": metrics.mae(truth.ravel(), forecast.ravel()),
                "rmse": metrics.rmse(truth.ravel(), forecast.ravel()),
                "smape": metrics.smape(truth.ravel(), forecast.ravel()),
                "n_windows": len(plan.valid_starts),
            }
        return trainer, scores

    def _trainer(
        self,
        network: GRUNet,
        plan: Plan,
        choices: Choices,
        device: torch.device,
        seed: int,
        group: _ddp.Group | None,
        refit: tuple[int, int] | None = None,
        epochs: int | None = None,
    ) -> Trainer:
        if epochs is None:
            epochs = self.epochs if refit is None else refit[0]
        return Trainer(
            network,
            epochs=epochs,
            baseline=choices.init == "fine-tuned" and refit is None,
            batch_size=cast(int, choices.batch_size),
            lr=cast(float, choices.lr),
            weight_decay=self.weight_decay,
            gradient_clip=self.gradient_clip,
            patience=choices.patience,
            tol=self.tol,
            generator=torch.Generator().manual_seed(seed),
            autocast_dtype=PRECISIONS[self.precision],
            evaluation_batch_size=evaluation_batch_size(
                device, plan.window, cast(int, choices.hidden_size)
            ),
            # a refit draws as many rows an epoch as the first fit did, from more
            rows_per_epoch=choices.windows_per_epoch if refit is None else refit[1],
            group=group,
            listeners=(
                [Progress(self.verbose, label="fit" if refit is None else "refit")]
                if self.verbose and (group is None or group.rank == 0)  # shown once
                else []
            ),
        )

    @staticmethod
    def _feature_names(X: Any) -> tuple[str, ...] | None:
        """The column names of windows given as a DataFrame, as scikit-learn records them."""
        probe = _FeatureNames()
        validate_data(probe, X, reset=True, skip_check_array=True)
        names = getattr(probe, "feature_names_in_", None)
        return None if names is None else tuple(str(name) for name in names)

    # ------------------------------------------------------------------ predict

    @staticmethod
    def _predict_windows(
        state: FittedState, windows: np.ndarray, *channels: np.ndarray
    ) -> np.ndarray:
        """Raw windows (n, window_) float64 -> raw predictions (n, horizon) float64;
        for a model with covariates, with their channels in their own units
        (``channels``: (n, window_, features) and (n, horizon_, ahead_features)).

        Scaling in float64, the network in float32 (full float32 on CUDA too, not TF32),
        chunk by chunk: exactly what the exported ONNX graph does, so that both give the
        same numbers.
        """
        network = state.network
        assert isinstance(network, GRUNet)
        return GRUForecaster._raw_predictor(network, state.scaler, torch.device(state.device))(
            windows, *channels
        )

    @staticmethod
    def _raw_predictor(
        network: GRUNet, scaler: SeriesScaler, device: torch.device
    ) -> Callable[..., np.ndarray]:
        """``network`` as a map of raw windows (and, for a network with covariates,
        their channels in the window and over the horizon, as ``GRUNet`` reads them) to
        raw predictions (see _predict_windows)."""

        def predict(windows: np.ndarray, *channels: np.ndarray) -> np.ndarray:
            scaled = scaler.transform(windows, np.float32)
            inputs = (scaled, *channels) if channels else scaled
            return scaler.inverse_transform(predict_in_chunks(network, inputs, device))

        return predict

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
        state = self.state_  # one consistent model, whatever a concurrent fit does
        state.refuse_covariates("predict(X) on windows")
        windows = as_windows(X, width=state.window)
        validate_data(self, X, reset=False, skip_check_array=True)  # feature names
        check_in_domain(state.scaler, windows, "X (the windows)")
        predictions = self._predict_windows(state, windows)
        check_finite(predictions, "this GRUForecaster's")
        return predictions[:, 0] if state.horizon == 1 else predictions

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """R^2 of the predictions; with ``y=None``, ``X`` is a series to window first.

        The series form scores every window of ``X`` against the ``horizon`` values that
        follow it, which is what ``GridSearchCV(..., cv=TimeSeriesSplit()).fit(series)``
        needs; many series (a long frame, a dict or a list), every window of each.
        """
        check_is_fitted(self)
        self.state_.refuse_covariates("score")
        if y is None:
            panel = self._read(X)[0]
            pairs = [
                make_windows(panel.series(k), self.window_, self.horizon_)
                for k in range(panel.n_series)
                if panel.lengths[k] >= self.window_ + self.horizon_
            ]
            if not pairs:
                what = "has fewer than" if panel.n_series == 1 else "no series has"
                raise ValueError(
                    f"X (the series) {what} the {self.window_ + self.horizon_} values one "
                    f"window of window_={self.window_} and its horizon_={self.horizon_} "
                    "targets need"
                )
            X, y = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        return super().score(X, y, sample_weight=sample_weight)

    def forecast(
        self, steps: int, context: Any = None, interval: Any = None, X_future: Any = None
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
            ``calibration_fraction``). With covariates, the calibration windows are
            scored for ``horizon`` steps: bounds beyond them are infinite, with an
            ``IntervalWarning``.
        X_future : DataFrame, optional
            For a model with covariates: their values for the steps ahead, a long frame
            with the id and time columns of ``fit`` and one row per series and step:
            the future-known covariates for the next ``steps``, and where ``steps``
            exceeds ``horizon``, the past covariates of the steps a later window reads
            (all but the last ``horizon``). Other rows and columns are ignored.

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
            (an irregular DatetimeIndex).

        Warns
        -----
        IntervalWarning
            For each interval level that the calibration errors cannot honour at some
            step (``n`` errors honour levels up to ``n / (n + 1)``, and later steps
            may have fewer): its bounds there are ``-inf`` and ``inf``, the forecast
            and the other levels are given as usual, and the warning says what can
            be honoured.
        """
        check_is_fitted(self)
        state = self.state_

        def predict(windows: np.ndarray, *channels: np.ndarray) -> np.ndarray:
            return self._predict_windows(state, windows, *channels)

        return forecast_history(
            state,
            predict,
            steps,
            context,
            interval,
            missing=self.missing,
            model="this GRUForecaster's",
            future=X_future,
        )

    def export_onnx(self, path: str | os.PathLike, **options: Any) -> Path:
        """Export to a self-contained ONNX file; see :func:`gruforecast.export_onnx`.

        Returns the path written. The file forecasts in raw units (scaling inside the
        graph) and is checked against PyTorch before it is written.
        """
        from .export import export_onnx

        return export_onnx(self, path, **options)

    def export_triton(self, repository: str | os.PathLike, **options: Any) -> Path:
        """Export as a model of a Triton model repository (``repository/name/1/
        model.onnx`` and ``config.pbtxt``); see :func:`gruforecast.export_triton`.
        Returns the model's folder."""
        from .export import export_triton

        return export_triton(self, repository, **options)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted forecaster to one file (safetensors weights, JSON settings).

        Written atomically: a failure leaves whatever was at ``path`` untouched.
        :meth:`load` reads it back without unpickling anything, so model files are safe
        to load from anywhere (pickle and joblib files are not: load those only from
        sources you trust). Returns the path written.
        """
        from .persistence import save

        check_is_fitted(self)
        return save(path, self.state_, self.get_params(deep=False))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: str | torch.device | None = None,
        *,
        limits: Limits | None = None,
    ) -> GRUForecaster:
        """Load a forecaster written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str or torch.device, optional
            Where to put the network; default: where it was when saved if that device
            exists here, else the CPU.
        limits : Limits, optional
            The largest sizes the file may describe (window, horizon, hidden size,
            layers, calibration data); default ``gruforecast.Limits()``. The file
            is checked against them, and its weights against its configuration, before
            anything is built.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is empty, truncated, not a gruforecast model, from a newer
            format than this version reads, over ``limits``, or inconsistent (weights
            of other shapes than its configuration implies, NaN weights or scaler);
            the message names the file and the field.
        """
        from .persistence import load

        state, params, weights = load(path, limits or Limits())
        where = os.fspath(path)
        try:
            forecaster = cls(**params)
            chosen = usable_device(state.device) if device is None else resolve_device(device)
            network = _network_from(state, weights, chosen)
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"{where!r} has inconsistent gruforecast content: {error}") from None
        forecaster.state_ = state.replace(network=network, device=str(chosen))
        return forecaster

    @classmethod
    def from_pretrained(
        cls, season: int | str | None = None, device: str | torch.device | None = None
    ) -> Any:
        """A fitted forecaster from a pretrained prior shipped with gruforecast, with no
        training: it forecasts any series given as ``forecast(steps, context=...)``
        (one series or many, as a fitted model of many series does), with intervals.

        Parameters
        ----------
        season : int, str or None, default=None
            The data's seasonal period (12 for monthly data, 4 quarterly, 1 yearly or
            none; ``gruforecast.priors.shipped()`` lists the priors) or a prior's name
            (``"season-12"``). None: each ``forecast(steps, context=...)`` uses the
            prior of its context's season, read from the context's time labels (a
            ``PriorBySeason``, which loads each prior on first use; a context without
            a frequency is an error naming the shipped priors).
        device : str or torch.device, optional
            Where to put the network; default the CPU.

        What the prior was trained on, its horizon and its window are in ``prior_``
        (its card; ``docs/priors.md`` tells more). A context on another seasonal
        period than the prior's is refused. Intervals pool the prior's errors on the
        context's own last origins (it never trained on them) with its corpus'
        errors, scaled to those: they widen for data less predictable than the corpus
        and narrow for data more so; a context too short for one origin gets the
        corpus' errors as they are.

        Raises
        ------
        TypeError, ValueError
            For a season or name of no shipped prior (the message lists them).
        """
        from . import priors

        if season is None:
            return PriorBySeason(lambda chosen: cls.from_pretrained(chosen, device))
        return cls.load(priors.path_of(season, ".gruf"), device)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        # The fitted state travels encoded, its network as CPU arrays, so a model
        # trained on CUDA unpickles on a machine without a GPU.
        state = dict(super().__getstate__())  # a copy: object's own is __dict__ itself
        fitted = state.pop("state_", None)
        if fitted is not None:
            weights = _state.network_weights(fitted.network)
            state["_fitted"] = (fitted.replace(network=None), weights)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        fitted = state.pop("_fitted", None)
        # a pickle of an earlier version lacks the parameters added since: their defaults
        state = {**{n: p.default for n, p in PARAMETERS.items() if n not in state}, **state}
        super().__setstate__(state)
        if fitted is not None:
            fitted, weights = fitted
            device = usable_device(fitted.device)
            self.state_ = fitted.replace(
                network=_network_from(fitted, weights, device), device=str(device)
            )
