"""sktune.save / sktune.load keep a multi-objective search's Pareto front."""

import numpy as np
import pytest

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.metrics import neg_n_parameters
from sktune.persistence import SavedSearch, load, save


def _search(X, y, **kwargs):
    net = NeuralNetClassifier(epochs=2, batch_size=32, random_state=0)
    space = {"hidden_layer_sizes": [(2,), (8,), (32, 16)], "lr": (1e-3, 1e-1, "log-uniform")}
    return BayesSearchCV(net, space, n_iter=6, cv=2, random_state=0, **kwargs).fit(X, y)


@pytest.fixture(scope="module")
def multi_search(iris_data):
    X, y = iris_data
    return _search(X, y, scoring={"accuracy": "accuracy", "size": neg_n_parameters},
                   objectives=["accuracy", "size"], refit="accuracy")


def test_pareto_front_survives_save_and_load(multi_search, iris_data, tmp_path):
    search = multi_search
    save(search, tmp_path / "search.sktune")
    loaded = load(tmp_path / "search.sktune")
    assert isinstance(loaded, SavedSearch)

    assert isinstance(loaded.pareto_front_, np.ndarray)
    assert loaded.pareto_front_.dtype == search.pareto_front_.dtype
    np.testing.assert_array_equal(loaded.pareto_front_, search.pareto_front_)
    mask = loaded.cv_results_["pareto_optimal"]
    assert isinstance(mask, np.ndarray) and mask.dtype == bool
    np.testing.assert_array_equal(mask, search.cv_results_["pareto_optimal"])
    np.testing.assert_array_equal(np.flatnonzero(mask), loaded.pareto_front_)
    assert loaded.objectives == search.objectives == ["accuracy", "size"]
    assert loaded.best_index_ == search.best_index_
    assert loaded.best_index_ in set(loaded.pareto_front_.tolist())
    X, _ = iris_data
    np.testing.assert_array_equal(loaded.predict_proba(X), search.predict_proba(X))


def test_report_of_a_loaded_search_shows_the_same_front(multi_search, tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    from sktune.report import cv_report

    save(multi_search, tmp_path / "search.sktune")
    loaded = cv_report(load(tmp_path / "search.sktune")).pareto_front
    live = cv_report(multi_search).pareto_front
    assert loaded is not None
    assert sorted(loaded.index) == sorted(multi_search.pareto_front_.tolist())
    assert list(loaded.index) == list(live.index)
    np.testing.assert_array_equal(loaded["mean_test_size"], live["mean_test_size"])


def test_single_objective_search_saves_no_front(iris_data, tmp_path):
    X, y = iris_data
    search = _search(X[::3], y[::3])
    save(search, tmp_path / "search.sktune")
    loaded = load(tmp_path / "search.sktune")
    assert not hasattr(loaded, "pareto_front_")
    assert "pareto_optimal" not in loaded.cv_results_
    assert loaded.objectives is None
