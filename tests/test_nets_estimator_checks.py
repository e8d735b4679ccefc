"""scikit-learn's estimator checks for both estimators.

One expected failure: ``check_sample_weight_equivalence_on_dense_data`` wants
weights equal to repeated samples at ``rtol=1e-7``. The networks train in
float32, so the two fits agree to float32 round-off only (about 1e-7
relative); with mini-batches smaller than the data, weights equal repeated
samples only in expectation (the batches differ). ``test_nets_sample_weight``
checks the equivalence where it holds: full-batch training, float32 tolerance.
The regressor happens to pass the check as it stands (reported as XPASS); the
classifier misses it by float32 round-off (1.4e-7 relative).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktune import NeuralNetClassifier, NeuralNetRegressor

_FLOAT32_ONLY = ("weights equal repeated samples to float32 round-off only; "
                 "see test_nets_sample_weight.py")


def _expected_failed_checks(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": _FLOAT32_ONLY}


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
