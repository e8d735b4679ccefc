"""scikit-learn's ranking of mean scores, for the ranks sktune adds itself."""

import numpy as np
from scipy.stats import rankdata


def rank_scores(means):
    """Ranks of ``means`` as ``GridSearchCV`` ranks test scores: 1 is best, ties
    share the lowest rank, ``nan`` ranks last (all ``nan``: all 1)."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)
