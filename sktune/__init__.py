"""sktune: tune PyTorch networks as naturally as any scikit-learn model.

The public names are imported on first use (PEP 562), so ``import sktune``
is cheap, and a parallel worker that unpickles a ``NeuralNetClassifier``
imports the estimators (torch, skorch) but not the search or report code.
"""

import importlib

from ._version import __version__

#: Public name -> the module that defines it.
_LAZY = {
    "NeuralNetClassifier": "sktune.nets",
    "NeuralNetRegressor": "sktune.nets",
    "FitCheckpoint": "sktune.nets",
    "BayesSearchCV": "sktune.search",
    "HyperbandSearchCV": "sktune.search",
    "cv_report": "sktune.report",
    "CVReport": "sktune.report",
    "save": "sktune.persistence",
    "load": "sktune.persistence",
}
_SUBMODULES = ("cli", "data", "exceptions", "metrics", "modules", "nets", "persistence", "report",
               "search", "space", "text", "tracking")

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "FitCheckpoint", "BayesSearchCV",
           "HyperbandSearchCV", "cv_report",
           "CVReport", "save", "load", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES})
