"""Scorers of a fitted network's size, for multi-objective searches.

Defined in :mod:`sktune.nets._size`; re-exported here as the public names.
"""

from .nets._size import n_parameters, neg_n_parameters

__all__ = ["n_parameters", "neg_n_parameters"]
