"""Where sktune's searches keep scikit-learn's search contract, in sktune's own terms.

scikit-learn's tests themselves run in test_sklearn_contract.py; these pin the
behaviours that made them fail before: the folds' errors, several metrics
without a named ``refit``, scikit-learn's warning and error texts first, and a
finite space evaluated whole in ``GridSearchCV``'s order.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, KFold

from sktune import BayesSearchCV, HyperbandSearchCV
from sktune.space import Categorical, Real

X, Y = load_iris(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)

SEARCHES = {
    "bayes": lambda **kw: BayesSearchCV(
        LogisticRegression(max_iter=200), {"C": Real(0.01, 10, prior="log-uniform")},
        n_iter=3, random_state=0, **kw),
    "hyperband": lambda **kw: HyperbandSearchCV(
        SGDClassifier(random_state=0, tol=None), {"alpha": Real(1e-5, 1e-1, prior="log-uniform")},
        resource="max_iter", max_epochs=2, factor=2, random_state=0, **kw),
}


class _DisagreeingSplitter:
    """``get_n_splits`` says 1, ``split`` gives 3 folds."""

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1

    def split(self, X, y=None, groups=None):
        return KFold(3).split(X)


@pytest.mark.parametrize("name", sorted(SEARCHES))
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_an_empty_cv_iterator_is_sklearns_error(name, n_jobs):
    folds = KFold(3).split(X)
    list(folds)  # used up: a second search with it gets no folds
    with pytest.raises(ValueError, match="No fits were performed. Was the CV iterator empty?"):
        SEARCHES[name](cv=folds, n_jobs=n_jobs).fit(X, Y)


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_a_splitter_whose_counts_disagree_is_sklearns_error(name):
    with pytest.raises(ValueError, match="cv.split and cv.get_n_splits return inconsistent "
                                         "results. Expected 1 splits, got 3"):
        SEARCHES[name](cv=_DisagreeingSplitter()).fit(X, Y)


def _told(search):
    """The scores the optimiser was told (it minimises their negation)."""
    return -np.asarray(search.optimizers_[0].yi, dtype=float)


@pytest.mark.parametrize("scoring, first", [
    (["balanced_accuracy", "accuracy"], "balanced_accuracy"),
    ({"acc": "accuracy", "bacc": "balanced_accuracy"}, "acc"),
    ({"bacc": "balanced_accuracy", "acc": "accuracy"}, "bacc"),
])
@pytest.mark.parametrize("refit", [False, "callable"])
def test_several_metrics_without_a_named_refit_optimise_the_first(scoring, first, refit):
    def pick_last(results):
        return len(results["params"]) - 1

    search = SEARCHES["bayes"](scoring=scoring, refit=pick_last if refit else False,
                               cv=KFold(5, shuffle=True, random_state=0)).fit(X, Y)
    (other,) = {k[len("mean_test_"):] for k in search.cv_results_
                if k.startswith("mean_test_")} - {first}
    assert_array_equal(_told(search), search.cv_results_[f"mean_test_{first}"])
    assert not np.array_equal(search.cv_results_[f"mean_test_{first}"],
                              search.cv_results_[f"mean_test_{other}"])  # a choice was made
    assert f"posterior_mean_test_{first}" in search.cv_results_
    if refit:
        assert search.best_index_ == 2 and hasattr(search, "best_estimator_")


def test_hyperband_ranks_by_the_first_metric_without_a_named_refit():
    search = SEARCHES["hyperband"](scoring=["balanced_accuracy", "accuracy"], refit=False,
                                   n_brackets=1).fit(X, Y)
    results = search.cv_results_
    first_rung = results["iter"] == 0
    promoted = set(results["candidate"][results["iter"] == 1])
    scores = dict(zip(results["candidate"][first_rung],
                      results["mean_test_balanced_accuracy"][first_rung]))
    assert promoted == {max(scores, key=scores.get)}


def _dict_scorer(estimator, X, y):
    predicted = estimator.predict(X)
    return {"acc": accuracy_score(y, predicted), "bacc": balanced_accuracy_score(y, predicted)}


@pytest.mark.parametrize("objectives", [["bacc"], ["bacc", "fit_time"]])
def test_a_callable_scorer_returning_a_dict_can_be_named(objectives):
    search = SEARCHES["bayes"](scoring=_dict_scorer, refit="bacc", objectives=objectives,
                               cv=KFold(5, shuffle=True, random_state=0)).fit(X, Y)
    assert search.best_score_ == pytest.approx(np.max(search.cv_results_["mean_test_bacc"]))
    if len(objectives) == 1:
        assert_array_equal(_told(search), search.cv_results_["mean_test_bacc"])
    else:
        assert len(search.pareto_front_) >= 1


def test_a_callable_scorer_naming_no_objective_says_what_it_returned():
    search = SEARCHES["bayes"](scoring=_dict_scorer, refit="acc", objectives=["f1", "fit_time"])
    with pytest.raises(ValueError, match="Unknown objective 'f1': the scorer returned the "
                                         "metrics 'acc', 'bacc'"):
        search.fit(X, Y)


def test_a_callable_scorer_without_the_refit_metric_is_sklearns_error():
    with pytest.raises(ValueError, match="For multi-metric scoring, the parameter refit must be "
                                         "set to a scorer key"):
        SEARCHES["bayes"](scoring=_dict_scorer, refit="f1").fit(X, Y)


class _FailsAboveC(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        if self.C > 1:
            raise ValueError(f"C={self.C} is too large")
        return super().fit(X, y, sample_weight)


def test_fit_failures_say_sklearns_sentence_first():
    search = BayesSearchCV(_FailsAboveC(), {"C": [0.1, 10]}, n_iter=2, cv=3, error_score=0.0)
    with pytest.warns(FitFailedWarning) as caught:
        search.fit(X, Y)
    (message,) = [str(w.message) for w in caught if issubclass(w.category, FitFailedWarning)]
    assert message.startswith("\n3 fits failed out of a total of 6.\n(sktune: the search went on")
    assert "will be set to 0.0" in message and "C=10 is too large" in message


def test_all_fits_failing_is_sklearns_error():
    search = BayesSearchCV(_FailsAboveC(), {"C": [10, 20]}, n_iter=2, cv=3)
    with pytest.raises(ValueError) as info:
        search.fit(X, Y)
    assert str(info.value).startswith("\nAll the 6 fits failed.\n(sktune: over all the rounds")
    assert "It is very likely that your model is misconfigured" in str(info.value)


def test_non_finite_scores_say_sklearns_sentence_first():
    def nan_for_large_c(estimator, X, y):
        return np.nan if estimator.C > 1 else estimator.score(X, y)

    search = BayesSearchCV(LogisticRegression(), {"C": [0.1, 10]}, n_iter=2, cv=3,
                           scoring=nan_for_large_c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, Y)
    texts = [str(w.message) for w in caught if "non-finite" in str(w.message)]
    assert len(texts) == 1  # once at the end, not once per round
    assert texts[0].startswith("One or more of the test scores are non-finite: [")
    assert texts[0].endswith("(1 of 2 candidates have a non-finite test_score).")


# -- a finite space, evaluated whole ------------------------------------------------
GRID = {"C": [0.01, 1.0, 100.0], "fit_intercept": [True, False]}


def _comparable(results):
    return {k: v for k, v in results.items()
            if not k.endswith("_time") and not k.startswith("posterior_")}


@pytest.mark.parametrize("n_points", [1, 4])
def test_a_finite_space_within_n_iter_is_gridsearchcvs_grid(n_points):
    grid = GridSearchCV(LogisticRegression(), GRID, cv=3).fit(X, Y)
    bayes = BayesSearchCV(LogisticRegression(), GRID, n_iter=6, n_points=n_points, cv=3,
                          random_state=0).fit(X, Y)
    np.testing.assert_equal(_comparable(bayes.cv_results_), _comparable(grid.cv_results_))
    assert bayes.best_params_ == grid.best_params_


def test_n_iter_above_the_space_evaluates_each_point_once_and_says_so():
    search = BayesSearchCV(LogisticRegression(), [(GRID, 10), ({"C": Real(0.1, 1)}, 2)],
                           cv=3, random_state=0)
    assert search.total_iterations == 8
    with pytest.warns(UserWarning, match="The total space of parameters 6 is smaller than "
                                         "n_iter=10. Running 6 iterations."):
        search.fit(X, Y)
    params = search.cv_results_["params"]
    assert len(params) == 8
    assert [tuple(sorted(p.items())) for p in params[:6]] == [
        (("C", c), ("fit_intercept", f)) for c in GRID["C"] for f in GRID["fit_intercept"]]
    assert len({tuple(sorted(p.items())) for p in params}) == 8


def test_a_finite_space_larger_than_n_iter_is_searched():
    search = BayesSearchCV(LogisticRegression(), {"C": Categorical(list(np.logspace(-2, 2, 9)))},
                           n_iter=4, cv=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "smaller than n_iter" warning
        search.fit(X, Y)
    assert len({p["C"] for p in search.cv_results_["params"]}) == 4
