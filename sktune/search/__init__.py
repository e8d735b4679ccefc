"""Hyperparameter search.

- :mod:`sktune.search.space`: dimensions (``Real``, ``Integer``, ``Categorical``,
  scipy distributions) and ``Space``.
- ``_gp``: the optimiser's engine, one module per concept: ``kernels``,
  ``gp`` (the Gaussian-process surrogate), ``acquisition`` (log expected
  improvement), ``acq_optim`` (its multi-start maximisation).
- :mod:`sktune.search.optimizer`: the ask/tell ``Optimizer`` on that engine.
- :mod:`sktune.search.bayes_search`: ``BayesSearchCV`` on top of it.
- :mod:`sktune.search.hyperband`: ``HyperbandSearchCV``, multi-fidelity over
  epochs; its pieces in ``_hyperband/`` (``brackets``: the schedule,
  ``rungs``: promotions without barriers, ``continuation``: training
  further, ``proposer``: BOHB-style proposals).
- ``_fits/``: what runs the fits: ``rounds`` (what round-based searches
  share: folds, failures, checkpoint, callbacks), ``scheduler`` (fits run the
  moment a worker is free), ``pool`` (the executor of the joblib backend),
  ``task_hook`` (work carried through sklearn's ``evaluate_candidates``),
  ``failures``, ``checkpoint``.
- :mod:`sktune.search.callbacks`: stopping rules for sequential searches.
- :mod:`sktune.search.refit`: ``refit=`` rules (``posterior_best``).
"""

import importlib

# Imported on first use (PEP 562): a parallel worker that runs a search's fit
# (._fits.scheduler.run_fit) imports only what that needs, not torch or the optimiser.
_LAZY = {
    "BayesSearchCV": ".bayes_search", "HyperbandSearchCV": ".hyperband",
    "NoImprovementStopper": ".callbacks", "SearchState": ".callbacks",
    "TargetScoreStopper": ".callbacks", "TimeBudgetStopper": ".callbacks",
    "Optimizer": ".optimizer",
    "Categorical": ".space", "Dimension": ".space", "Distribution": ".space",
    "Integer": ".space", "Real": ".space", "Space": ".space",
    "parse_search_spaces": ".space", "posterior_best": ".refit",
}

__all__ = [
    "BayesSearchCV", "HyperbandSearchCV", "Optimizer", "Space", "Real", "Integer", "Categorical", "Distribution",
    "Dimension", "parse_search_spaces",
    "SearchState", "NoImprovementStopper", "TimeBudgetStopper", "TargetScoreStopper",
    "posterior_best",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
