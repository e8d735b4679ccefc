"""Multi-objective search: the ask/tell optimiser and BayesSearchCV(objectives=...)."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

from sktune import BayesSearchCV
from sktune.search import Optimizer
from sktune.search._pareto import hypervolume, pareto_mask


def zdt1(x):
    x = np.asarray(x, dtype=float)
    g = 1 + 9 * np.mean(x[1:])
    return x[0], g * (1 - np.sqrt(x[0] / g))


def test_optimizer_with_two_objectives_beats_random_search_on_zdt1():
    opt = Optimizer([(0.0, 1.0)] * 4, n_objectives=2, random_state=0, n_initial_points=8)
    for _ in range(30):
        p = opt.ask()
        opt.tell(p, zdt1(p))
    Y = np.array(opt.yi)
    rng = np.random.default_rng(0)
    random_hv = [hypervolume([zdt1(x) for x in rng.uniform(size=(30, 4))], [11.0, 11.0])
                 for _ in range(5)]
    assert hypervolume(Y, [11.0, 11.0]) > max(random_hv)
    assert opt.pareto_indices == list(np.flatnonzero(pareto_mask(Y)))
    assert all(isinstance(v, tuple) and len(v) == 2 for v in opt.yi)


def test_optimizer_batches_and_pending_points_with_two_objectives():
    opt = Optimizer({"x": (0.0, 1.0), "y": (0.0, 1.0)}, n_objectives=2, random_state=1,
                    n_initial_points=4)
    for _ in range(3):
        batch = opt.ask(n_points=3)
        assert len({(p["x"], p["y"]) for p in batch}) == 3  # distinct, placed apart
        opt.tell(batch, np.array([zdt1([p["x"], p["y"]]) for p in batch]))
    assert len(opt.yi) == 9 and not opt.pending


def test_optimizer_tell_checks_the_shape_of_the_values():
    opt = Optimizer({"x": (0.0, 1.0)}, n_objectives=2, random_state=0)
    p = opt.ask()
    with pytest.raises(ValueError, match=r"n_objectives=2.*shape \(3,\)"):
        opt.tell(p, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"shape \(2, 2\) for 1 points"):
        opt.tell([p], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="n_objectives must be a positive integer"):
        Optimizer({"x": (0.0, 1.0)}, n_objectives=0)
    opt.tell(p, [1.0, 2.0])
    with pytest.raises(AttributeError, match="pareto_indices"):
        opt.best_point


def test_a_failure_counts_in_every_objective():
    opt = Optimizer({"x": (0.0, 1.0)}, n_objectives=2, random_state=0, n_initial_points=3)
    for value in ([0.5, 0.5], [np.nan, 0.0], [0.2, 0.9]):
        opt.tell(opt.ask(), value)
    assert opt.pareto_indices == [0, 2]  # the failure's 0.0 is no front value
    opt.ask()  # the models see the failure as the worst in both objectives


# -- BayesSearchCV ------------------------------------------------------------------------

def _neg_leaves(estimator, X, y):
    return -float(estimator.get_n_leaves())


def _tree_search(**kwargs):
    kwargs = {"n_iter": 14, "cv": 3, "random_state": 0,
              "scoring": {"accuracy": "accuracy", "size": _neg_leaves},
              "objectives": ["accuracy", "size"], "refit": "accuracy", **kwargs}
    return BayesSearchCV(DecisionTreeClassifier(random_state=0),
                         {"max_depth": (1, 16), "min_samples_leaf": (1, 40)}, **kwargs)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def test_search_finds_the_front_of_its_candidates(digits):
    search = _tree_search().fit(*digits)
    r = search.cv_results_
    Y = -np.column_stack([r["mean_test_accuracy"], r["mean_test_size"]])
    expected = [i for i in range(len(Y))
                if not any(np.all(Y[j] <= Y[i]) and np.any(Y[j] < Y[i]) for j in range(len(Y)))]
    assert list(search.pareto_front_) == expected
    assert list(np.flatnonzero(r["pareto_optimal"])) == expected
    assert len(expected) >= 3  # accuracy against size: a real trade-off
    # refit names a metric: the best on it among the front (here the best overall)
    assert search.best_index_ in expected
    assert search.best_score_ == r["mean_test_accuracy"].max()
    assert search.best_estimator_.get_params()["max_depth"] == search.best_params_["max_depth"]
    # the optimiser was told both objectives, negated (minimised)
    assert np.allclose(np.array(search.optimizers_[0].yi), Y)


def test_search_aims_at_the_front_better_than_random_candidates(digits):
    from sktune.search._objectives import Objectives

    search = _tree_search(n_iter=20).fit(*digits)
    ref = [0.0, 60.0]  # accuracy 0, 60 leaves (minimised: -accuracy, leaves)
    objectives = Objectives(["accuracy", "size"], ["accuracy", "size"], None)
    found = hypervolume(objectives.matrix(search.cv_results_), ref)
    random_hv = []
    for seed in range(3):
        rs = BayesSearchCV(DecisionTreeClassifier(random_state=0),
                           {"max_depth": (1, 16), "min_samples_leaf": (1, 40)}, n_iter=20,
                           cv=3, random_state=seed, refit=False,
                           scoring={"accuracy": "accuracy", "size": _neg_leaves},
                           objectives=["accuracy", "size"],
                           optimizer_kwargs={"n_initial_points": 20}).fit(*digits)
        random_hv.append(hypervolume(objectives.matrix(rs.cv_results_), ref))
    assert found > np.median(random_hv)  # random: 20 points of the design


def test_refit_may_be_a_callable_reading_the_front(digits):
    def smallest_within_a_point_of_the_best(results):
        front = np.flatnonzero(results["pareto_optimal"])
        acc = results["mean_test_accuracy"][front]
        good = front[acc >= acc.max() - 0.01]
        return int(good[np.argmax(results["mean_test_size"][good])])

    search = _tree_search(refit=smallest_within_a_point_of_the_best).fit(*digits)
    r = search.cv_results_
    i = search.best_index_
    assert r["pareto_optimal"][i]
    assert r["mean_test_accuracy"][i] >= r["mean_test_accuracy"].max() - 0.01


def test_refit_on_a_metric_picks_the_best_of_the_front_on_it(digits):
    search = _tree_search(refit="size").fit(*digits)
    r = search.cv_results_
    front = search.pareto_front_
    # the smallest trees on the front; among equally small ones the most accurate
    # is the one that dominates, so it is the front's
    assert search.best_index_ == front[np.argmax(r["mean_test_size"][front])]


class _SlowWhenLarge(RegressorMixin, BaseEstimator):
    """Scores rise with ``width`` and so does the fit time (sleeps)."""

    def __init__(self, width=1.0):
        self.width = width

    def fit(self, X, y):
        import time

        time.sleep(0.002 + 0.05 * self.width)  # 2-102 ms: far above a loaded machine's jitter
        self.fitted_ = True
        return self

    def score(self, X, y):
        return -(2.0 - self.width) ** 2


def test_fit_time_is_an_objective_to_minimise():
    X, y = np.zeros((30, 1)), np.zeros(30)
    search = BayesSearchCV(_SlowWhenLarge(), {"width": (0.0, 2.0)}, n_iter=10, cv=3,
                           random_state=0, objectives=["score", "fit_time"]).fit(X, y)
    r = search.cv_results_
    front = search.pareto_front_
    widths = np.array([p["width"] for p in r["params"]])
    # along the front: the wider, the better the score and the slower
    order = front[np.argsort(widths[front])]
    assert len(front) >= 3
    assert np.all(np.diff(r["mean_test_score"][order]) > 0)
    assert np.all(np.diff(r["mean_fit_time"][order]) > 0)
    assert search.best_index_ == int(np.argmax(r["mean_test_score"]))  # refit=True: the score


def test_objectives_are_checked_at_fit(digits):
    X, y = digits
    for objectives, match in [
        (["accuracy", "depth"], "Unknown objective 'depth'.*'accuracy', 'size'.*fit_time"),
        (["fit_time", "score_time"], "only times"),
        (["accuracy", "accuracy"], "names a metric twice"),
        ("accuracy", "must be None, an instance of .list."),
        ([], "at least one"),
    ]:
        search = _tree_search(objectives=objectives, n_iter=2)
        with pytest.raises(ValueError, match=match):
            search.fit(X, y)
    # a single metric is named by its scoring string, or 'score'
    one = BayesSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": (1, 8)}, n_iter=3,
                        cv=2, random_state=0, scoring="accuracy",
                        objectives=["accuracy", "score_time"]).fit(X, y)
    assert one.optimizers_[0].n_objectives == 2


def test_one_objective_changes_nothing(digits):
    X, y = digits
    plain = _tree_search(objectives=None, n_iter=8).fit(X, y)
    named = _tree_search(objectives=["accuracy"], n_iter=8).fit(X, y)
    assert plain.cv_results_["params"] == named.cv_results_["params"]
    assert "pareto_optimal" not in named.cv_results_
    assert not hasattr(named, "pareto_front_")


def test_failed_candidates_are_never_on_the_front(digits):
    X, y = digits

    def fragile(estimator, X, y):
        if estimator.get_depth() > 6:
            raise RuntimeError("too deep")
        return -float(estimator.get_n_leaves())

    search = _tree_search(scoring={"accuracy": "accuracy", "size": fragile}, n_iter=12,
                          error_score=np.nan)
    with pytest.warns(UserWarning):
        search.fit(X, y)
    r = search.cv_results_
    failed = ~np.isfinite(r["mean_test_size"])
    assert failed.any() and not r["pareto_optimal"][failed].any()
    assert r["pareto_optimal"].any()


def test_same_random_state_same_candidates_for_any_n_jobs(digits):
    X, y = digits
    one = _tree_search(n_iter=10, n_points=2).fit(X, y)
    two = _tree_search(n_iter=10, n_points=2, n_jobs=2).fit(X, y)
    assert one.cv_results_["params"] == two.cv_results_["params"]
    assert list(one.pareto_front_) == list(two.pareto_front_)


def test_checkpoint_resumes_a_multi_objective_search(digits, tmp_path):
    X, y = digits
    path = tmp_path / "mo.sqlite"
    full = _tree_search(n_iter=10).fit(X, y)

    def stop_after_two_rounds(state):
        return state.round >= 4

    _tree_search(n_iter=10, checkpoint=path, callbacks=stop_after_two_rounds).fit(X, y)
    resumed = _tree_search(n_iter=10, checkpoint=path).fit(X, y)
    assert resumed.cv_results_["params"] == full.cv_results_["params"]
    assert list(resumed.pareto_front_) == list(full.pareto_front_)
