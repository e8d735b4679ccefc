"""Same random_state, same cv_results_, whether fits run one by one or in parallel."""

import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal

from _parallel_helpers import SEARCHES, search_results


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_n_jobs_does_not_change_results(binary_data, name):
    X, y = binary_data
    params, scores = search_results(SEARCHES[name]().set_params(n_jobs=1).fit(X, y))
    with parallel_config(backend="loky"):
        params_2, scores_2 = search_results(SEARCHES[name]().set_params(n_jobs=2).fit(X, y))
    assert len(set(scores["mean_test_score"])) > 1  # a comparison that can fail
    assert params_2 == params
    assert scores_2.keys() == scores.keys()
    for key in scores:
        assert_array_equal(scores_2[key], scores[key], err_msg=key)
