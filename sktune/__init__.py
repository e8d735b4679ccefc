"""sktune: tune PyTorch networks as naturally as any scikit-learn model."""

from .nets import NeuralNetClassifier, NeuralNetRegressor
from .search import BayesSearchCV

__version__ = "0.1.0.dev0"

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "BayesSearchCV", "__version__"]
