"""Unit tests of the stopping rules of ``sktune.search.callbacks`` (no fitting)."""

import math
import pickle

import pytest
from sklearn.base import clone

from sktune.search.callbacks import (
    NoImprovementStopper,
    SearchState,
    TargetScoreStopper,
    TimeBudgetStopper,
)


def _state(best_scores, elapsed=0.0, scores=None):
    scores = list(best_scores) if scores is None else scores
    return SearchState(round=len(best_scores), scores=scores, best_score=best_scores[-1],
                       best_scores=list(best_scores), elapsed=elapsed, cv_results={})


@pytest.mark.parametrize("history, n_rounds, min_delta, expected", [
    ([0.5], 1, 0.0, False),                     # too few rounds to judge
    ([0.5, 0.5], 1, 0.0, True),                 # one round without improvement
    ([0.5, 0.6], 1, 0.0, False),
    ([0.5, 0.6, 0.6], 2, 0.0, False),           # improved within the last 2 rounds
    ([0.5, 0.6, 0.6, 0.6], 2, 0.0, True),
    ([0.5, 0.55, 0.58], 2, 0.1, True),          # improved, but by less than min_delta
    ([0.5, 0.55, 0.61], 2, 0.1, False),
    ([-math.inf, -math.inf], 1, 0.0, True),     # nothing succeeded for a round
    ([-math.inf, 0.3], 1, 0.0, False),          # first success counts as improvement
])
def test_no_improvement_stopper(history, n_rounds, min_delta, expected):
    stop = NoImprovementStopper(n_rounds=n_rounds, min_delta=min_delta)
    assert stop(_state(history)) is expected


def test_no_improvement_stopper_default_patience():
    stop = NoImprovementStopper()
    assert stop.n_rounds == 10 and stop.min_delta == 0.0
    assert not stop(_state([0.9] * 10))
    assert stop(_state([0.9] * 11))


@pytest.mark.parametrize("elapsed, expected", [(0.0, False), (9.99, False), (10.0, True),
                                               (12.0, True)])
def test_time_budget_stopper(elapsed, expected):
    assert TimeBudgetStopper(seconds=10.0)(_state([0.5], elapsed=elapsed)) is expected


@pytest.mark.parametrize("best, expected", [(-math.inf, False), (0.89, False), (0.9, True),
                                            (0.95, True)])
def test_target_score_stopper(best, expected):
    assert TargetScoreStopper(score=0.9)(_state([best])) is expected


def test_target_score_stopper_with_negative_scores():
    stop = TargetScoreStopper(score=-0.1)  # e.g. neg_mean_squared_error
    assert not stop(_state([-0.5, -0.2]))
    assert stop(_state([-0.5, -0.05]))


@pytest.mark.parametrize("stopper", [NoImprovementStopper(n_rounds=3, min_delta=0.01),
                                     TimeBudgetStopper(seconds=5.0),
                                     TargetScoreStopper(score=0.8)])
def test_stoppers_are_stateless_copyable_and_picklable(stopper):
    state = _state([0.1, 0.2, 0.2, 0.2, 0.2], elapsed=6.0)
    first = stopper(state)
    assert stopper(state) == first  # no hidden state between calls
    copied = clone(stopper, safe=False)
    assert copied == stopper and copied is not stopper
    assert pickle.loads(pickle.dumps(stopper)) == stopper
    assert copied(state) == first
    assert "(" in repr(stopper)  # readable repr in get_params / error messages
