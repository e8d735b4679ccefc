"""Built-in torch modules, selectable through the estimators' ``module`` parameter.

Defined in :mod:`sktune.nets.modules`; re-exported here as the public name.
"""

from .nets.modules import ACTIVATIONS, MLP, ConvNet, ResidualMLP

__all__ = ["MLP", "ResidualMLP", "ConvNet", "ACTIVATIONS"]
