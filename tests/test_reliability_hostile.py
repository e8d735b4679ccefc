"""Hostile and bad input: every case works or raises a clear ValueError/TypeError.

Property-based (hypothesis) over data, estimator parameters and search
spaces; each example is a tiny fit, so the module runs in well under a minute.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sktune import BayesSearchCV, NeuralNetClassifier, NeuralNetRegressor

pytestmark = pytest.mark.timeout(120)

_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])
_TINY = dict(hidden_layer_sizes=(4,), epochs=1, batch_size=8, random_state=0)

_POISON = [0.0, 1e30, -1e30, 1e39, np.nan, np.inf, -np.inf]


def _fit_or_clear_error(est, X, y):
    """Fit; return the estimator, or None after a clear sklearn-style error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = est.fit(X, y)
    except (ValueError, TypeError) as exc:
        assert len(str(exc)) > 20, f"unclear error: {exc!r}"
        event(f"{type(exc).__name__}: {str(exc)[:60]}")
        return None
    event("fitted")
    return fitted


def _check_predictions(est, X):
    n = len(X)
    pred = est.predict(X)
    assert len(pred) == n
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert proba.shape == (n, len(est.classes_))
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert set(np.unique(pred)) <= set(est.classes_)
    else:
        assert pred.shape == (n,)


@st.composite
def _datasets(draw):
    n = draw(st.sampled_from([0, 1, 2, 3, 8, 12, 12, 12]))
    d = draw(st.sampled_from([0, 1, 3, 3, 3]))
    X = np.array(draw(st.lists(st.floats(-3, 3), min_size=n * d, max_size=n * d)),
                 dtype=float).reshape(n, d)
    poison = draw(st.sampled_from([None] * len(_POISON) + _POISON))
    if poison is not None and X.size:  # one NaN, inf, huge value or zero somewhere
        X.flat[draw(st.integers(0, X.size - 1))] = poison
    if draw(st.booleans()):  # a constant column
        X = np.hstack([X, np.full((n, 1), 7.0)])
    labels = draw(st.sampled_from([[0], [0, 1], ["a", "b", "c"], [True, False], [1.5, -2.0]]))
    y = np.array([labels[i % len(labels)] for i in range(n)])
    tweak = draw(st.sampled_from(["none"] * 6 + ["short_y", "long_y", "3d", "strings", "objects",
                                  "y_2d", "y_nan"]))
    if tweak == "short_y":
        y = y[:-1] if n else np.array([0])
    elif tweak == "long_y":
        y = np.concatenate([y, y[:1] if n else [0]])
    elif tweak == "3d":
        X = X.reshape(n, -1, 1) if X.size else np.zeros((n, 2, 2))
    elif tweak == "strings":
        X = X.astype(str)
        X[:1] = "abc"
    elif tweak == "objects":
        X = X.astype(object)
        if n:
            X[0, 0] = {"a": 1} if X.shape[1] else X[0]
    elif tweak == "y_2d":
        y = np.stack([y, y], axis=1)
    elif tweak == "y_nan" and n:
        y = np.where(np.arange(n) == 0, np.nan, np.arange(n) % 2)
    return X, y


@_SETTINGS
@given(data=_datasets(), regressor=st.booleans())
def test_hostile_data(data, regressor):
    X, y = data
    est = (NeuralNetRegressor if regressor else NeuralNetClassifier)(**_TINY)
    if regressor and y.dtype.kind in "UO":
        y = np.arange(len(y), dtype=float)
    fitted = _fit_or_clear_error(est, X, y)
    if fitted is not None:
        X_ok = np.asarray(X, dtype=np.float32)
        _check_predictions(fitted, X_ok)


_PARAMS = st.fixed_dictionaries({}, optional={
    "lr": st.sampled_from([1e-3, 0.0, -1.0, np.nan, np.inf, 1e30, "0.1", None]),
    "batch_size": st.sampled_from([1, 0, -3, 2.5, 10**9, "8", None]),
    "epochs": st.sampled_from([1, 2, 0, -1, 1.5, "2", None]),
    "hidden_layer_sizes": st.sampled_from([(), (3,), (2, 2), 5, (0,), (-1,), (2.5,), "10",
                                           None, [3, 3]]),
    "activation": st.sampled_from(["relu", "tanh", "RELU", "", None, 3]),
    "dropout": st.sampled_from([0.0, 0.5, 1.0, -0.1, np.nan]),
    "optimizer": st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs", None,
                                  object]),
    "alpha": st.sampled_from([0.0, 1e-4, -1.0, np.nan, 1e30]),
    "momentum": st.sampled_from([0.0, 0.9, 1.0, 1.5, -0.5]),
    "penalty": st.sampled_from([None, "l1", "l2", "elasticnet", "l3"]),
    "validation_fraction": st.sampled_from([None, 0.2, 0.0, 1.0, 0.99]),
    "early_stopping": st.sampled_from([True, False, "yes"]),
    "lr_schedule": st.sampled_from([None, "constant", "cosine", "plateau", "bogus"]),
    "device": st.sampled_from(["cpu", "tpu", 3]),
    "torch_threads": st.sampled_from([None, 1, 0, -1, -2]),
    "module__bogus": st.just(1),
    "bogus": st.just(1),
})


@_SETTINGS
@given(params=_PARAMS, regressor=st.booleans())
def test_hostile_parameters(params, regressor, binary_data):
    X, y = binary_data
    X, y = X[:40], y[:40]
    est = (NeuralNetRegressor if regressor else NeuralNetClassifier)(**{**_TINY, **params})
    fitted = _fit_or_clear_error(est, X, y)
    if fitted is not None:
        _check_predictions(fitted, X)


_DIMENSIONS = st.sampled_from([
    (1e-3, 1e-1), (1e-3, 1e-1, "log-uniform"), (0.1, 1e-3), (0.0, 1.0, "log-uniform"),
    (np.nan, 1.0), (-np.inf, 1.0), (1.0, 1.0), [], [1e-3], [1e-3, "fast"], ("a", "b"),
    (1, 2, 3, 4), "lr", 3, None, (1e-3, 1e-1, "bogus-prior"),
])


@_SETTINGS
@given(dim=_DIMENSIONS, name=st.sampled_from(["lr", "batch_size", "not_a_param"]),
       n_iter=st.sampled_from([1, 2, 2, 2, 0, -1]))
def test_hostile_search_spaces(dim, name, n_iter, binary_data):
    X, y = binary_data
    search = BayesSearchCV(NeuralNetClassifier(**_TINY), {name: dim}, n_iter=n_iter, cv=2,
                           random_state=0)
    fitted = _fit_or_clear_error(search, X[:40], y[:40])
    if fitted is not None:
        scores = fitted.cv_results_["mean_test_score"]
        assert len(scores) == n_iter
        assert math.isfinite(fitted.best_score_)


def test_3d_input_to_mlp_is_rejected(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="dim"):
        NeuralNetClassifier(**_TINY).fit(X.reshape(len(X), 2, -1), y)


def test_mismatched_lengths_rejected(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NeuralNetClassifier(**_TINY).fit(X, y[:-1])


def test_predict_with_wrong_width_rejected(binary_data):
    X, y = binary_data
    clf = NeuralNetClassifier(**_TINY).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
