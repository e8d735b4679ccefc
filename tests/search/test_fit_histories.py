"""Every fit's training curves, kept by sktune's searches (``fit_histories_``): what
they hold, in parallel, across Hyperband's rungs, through a checkpoint and a saved
file, for diverged fits and for estimators without curves."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier, load, save
from sktune.report import cv_report
from sktune.search.space import Real


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(120, 8, n_informative=5, random_state=0)
    return X.astype(np.float32), y


def _net(**kwargs):
    return NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=4, batch_size=32,
                               random_state=0, **kwargs)


def _bayes(estimator, n_jobs=1, **kwargs):
    return BayesSearchCV(estimator, {"lr": Real(1e-3, 1e-1, prior="log-uniform")}, n_iter=3,
                         cv=2, random_state=0, n_jobs=n_jobs, refit=False, **kwargs)


def _equal(a, b):
    assert len(a) == len(b)
    for fits_a, fits_b in zip(a, b):
        assert len(fits_a) == len(fits_b)
        for h, g in zip(fits_a, fits_b):
            assert (h is None) == (g is None)
            if h is not None:
                assert sorted(h) == sorted(g)
                for key in h:
                    assert_array_equal(h[key], g[key])


def test_every_fit_keeps_its_per_epoch_curves(data):
    search = _bayes(_net()).fit(*data)
    histories = search.fit_histories_
    assert len(histories) == len(search.cv_results_["params"]) == 3
    for fits in histories:
        assert len(fits) == 2
        for h in fits:
            assert sorted(h) == ["train_loss"]  # no validation split: no validation curve
            assert h["train_loss"].dtype == np.float32 and h["train_loss"].shape == (4,)
            assert np.isfinite(h["train_loss"]).all()
    # the curves are the fits' own: a candidate's two folds differ
    assert not np.array_equal(histories[0][0]["train_loss"], histories[0][1]["train_loss"])


def test_a_validation_split_adds_its_loss_and_score(data):
    search = _bayes(_net(validation_fraction=0.25)).fit(*data)
    h = search.fit_histories_[0][0]
    assert sorted(h) == ["train_loss", "valid_acc", "valid_loss"]
    assert ((h["valid_acc"] >= 0) & (h["valid_acc"] <= 1)).all()


def test_parallel_workers_send_the_same_curves(data):
    one = _bayes(_net()).fit(*data)
    two = _bayes(_net(), n_jobs=2).fit(*data)
    _equal(one.fit_histories_, two.fit_histories_)


def test_hyperband_rows_hold_the_whole_training_up_to_their_rung(data):
    search = HyperbandSearchCV(_net(), {"lr": Real(1e-3, 1e-1, prior="log-uniform")},
                               max_epochs=9, cv=2, random_state=0, refit=False).fit(*data)
    r = search.cv_results_
    histories = search.fit_histories_
    assert len(histories) == len(r["params"])
    epochs = np.asarray(r["n_resources"])
    continued = 0
    for row, candidate in enumerate(r["candidate"]):
        for h in histories[row]:
            assert len(h["train_loss"]) == epochs[row]
        earlier = [i for i in range(row) if r["candidate"][i] == candidate]
        if earlier:  # the previous rung's curve is the start of this one
            before = histories[earlier[-1]]
            for h, g in zip(histories[row], before):
                assert_array_equal(h["train_loss"][:len(g["train_loss"])], g["train_loss"])
            continued += 1
    assert continued > 0
    rho = cv_report(search).rung_correlations
    assert list(rho.columns) == ["epochs", "n", "rho"] and len(rho) >= 1


def test_curves_survive_a_checkpoint_and_a_saved_file(data, tmp_path):
    path = str(tmp_path / "search.db")
    first = _bayes(_net(), checkpoint=path).fit(*data)
    resumed = _bayes(_net(), checkpoint=path).fit(*data)  # every round replayed
    _equal(first.fit_histories_, resumed.fit_histories_)
    file = str(tmp_path / "search.sktune")
    save(first, file)
    _equal(first.fit_histories_, load(file).fit_histories_)
    assert cv_report(load(file)).histories is not None


def test_a_diverged_fit_keeps_the_epochs_it_ran_and_is_marked(data):
    X, y = data
    search = BayesSearchCV(
        _net(optimizer="sgd", momentum=0.0),
        {"lr": Real(1e-3, 1e7, prior="log-uniform")}, n_iter=8, cv=2,
        optimizer_kwargs={"n_initial_points": 8},
        random_state=0, refit=False, error_score=np.nan).fit(X * 1e3, y)
    lr = np.array([p["lr"] for p in search.cv_results_["params"]])
    diverged = [any(not np.isfinite(h["train_loss"]).all() for h in fits)
                for fits in search.fit_histories_]
    failed = ~np.isfinite(search.cv_results_["mean_test_score"])
    assert any(diverged)
    assert_array_equal(diverged, failed)  # every failure here is a divergence
    assert lr[diverged].min() > lr[~np.asarray(diverged)].min()
    report = cv_report(search)
    assert report._curves.diverged.sum() == sum(diverged)
    if sum(diverged) >= 3:
        assert any("diverged" in f for f in report.advice())
    assert "Training curves of every candidate" in report.to_html()


def test_estimators_without_curves_keep_none(data):
    search = BayesSearchCV(SVC(), {"C": Real(0.1, 10.0)}, n_iter=2, cv=2, random_state=0,
                           refit=False).fit(*data)
    assert search.fit_histories_ is None
    assert cv_report(search).histories is None


def test_scikit_learn_mlp_curves_are_read_too(data):
    search = BayesSearchCV(MLPClassifier((8,), max_iter=5, random_state=0),
                           {"alpha": Real(1e-4, 1e-1, prior="log-uniform")}, n_iter=2, cv=2,
                           random_state=0, refit=False)
    with pytest.warns(Warning):  # max_iter reached
        search.fit(*data)
    assert search.fit_histories_[0][0]["train_loss"].shape == (5,)
