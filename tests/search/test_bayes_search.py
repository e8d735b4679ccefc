"""Tests of ``BayesSearchCV``: a real sklearn ``BaseSearchCV``, driven by the optimiser.

Everything here is small (iris, a digits subset, toy estimators), so the whole
file runs in well under a minute on two cores.
"""

import inspect
import math
import pickle
import warnings
from collections import Counter
from numbers import Integral

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.callback import CallbackSupportMixin
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    RandomizedSearchCV,
    cross_val_predict,
    cross_val_score,
    train_test_split,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from sktune import BayesSearchCV
from sktune.search.callbacks import (
    NoImprovementStopper,
    SearchState,
    TargetScoreStopper,
    TimeBudgetStopper,
)
from sktune.space import Categorical, Integer, Real

try:  # tests/search as a package, or (pytest's default) as a sys.path entry
    from ._bayes_search_toys import AlwaysFails, FailingSVC, FoldRecorder, ParamScoreClassifier
except ImportError:
    from _bayes_search_toys import AlwaysFails, FailingSVC, FoldRecorder, ParamScoreClassifier

X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def _digits(n=300):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16.0).astype(np.float32), y[:n]


def _with_ids(X):
    return np.hstack([X, np.arange(len(X))[:, None]])


def _round_sizes(search_kwargs, estimator, space, X=X_IRIS, y=Y_IRIS):
    """Fit a search, recording the number of candidates after each round."""
    sizes = []

    def record(state):
        sizes.append(len(state.cv_results["params"]))
        return False

    search = BayesSearchCV(estimator, space, callbacks=record, **search_kwargs).fit(X, y)
    return search, sizes


def _key(params):
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


SVC_SPACE = {"C": Real(1e-2, 1e2, prior="log-uniform"), "kernel": Categorical(["linear", "rbf"])}


# --------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------
def test_signature_matches_the_documented_interface():
    params = inspect.signature(BayesSearchCV).parameters
    # scikit-optimize's order up to optimizer_kwargs (its third positional argument),
    # keywords after; fit_params and iid only to raise at fit for skopt's old code
    assert list(params) == [
        "estimator", "search_spaces", "optimizer_kwargs", "n_iter", "scoring", "n_jobs",
        "n_points", "refit", "cv", "verbose", "pre_dispatch", "random_state", "error_score",
        "return_train_score", "callbacks", "checkpoint", "checkpoint_every", "asynchronous",
        "objectives", "fold_noise", "racing",
        "fit_params", "iid",
    ]
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items()
               if name not in ("estimator", "search_spaces", "optimizer_kwargs"))
    assert params["iid"].default == "deprecated" and params["fit_params"].default is None
    defaults = {name: p.default for name, p in params.items()}
    assert defaults["n_iter"] == 50
    assert defaults["n_points"] == 1
    assert defaults["refit"] is True
    assert defaults["pre_dispatch"] == "2*n_jobs"
    assert np.isnan(defaults["error_score"])
    assert defaults["return_train_score"] is False
    assert defaults["checkpoint_every"] == 300.0
    for name in ("scoring", "n_jobs", "cv", "random_state", "optimizer_kwargs", "callbacks",
                 "checkpoint"):
        assert defaults[name] is None
    assert params["search_spaces"].default is inspect.Parameter.empty


def test_is_a_base_search_cv_with_callback_support():
    from sklearn.model_selection._search import BaseSearchCV

    search = BayesSearchCV(SVC(), SVC_SPACE)
    assert isinstance(search, BaseSearchCV)
    assert isinstance(search, CallbackSupportMixin)
    assert hasattr(search, "set_callbacks")


def test_basic_fit_attributes_and_delegation():
    X_train, X_test, y_train, y_test = train_test_split(
        X_IRIS, Y_IRIS, train_size=0.75, random_state=0, stratify=Y_IRIS)
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=6, cv=3, random_state=0).fit(X_train, y_train)

    results = search.cv_results_
    assert len(results["params"]) == 6
    assert search.n_splits_ == 3
    assert search.n_rounds_ == 6
    assert search.best_index_ == int(np.argmax(results["mean_test_score"]))
    assert search.best_score_ == results["mean_test_score"][search.best_index_]
    assert search.best_params_ == results["params"][search.best_index_]
    assert results["rank_test_score"][search.best_index_] == 1
    assert search.best_estimator_.get_params()["C"] == search.best_params_["C"]
    assert search.refit_time_ >= 0
    assert search.multimetric_ is False
    assert search.classes_.tolist() == [0, 1, 2]
    for params in results["params"]:
        assert 1e-2 <= params["C"] <= 1e2
        assert params["kernel"] in ("linear", "rbf")
    # predict / score / decision_function delegate to the refitted best estimator
    np.testing.assert_array_equal(search.predict(X_test), search.best_estimator_.predict(X_test))
    assert search.score(X_test, y_test) == search.best_estimator_.score(X_test, y_test)
    np.testing.assert_allclose(search.decision_function(X_test),
                               search.best_estimator_.decision_function(X_test))
    assert search.score(X_test, y_test) > 0.85
    assert len(search.optimizers_) == 1
    assert len(search.optimizers_[0].yi) == 6


