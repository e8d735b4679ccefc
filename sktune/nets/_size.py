"""Scorers of a fitted network's size, for multi-objective searches.

A scikit-learn scorer is ``scorer(estimator, X, y) -> float``, larger is
better; these read the fitted torch module (``module_`` of a sktune or
skorch net, also as the last step of a ``Pipeline``) and ignore the data, so
``scoring={"accuracy": "accuracy", "size": neg_n_parameters}`` gives
``BayesSearchCV(objectives=["accuracy", "size"])`` accuracy against size.
"""

from ._steps import final_step

__all__ = ["n_parameters", "neg_n_parameters"]


def _fitted_module(estimator):
    step = final_step(estimator)  # a Pipeline: its final estimator
    module = getattr(step, "module_", None)
    if module is None or not hasattr(module, "parameters"):
        raise TypeError(
            f"{type(step).__name__} has no fitted torch module (module_): n_parameters "
            "counts the parameters of a fitted sktune or skorch network."
        )
    return module


def n_parameters(estimator, trainable_only=False):
    """Number of parameters of a fitted network's module.

    Parameters
    ----------
    estimator : fitted net or Pipeline ending in one
    trainable_only : bool, default=False
        Count only parameters with ``requires_grad`` (not frozen layers).

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from sktune import NeuralNetClassifier
    >>> from sktune.metrics import n_parameters
    >>> X = np.random.RandomState(0).rand(40, 4).astype("float32")
    >>> y = (X[:, 0] > 0.5).astype("int64")
    >>> net = NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X, y)
    >>> n_parameters(net)  # 4*8 + 8 + 8*2 + 2
    58
    """
    module = _fitted_module(estimator)
    return int(sum(p.numel() for p in module.parameters()
                   if p.requires_grad or not trainable_only))


def neg_n_parameters(estimator, X=None, y=None):
    """Scorer: minus the number of parameters of the fitted network (larger
    is smaller). ``X`` and ``y`` are ignored."""
    return -float(n_parameters(estimator))
