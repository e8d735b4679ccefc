"""Stopping rules for sequential searches such as :class:`~sktune.BayesSearchCV`.

A callback is any callable ``callback(state) -> bool`` called after every
round; returning True stops the search (the candidates evaluated so far are
kept, and ``refit`` proceeds as usual). ``state`` is a :class:`SearchState`.
The stoppers below hold no state of their own, so they can be passed to the
search's constructor, cloned and reused.
"""

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SearchState", "NoImprovementStopper", "TimeBudgetStopper", "TargetScoreStopper"]


@dataclass
class SearchState:
    """What a callback sees after each round.

    Attributes
    ----------
    round : int
        Rounds completed (1 after the first).
    scores : list of float
        Mean CV score of every candidate so far, in evaluation order, for the
        metric being optimised (``nan`` for failed candidates); higher is better.
    best_score : float
        Best finite score so far (``-inf`` if none).
    best_scores : list of float
        Best score after each round.
    elapsed : float
        Seconds since the search started.
    cv_results : dict
        ``cv_results_`` as it stands when the callback runs (later rounds
        extend its lists: copy what you want to keep).

    For scikit-optimize callbacks (``DeltaYStopper``, ``DeadlineStopper``...),
    the state also reads like skopt's result (minimisation): ``func_vals``
    (negated scores), ``x_iters`` (candidate dicts), ``fun`` and ``x``.
    """

    round: int
    scores: list
    best_score: float
    best_scores: list
    elapsed: float
    cv_results: dict = field(repr=False)

    @property
    def func_vals(self):
        return np.array([-s for s in self.scores])

    @property
    def x_iters(self):
        return list(self.cv_results.get("params", []))

    @property
    def fun(self):
        return -self.best_score

    @property
    def x(self):
        finite = [(s, i) for i, s in enumerate(self.scores) if math.isfinite(s)]
        return self.x_iters[max(finite)[1]] if finite else None


@dataclass
class NoImprovementStopper:
    """Stop when the best score has not improved by ``min_delta`` for ``n_rounds`` rounds.

    Parameters
    ----------
    n_rounds : int, default=10
        Rounds without improvement (patience).
    min_delta : float, default=0.0
        The smallest increase of the best score that counts as improvement.

    Examples
    --------
    >>> from sktune.search.callbacks import NoImprovementStopper, SearchState
    >>> stop = NoImprovementStopper(n_rounds=2)
    >>> stop(SearchState(3, [0.8, 0.9, 0.9], 0.9, [0.8, 0.9, 0.9], 1.0, {}))
    False
    >>> stop(SearchState(4, [0.8, 0.9, 0.9, 0.7], 0.9, [0.8, 0.9, 0.9, 0.9], 1.0, {}))
    True
    """

    n_rounds: int = 10
    min_delta: float = 0.0

    def __call__(self, state):
        history = state.best_scores
        if len(history) <= self.n_rounds:
            return False
        before = history[-self.n_rounds - 1]
        return not history[-1] > before + self.min_delta


@dataclass
class TimeBudgetStopper:
    """Stop once ``seconds`` have passed since the search started (checked after each round).

    Parameters
    ----------
    seconds : float
        Time budget in seconds; the round running when it expires finishes.
    """

    seconds: float

    def __call__(self, state):
        return state.elapsed >= self.seconds


@dataclass
class TargetScoreStopper:
    """Stop once the best score reaches ``score``.

    Parameters
    ----------
    score : float
        Target of the optimised metric (higher is better, as in ``cv_results_``).
    """

    score: float

    def __call__(self, state):
        return math.isfinite(state.best_score) and state.best_score >= self.score
