"""Search-space dimensions: ``Real``, ``Integer``, ``Categorical``, ``Space``.

Defined in :mod:`sktune.search.space`; re-exported here as the public name.
"""

from .search.space import Categorical, Dimension, Distribution, Integer, Real, Space

__all__ = ["Real", "Integer", "Categorical", "Distribution", "Dimension", "Space"]
