"""scikit-learn integration: pipelines, cloning, persistence, cross-validation, searches."""

import copy
import io
import pickle

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import (GridSearchCV, KFold, RandomizedSearchCV,
                                     StratifiedKFold, cross_val_predict, cross_validate)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.modules import ConvNet, ResidualMLP


def _fast(cls=NeuralNetClassifier, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def test_estimator_types():
    assert is_classifier(NeuralNetClassifier()) and not is_regressor(NeuralNetClassifier())
    assert is_regressor(NeuralNetRegressor()) and not is_classifier(NeuralNetRegressor())


def test_pipeline_with_standard_scaler(digits_data):
    X, y = digits_data
    pipe = make_pipeline(StandardScaler(), _fast(hidden_layer_sizes=(32,), epochs=5))
    pipe.fit(X[:500], y[:500])
    assert pipe.score(X[500:900], y[500:900]) > 0.8
    proba = pipe.predict_proba(X[500:510])
    assert proba.shape == (10, 10)
    # the net inside saw the scaled data
    net = pipe[-1]
    scaled = pipe[0].transform(X[500:510])
    np.testing.assert_array_equal(net.predict_proba(scaled), proba)
    # pipeline parameters reach routed params too
    pipe.set_params(neuralnetclassifier__module=ConvNet,
                    neuralnetclassifier__module__channels=(2,), neuralnetclassifier__epochs=1)
    pipe.fit(X[:200], y[:200])
    assert isinstance(pipe[-1].module_, ConvNet)


def test_clone_of_fitted_estimator_is_unfitted(binary_data):
    X, y = binary_data
    fitted = _fast(optimizer__betas=(0.8, 0.9)).fit(X, y)
    cloned = clone(fitted)
    assert not hasattr(cloned, "net_") and not hasattr(cloned, "classes_")
    assert cloned.get_params() == fitted.get_params()
    # a clone fits to the very same model (same seed)
    np.testing.assert_array_equal(cloned.fit(X, y).predict_proba(X), fitted.predict_proba(X))


def _joblib_buffer(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("cls", [NeuralNetClassifier, NeuralNetRegressor])
@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda est: est, copy.deepcopy),
])
def test_pickle_round_trip_identical_predictions(cls, dump, load, binary_data,
                                                 regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    est = _fast(cls, dropout=0.1, early_stopping=True, lr_schedule="step").fit(X, y)
    restored = load(dump(est))
    assert restored is not est
    if cls is NeuralNetClassifier:
        np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(restored.classes_, est.classes_)
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert restored.get_params().keys() == est.get_params().keys()
    assert restored.history_[:, "train_loss"] == est.history_[:, "train_loss"]
    assert restored.n_iter_ == est.n_iter_


def test_joblib_dump_load(binary_data, tmp_path):
    X, y = binary_data
    est = _fast(hidden_layer_sizes=(8, 8)).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))


@pytest.mark.parametrize("copier", [lambda est: pickle.loads(pickle.dumps(est)),
                                    lambda est: joblib.load(_joblib_buffer(est)),
                                    copy.deepcopy], ids=["pickle", "joblib", "deepcopy"])
def test_restored_estimator_continues_schedule_like_the_original(copier, binary_data):
    # after a round trip the lr schedule must still drive the restored optimiser
    X, y = binary_data
    est = _fast(optimizer="sgd", lr=0.1, epochs=2, lr_schedule="step",
                lr_schedule__step_size=1, lr_schedule__gamma=0.5).fit(X, y)
    restored = copier(est)
    est.partial_fit(X, y, epochs=2)
    restored.partial_fit(X, y, epochs=2)
    assert restored.history_[:, "lr"] == est.history_[:, "lr"] == [0.1, 0.05, 0.025, 0.0125]
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_a_module_class_plain_pickle_cannot_find_pickles_by_value(binary_data):
    """A module class of a script's ``__main__`` (or a function's) is not importable
    in a worker: the fitted net pickles by value with cloudpickle, as joblib ships
    it (HyperbandSearchCV keeps such nets between rungs)."""
    from torch import nn

    from sktune.nets._sent_modules import pickler_module

    cloudpickle = pickler_module()

    class Local(nn.Module):
        def __init__(self, n_features=4, n_outputs=2):
            super().__init__()
            self.layer = nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.layer(X)

    X, y = binary_data
    est = _fast(module=Local, epochs=2).fit(X, y)
    restored = cloudpickle.loads(cloudpickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_unpickled_estimator_continues_training_constant_lr(binary_data):
    X, y = binary_data
    est = _fast(dropout=0.2, epochs=2).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y, epochs=2)
    restored.partial_fit(X, y, epochs=2)
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("cls", [NeuralNetClassifier, NeuralNetRegressor])
def test_cross_validate(cls, binary_data, regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    est = _fast(cls, epochs=5)
    result = cross_validate(est, X, y, cv=3, return_train_score=True, return_estimator=True)
    assert result["test_score"].shape == (3,)
    assert np.all(np.isfinite(result["test_score"]))
    assert all(e.n_iter_ == 5 for e in result["estimator"])
    assert not hasattr(est, "net_")  # the estimator given stays unfitted
    threshold = 0.7 if cls is NeuralNetClassifier else 0.3
    assert result["test_score"].mean() > threshold


def test_cross_val_predict_proba(binary_data):
    X, y = binary_data
    proba = cross_val_predict(_fast(), X, y, cv=StratifiedKFold(3), method="predict_proba")
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)


@pytest.mark.slow
def test_grid_search_parallel_with_routed_params_and_refit(digits_data):
    X, y = digits_data
    X, y = X[:300], y[:300]
    est = NeuralNetClassifier(module=ConvNet, epochs=3, batch_size=32, lr=1e-2,
                              random_state=0)
    grid = {"lr": [1e-2, 3e-3], "hidden_layer_sizes": [(16,), (32,)],
            "module__channels": [(2,), (4,)]}
    search = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.get_params()["module__channels"] == search.best_params_["module__channels"]
    convs = [m.out_channels for m in best.module_.features if hasattr(m, "out_channels")]
    assert tuple(convs) == search.best_params_["module__channels"]
    assert best.n_iter_ == 3 and best.n_features_in_ == 64
    assert search.predict(X).shape == (300,)
    # refit = a fresh fit of the best parameters on all of the data
    refit = clone(est).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), search.predict_proba(X))


@pytest.mark.slow
def test_randomized_search_parallel(regression_data):
    X, y = regression_data
    est = NeuralNetRegressor(epochs=4, batch_size=32, random_state=0)
    dist = {"lr": loguniform(1e-3, 1e-1), "hidden_layer_sizes": [(8,), (16, 8)],
            "module": [None, ResidualMLP], "optimizer__betas": [(0.9, 0.999), (0.8, 0.9)]}
    search = RandomizedSearchCV(est, dist, n_iter=4, cv=KFold(2), n_jobs=2,
                                random_state=0).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.lr == search.best_params_["lr"]
    assert best.net_.optimizer_.param_groups[0]["betas"] == \
        search.best_params_["optimizer__betas"]
    assert search.score(X, y) == pytest.approx(best.score(X, y))


def test_grid_search_over_lr_schedule_knobs(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=3, lr_schedule="step", lr_schedule__step_size=1)
    search = GridSearchCV(est, {"lr_schedule__gamma": [0.5, 0.1]}, cv=2).fit(X, y)
    gamma = search.best_params_["lr_schedule__gamma"]
    np.testing.assert_allclose(search.best_estimator_.history_[:, "lr"],
                               [0.1, 0.1 * gamma, 0.1 * gamma ** 2], rtol=1e-12)
