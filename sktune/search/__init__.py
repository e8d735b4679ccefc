"""Hyperparameter search.

- :mod:`sktune.search.space`: dimensions (``Real``, ``Integer``, ``Categorical``,
  scipy distributions) and ``Space``.
- ``_kernels``, ``_gp`` (the Gaussian-process surrogate), ``_acquisition``
  (log expected improvement), ``_acq_optim`` (its multi-start optimiser).
- :mod:`sktune.search.optimizer`: the ask/tell ``Optimizer``.
- :mod:`sktune.search.bayes_search`: ``BayesSearchCV`` on top of it.
- :mod:`sktune.search.callbacks`: stopping rules for sequential searches.
"""

from .bayes_search import BayesSearchCV
from .callbacks import (NoImprovementStopper, SearchState, TargetScoreStopper,
                        TimeBudgetStopper)
from .optimizer import Optimizer
from .space import (Categorical, Dimension, Distribution, Integer, Real, Space,
                    parse_search_spaces)

__all__ = [
    "BayesSearchCV", "Optimizer", "Space", "Real", "Integer", "Categorical", "Distribution",
    "Dimension", "parse_search_spaces",
    "SearchState", "NoImprovementStopper", "TimeBudgetStopper", "TargetScoreStopper",
]
