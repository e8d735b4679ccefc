"""Budgets: Hyperband iterations until a stopper stops the search, a time budget
watched between fits, ``stopped_by_`` and ``search_time_``."""

import math

import numpy as np
import pytest
from joblib import parallel_backend
from numpy.testing import assert_array_equal

from sktune import BayesSearchCV, HyperbandSearchCV, load, save
from sktune.report import cv_report
from sktune.search._hyperband.proposer import FidelityProposer
from sktune.search.callbacks import (NoImprovementStopper, TargetScoreStopper,
                                     TimeBudgetStopper, parse_duration)

from _scheduler_toys import Quadratic, toy_cv, toy_data
from test_hyperband import Toy, _toy_data

SPACE = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}


def _hyperband(**kwargs):
    kwargs = {"max_epochs": 9, "cv": 2, "random_state": 0, "refit": False, **kwargs}
    return HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, **kwargs)


# -- Hyperband iterations ---------------------------------------------------------------
def test_hyperband_iterations_run_exactly_and_learn_from_earlier_ones(monkeypatch):
    asked = []  # per ask: (points told so far, epochs the model is fitted at)
    original = FidelityProposer.ask

    def spy(self, n):
        told = sum(len(points) for points, _, _ in self._seen.values())
        asked.append((told, self.model_epochs()))
        return original(self, n)

    monkeypatch.setattr(FidelityProposer, "ask", spy)
    X, y = _toy_data()
    search = _hyperband(hyperband_iterations=3).fit(X, y)
    r = search.cv_results_
    n_brackets = len(search.brackets_) // 3
    assert n_brackets == 3  # 9 epochs, factor 3: brackets of 1, 3 and 9 epochs first
    assert search.n_iterations_ == 3 and len(asked) == 3 * n_brackets
    iteration = np.asarray(r["hyperband_iteration"])
    assert_array_equal(np.unique(iteration), [0, 1, 2])
    bracket = np.asarray(r["bracket"])
    assert_array_equal(iteration, bracket // n_brackets)
    # every iteration runs the same brackets: the same number of rows each
    assert len(set(np.bincount(iteration))) == 1
    assert search.stopped_by_ is None
    # the first bracket of iteration 1 is proposed from all of iteration 0 (but the
    # last bracket's single rung, which may still be training), by a model (of the
    # longest rung with enough scores), where iteration 0 began with the design
    first_of_1 = asked[n_brackets]
    last_bracket = bracket == n_brackets - 1
    assert first_of_1[0] == int(((iteration == 0) & ~last_bracket).sum())
    assert asked[0][1] is None and first_of_1[1] is not None
    # and each later ask knows more
    assert all(b[0] > a[0] for a, b in zip(asked, asked[1:]))


def test_one_iteration_by_default_and_with_callbacks_that_are_no_budget():
    X, y = _toy_data()
    plain = _hyperband().fit(X, y)
    logged = _hyperband(callbacks=[lambda state: False]).fit(X, y)
    assert plain.n_iterations_ == logged.n_iterations_ == 1
    for key in ("params", "mean_test_score", "bracket"):
        assert_array_equal(np.asarray(plain.cv_results_[key]),
                           np.asarray(logged.cv_results_[key]))


def test_a_stopper_keeps_hyperband_going_until_it_stops_it():
    X, y = _toy_data()
    stopper = NoImprovementStopper(n_rounds=12)
    search = _hyperband(callbacks=[stopper]).fit(X, y)
    assert search.n_iterations_ > 1
    assert search.stopped_by_ == repr(stopper)
    # stopped after the rung where the best score had not improved for 12 rungs
    best = np.maximum.accumulate(np.nan_to_num(
        _rung_best(search.cv_results_), nan=-np.inf))
    assert best[-1] == best[-13] and (len(best) == 13 or best[-13] > best[-14])
    # an int caps the iterations even with a stopper
    capped = _hyperband(callbacks=[stopper], hyperband_iterations=2).fit(X, y)
    assert capped.n_iterations_ <= 2


def _rung_best(results):
    """The best score of each rung, in the order the rungs were reported."""
    keys = list(zip(results["bracket"], results["iter"]))
    scores = np.asarray(results["mean_test_score"], dtype=float)
    order = list(dict.fromkeys(keys))
    return np.array([np.nanmax(scores[[k == key for k in keys]]) for key in order])


def test_iterations_are_deterministic_for_any_n_jobs():
    X, y = _toy_data()
    results = []
    for n_jobs in (1, 2):
        with parallel_backend("threading"):
            search = _hyperband(hyperband_iterations=2, n_jobs=n_jobs).fit(X, y)
        results.append(search.cv_results_)
    for key in ("params", "mean_test_score", "bracket", "iter", "hyperband_iteration"):
        assert_array_equal(np.asarray(results[0][key]), np.asarray(results[1][key]))


def test_a_target_score_ends_the_iterations():
    X, y = _toy_data()
    search = _hyperband(callbacks=[TargetScoreStopper(1.005)]).fit(X, y)
    assert search.stopped_by_ == "TargetScoreStopper(score=1.005)"
    assert np.nanmax(search.cv_results_["mean_test_score"]) >= 1.005


# -- time budgets ------------------------------------------------------------------------
FIT_SECONDS = 0.15


def _timed(search_cls, budget, n_jobs, **kwargs):
    X, y = toy_data()
    estimator = Quadratic(sleep=FIT_SECONDS)
    if search_cls is HyperbandSearchCV:
        search = HyperbandSearchCV(estimator, SPACE, max_epochs=9, random_state=0,
                                   cv=toy_cv(), n_jobs=n_jobs, refit=False,
                                   callbacks=[TimeBudgetStopper(budget)], **kwargs)
    else:
        search = BayesSearchCV(estimator, SPACE, n_iter=500, random_state=0, cv=toy_cv(),
                               n_jobs=n_jobs, refit=False,
                               callbacks=[TimeBudgetStopper(budget)], **kwargs)
    with parallel_backend("threading"):
        return search.fit(X, y)


@pytest.mark.parametrize("search_cls", [BayesSearchCV, HyperbandSearchCV])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_time_budget_is_respected_within_one_fit(search_cls, n_jobs):
    budget = 1.2
    search = _timed(search_cls, budget, n_jobs)
    # the fits running when the budget expired finish: at most one fit's duration more
    # (plus the search's own bookkeeping)
    assert budget <= search.search_time_ < budget + FIT_SECONDS + 0.35
    assert search.stopped_by_ == "TimeBudgetStopper(seconds=1.2)"
    r = search.cv_results_
    n_rows = len(r["params"])
    # every candidate kept has all its folds: nothing half-evaluated, no NaN
    assert n_rows >= 2
    assert np.isfinite(np.asarray(r["mean_test_score"], dtype=float)).all()
    # and the fits it ran are about what the budget allowed (each takes FIT_SECONDS)
    fits = n_rows * 3
    assert fits <= math.ceil(n_jobs * (budget + FIT_SECONDS) / FIT_SECONDS) + n_jobs


def test_a_time_budget_string_and_errors():
    assert parse_duration("90") == parse_duration("90s") == parse_duration(90) == 90.0
    assert parse_duration("1.5m") == 90.0 and parse_duration("2 h") == 7200.0
    assert parse_duration("0") == 0.0  # the first candidate to complete, then stop
    for bad in ("-3", "10x", "", "1e400", None, True, float("nan")):
        with pytest.raises(ValueError, match="time budget"):
            parse_duration(bad)
    X, y = toy_data()
    search = BayesSearchCV(Quadratic(), SPACE, n_iter=3, cv=toy_cv(),
                           callbacks=[TimeBudgetStopper("soon")])
    with pytest.raises(ValueError, match="got 'soon'"):
        search.fit(X, y)


def test_a_search_that_ends_before_its_budget_says_so():
    X, y = toy_data()
    search = BayesSearchCV(Quadratic(), SPACE, n_iter=4, cv=toy_cv(), random_state=0,
                           callbacks=[TimeBudgetStopper("1h")]).fit(X, y)
    assert search.stopped_by_ is None and len(search.cv_results_["params"]) == 4
    assert 0 < search.search_time_ < 60


def test_a_budget_stop_leaves_a_checkpoint_that_resumes(tmp_path):
    """The round cut short by the budget is not recorded: resuming evaluates it whole."""
    X, y = toy_data()
    path = tmp_path / "search.sqlite"
    kwargs = dict(n_iter=12, n_points=2, cv=toy_cv(), random_state=0, refit=False,
                  checkpoint=path)
    with parallel_backend("threading"):
        cut = BayesSearchCV(Quadratic(sleep=FIT_SECONDS), SPACE, n_jobs=2,
                            callbacks=[TimeBudgetStopper(1.0)], **kwargs).fit(X, y)
    n_cut = len(cut.cv_results_["params"])
    assert cut.stopped_by_ is not None and 0 < n_cut < 12
    with parallel_backend("threading"):
        resumed = BayesSearchCV(Quadratic(sleep=FIT_SECONDS), SPACE, n_jobs=2,
                                **kwargs).fit(X, y)
    whole = BayesSearchCV(Quadratic(), SPACE, **{**kwargs, "checkpoint": None}).fit(X, y)
    assert resumed.stopped_by_ is None
    for key in ("params", "mean_test_score"):
        assert_array_equal(np.asarray(resumed.cv_results_[key]),
                           np.asarray(whole.cv_results_[key]))
        assert_array_equal(np.asarray(cut.cv_results_[key]),
                           np.asarray(whole.cv_results_[key])[:n_cut])


def test_stopped_by_is_saved_and_reported(tmp_path):
    X, y = _toy_data()
    search = HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=9, cv=2, random_state=0,
                               refit=False,
                               callbacks=[NoImprovementStopper(n_rounds=5)]).fit(X, y)
    save(search, tmp_path / "s.sktune")
    loaded = load(tmp_path / "s.sktune")
    assert loaded.stopped_by_ == search.stopped_by_ == "NoImprovementStopper(n_rounds=5, " \
                                                       "min_delta=0.0)"
    assert loaded.search_time_ == search.search_time_
    text = cv_report(loaded).to_markdown()
    assert "stopped by NoImprovementStopper(n_rounds=5, min_delta=0.0)" in text
    assert f"({search.n_iterations_} iterations)" in text