def test_cv_results_keys_match_randomized_search():
    kwargs = dict(cv=3, return_train_score=True)
    bayes = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=4, random_state=0,
                          **kwargs).fit(X_IRIS, Y_IRIS)
    rand = RandomizedSearchCV(SVC(), {"C": loguniform(1e-2, 1e2)}, n_iter=4, random_state=0,
                              **kwargs).fit(X_IRIS, Y_IRIS)
    # plus scikit-optimize's train-score ranks and the model's belief of each score
    assert set(bayes.cv_results_) == set(rand.cv_results_) | {
        "rank_train_score", "posterior_mean_test_score", "posterior_std_test_score"}
    for key in ("params", "param_C", "mean_test_score", "std_test_score", "rank_test_score",
                "split0_test_score", "split2_test_score", "mean_train_score", "mean_fit_time"):
        assert len(bayes.cv_results_[key]) == 4


def test_refit_false_keeps_best_params_but_no_estimator():
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=4, cv=3, refit=False,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert not hasattr(search, "best_estimator_")
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    with pytest.raises((AttributeError, NotFittedError)):
        search.predict(X_IRIS)


def test_refit_callable_selects_the_index_it_returns():
    def pick_last(cv_results):
        return len(cv_results["params"]) - 1

    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=4, cv=3, refit=pick_last,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.best_index_ == 3
    assert search.best_params_ == search.cv_results_["params"][3]


def test_pipeline_with_step_parameter_names():
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    search = BayesSearchCV(pipe, {"svc__C": (1e-2, 1e2, "log-uniform"),
                                  "svc__gamma": (1e-3, 1e1, "log-uniform")},
                           n_iter=6, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    assert set(search.best_params_) == {"svc__C", "svc__gamma"}
    assert search.best_estimator_.named_steps["svc"].C == search.best_params_["svc__C"]
    assert search.best_estimator_.named_steps["svc"].gamma == search.best_params_["svc__gamma"]
    assert search.best_score_ > 0.9


def test_nested_cross_validation_and_cross_val_predict():
    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=4, cv=3,
                           random_state=0)
    scores = cross_val_score(search, X_IRIS, Y_IRIS, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores > 0.8)
    pred = cross_val_predict(search, X_IRIS, Y_IRIS, cv=3)
    assert pred.shape == Y_IRIS.shape
    assert np.mean(pred == Y_IRIS) > 0.8


def test_clone_get_params_set_params_include_callbacks():
    callbacks = [NoImprovementStopper(n_rounds=3), TargetScoreStopper(score=0.99)]
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=7, n_points=2, callbacks=callbacks,
                           optimizer_kwargs={"n_initial_points": 3}, random_state=1)
    params = search.get_params()
    assert params["callbacks"] is callbacks
    assert params["n_points"] == 2
    assert params["optimizer_kwargs"] == {"n_initial_points": 3}
    assert params["estimator__C"] == 1.0  # deep params of the estimator

    cloned = clone(search)
    assert cloned.callbacks == callbacks
    assert cloned.search_spaces == search.search_spaces
    assert cloned.get_params(deep=False).keys() == search.get_params(deep=False).keys()
    for name in ("n_iter", "n_points", "random_state", "optimizer_kwargs"):
        assert getattr(cloned, name) == getattr(search, name)

    # set_params replaces the callbacks, and the new ones are used by fit
    cloned.set_params(callbacks=TimeBudgetStopper(seconds=0.0), estimator__kernel="linear")
    assert cloned.get_params()["callbacks"] == TimeBudgetStopper(seconds=0.0)
    cloned.fit(X_IRIS, Y_IRIS)
    assert cloned.n_rounds_ == 1  # a budget of 0 keeps the first candidate only
    assert len(cloned.cv_results_["params"]) == 1
    # The original was not touched by the clone's fit.
    assert not hasattr(search, "cv_results_")


def test_pickle_fitted_search():
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=5, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X_IRIS), search.predict(X_IRIS))
    assert restored.best_params_ == search.best_params_
    assert restored.cv_results_["params"] == search.cv_results_["params"]
    np.testing.assert_array_equal(restored.cv_results_["mean_test_score"],
                                  search.cv_results_["mean_test_score"])
    assert restored.optimizers_[0].yi == search.optimizers_[0].yi
    # An unfitted clone of a fitted search can be refitted.
    assert clone(restored).set_params(n_iter=2).fit(X_IRIS, Y_IRIS).n_rounds_ == 2


# --------------------------------------------------------------------------
# Search spaces
# --------------------------------------------------------------------------
def test_shorthands_map_to_the_right_dimensions():
    space = {
        "x": (0.1, 0.9),                       # float bounds -> Real
        "n": (1, 20),                          # int bounds -> Integer
        "lr": (1e-4, 1e-1, "log-uniform"),     # Real, log-uniform
        "k": ["a", "b", "c"],                  # list -> Categorical
    }
    search = BayesSearchCV(ParamScoreClassifier(), {"x": space["x"], "k": space["k"]},
                           n_iter=5, cv=2, random_state=0)
    search.fit(X_IRIS, Y_IRIS)
    parsed = search.optimizers_[0].space
    assert isinstance(parsed["x"], Real) and parsed["x"].bounds == (0.1, 0.9)
    assert isinstance(parsed["k"], Categorical) and list(parsed["k"].categories) == ["a", "b", "c"]
    for params in search.cv_results_["params"]:
        assert isinstance(params["x"], float) and 0.1 <= params["x"] <= 0.9
        assert params["k"] in ("a", "b", "c")

    from sktune.search.space import parse_search_spaces

    (full, _), = parse_search_spaces(space)
    assert isinstance(full["n"], Integer) and full["n"].bounds == (1, 20)
    assert isinstance(full["lr"], Real) and full["lr"].prior == "log-uniform"
    assert full["x"].prior == "uniform"


