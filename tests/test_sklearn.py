"""scikit-learn's own estimator checks, and the tools users put the estimator into."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import FAST
from gruforecast import GRUForecaster, make_windows

# Settings that let a small GRU reach R^2 > 0.5 on check_regressors_train's tabular data
# (10 columns, one informative) in about a second. On the CPU on any machine: checks such
# as check_fit_idempotent and check_supervised_y_2d compare two fits at float64 tolerances,
# which the CPU's bitwise repeatable fits meet and CUDA's need not.
CHECKED = GRUForecaster(hidden_size=16, num_layers=1, epochs=60, lr=1e-2, patience=None, random_state=0,
                        device="cpu")

# Checks that fail whatever the weights (strict: one that starts passing is noticed).
EXPECTED_FAILED_CHECKS = {
    "check_regressor_multioutput": (
        "y must have `horizon` columns; the check fits 5 targets with the default horizon=1"
    ),
}

# Checks whose outcome depends on the trained weights: neither a pass nor an expected
# failure is deterministic, so each is replaced by a test of the same property at a
# tolerance that holds.
REPLACED_CHECKS = {
    "check_methods_subset_invariance": (
        "the network computes in float32, and PyTorch's CPU products round differently "
        "for batches of different sizes (about 1e-8 in the GRU's outputs; 5e-8 to 4e-7 "
        "here once scaled back, by random_state); the check allows 1e-7 absolute, which "
        "fits float64 estimators, so whether it passes depends on the trained weights. "
        "test_predict_is_subset_invariant_to_float32_precision checks the property, on "
        "this check's data too, at a float32 tolerance"
    ),
}


@parametrize_with_checks([CHECKED], expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in REPLACED_CHECKS:
        pytest.skip(REPLACED_CHECKS[name])
    check(estimator)


def test_grid_search_over_a_raw_series_with_time_series_split(sine):
    search = GridSearchCV(
        GRUForecaster(**{**FAST, "window": 20}),
        {"hidden_size": [4, 8], "lr": [1e-3, 1e-2]},
        cv=TimeSeriesSplit(3),
    )
    search.fit(sine)  # y is None: each training fold is a series
    assert set(search.best_params_) == {"hidden_size", "lr"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.forecast(5).shape == (5,)


def test_cross_val_score_on_windows(sine):
    X, y = make_windows(sine, window=20)
    scores = cross_val_score(GRUForecaster(**FAST), X, y, cv=TimeSeriesSplit(3))
    assert scores.shape == (3,) and np.isfinite(scores).all()


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler()])
def test_pipeline_with_a_scaler_in_front(scaler, sine):
    X, y = make_windows(sine, window=20, horizon=2)
    pipeline = make_pipeline(scaler, GRUForecaster(**{**FAST, "horizon": 2, "epochs": 10, "lr": 1e-2}))
    pipeline.fit(X[:800], y[:800])
    assert pipeline.predict(X[800:]).shape == (len(X) - 800, 2)
    assert pipeline.score(X[800:], y[800:]) > 0.5


def test_clone_keeps_parameters_and_drops_the_fit(sine):
    forecaster = GRUForecaster(window=12, horizon=3, hidden_size=5, lr=0.02, random_state=4)
    forecaster.set_params(epochs=2)
    forecaster.fit(sine)
    copy = clone(forecaster)
    assert copy.get_params() == forecaster.get_params()
    assert not hasattr(copy, "network_")


def test_pickle_round_trip_predicts_identically(sine):
    X, y = make_windows(sine, window=20)
    forecaster = GRUForecaster(**FAST).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(forecaster)).predict(X), forecaster.predict(X))


def _sklearn_check_data():
    """check_methods_subset_invariance's own data and fit: 20 rows of 3 features, integer
    targets, random_state=1; predicted whole and one row at a time."""
    X = 3 * np.random.RandomState(0).uniform(size=(20, 3))
    return X, X[:, 0].astype(int), {"random_state": 1}, 1


def _normal_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 10)), rng.normal(size=40), {"epochs": 5}, 7


@pytest.mark.parametrize("data", [_sklearn_check_data, _normal_data], ids=["sklearn-check-data", "normal"])
def test_predict_is_subset_invariant_to_float32_precision(data):
    """sklearn's check_methods_subset_invariance at a float32 tolerance (it is skipped
    above: at its float64 tolerance the outcome depends on the trained weights). Seen:
    differences up to 4e-7 for targets of size 1; a real dependence of one row's
    prediction on the others in its batch is far larger."""
    X, y, params, size = data()
    forecaster = clone(CHECKED).set_params(**params).fit(X, y)
    whole = forecaster.predict(X)
    in_parts = np.concatenate([forecaster.predict(X[i : i + size]) for i in range(0, len(X), size)])
    assert in_parts.shape == whole.shape == (len(X),)
    np.testing.assert_allclose(in_parts, whole, rtol=1e-6, atol=1e-6)
