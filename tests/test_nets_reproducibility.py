"""Seeding: equal random_state gives identical fits, in and out of parallel searches."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from sktune import NeuralNetClassifier, NeuralNetRegressor


def _fast(cls=NeuralNetClassifier, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


@pytest.mark.parametrize("params", [
    dict(),
    dict(dropout=0.3),  # dropout masks come from the seeded stream
    dict(early_stopping=True, n_iter_no_change=2, epochs=5),  # and the validation split
    dict(optimizer="sgd", lr_schedule="cosine"),
])
def test_same_seed_identical_predict_proba(params, binary_data):
    X, y = binary_data
    a = _fast(**params).fit(X, y)
    b = _fast(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]


def test_same_seed_identical_regressor(regression_data):
    X, y = regression_data
    a = _fast(NeuralNetRegressor, validation_fraction=0.2).fit(X, y)
    b = _fast(NeuralNetRegressor, validation_fraction=0.2).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_refit_same_estimator_is_identical(binary_data):
    X, y = binary_data
    est = _fast(dropout=0.2)
    first = est.fit(X, y).predict_proba(X)
    second = est.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_different_seeds_differ(binary_data):
    X, y = binary_data
    a = _fast(random_state=0).fit(X, y).predict_proba(X)
    b = _fast(random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


def test_random_state_none_differs_between_fits(binary_data):
    X, y = binary_data
    a = _fast(random_state=None).fit(X, y).predict_proba(X)
    b = _fast(random_state=None).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


def test_random_state_instance_accepted(binary_data):
    X, y = binary_data
    a = _fast(random_state=np.random.RandomState(3)).fit(X, y).predict_proba(X)
    b = _fast(random_state=np.random.RandomState(3)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_fit_leaves_torch_global_rng_untouched(binary_data):
    X, y = binary_data
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    est = _fast(dropout=0.5, early_stopping=True, epochs=3).fit(X, y)
    est.partial_fit(X, y)
    est.predict_proba(X)
    assert torch.equal(torch.get_rng_state(), state)
    # and the global state does not influence the fit
    torch.manual_seed(99)
    other = _fast(dropout=0.5, early_stopping=True, epochs=3).fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), other.predict_proba(X))


def test_fit_leaves_numpy_global_rng_untouched_with_int_seed(binary_data):
    X, y = binary_data
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    _fast(early_stopping=True, epochs=2).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.slow
@pytest.mark.parametrize("cls, scoring", [(NeuralNetRegressor, "r2")])
def test_grid_search_parallel_equals_sequential(cls, scoring):
    # The main process runs with torch's usual multi-threading (the suite pins it to
    # one thread for speed) while joblib limits its workers to one thread each, as
    # for any user on a multi-core machine. Equal seeds must still give identical fits.
    if cls is NeuralNetRegressor:
        X, y = make_regression(n_samples=200, n_features=8, noise=5.0, random_state=0)
        y = y / 100
    else:
        X, y = make_classification(n_samples=200, n_features=8, n_informative=4,
                                   n_redundant=0, random_state=0)
    est = cls(hidden_layer_sizes=(32,), epochs=5, batch_size=32, random_state=0)
    grid = {"lr": [1e-3, 1e-2]}
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sequential = GridSearchCV(est, grid, cv=3, scoring=scoring, n_jobs=1).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    parallel = GridSearchCV(est, grid, cv=3, scoring=scoring, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(sequential.cv_results_["mean_test_score"],
                                  parallel.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(sequential.best_estimator_.predict(X),
                                  parallel.best_estimator_.predict(X))


def test_thread_count_does_not_change_the_fit(regression_data):
    # the mechanism behind the test above, without processes: torch's CPU kernels
    # split some reductions by thread (here the weight gradient of the last,
    # 5-row batch), so the fit must not depend on the caller's thread setting
    X, y = regression_data
    X, y = X[:133], y[:133]
    est = NeuralNetRegressor(hidden_layer_sizes=(64,), epochs=3, batch_size=32,
                             random_state=0)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = est.fit(X, y).predict(X)
        torch.set_num_threads(2)
        two = est.fit(X, y).predict(X)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(one, two)
