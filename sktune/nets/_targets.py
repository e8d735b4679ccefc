"""The regressor's target scaling: which criteria take it, the statistics, the transform.

``NeuralNetRegressor(target_scaling=...)`` trains on targets standardised per
output and inverts at ``predict``; the training net reports losses in the
target's units (:class:`~sktune.nets._training.TrainingNet`, ``target_scale``).
"""

import numpy as np
import torch

#: Losses of a residual, for which standardising the target is a change of units.
SCALABLE_CRITERIA = (torch.nn.MSELoss, torch.nn.L1Loss, torch.nn.SmoothL1Loss,
                     torch.nn.HuberLoss)
#: Losses whose targets have a meaning of their own (counts, probabilities,
#: distributions): a centred target would be wrong, not just rescaled.
RAW_TARGET_CRITERIA = (torch.nn.PoissonNLLLoss, torch.nn.GaussianNLLLoss, torch.nn.KLDivLoss,
                       torch.nn.BCELoss, torch.nn.BCEWithLogitsLoss)


def scales_targets(target_scaling, criterion):
    """Whether a regressor with these parameters standardises its targets.

    >>> scales_targets("auto", None), scales_targets("auto", torch.nn.PoissonNLLLoss)
    (True, False)
    """
    known = isinstance(criterion, type)
    if target_scaling == "auto":
        return criterion is None or (known and issubclass(criterion, SCALABLE_CRITERIA))
    if target_scaling and known and issubclass(criterion, RAW_TARGET_CRITERIA):
        raise ValueError(
            f"target_scaling=True standardises the targets (subtracts their mean), but "
            f"{criterion.__name__} needs the raw targets (counts, probabilities or "
            "distributions); use target_scaling='auto' or False with this criterion.")
    return bool(target_scaling)


def target_statistics(y, sample_weight=None):
    """Per-output mean and standard deviation of ``y`` (2-D), weighted, in float64.

    A constant output gets a scale of 1 (as ``StandardScaler`` does), so it
    is only centred.

    >>> target_statistics(np.array([[1.0, 5.0], [3.0, 5.0]]))
    (array([2., 5.]), array([1., 1.]))
    """
    y = np.asarray(y, dtype=np.float64)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = np.average(y, axis=0, weights=weights)
    var = np.average((y - mean) ** 2, axis=0, weights=weights)
    scale = np.sqrt(var)
    # Zero up to round-off relative to the mean (sklearn's StandardScaler rule).
    scale[scale <= 10 * np.finfo(np.float64).eps * np.abs(mean)] = 1.0
    scale[scale == 0] = 1.0
    return mean, scale


def standardise(y, mean, scale):
    """``(y - mean) / scale`` as float32, computed in float64."""
    return ((np.asarray(y, dtype=np.float64) - mean) / scale).astype(np.float32)
