"""Searches on a Ray instance (joblib's ``ray`` backend, sktune's Ray pool).

A local Ray instance of 2 CPUs: results must equal a local run's, a killed Ray
worker costs nothing but time (Ray runs its task again), a pretrained module
goes to the object store once, and Ray's work mixes with loky's in one process.
"""

import os

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal

from _large_helpers import body_and_head
from _parallel_helpers import SEARCHES, search_results

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_backend():
    from ray.util.joblib import register_ray

    started = not ray.is_initialized()
    if started:  # workers import the test helpers from here
        path = os.pathsep.join(p for p in (os.path.dirname(__file__),
                                           os.environ.get("PYTHONPATH")) if p)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    register_ray()
    yield
    if started:
        ray.shutdown()


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_a_search_on_ray_equals_a_local_run(ray_backend, binary_data, name):
    from sktune.search._fits.pool import RayPool, open_pool

    X, y = binary_data
    local = search_results(SEARCHES[name]().set_params(n_jobs=1).fit(X, y))
    with parallel_config(backend="ray"):
        assert isinstance(open_pool(None), RayPool)  # all of Ray's CPUs, not one job
        params, scores = search_results(SEARCHES[name]().fit(X, y))
    assert len(set(local[1]["mean_test_score"])) > 1  # a comparison that can fail
    assert params == local[0]
    for key in scores:
        assert_array_equal(scores[key], local[1][key], err_msg=key)


def test_a_killed_ray_worker_costs_its_fits_only(ray_backend, tmp_path):
    """A Ray worker process killed mid-search: Ray runs its task again, and the
    search ends with the results of an undisturbed run."""
    from _scheduler_toys import Quadratic, toy_cv, toy_data
    from sktune import BayesSearchCV

    X, y = toy_data()
    space = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}

    def make(est):
        return BayesSearchCV(est, space, n_iter=8, cv=toy_cv(), random_state=0,
                             optimizer_kwargs={"n_initial_points": 4})

    local = make(Quadratic()).set_params(n_jobs=1).fit(X, y)
    dying = Quadratic(die_once_in=str(tmp_path), main_pid=os.getpid(), sleep=0.05)
    with parallel_config(backend="ray"):
        remote = make(dying).fit(X, y)
    assert (tmp_path / "died").exists()  # a worker died
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])


def test_a_pretrained_instance_goes_to_the_object_store_once(ray_backend, monkeypatch):
    from sklearn.model_selection import KFold

    from sktune import BayesSearchCV, NeuralNetClassifier
    from sktune.nets import _sent_modules
    from sktune.space import Real

    puts = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: puts.append(type(value).__name__)
                        or real_put(value, **kw))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    module = body_and_head(n_outputs=2)

    def search():
        return BayesSearchCV(
            NeuralNetClassifier(module=module, freeze="body", epochs=2, random_state=0),
            {"lr": Real(1e-3, 1e-1, prior="log-uniform")}, n_iter=4,
            cv=KFold(3, shuffle=True, random_state=0), random_state=0, refit=False)

    local = search().set_params(n_jobs=1).fit(X, y)
    with parallel_config(backend="ray"):
        remote = search().fit(X, y)
    assert puts.count("_BodyAndHead") == 1  # the module, once for 12 fits
    assert puts.count("tuple") == 1  # the data and the estimator, once
    assert_array_equal(remote.cv_results_["mean_test_score"],
                       local.cv_results_["mean_test_score"])
    _sent_modules._loaded.clear()


def test_ray_and_loky_work_in_one_process_in_any_order(ray_backend):
    """scikit-learn's loky work, sktune's searches on Ray and on loky, in turn, on
    data above joblib's memory-mapping threshold (tests/test_parallel_sequences.py)."""
    from _sequence_helpers import SKTUNE_SEARCHES, large_data, results, run_in_turn

    X, y = large_data()
    alone = {name: results(SKTUNE_SEARCHES[name]().set_params(n_jobs=1).fit(X, y))
             for name in ("bayes", "hyperband")}
    steps = [("loky", "cross_validate"), ("ray", "bayes"), ("loky", "bayes"),
             ("ray", "hyperband"), ("loky", "hyperband")]
    run_in_turn(steps, X, y, alone)


def test_a_fitted_network_pickles_after_ray_replaced_print(ray_backend, binary_data):
    """ray.init replaces builtins.print; skorch's log printed with the original,
    which pickle then refused to look up (HyperbandSearchCV keeps its models
    pickled, sktune.save and joblib pickle fitted networks)."""
    import pickle

    from _parallel_helpers import small_net

    fitted = small_net().fit(*binary_data)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict_proba(binary_data[0]),
                       fitted.predict_proba(binary_data[0]))
