"""scikit-learn's estimator checks, with no expected failures, for both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktune import NeuralNetClassifier, NeuralNetRegressor


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