def test_integer_values_are_integers():
    search = BayesSearchCV(SVC(kernel="poly"), {"degree": (1, 4), "C": (0.1, 10.0)},
                           n_iter=6, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    for params in search.cv_results_["params"]:
        assert isinstance(params["degree"], Integral) and 1 <= params["degree"] <= 4
        assert isinstance(params["C"], float)


def test_scipy_frozen_distributions():
    space = {"C": loguniform(1e-3, 1e2), "degree": randint(1, 4),
             "kernel": ["poly", "rbf"]}
    search = BayesSearchCV(SVC(), space, n_iter=6, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    parsed = search.optimizers_[0].space
    assert isinstance(parsed["C"], Real) and parsed["C"].prior == "log-uniform"
    assert np.allclose(parsed["C"].bounds, (1e-3, 1e2))
    assert isinstance(parsed["degree"], Integer) and parsed["degree"].bounds == (1, 3)
    for params in search.cv_results_["params"]:
        assert 1e-3 <= params["C"] <= 1e2
        assert isinstance(params["degree"], Integral) and 1 <= params["degree"] <= 3


def test_categories_can_be_any_objects():
    est_a, est_b = GaussianNB(), KNeighborsClassifier(n_neighbors=3)
    pipe = Pipeline([("scale", StandardScaler()), ("model", GaussianNB())])
    space = {
        "scale": Categorical([None, StandardScaler(), "passthrough"]),
        "model": Categorical([est_a, est_b]),
    }
    search = BayesSearchCV(pipe, space, n_iter=6, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    seen_models = {type(p["model"]) for p in search.cv_results_["params"]}
    assert seen_models <= {GaussianNB, KNeighborsClassifier}
    for params in search.cv_results_["params"]:
        scale = params["scale"]
        assert scale is None or scale == "passthrough" or isinstance(scale, StandardScaler)
    assert search.best_score_ > 0.85
    assert isinstance(search.best_estimator_.named_steps["model"],
                      (GaussianNB, KNeighborsClassifier))
    # The categories given by the user were not fitted in place.
    assert not hasattr(est_a, "theta_") and not hasattr(est_b, "classes_")


def test_list_of_subspaces_each_gets_n_iter():
    spaces = [{"C": (1e-2, 1e2, "log-uniform"), "kernel": ["rbf"]},
              {"C": (1e-2, 1e2, "log-uniform"), "kernel": ["linear"]}]
    search = BayesSearchCV(SVC(), spaces, n_iter=3, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    kernels = [p["kernel"] for p in search.cv_results_["params"]]
    assert kernels == ["rbf"] * 3 + ["linear"] * 3
    assert len(search.optimizers_) == 2


def test_subspaces_with_their_own_n_iter_and_n_points():
    spaces = [({"C": (1e-2, 1e2, "log-uniform"), "kernel": ["rbf"]}, 5),
              ({"C": (1e-2, 1e2, "log-uniform")}, 4)]
    search, sizes = _round_sizes(dict(n_iter=50, n_points=2, cv=3, random_state=0),
                                 SVC(kernel="linear"), spaces)
    params = search.cv_results_["params"]
    assert len(params) == 9
    assert [set(p) for p in params] == [{"C", "kernel"}] * 5 + [{"C"}] * 4
    # rounds never mix sub-spaces: 2, 2, 1 then 2, 2
    assert sizes == [2, 4, 5, 7, 9]
    assert search.n_rounds_ == 5
    # param_kernel is masked for the candidates of the second sub-space
    assert search.cv_results_["param_kernel"].mask.tolist() == [False] * 5 + [True] * 4


@pytest.mark.parametrize("spaces, match", [
    ({}, "empty"),
    ([], "empty"),
    ({"C": (1.0, 1.0)}, "low"),
    ({"C": (5, 2)}, "low"),
    ({"C": (0.0, 1.0, "log-uniform")}, "log-uniform"),
    ({"C": (-1.0, 1.0, "log-uniform")}, "log-uniform"),
    ({"C": (1e-3, 1.0, "log-normal")}, "prior"),
    ({"C": []}, "categor"),
    ({"C": (1.0, 2.0, 3.0)}, "C"),
    ([({"C": (1.0, 2.0)}, 0)], "n_iter"),
])
def test_invalid_spaces_raise_a_clear_error(spaces, match):
    with pytest.raises(ValueError, match=match):
        BayesSearchCV(SVC(), spaces, n_iter=3, cv=3).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("make", [
    lambda: Real(1.0, 0.5),
    lambda: Real(0.0, 1.0, prior="log-uniform"),
    lambda: Integer(0, 10, prior="log-uniform"),
    lambda: Real(1e-3, 1.0, prior="loguniform"),
    lambda: Categorical([]),
])
def test_invalid_dimensions_raise_at_construction(make):
    with pytest.raises(ValueError):
        make()


def test_invalid_search_spaces_type_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        BayesSearchCV(SVC(), "C", n_iter=3, cv=3).fit(X_IRIS, Y_IRIS)


def test_invalid_error_message_names_the_parameter():
    with pytest.raises(ValueError, match="gamma"):
        BayesSearchCV(SVC(), {"C": (0.1, 1.0), "gamma": (0.0, 1.0, "log-uniform")},
                      n_iter=3, cv=3).fit(X_IRIS, Y_IRIS)


# --------------------------------------------------------------------------
# n_points, folds, reproducibility
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n_iter, n_points, expected_sizes", [
    (10, 3, [3, 6, 9, 10]),
    (7, 2, [2, 4, 6, 7]),
    (4, 5, [4]),
])
def test_n_points_proposes_distinct_points_per_round(n_iter, n_points, expected_sizes):
    space = {"C": (1e-2, 1e2, "log-uniform"), "degree": (1, 3), "kernel": ["rbf", "poly"]}
    search, sizes = _round_sizes(dict(n_iter=n_iter, n_points=n_points, cv=3, random_state=0),
                                 SVC(), space)
    params = search.cv_results_["params"]
    assert len(params) == n_iter
    assert sizes == expected_sizes
    assert search.n_rounds_ == len(expected_sizes)
    bounds = [0] + sizes
    for start, stop in zip(bounds[:-1], bounds[1:]):
        keys = [_key(p) for p in params[start:stop]]
        assert len(set(keys)) == len(keys), f"duplicate candidates in a round: {keys}"


def test_n_points_on_a_small_discrete_space_covers_it_without_repeats():
    space = {"C": (1, 6), "kernel": ["rbf", "linear"]}  # 12 points
    search = BayesSearchCV(SVC(), space, n_iter=12, n_points=4, cv=3,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    keys = [_key(p) for p in search.cv_results_["params"]]
    assert len(set(keys)) == 12


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cv_folds_are_fixed_for_the_whole_search(tmp_path, n_jobs):
    X = _with_ids(X_IRIS)
    cv = KFold(3, shuffle=True)  # no random_state: a new shuffle at every split() call
    search = BayesSearchCV(FoldRecorder(log_dir=str(tmp_path)),
                           {"k": Categorical(list("abcdef"))}, n_iter=5, n_points=1, cv=cv,
                           refit=False, n_jobs=n_jobs, random_state=0).fit(X, Y_IRIS)
    assert search.n_rounds_ == 5
    keys = [f.read_text() for f in tmp_path.glob("*.fit")]
    assert len(keys) == 5 * 3
    # Three folds in all, each used by every round.
    counts = Counter(keys)
    assert len(counts) == 3, f"{len(counts)} distinct training sets instead of 3"
    assert sorted(counts.values()) == [5, 5, 5]


@pytest.mark.parametrize("cv_kind", ["int", "list", "group"])
def test_other_cv_kinds(cv_kind):
    groups = np.arange(len(Y_IRIS)) % 5
    fit_params = {}
    if cv_kind == "int":
        cv = 4
    elif cv_kind == "list":
        cv = list(KFold(4, shuffle=True, random_state=0).split(X_IRIS))
    else:
        cv = GroupKFold(4)
        fit_params = {"groups": groups}
    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=3, cv=cv,
                           random_state=0).fit(X_IRIS, Y_IRIS, **fit_params)
    assert search.n_splits_ == 4
    assert len(search.cv_results_["params"]) == 3
    assert np.all(np.isfinite(search.cv_results_["split3_test_score"]))


def test_same_random_state_same_results_for_any_n_jobs():
    kwargs = dict(n_iter=8, n_points=2, cv=3, random_state=7)
    runs = [BayesSearchCV(SVC(), SVC_SPACE, n_jobs=n_jobs, **kwargs).fit(X_IRIS, Y_IRIS)
            for n_jobs in (1, 2, 1)]
    first = runs[0].cv_results_
    for other in runs[1:]:
        assert other.cv_results_["params"] == first["params"]
        np.testing.assert_array_equal(other.cv_results_["mean_test_score"],
                                      first["mean_test_score"])
        np.testing.assert_array_equal(other.cv_results_["split1_test_score"],
                                      first["split1_test_score"])
        assert other.best_params_ == runs[0].best_params_
    different = BayesSearchCV(SVC(), SVC_SPACE, n_iter=8, n_points=2, cv=3,
                              random_state=8).fit(X_IRIS, Y_IRIS)
    assert different.cv_results_["params"] != first["params"]


def test_random_state_instance_is_accepted():
    rng = np.random.RandomState(0)
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=3, cv=3, random_state=rng)
    assert len(search.fit(X_IRIS, Y_IRIS).cv_results_["params"]) == 3


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------
def _near(center):
    def score(estimator, X, y):
        return -((estimator.x - center) ** 2)
    return score


@pytest.mark.parametrize("refit, center", [("low", 0.2), ("high", 0.8)])
def test_multimetric_optimises_the_refit_metric(refit, center):
    scoring = {"low": _near(0.2), "high": _near(0.8)}
    search = BayesSearchCV(ParamScoreClassifier(), {"x": (0.0, 1.0)}, scoring=scoring,
                           refit=refit, n_iter=14, cv=2, random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.multimetric_ is True
    results = search.cv_results_
    assert {"mean_test_low", "mean_test_high", "rank_test_low", "rank_test_high"} <= set(results)
    assert search.best_score_ == np.max(results[f"mean_test_{refit}"])
    assert abs(search.best_params_["x"] - center) < 0.05
    # The model-based candidates (after the 10 space-filling ones) home in on
    # the optimum of the refit metric, not on the other one.
    later = [p["x"] for p in results["params"][10:]]
    assert np.median([abs(x - center) for x in later]) < 0.15
    assert search.best_estimator_.x == search.best_params_["x"]


def test_multimetric_list_scoring_with_refit_name():
    search = BayesSearchCV(SVC(), SVC_SPACE, scoring=["accuracy", "balanced_accuracy"],
                           refit="balanced_accuracy", n_iter=4, cv=3,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    results = search.cv_results_
    assert search.best_index_ == int(np.argmax(results["mean_test_balanced_accuracy"]))
    assert search.best_score_ == results["mean_test_balanced_accuracy"][search.best_index_]


def test_callable_scoring_returning_a_dict():
    def scores(estimator, X, y):
        return {"acc": estimator.score(X, y), "minus_c": -estimator.C}

    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, scoring=scores,
                           refit="minus_c", n_iter=5, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.multimetric_ is True
    assert search.best_params_["C"] == min(p["C"] for p in search.cv_results_["params"])


@pytest.mark.parametrize("scoring", [["accuracy", "balanced_accuracy"],
                                     {"a": "accuracy", "b": "balanced_accuracy"}])
def test_multimetric_with_refit_true_raises_sklearns_error_before_any_fit(scoring):
    search = BayesSearchCV(SVC(), SVC_SPACE, scoring=scoring, refit=True, n_iter=3, cv=3)
    with pytest.raises(ValueError, match="For multi-metric scoring, the parameter refit must "
                                         "be set to a scorer key or a callable"):
        search.fit(X_IRIS, Y_IRIS)
    assert not hasattr(search, "optimizers_")  # raised before the search began


def test_string_scoring_is_used():
    search = BayesSearchCV(SVC(), SVC_SPACE, scoring="balanced_accuracy", n_iter=3, cv=3,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert "balanced_accuracy" in repr(search.scorer_)


# --------------------------------------------------------------------------
# Failed fits and non-finite scores
# --------------------------------------------------------------------------
FAILING_SPACE = {"C": Real(1e-2, 1e4, prior="log-uniform")}  # fails for log10(C) > 1: half


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_failed_fits_are_nan_and_the_search_goes_on(n_jobs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = BayesSearchCV(FailingSVC(), FAILING_SPACE, n_iter=10, n_points=1, cv=3,
                               n_jobs=n_jobs, random_state=0).fit(X_IRIS, Y_IRIS)
    results = search.cv_results_
    assert len(results["params"]) == 10
    failed = np.array([p["C"] > 10 for p in results["params"]])
    assert failed.any() and (~failed).any()
    np.testing.assert_array_equal(np.isnan(results["mean_test_score"]), failed)
    for s in range(3):
        assert np.all(np.isnan(results[f"split{s}_test_score"][failed]))
    # some round had every one of its fits fail (n_points=1), and the search survived
    assert search.best_params_["C"] <= 10
    assert np.isfinite(search.best_score_) and search.best_score_ > 0.9
    assert results["rank_test_score"][search.best_index_] == 1
    fit_failed = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    assert len(fit_failed) == 1, [str(w.message)[:80] for w in fit_failed]
    message = str(fit_failed[0].message)
    # scikit-learn's sentence first (code matches on it), sktune's detail after
    assert message.lstrip().startswith(f"{3 * int(failed.sum())} fits failed out of a total "
                                       "of 30.\n(sktune: the search went on")
    assert "too large" in message
    # the optimiser was told the failures
    assert np.isnan(search.optimizers_[0].yi).sum() == failed.sum()


def test_failed_fits_give_one_warning_in_all():
    """One FitFailedWarning summary, and no per-round warning spam (non-finite scores)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = BayesSearchCV(FailingSVC(), FAILING_SPACE, n_iter=10, cv=3,
                               random_state=0).fit(X_IRIS, Y_IRIS)
    assert np.isnan(search.cv_results_["mean_test_score"]).any()
    categories = [w.category.__name__ for w in caught]
    assert len(caught) <= 2, (
        f"{len(caught)} warnings for one search: "
        f"{Counter(categories)}; e.g. {str(caught[0].message)[:100]!r}"
    )
    assert categories.count("FitFailedWarning") == 1


@pytest.mark.parametrize("n_points", [1, 2])
def test_numeric_error_score_is_used(n_points):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = BayesSearchCV(FailingSVC(), FAILING_SPACE, n_iter=6, n_points=n_points, cv=3,
                               error_score=-1.0, random_state=0).fit(X_IRIS, Y_IRIS)
    scores = search.cv_results_["mean_test_score"]
    failed = np.array([p["C"] > 10 for p in search.cv_results_["params"]])
    assert failed.any()
    np.testing.assert_array_equal(scores[failed], -1.0)
    assert search.best_params_["C"] <= 10


def test_error_score_raise_reraises_the_estimators_error():
    with pytest.raises(ValueError, match="too large for this toy model"):
        BayesSearchCV(FailingSVC(threshold=0.0), FAILING_SPACE, n_iter=3, cv=3,
                      error_score="raise", random_state=0).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("refit", [False, True])
def test_every_fit_failing_raises_a_clear_error(refit):
    search = BayesSearchCV(AlwaysFails(), {"C": (0.1, 1.0)}, n_iter=3, cv=3, refit=refit,
                           random_state=0)
    with pytest.raises(ValueError, match="All the 9 fits failed"):
        search.fit(X_IRIS, Y_IRIS)


def _all_failing_grid_search():
    return GridSearchCV(AlwaysFails(), {"C": [0.1, 1.0]}, cv=3)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_plain_grid_search_still_raises_when_all_fits_fail():
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        _all_failing_grid_search().fit(X_IRIS, Y_IRIS)
    # ... also after a BayesSearchCV with failures ran in this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        BayesSearchCV(FailingSVC(), FAILING_SPACE, n_iter=4, cv=3,
                      random_state=0).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        _all_failing_grid_search().fit(X_IRIS, Y_IRIS)
    # ... and after one that raised
    with pytest.raises(ValueError):
        BayesSearchCV(AlwaysFails(), {"C": (0.1, 1.0)}, n_iter=2, cv=3, refit=False,
                      random_state=0).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        _all_failing_grid_search().fit(X_IRIS, Y_IRIS)
    # Partial failures in GridSearchCV still give sklearn's own warning.
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 6"):
        GridSearchCV(FailingSVC(), {"C": [1.0, 100.0]}, cv=3).fit(X_IRIS, Y_IRIS)


def test_grid_search_nested_in_bayes_search_keeps_sklearn_behaviour():
    """A GridSearchCV used *as the estimator* of a BayesSearchCV (n_jobs=1, so its
    fits run in the same thread) must still raise its own "All the 4 fits failed";
    its fits must not be counted as the outer search's fits."""
    inner = GridSearchCV(FailingSVC(), {"C": [20.0, 30.0]}, cv=2)  # all its fits fail
    outer = BayesSearchCV(inner, {"estimator__threshold": Categorical([5.0, 10.0])},
                          n_iter=2, cv=3, refit=False, n_jobs=1, random_state=0)
    with pytest.raises(ValueError) as excinfo:
        outer.fit(X_IRIS, Y_IRIS)
    message = str(excinfo.value)
    assert "All the 6 fits failed" in message  # 2 candidates x 3 outer splits
    assert "All the 4 fits failed" in message  # the inner search's own error


def test_callable_scoring_dict_with_a_round_that_all_fails():
    """A callable scorer returning a dict (multi-metric) and rounds whose fits
    all fail: sklearn cannot infer the metric names from such a round."""

    def scores(estimator, X, y):
        return {"acc": estimator.score(X, y), "minus_c": -estimator.C}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = BayesSearchCV(FailingSVC(), FAILING_SPACE, scoring=scores, refit="acc",
                               n_iter=6, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    results = search.cv_results_
    failed = np.array([p["C"] > 10 for p in results["params"]])
    assert failed.any() and (~failed).any()
    np.testing.assert_array_equal(np.isnan(results["mean_test_acc"]), failed)
    assert search.best_params_["C"] <= 10


@pytest.mark.parametrize("bad_value", [np.nan, -np.inf])
def test_non_finite_scores_do_not_crash(bad_value):
    def score(estimator, X, y):
        return bad_value if estimator.x > 0.5 else -((estimator.x - 0.3) ** 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = BayesSearchCV(ParamScoreClassifier(), {"x": (0.0, 1.0)}, scoring=score,
                               n_iter=12, n_points=2, cv=2, random_state=0).fit(X_IRIS, Y_IRIS)
    scores = search.cv_results_["mean_test_score"]
    xs = np.array([p["x"] for p in search.cv_results_["params"]])
    assert (xs > 0.5).any()
    assert not np.isfinite(scores[xs > 0.5]).any()
    assert search.best_params_["x"] <= 0.5
    assert np.isfinite(search.best_score_)
    assert abs(search.best_params_["x"] - 0.3) < 0.1


# --------------------------------------------------------------------------
# Callbacks and verbosity
# --------------------------------------------------------------------------
def test_no_improvement_stopper():
    search = BayesSearchCV(ParamScoreClassifier(flat=True), {"x": (0.0, 1.0)}, n_iter=15,
                           cv=2, callbacks=NoImprovementStopper(n_rounds=2),
                           random_state=0).fit(X_IRIS, Y_IRIS)
    # flat objective: round 1 sets the best, rounds 2 and 3 do not improve it
    assert search.n_rounds_ == 3
    assert len(search.cv_results_["params"]) == 3


def test_no_improvement_stopper_counts_rounds_not_candidates():
    search = BayesSearchCV(ParamScoreClassifier(flat=True), {"x": (0.0, 1.0)}, n_iter=15,
                           n_points=2, cv=2, callbacks=[NoImprovementStopper(n_rounds=1)],
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == 2
    assert len(search.cv_results_["params"]) == 4


def test_target_score_stopper():
    target = -0.005
    search = BayesSearchCV(ParamScoreClassifier(target=0.3), {"x": (0.0, 1.0)}, n_iter=30,
                           cv=2, callbacks=[TargetScoreStopper(score=target)],
                           random_state=0).fit(X_IRIS, Y_IRIS)
    scores = search.cv_results_["mean_test_score"]
    assert search.n_rounds_ == len(scores) < 30
    assert scores[-1] >= target
    assert np.all(scores[:-1] < target)
    assert search.best_score_ >= target


def test_time_budget_stopper():
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=10, cv=3,
                           callbacks=TimeBudgetStopper(seconds=0.0),
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == 1
    assert len(search.cv_results_["params"]) == 1

    elapsed = []

    def record(state):
        elapsed.append(state.elapsed)
        return False

    budget = 0.05
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=30, cv=3,
                           callbacks=[record, TimeBudgetStopper(seconds=budget)],
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == len(elapsed) < 30
    # watched between fits: no round starts after the budget is spent
    assert search.search_time_ >= budget
    assert search.stopped_by_ == f"TimeBudgetStopper(seconds={budget})"


def test_plain_function_callback_and_search_state():
    states, n_params = [], []

    def stop_after_three(state):
        states.append(state)
        # cv_results is checked at call time: its "params" list is the one
        # sklearn keeps extending (the same object across rounds).
        n_params.append(len(state.cv_results["params"]))
        assert len(state.cv_results["mean_test_score"]) == n_params[-1]
        return state.round >= 3

    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=10, n_points=2, cv=3,
                           callbacks=stop_after_three, random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == 3
    assert len(search.cv_results_["params"]) == 6
    assert [s.round for s in states] == [1, 2, 3]
    assert n_params == [2, 4, 6]
    for state in states:
        assert isinstance(state, SearchState)
        assert len(state.scores) == 2 * state.round
        assert state.best_score == max(state.scores)
        assert len(state.best_scores) == state.round
        assert state.elapsed >= 0
    np.testing.assert_allclose(states[-1].scores, search.cv_results_["mean_test_score"])
    assert states[-1].best_scores == sorted(states[-1].best_scores)


def test_callbacks_stop_the_search_across_subspaces():
    spaces = [({"C": (1e-2, 1e2, "log-uniform")}, 4), ({"C": (1e-2, 1e2, "log-uniform")}, 4)]
    search = BayesSearchCV(SVC(), spaces, cv=3, callbacks=lambda s: s.round >= 2,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == 2
    assert len(search.cv_results_["params"]) == 2


def test_non_callable_callback_is_rejected():
    with pytest.raises(ValueError):
        BayesSearchCV(SVC(), SVC_SPACE, n_iter=2, cv=3, callbacks=[1]).fit(X_IRIS, Y_IRIS)


def test_verbose_prints_one_line_per_round(capsys):
    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=5, n_points=2, cv=3, verbose=1,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    lines = capsys.readouterr().out.strip().splitlines()
    round_lines = [line for line in lines if line.startswith("[BayesSearchCV]")]
    assert search.n_rounds_ == 3
    assert len(round_lines) == 3
    assert "round 1/3" in round_lines[0] and "round 3/3" in round_lines[2]
    assert lines == round_lines, f"extra lines printed at verbose=1: {lines}"


def test_verbose_zero_is_silent(capsys):
    BayesSearchCV(SVC(), SVC_SPACE, n_iter=3, cv=3, random_state=0).fit(X_IRIS, Y_IRIS)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------
# sklearn's callback API (sklearn >= 1.9)
# --------------------------------------------------------------------------
class _Recorder:
    """A minimal sklearn ``FitCallback`` recording the tasks it sees (in-process)."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.events.append(("end", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", None))


@pytest.mark.parametrize("stopper", [None, TimeBudgetStopper(seconds=1e9)])
def test_sklearn_callbacks_work_like_with_randomized_search(stopper):
    n_iter = 5
    rand_rec, bayes_rec = _Recorder(), _Recorder()
    RandomizedSearchCV(SVC(), {"C": loguniform(1e-2, 1e2)}, n_iter=n_iter, cv=3,
                       random_state=0).set_callbacks(rand_rec).fit(X_IRIS, Y_IRIS)
    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=n_iter,
                           n_points=2, cv=3, callbacks=stopper, random_state=0)
    search.set_callbacks(bayes_rec).fit(X_IRIS, Y_IRIS)
    rand, bayes = Counter(rand_rec.events), Counter(bayes_rec.events)
    for counts in (rand, bayes):
        assert counts[("setup", None)] == counts[("teardown", None)] == 1
        assert counts[("begin", "candidate-split-evaluation")] == n_iter * 3
        assert counts[("begin", "refit-with-best-params")] == 1
        assert counts[("begin", "search")] == 1
        for kind, name in counts:
            if kind == "begin":
                assert counts[("end", name)] == counts[("begin", name)]
    assert bayes[("begin", "bayes-round")] == search.n_rounds_ == 3
    assert bayes_rec.events[0] == ("setup", None)
    assert bayes_rec.events[-1] == ("teardown", None)


def test_sklearn_callbacks_with_parallel_fits():
    utils = pytest.importorskip("sklearn.callback.tests._utils")
    recorder = utils.RecordingCallback()
    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=4, n_points=2,
                           cv=3, n_jobs=2, random_state=0)
    search.set_callbacks(recorder).fit(X_IRIS, Y_IRIS)
    # root + search + 2 rounds + 4 * 3 evaluations + refit
    assert recorder.count_hooks("on_fit_task_begin") == 1 + 1 + 2 + 12 + 1
    assert recorder.count_hooks("on_fit_task_end") == 1 + 1 + 2 + 12 + 1
    assert recorder.count_hooks("setup") == recorder.count_hooks("teardown") == 1


# --------------------------------------------------------------------------
# Quality and ports of the usual scikit-optimize usage
# --------------------------------------------------------------------------
def test_better_than_random_search():
    X, y = _digits(300)
    bayes, rand = [], []
    for seed in range(3):
        b = BayesSearchCV(SVC(C=10), {"gamma": (1e-5, 1e2, "log-uniform")}, n_iter=15, cv=3,
                          random_state=seed).fit(X, y)
        r = RandomizedSearchCV(SVC(C=10), {"gamma": loguniform(1e-5, 1e2)}, n_iter=15, cv=3,
                               random_state=seed).fit(X, y)
        bayes.append(b.best_score_)
        rand.append(r.best_score_)
    assert np.median(bayes) >= np.median(rand), (bayes, rand)
    assert np.median(bayes) > 0.95


SKOPT_SVC_SPACE = {
    "C": Real(1e-6, 1e6, prior="log-uniform"),
    "gamma": Real(1e-6, 1e1, prior="log-uniform"),
    "degree": Integer(1, 8),
    "kernel": Categorical(["linear", "poly", "rbf"]),
}


@pytest.mark.parametrize("n_jobs, n_points", [(1, 1), (-1, 1), (1, 3), (-1, 3)])
def test_skopt_port_svc_on_iris(n_jobs, n_points):
    X_train, X_test, y_train, y_test = train_test_split(
        X_IRIS, Y_IRIS, train_size=0.75, random_state=0)
    opt = BayesSearchCV(SVC(), SKOPT_SVC_SPACE, n_jobs=n_jobs, n_iter=11, n_points=n_points,
                        random_state=0)
    opt.fit(X_train, y_train)
    assert opt.score(X_test, y_test) > 0.9
    assert len(opt.cv_results_["params"]) == 11
    assert opt.n_rounds_ == math.ceil(11 / n_points)
    for params in opt.cv_results_["params"]:
        assert 1e-6 <= params["C"] <= 1e6 and 1e-6 <= params["gamma"] <= 1e1
        assert 1 <= params["degree"] <= 8
        assert params["kernel"] in ("linear", "poly", "rbf")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skopt_port_pipeline_with_subspaces():
    X_train, X_test, y_train, y_test = train_test_split(
        X_IRIS, Y_IRIS, train_size=0.75, random_state=0)
    pipe = Pipeline([("model", SVC())])
    linsvc_search = {"model": [LinearSVC(max_iter=2000)],
                     "model__C": (1e-3, 1e3, "log-uniform")}
    svc_search = {
        "model": Categorical([SVC()]),
        "model__C": Real(1e-6, 1e6, prior="log-uniform"),
        "model__gamma": Real(1e-6, 1e1, prior="log-uniform"),
        "model__degree": Integer(1, 8),
        "model__kernel": Categorical(["linear", "poly", "rbf"]),
    }
    opt = BayesSearchCV(pipe, [(svc_search, 8), (linsvc_search, 8)], cv=3, random_state=0)
    opt.fit(X_train, y_train)
    assert opt.score(X_test, y_test) > 0.9
    params = opt.cv_results_["params"]
    assert len(params) == 16
    for p in params[:8]:
        assert type(p["model"]) is SVC
        assert set(p) == set(svc_search)
    for p in params[8:]:
        assert type(p["model"]) is LinearSVC
        assert set(p) == set(linsvc_search)
    assert opt.cv_results_["param_model__gamma"].mask.tolist() == [False] * 8 + [True] * 8
    assert isinstance(opt.best_estimator_.named_steps["model"], (SVC, LinearSVC))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tuple_categories_with_mlp_classifier():
    X, y = _digits(240)
    sizes = [(32,), (64, 32)]
    search = BayesSearchCV(
        MLPClassifier(max_iter=50, random_state=0),
        {"hidden_layer_sizes": Categorical(sizes), "alpha": (1e-5, 1e-1, "log-uniform")},
        n_iter=4, cv=3, random_state=0).fit(X, y)
    _check_tuple_results(search, sizes)
    assert search.best_estimator_.hidden_layer_sizes == search.best_params_["hidden_layer_sizes"]


def test_tuple_categories_with_sktune_neural_net():
    # (tests/conftest.py keeps torch at one thread: tiny networks on 2 shared cores)
    from sktune import NeuralNetClassifier

    X, y = _digits(200)
    sizes = [(32,), (64, 32)]
    search = BayesSearchCV(
        NeuralNetClassifier(epochs=5, random_state=0),
        {"hidden_layer_sizes": Categorical(sizes), "lr": (1e-3, 1e-1, "log-uniform")},
        n_iter=3, cv=2, random_state=0).fit(X, y)
    _check_tuple_results(search, sizes)
    assert search.best_score_ > 0.5
    assert search.predict(X[:10]).shape == (10,)


def _check_tuple_results(search, sizes):
    params = search.cv_results_["params"]
    assert all(type(p["hidden_layer_sizes"]) is tuple for p in params)
    assert all(p["hidden_layer_sizes"] in sizes for p in params)
    column = search.cv_results_["param_hidden_layer_sizes"]
    assert column.shape == (len(params),)
    assert [tuple(v) for v in column] == [p["hidden_layer_sizes"] for p in params]
    assert all(type(v) is tuple for v in column)
    assert type(search.best_params_["hidden_layer_sizes"]) is tuple


def test_no_warnings_on_a_clean_problem():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=10, n_points=1, cv=3,
                               random_state=0).fit(X_IRIS, Y_IRIS)
        search.predict(X_IRIS)
    assert search.n_rounds_ == 10


class _LockedRoundCounter:
    """A stateful callback holding a lock (not picklable), like a progress logger."""

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.rounds = 0

    def __call__(self, state):
        with self.lock:
            self.rounds += 1
        return False


def test_unpicklable_callback_with_parallel_fits():
    """Callbacks run in the main process only: they need not be picklable, also
    with n_jobs > 1 (sklearn >= 1.9 ships the search itself to every fit job)."""
    counter = _LockedRoundCounter()
    search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=4, n_points=2,
                           cv=3, n_jobs=2, callbacks=counter, random_state=0).fit(X_IRIS, Y_IRIS)
    assert counter.rounds == search.n_rounds_ == 2
    assert search.callbacks is counter


def test_fit_callback_argument_like_scikit_optimize():
    calls = []

    def on_step(state):
        calls.append(state.round)
        return state.round >= 2

    search = BayesSearchCV(SVC(), SVC_SPACE, n_iter=6, cv=3, random_state=0)
    search.fit(X_IRIS, Y_IRIS, callback=on_step)
    assert search.n_rounds_ == 2 and calls == [1, 2]
    assert search.get_params()["callbacks"] is None
    # the fit-time callback is not kept: a second fit runs the whole budget
    search.fit(X_IRIS, Y_IRIS)
    assert search.n_rounds_ == 6 and calls == [1, 2]
    # with constructor callbacks, both are used
    search.set_params(callbacks=[TimeBudgetStopper(seconds=1e9)])
    search.fit(X_IRIS, Y_IRIS, callback=[on_step])
    assert search.n_rounds_ == 2
    assert search.optimizer_time_ >= 0.0
