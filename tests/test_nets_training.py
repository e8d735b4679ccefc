"""Training: it learns, ``history_`` is complete, validation split and early stopping."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, cross_validate, train_test_split

import sktune.nets._base as base
from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.modules import ConvNet


def _fast(cls, **params):
    base_params = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2,
                       random_state=0)
    return cls(**{**base_params, **params})


def _valid_data(est):
    """The held-out ``(X, y_encoded)`` tensors the fitted estimator validated on."""
    valid = est.net_.train_split.keywords["valid_ds"]
    return valid.X, valid.y


def _loss_on(est, X, y):
    est.module_.eval()
    with torch.no_grad():
        return est.net_.criterion_(est.module_(X), y).item()


# -- it learns -------------------------------------------------------------------------
def test_classifier_learns_digits(digits_data):
    X, y = digits_data
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=600, random_state=0,
                                                        stratify=y)
    est = NeuralNetClassifier(hidden_layer_sizes=(64,), epochs=10, lr=1e-2, batch_size=32,
                              random_state=0).fit(X_train, y_train)
    assert est.score(X_test, y_test) > 0.9
    losses = est.history_[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_regressor_learns_make_regression(regression_data):
    X, y = regression_data
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    est = NeuralNetRegressor(hidden_layer_sizes=(32,), epochs=30, lr=3e-2, batch_size=32,
                             random_state=0).fit(X_train, y_train)
    assert est.score(X_test, y_test) > 0.8
    assert r2_score(y_test, est.predict(X_test)) == pytest.approx(est.score(X_test, y_test))


# -- history_ ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [NeuralNetClassifier, NeuralNetRegressor])
def test_history_without_validation(cls, binary_data, regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    est = _fast(cls, epochs=4).fit(X, y)
    assert est.n_iter_ == len(est.history_) == 4
    assert est.history_[:, "epoch"] == [1, 2, 3, 4]
    for key in ("train_loss", "lr", "dur"):
        column = est.history_[:, key]
        assert len(column) == 4 and all(np.isfinite(column)), key
    assert all(d > 0 for d in est.history_[:, "dur"])
    assert est.history_[:, "lr"] == [0.01] * 4
    for key in ("valid_loss", "valid_acc", "valid_r2"):
        with pytest.raises(KeyError):
            est.history_[:, key]


def test_a_remainder_batch_is_not_left_tiny(digits_data):
    """65 samples at batch size 64 used to train on batches of 64 and 1: Adam's full
    step on one sample's gradient every epoch ruined training (held-out accuracy
    0.12-0.28, against 0.78-0.85 on 64 samples). Even batches of 33 and 32 train
    like 64 samples do."""
    X, y = digits_data
    idx = np.random.default_rng(0).permutation(len(X))
    scores = {}
    for n in (64, 65):
        est = NeuralNetClassifier(module=ConvNet, epochs=30, lr=3e-3, random_state=0)
        est.fit(X[idx[:n]], y[idx[:n]])
        sizes = [b["train_batch_size"] for b in est.history_[0, "batches"]]
        assert max(sizes) - min(sizes) <= 1
        scores[n] = est.score(X[idx[1000:]], y[idx[1000:]])
    assert scores[65] > 0.7 and scores[65] > scores[64] - 0.1


def test_train_loss_is_mean_of_batch_losses(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, epochs=2, batch_size=48).fit(X, y)
    for epoch in est.history_:
        batches = epoch["batches"]
        sizes = [b["train_batch_size"] for b in batches]
        assert sizes == [40, 40, 40, 40, 40]  # 200 samples over ceil(200 / 48) even batches
        losses = [b["train_loss"] for b in batches]
        assert epoch["train_loss"] == pytest.approx(np.average(losses, weights=sizes))
        assert epoch["train_batch_count"] == 5


@pytest.mark.parametrize("cls, score_key", [(NeuralNetClassifier, "valid_acc"),
                                            (NeuralNetRegressor, "valid_r2")])
@pytest.mark.parametrize("how", [dict(validation_fraction=0.2),
                                 dict(early_stopping=True, n_iter_no_change=50)])
def test_history_with_validation(cls, score_key, how, binary_data, regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    est = _fast(cls, epochs=4, **how).fit(X, y)
    assert est.n_iter_ == len(est.history_) == 4
    for key in ("train_loss", "lr", "dur", "valid_loss", score_key):
        column = est.history_[:, key]
        assert len(column) == 4 and all(np.isfinite(column)), key
    other = {"valid_acc": "valid_r2", "valid_r2": "valid_acc"}[score_key]
    with pytest.raises(KeyError):
        est.history_[:, other]
    # the last epoch's numbers are those of the returned model on the held-out data
    X_valid, y_valid = _valid_data(est)
    assert len(X_valid) == math.ceil(how.get("validation_fraction", 0.1) * len(X))
    assert est.history_[-1, "valid_loss"] == pytest.approx(_loss_on(est, X_valid, y_valid),
                                                           rel=1e-6)
    if cls is NeuralNetClassifier:
        expected = accuracy_score(y_valid.numpy(), est.predict(X_valid.numpy()))
    else:
        expected = r2_score(y_valid.numpy().ravel(), est.predict(X_valid.numpy()))
    assert est.history_[-1, score_key] == pytest.approx(expected, rel=1e-5)


def test_validation_split_is_stratified_for_classifier():
    X, y = make_classification(n_samples=200, n_features=5, weights=[0.8, 0.2],
                               flip_y=0, random_state=0)
    est = _fast(NeuralNetClassifier, validation_fraction=0.25, epochs=1).fit(X, y)
    _, y_valid = _valid_data(est)
    assert len(y_valid) == 50
    assert int(y_valid.sum()) == round(0.25 * y.sum())
    # training on the rest: train batch sizes add up to the complement
    sizes = [b["train_batch_size"] for b in est.history_[0, "batches"] if "train_batch_size" in b]
    assert sum(sizes) == 150


def test_validation_split_with_rare_class_falls_back_to_plain_split():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    y = y.copy()
    y[0] = 2  # one member: cannot stratify
    est = _fast(NeuralNetClassifier, validation_fraction=0.2, epochs=1).fit(X, y)
    assert len(_valid_data(est)[0]) == 12


def test_validation_fraction_too_large_for_tiny_data():
    X = np.arange(2.0).reshape(1, 2)  # one row: nothing to hold out
    with pytest.raises(ValueError, match="validation_fraction=0.1"):
        _fast(NeuralNetRegressor, validation_fraction=0.1, epochs=1).fit(X, [1.0])


# -- early stopping -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def noisy_data():
    # label noise makes a wide net overfit quickly: the validation loss turns up
    return make_classification(n_samples=300, n_features=10, n_informative=5, flip_y=0.2,
                               random_state=0)


def _early(**params):
    defaults = dict(hidden_layer_sizes=(64,), epochs=100, lr=0.05, early_stopping=True,
                    n_iter_no_change=3)
    return _fast(NeuralNetClassifier, **{**defaults, **params})


def _expected_stop(losses, patience, tol):
    """Epochs run by the documented rule, replayed on a history of validation losses."""
    best, misses = np.inf, 0
    for epoch, loss in enumerate(losses, start=1):
        misses = 0 if loss < best - tol else misses + 1
        best = min(best, loss)
        if misses >= patience:
            return epoch
    return len(losses)


def test_early_stopping_stops_before_epochs(noisy_data):
    X, y = noisy_data
    est = _early().fit(X, y)
    assert est.n_iter_ < 100
    losses = est.history_[:, "valid_loss"]
    assert est.n_iter_ == len(losses) == _expected_stop(losses, patience=3, tol=1e-4)
    # without early stopping it runs all epochs
    assert _fast(NeuralNetClassifier, epochs=7, validation_fraction=0.1).fit(X, y).n_iter_ == 7


def test_early_stopping_tol_counts_small_improvements_as_misses(noisy_data):
    X, y = noisy_data
    # the first epoch improves on "no score yet"; after it nothing improves by 0.5,
    # so training stops `patience` epochs later
    est = _early(tol=0.5).fit(X, y)
    assert est.n_iter_ == 1 + 3
    losses = est.history_[:, "valid_loss"]
    assert _expected_stop(losses, patience=3, tol=0.5) == 4
    assert min(losses[1:]) > losses[0] - 0.5


def test_early_stopping_restores_best_weights(noisy_data):
    X, y = noisy_data
    est = _early().fit(X, y)
    losses = est.history_[:, "valid_loss"]
    best = int(np.argmin(losses))
    assert best < est.n_iter_ - 1  # the last epoch is not the best: restoring matters
    assert losses[-1] > min(losses)
    X_valid, y_valid = _valid_data(est)
    assert _loss_on(est, X_valid, y_valid) == pytest.approx(min(losses), rel=1e-6)
    # and predictions come from those weights
    with torch.no_grad():
        logits = est.module_(X_valid).double()
    np.testing.assert_allclose(est.predict_proba(X_valid.numpy()),
                               torch.softmax(logits, 1).numpy(), rtol=1e-9)


def test_early_stopping_validation_split_from_fit_data_only(noisy_data, monkeypatch):
    X, y = noisy_data
    calls = []
    real = base.train_test_split

    def spy(*arrays, **kwargs):
        calls.append((len(arrays[0]), kwargs.get("test_size")))
        return real(*arrays, **kwargs)

    monkeypatch.setattr(base, "train_test_split", spy)
    est = _fast(NeuralNetClassifier, early_stopping=True, n_iter_no_change=2, epochs=3)
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    result = cross_validate(est, X, y, cv=cv, return_estimator=True)
    assert calls == [(200, 0.1)] * 3  # each split drawn from the 200-row training fold
    for fitted in result["estimator"]:
        for epoch in fitted.history_:
            valid = [b["valid_batch_size"] for b in epoch["batches"]
                     if "valid_batch_size" in b]
            train = [b["train_batch_size"] for b in epoch["batches"]
                     if "train_batch_size" in b]
            assert sum(valid) == math.ceil(0.1 * 200)
            assert sum(train) == 200 - math.ceil(0.1 * 200)


def test_early_stopping_split_disjoint_from_training_rows(noisy_data):
    X, y = noisy_data
    est = _early(epochs=2).fit(X, y)
    X_valid, _ = _valid_data(est)
    rows = {tuple(r) for r in X.astype(np.float32)}
    valid_rows = {tuple(r) for r in X_valid.numpy()}
    assert valid_rows <= rows and len(valid_rows) == 30
    # the training epochs saw the other 270 rows
    assert sum(b["train_batch_size"] for b in est.history_[0, "batches"]
               if "train_batch_size" in b) == 270


def test_early_stopping_records_best_epoch(noisy_data):
    X, y = noisy_data
    est = _early().fit(X, y)
    callback = dict(est.net_.callbacks_)["early_stopping"]
    losses = est.history_[:, "valid_loss"]
    assert callback.best_epoch_ == int(np.argmin(losses)) + 1
    assert callback.best_score_ == min(losses)
