"""Built-in torch modules, selectable through the estimators' ``module`` parameter.

Defined in :mod:`sktune.nets.modules` (MLPs, ConvNet) and
:mod:`sktune.nets.sequence_modules` (RNN, Transformer); re-exported here as
the public names.
"""

from .nets.modules import ACTIVATIONS, MLP, ConvNet, ResidualMLP
from .nets.sequence_modules import RNN, Transformer

__all__ = ["MLP", "ResidualMLP", "ConvNet", "RNN", "Transformer", "ACTIVATIONS"]
