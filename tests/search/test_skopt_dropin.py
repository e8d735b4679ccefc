"""scikit-optimize's BayesSearchCV surface: what works as there, what raises and says how."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from sktune import BayesSearchCV
from sktune.search._skopt_names import optimizer_arguments

X, y = load_iris(return_X_y=True)
SPACE = {"C": (1e-3, 1e3, "log-uniform"), "kernel": ["linear", "rbf"]}


def search(optimizer_kwargs=None, **params):
    defaults = dict(n_iter=6, cv=3, random_state=0)
    return BayesSearchCV(SVC(), SPACE, optimizer_kwargs, **{**defaults, **params})


@pytest.fixture(scope="module")
def plain():
    return search({"n_initial_points": 3}, return_train_score=True).fit(X, y)


def test_skopt_optimizer_kwargs_mean_the_same_search(plain):
    skopt_style = {"base_estimator": "GP", "acq_func": "gp_hedge", "acq_optimizer": "lbfgs",
                   "n_jobs": 2, "model_queue_size": 1, "random_state": 123,
                   "initial_point_generator": "sobol", "avoid_duplicates": True}
    with pytest.warns(FutureWarning, match="n_random_starts.*use n_initial_points"):
        other = search({**skopt_style, "n_random_starts": 3}).fit(X, y)
    assert other.cv_results_["params"] == plain.cv_results_["params"]
    assert_array_equal(other.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"])
    for acq in ("EI", "ei", "logei"):
        assert optimizer_arguments({"acq_func": acq}) == {"acq_func": "logei"}
    assert other.optimizer_kwargs_ == {"acq_func": "logei", "n_initial_points": 3}


def test_skopt_acq_optimizer_kwargs_are_translated():
    assert optimizer_arguments({"acq_optimizer_kwargs": {"n_points": 500,
                                                         "n_restarts_optimizer": 2,
                                                         "n_jobs": 4, "maxiter": 50}}) == {
        "acq_optimizer_kwargs": {"n_candidates": 500, "n_restarts": 2, "maxiter": 50}}
    fitted = search({"acq_optimizer_kwargs": {"n_points": 200}}, n_iter=4).fit(X, y)
    assert len(fitted.cv_results_["params"]) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"base_estimator": "RF"}, "random forest.*Gaussian process.*Remove base_estimator"),
    ({"base_estimator": "ET"}, "extra trees"),
    ({"base_estimator": "GBRT"}, "gradient-boosted trees"),
    ({"base_estimator": "dummy"}, "random search; use .*RandomizedSearchCV"),
    ({"base_estimator": SVC()}, "takes no surrogate model"),
    ({"acq_func": "LCB"}, "not available.*log expected improvement.*'EI'"),
    ({"acq_func": "EIps"}, "not available"),
    ({"initial_point_generator": "lhs"}, "scrambled Sobol design.*pass 'sobol'"),
    ({"space_constraint": lambda p: True}, r"space_constraint'\] is not supported.*sub-spaces"),
    ({"acq_func_kwargs": {"xi": 0.01}}, "no exploration knobs.*xi"),
    ({"avoid_duplicates": False}, "never proposes an evaluated point"),
    ({"acq_optimizer": "adam"}, "acq_optimizer.*must be one of"),
    ({"n_random_starts": 2, "n_initial_points": 3}, "both n_random_starts and n_initial_points"),
    ({"n_calls": 20}, r"Unknown optimizer_kwargs \['n_calls'\].*docs/migrating.md"),
])
def test_what_sktune_cannot_honour_raises_at_fit_and_names_the_way(kwargs, message):
    s = search(kwargs)  # the constructor only stores it
    with pytest.raises(ValueError, match=message):
        s.fit(X, y)
    assert not hasattr(s, "cv_results_")  # raised before any candidate was fitted


def test_old_constructor_arguments_raise_at_fit():
    with pytest.raises(ValueError, match=r"pass fit parameters to fit: search.fit\(X, y"):
        search(fit_params={"sample_weight": None}).fit(X, y)
    with pytest.raises(ValueError, match="iid was removed"):
        search(iid=True).fit(X, y)
    assert "iid" in search().get_params() and search().get_params()["iid"] == "deprecated"


def test_optimizer_kwargs_is_the_third_positional_argument_as_in_skopt():
    s = BayesSearchCV(SVC(), SPACE, {"n_initial_points": 2}, n_iter=3)
    assert s.optimizer_kwargs == {"n_initial_points": 2}


def test_optimizer_results_read_like_skopts(plain):
    (result,) = plain.optimizer_results_
    params = plain.cv_results_["params"]
    # values in the order of the parameters' sorted names, as in skopt
    assert result.x_iters == [[p["C"], p["kernel"]] for p in params]
    assert_array_equal(result.func_vals, -plain.cv_results_["mean_test_score"])
    assert result.fun == -plain.best_score_
    assert result.x == [plain.best_params_["C"], plain.best_params_["kernel"]]
    assert result.space.names == ["C", "kernel"] and len(result.models) == 1


def test_one_result_per_sub_space_and_total_iterations():
    spaces = [({"C": (1e-2, 1e2, "log-uniform")}, 3), {"kernel": ["linear", "rbf"]}]
    s = BayesSearchCV(SVC(), spaces, n_iter=2, cv=2, random_state=0)
    assert s.total_iterations == 5  # before fit, as in skopt
    s.fit(X, y)
    results = s.optimizer_results_
    assert [len(r.x_iters) for r in results] == [3, 2]
    assert results[1].x_iters[0][0] in ("linear", "rbf")
    with pytest.raises(Exception, match="not fitted"):
        search().optimizer_results_


def test_rank_train_score_with_return_train_score(plain):
    ranks = plain.cv_results_["rank_train_score"]
    means = plain.cv_results_["mean_train_score"]
    assert ranks.dtype == np.int32 and ranks.min() == 1
    for i in range(len(means)):  # 1 + the number of strictly better candidates
        assert ranks[i] == 1 + int(np.sum(means > means[i]))
    multi = search(scoring={"acc": "accuracy", "bacc": "balanced_accuracy"}, refit="acc",
                   return_train_score=True, n_iter=3).fit(X, y)
    assert {"rank_train_acc", "rank_train_bacc"} <= set(multi.cv_results_)
    assert "rank_train_score" not in search(n_iter=2).fit(X, y).cv_results_


def test_non_finite_train_scores_rank_last():
    from sktune.search._fits.rounds import _rank_train_scores

    results = {"mean_train_score": np.array([0.5, np.nan, 0.9, 0.5])}
    _rank_train_scores(results)
    assert results["rank_train_score"].tolist() == [2, 4, 1, 2]
    results = {"mean_train_score": np.array([np.nan, np.nan])}
    _rank_train_scores(results)
    assert results["rank_train_score"].tolist() == [1, 1]
