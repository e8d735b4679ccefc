"""HyperbandSearchCV: warm-started successive halving over epochs with K-fold CV."""

import math
import os
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import FitFailedWarning
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from sktune import HyperbandSearchCV, NeuralNetClassifier
from sktune.exceptions import CheckpointMismatchError
from sktune.search._fits import task_hook as _task_hook
from sktune.search._hyperband.brackets import epochs_per_fold, hyperband_brackets


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def _net_pipeline():
    return make_pipeline(StandardScaler(),
                         NeuralNetClassifier(hidden_layer_sizes=(16,), random_state=0))


NET_SPACE = {"neuralnetclassifier__lr": (1e-3, 3e-1, "log-uniform"),
             "neuralnetclassifier__batch_size": [32, 64]}


class Toy(ClassifierMixin, BaseEstimator):
    """A fake learner: its score says how it was trained.

    ``score`` = 1 - (x - 0.3)^2 + epochs / 1000, minus 10 for every extra
    fit from scratch: a model that was restarted between rungs instead of
    continued shows it.
    """

    def __init__(self, x=0.0, epochs=1):
        self.x = x
        self.epochs = epochs

    def fit(self, X, y):
        if self.x > 0.9:
            raise ValueError("this region always fails")
        self.classes_ = np.unique(y)
        self.n_fresh_fits_ = getattr(self, "n_fresh_fits_", 0) + 1
        self.epochs_done_ = self.epochs
        return self

    def partial_fit(self, X, y, epochs=1):
        self.epochs_done_ += epochs
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return (1 - (self.x - 0.3) ** 2 + self.epochs_done_ / 1000
                - 10 * (self.n_fresh_fits_ - 1))


def _toy_data():
    return np.zeros((30, 2)), np.arange(30) % 2


def test_brackets_follow_hyperband():
    brackets = hyperband_brackets(27, 1, 3)
    assert [[(r.n_candidates, r.epochs) for r in b] for b in brackets] == [
        [(27, 1), (9, 3), (3, 9), (1, 27)], [(12, 3), (4, 9), (1, 27)],
        [(6, 9), (2, 27)], [(4, 27)]]
    # continued training: 27*1 + 9*2 + 3*6 + 1*18 = 81 for the first bracket
    assert epochs_per_fold(brackets[:1]) == 81
    assert epochs_per_fold(brackets) == 81 + 78 + 90 + 108
    assert len(hyperband_brackets(27, 1, 3, n_brackets=2)) == 2
    for rungs in hyperband_brackets(10, 1, 1.5):  # rounding never repeats epochs
        epochs = [r.epochs for r in rungs]
        assert epochs == sorted(set(epochs)) and epochs[-1] == 10


def test_continued_models_score_like_fresh_fits(digits):
    """Each row equals cross-validating a new model with the row's epochs:
    continuing is exact for sktune networks, so nothing is lost by it."""
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = HyperbandSearchCV(_net_pipeline(), NET_SPACE, max_epochs=4, factor=2,
                               n_brackets=1, cv=cv, random_state=0, refit=False).fit(X, y)
    results = search.cv_results_
    continued = np.flatnonzero(np.asarray(results["iter"]) > 0)
    assert len(continued) >= 2
    for row in [0, *continued]:
        est = clone(search.estimator).set_params(**results["params"][row])
        fresh = cross_validate(est, X, y, cv=cv)["test_score"]
        for k in range(3):
            assert results[f"split{k}_test_score"][row] == fresh[k]


def test_cv_results_record_every_rung(digits):
    X, y = digits
    search = HyperbandSearchCV(_net_pipeline(), NET_SPACE, max_epochs=4, factor=2, cv=3,
                               random_state=0).fit(X, y)
    r = search.cv_results_
    brackets = search.brackets_
    assert [[(g.n_candidates, g.epochs) for g in b] for b in brackets] == [
        [(4, 1), (2, 2), (1, 4)], [(3, 2), (1, 4)], [(3, 4)]]
    assert len(r["params"]) == sum(g.n_candidates for b in brackets for g in b) == 14
    assert_array_equal(r["n_resources"], [1] * 4 + [2] * 2 + [4] + [2] * 3 + [4] + [4] * 3)
    assert_array_equal(r["bracket"], [0] * 7 + [1] * 4 + [2] * 3)
    assert_array_equal(r["iter"], [0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0, 0, 0])
    for params, epochs in zip(r["params"], r["n_resources"]):
        assert params["neuralnetclassifier__epochs"] == epochs
    # promoted candidates are the best of their rung
    ids, scores = np.asarray(r["candidate"]), np.asarray(r["mean_test_score"])
    first = np.arange(4)
    assert set(ids[4:6]) == set(ids[first][np.argsort(-scores[first])][:2])
    # the best is the best *final* score, and refit uses its epochs
    final = [max(np.flatnonzero(ids == c)) for c in np.unique(ids)]
    assert search.best_index_ == final[int(np.argmax(scores[final]))]
    assert search.best_params_ == r["params"][search.best_index_]
    assert search.best_estimator_[-1].n_iter_ == search.best_params_[
        "neuralnetclassifier__epochs"]
    # 3 folds x (4*1 + 2*1 + 1*2 + 3*2 + 1*2 + 3*4) epochs
    assert search.epochs_trained_ == 3 * epochs_per_fold(brackets) == 3 * 28


