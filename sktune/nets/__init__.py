"""Torch networks as scikit-learn estimators.

- :mod:`sktune.nets.estimators`: ``NeuralNetClassifier``, ``NeuralNetRegressor``.
- :mod:`sktune.nets.modules`: the built-in torch modules.
- ``_base`` (shared estimator machinery), ``_training`` (the skorch net and its
  lean training loop), ``_data`` (tensors and sliced batches), ``_callbacks``
  (learning-rate schedules, early stopping), ``_options`` (named choices),
  ``_accumulation`` (micro-batches), ``_fit_state`` (fits that resume:
  :class:`FitCheckpoint`).
"""

from ._fit_state import FitCheckpoint
from .estimators import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "FitCheckpoint"]
