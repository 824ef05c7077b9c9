"""The seed tutorial's exercise, done right: it must actually learn the sine wave."""

import numpy as np

from gruforecast import GRUForecaster, make_windows


def test_sine_exercise_reaches_the_bar(sine):
    X, y = make_windows(sine, window=50)
    X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]
    forecaster = GRUForecaster(
        window=50, hidden_size=16, num_layers=1, epochs=10, batch_size=64, lr=1e-2, random_state=0
    ).fit(X_train, y_train)
    mse = float(np.mean((forecaster.predict(X_test) - y_test) ** 2))
    assert mse < 1e-3, mse
    assert forecaster.score(X_test, y_test) > 0.99