def test_models_are_continued_never_restarted():
    X, y = _toy_data()
    search = HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=9, cv=2, n_jobs=2,
                               random_state=0).fit(X, y)
    scores = np.asarray(search.cv_results_["mean_test_score"], dtype=float)
    assert scores.min() > 0  # no model was fitted from scratch twice
    epochs = np.asarray(search.cv_results_["n_resources"])
    xs = np.array([p["x"] for p in search.cv_results_["params"]])
    # the score encodes the epochs each model really trained
    assert_allclose(scores, 1 - (xs - 0.3) ** 2 + epochs / 1000)


def test_several_metrics_rank_by_the_refit_one():
    X, y = _toy_data()
    scoring = {"toy": lambda est, X, y: est.score(X, y),
               "reversed": lambda est, X, y: -est.score(X, y)}
    search = HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=9, cv=2, scoring=scoring,
                               refit="reversed", random_state=0).fit(X, y)
    r = search.cv_results_
    assert_allclose(r["mean_test_reversed"], -np.asarray(r["mean_test_toy"]))
    # promotions follow the refit metric: the survivors are the *worst* toy scores
    bracket, rung = np.asarray(r["bracket"]), np.asarray(r["iter"])
    candidate, reversed_ = np.asarray(r["candidate"]), np.asarray(r["mean_test_reversed"])
    first = (bracket == 0) & (rung == 0)
    promoted = set(candidate[(bracket == 0) & (rung == 1)])
    ranked = candidate[first][np.argsort(reversed_[first])]
    assert promoted == set(ranked[-len(promoted):])
    final = [max(i for i, c in enumerate(r["candidate"]) if c == cid)
             for cid in set(r["candidate"])]
    assert search.best_index_ == max(final, key=lambda i: reversed_[i])
    assert search.best_score_ == reversed_[search.best_index_]


def test_a_callback_stops_the_search_after_a_rung():
    X, y = _toy_data()
    seen = []

    def stop_after_first_rung(state):
        seen.append(state)
        return True

    search = HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=9, cv=2, random_state=0,
                               callbacks=stop_after_first_rung).fit(X, y)
    first_rung = search.brackets_[0][0]
    assert search.n_rounds_ == 1 and len(seen) == 1
    assert len(search.cv_results_["params"]) == first_rung.n_candidates
    assert set(search.cv_results_["n_resources"]) == {first_rung.epochs}
    assert search.best_params_["epochs"] == first_rung.epochs
    assert search.epochs_trained_ == first_rung.n_candidates * first_rung.epochs * 2


def test_failed_candidates_are_recorded_and_never_promoted():
    X, y = _toy_data()
    with pytest.warns(FitFailedWarning, match="fits failed"), \
            pytest.warns(UserWarning, match="candidates have a non-finite test_score"):
        search = HyperbandSearchCV(Toy(), {"x": (0.0, 1.0)}, max_epochs=9, cv=2,
                                   proposals="random", random_state=0).fit(X, y)
    r = search.cv_results_
    xs = np.array([p["x"] for p in r["params"]])
    scores = np.asarray(r["mean_test_score"], dtype=float)
    assert (xs > 0.9).any()
    assert np.isnan(scores[xs > 0.9]).all()
    assert (np.asarray(r["iter"])[xs > 0.9] == 0).all()
    assert math.isfinite(search.best_score_)


def test_any_estimator_with_partial_fit_works():
    X, y = make_classification(200, 8, random_state=0)
    search = HyperbandSearchCV(SGDClassifier(random_state=0), {"alpha": (1e-5, 1e-1, "log-uniform")},
                               resource="max_iter", max_epochs=8, factor=2, n_brackets=1, cv=3,
                               random_state=0)
    with pytest.warns(Warning):  # SGD's ConvergenceWarning at few epochs
        search.fit(X, y)
    assert search.best_params_["max_iter"] in (1, 2, 4, 8)
    assert search.best_score_ > 0.7


@pytest.mark.parametrize("kwargs, error, match", [
    ({"search_spaces": {"epochs": (1, 9)}}, ValueError, "remove it from search_spaces"),
    ({"estimator": SVC()}, TypeError, "cannot continue training"),
    ({"resource": "n_layers"}, ValueError, "no parameter 'n_layers'"),
    ({"min_epochs": 10}, ValueError, "min_epochs=10 exceeds max_epochs=9"),
    ({"search_spaces": [{"lr": (1e-3, 1e-1)}, {"alpha": (1e-5, 1e-1)}]}, InvalidParameterError,
     "search_spaces"),
    ({"factor": 1}, InvalidParameterError, "factor"),
    ({"proposals": "tpe"}, InvalidParameterError, "proposals"),
])
def test_bad_settings_are_clear_errors(kwargs, error, match):
    X, y = _toy_data()
    params = {"estimator": NeuralNetClassifier(epochs=9), "search_spaces": {"lr": (1e-3, 1e-1)},
              **kwargs}
    if isinstance(params["estimator"], SVC):
        params["resource"] = "max_iter"
        params["max_epochs"] = 9
    with pytest.raises(error, match=match):
        HyperbandSearchCV(params.pop("estimator"), params.pop("search_spaces"),
                          cv=2, **params).fit(X, y)


