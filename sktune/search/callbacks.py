"""Stopping rules (budgets) for sktune's searches: ``BayesSearchCV`` and ``HyperbandSearchCV``.

A callback is any callable ``callback(state) -> bool`` called after every
round (a ``BayesSearchCV`` round, a ``HyperbandSearchCV`` rung); returning
True stops the search (the candidates evaluated so far are kept, and
``refit`` proceeds as usual) and the search's ``stopped_by_`` names the
callback. ``state`` is a :class:`SearchState`. The stoppers below hold no
state of their own, so they can be passed to the search's constructor,
cloned and reused.

:class:`TimeBudgetStopper` is also read by the searches themselves: no fit
starts once its time is spent (rather than at the end of the round), so a
search ends within one fit's duration of its budget. A
``HyperbandSearchCV`` given any stopper keeps starting Hyperband iterations
until one stops it.
"""

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SearchState", "NoImprovementStopper", "TimeBudgetStopper", "TargetScoreStopper",
           "parse_duration"]


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
    """Stop once ``seconds`` have passed since the search started.

    The searches of sktune watch the budget between fits: once it is spent
    no new fit starts, the fits running then finish, and every candidate
    whose folds are all done is kept (one whose folds are not is left out).
    So the search ends within one fit's duration of the budget (plus the
    refit). A callable also stops any search that calls it after a round.

    Parameters
    ----------
    seconds : float or str
        Time budget in seconds, counted from the start of the search's
        ``fit`` (its workers' start included, the refit not); a string such
        as ``"90s"``, ``"10m"`` or ``"1h"`` is read by :func:`parse_duration`.
        However short, the first candidate to complete is kept: a search
        always has a result (0: the first candidates to complete, then stop).

    Examples
    --------
    >>> from sktune.search.callbacks import TimeBudgetStopper
    >>> TimeBudgetStopper("10m").budget()
    600.0
    """

    seconds: float

    def budget(self):
        """The budget in seconds."""
        return parse_duration(self.seconds)

    def __call__(self, state):
        return state.elapsed >= self.budget()


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


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value):
    """Seconds in a duration: a number (seconds) or a string such as ``"90"``,
    ``"90s"``, ``"1.5m"``, ``"10min"`` or ``"1h"``.

    Raises ValueError, saying what is accepted, for anything else (negative,
    not finite, or an unknown unit).

    Examples
    --------
    >>> from sktune.search.callbacks import parse_duration
    >>> parse_duration(90), parse_duration("1.5m"), parse_duration("1h")
    (90.0, 90.0, 3600.0)
    """
    text = value.strip().lower() if isinstance(value, str) else None
    if text is not None:
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
        unit = text[len(number):].strip()
        try:
            seconds = float(number) * _UNITS[unit]
        except (ValueError, KeyError):
            seconds = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a time budget must be a number of seconds (0 or more) or a "
                         f"string such as '90', '90s', '10m' or '1h'; got {value!r}.")
    return seconds


def time_budget(callbacks):
    """The :class:`TimeBudgetStopper` among ``callbacks`` with the smallest
    budget (None if there is none); a budget that is not valid raises here."""
    stoppers = [cb for cb in callbacks if isinstance(cb, TimeBudgetStopper)]
    return min(stoppers, key=lambda cb: cb.budget()) if stoppers else None


def describe(callback):
    """A short text naming a stopping callback (``stopped_by_``)."""
    if hasattr(callback, "__dataclass_fields__"):
        return repr(callback)
    name = getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None)
    return name or type(callback).__name__
