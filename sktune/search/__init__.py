"""Hyperparameter search.

- :mod:`sktune.search.space`: dimensions (``Real``, ``Integer``, ``Categorical``,
  scipy distributions) and ``Space``.
- ``_gp``: the optimiser's engine, one module per concept: ``kernels``,
  ``gp`` (the Gaussian-process surrogate), ``acquisition`` (log expected
  improvement), ``acq_optim`` (its multi-start maximisation).
- :mod:`sktune.search.optimizer`: the ask/tell ``Optimizer`` on that engine.
- :mod:`sktune.search.bayes_search`: ``BayesSearchCV`` on top of it.
- :mod:`sktune.search.hyperband`: ``HyperbandSearchCV``, multi-fidelity over
  epochs (``_brackets``: the schedule, ``_fidelity_proposer``: BOHB-style
  proposals, ``_continuation``: training further, ``_task_hook``: work carried
  through sklearn's ``evaluate_candidates``).
- ``_sequential``: what round-based searches share (folds, failures,
  checkpoint, callbacks).
- :mod:`sktune.search.callbacks`: stopping rules for sequential searches.
"""

from .bayes_search import BayesSearchCV
from .hyperband import HyperbandSearchCV
from .callbacks import (NoImprovementStopper, SearchState, TargetScoreStopper,
                        TimeBudgetStopper)
from .optimizer import Optimizer
from .space import (Categorical, Dimension, Distribution, Integer, Real, Space,
                    parse_search_spaces)

__all__ = [
    "BayesSearchCV", "HyperbandSearchCV", "Optimizer", "Space", "Real", "Integer", "Categorical", "Distribution",
    "Dimension", "parse_search_spaces",
    "SearchState", "NoImprovementStopper", "TimeBudgetStopper", "TargetScoreStopper",
]