def test_max_epochs_defaults_to_the_estimators_epochs(digits):
    X, y = digits
    search = HyperbandSearchCV(_net_pipeline().set_params(neuralnetclassifier__epochs=3),
                               NET_SPACE, factor=3, cv=2, random_state=0, refit=False).fit(X, y)
    assert max(search.cv_results_["n_resources"]) == 3


def test_bayes_proposals_learn_from_early_rungs():
    """After the first bracket the model proposes nearer the optimum than the design."""
    X, y = _toy_data()
    for seed in range(3):
        gaps, closest = {}, {}
        for method in ("bayes", "random"):
            search = HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=27, cv=2,
                                       proposals=method, random_state=seed,
                                       refit=False).fit(X, y)
            r = search.cv_results_
            xs = np.array([p["x"] for p in r["params"]])
            later = (np.asarray(r["bracket"]) > 0) & (np.asarray(r["iter"]) == 0)
            gaps[method] = np.median(np.abs(xs[later] - 0.3))
            closest[method] = np.min(np.abs(xs - 0.3))
        assert gaps["bayes"] < gaps["random"], seed
        assert closest["bayes"] < closest["random"], seed


def test_big_models_are_spilled_to_disk_and_cleaned_up(digits, tmp_path, monkeypatch):
    X, y = digits
    make = lambda **kw: HyperbandSearchCV(_net_pipeline(), NET_SPACE, max_epochs=4, factor=2,  # noqa: E731
                                          n_brackets=1, cv=2, random_state=0, refit=False, **kw)
    in_memory = make().fit(X, y)
    written = []
    real_dump = _task_hook._dump

    def dump(model, folder):
        stored = real_dump(model, folder)
        written.append(stored)
        return stored

    monkeypatch.setattr(_task_hook, "SPILL_BYTES", 0)  # n_jobs=1: this process fits
    monkeypatch.setattr(_task_hook, "_dump", dump)
    spilled = make(model_dir=str(tmp_path)).fit(X, y)
    assert written and all(isinstance(s, _task_hook.Spilled) for s in written)
    assert os.listdir(tmp_path) == []  # continued models read once, the rest removed
    assert_array_equal(spilled.cv_results_["mean_test_score"],
                       in_memory.cv_results_["mean_test_score"])


class _StopAfter:
    def __init__(self, n):
        self.n = n

    def __call__(self, state):
        if state.round == self.n:
            raise KeyboardInterrupt


def test_checkpoint_resumes_an_interrupted_search(digits, tmp_path):
    X, y = digits
    path = tmp_path / "hb.sqlite"
    def make(**kw):
        return HyperbandSearchCV(_net_pipeline(), NET_SPACE, **{
            "max_epochs": 4, "factor": 2, "cv": 2, "random_state": 0, "refit": False, **kw})

    full = make().fit(X, y)
    with pytest.raises(KeyboardInterrupt):
        make(checkpoint=path, callbacks=_StopAfter(2)).fit(X, y)  # mid-bracket
    resumed = make(checkpoint=path).fit(X, y)
    assert resumed.cv_results_["params"] == full.cv_results_["params"]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "n_resources"):
        assert_array_equal(resumed.cv_results_[key], full.cv_results_[key])
    # the interrupted bracket's survivors were retrained from scratch, later ones continued
    assert resumed.epochs_trained_ < full.epochs_trained_
    with pytest.raises(CheckpointMismatchError, match="factor"):
        make(checkpoint=path, factor=3).fit(X, y)


def test_search_pickles_and_clones(digits):
    X, y = digits
    search = HyperbandSearchCV(_net_pipeline(), NET_SPACE, max_epochs=2, factor=2, cv=2,
                               random_state=0)
    assert clone(search).get_params()["max_epochs"] == 2
    fitted = pickle.loads(pickle.dumps(search.fit(X, y)))
    assert_array_equal(fitted.predict(X[:20]), search.predict(X[:20]))


def test_kept_models_of_classes_plain_pickle_cannot_find():
    """A model kept between rungs may be of a class defined in a script's __main__
    or a function (a notebook's, a benchmark's): it is kept by value."""
    from sktune.search._fits.task_hook import _dump, _load

    class Local(Toy):
        pass

    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(Local(x=0.5))
    model = Local(x=0.5).fit(*_toy_data())
    for folder in (None, os.getcwd()):
        back = _load(_dump(model, folder))
        assert type(back).__name__ == "Local" and back.x == 0.5 and back.epochs_done_ == 1
