"""Searches on a dask.distributed cluster (joblib's dask backend).

A real cluster of worker processes on this machine: results must equal those
of a local run, fits must run in the workers with one torch thread, and
parallel fits must spread over (fake) GPUs as with joblib's own workers.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, cross_validate

from _parallel_helpers import (SEARCHES, FakeGPUClassifier, RecordThreads, search_results,
                               small_net)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """2 worker processes of 1 thread each, as on a 2-core machine."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _assert_same_results(local, remote):
    params, scores = search_results(local)
    remote_params, remote_scores = search_results(remote)
    assert len(set(scores["mean_test_score"])) > 1  # a comparison that can fail
    assert remote_params == params
    assert remote_scores.keys() == scores.keys()
    for key in scores:
        assert_array_equal(remote_scores[key], scores[key], err_msg=key)


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search_on_the_cluster_equals_a_local_run(client, binary_data, name):
    X, y = binary_data
    local = SEARCHES[name]().set_params(n_jobs=1).fit(X, y)
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        remote = SEARCHES[name]().fit(X, y)
    assert len(tasks.data) > 0  # the fits ran on the cluster
    _assert_same_results(local, remote)


@pytest.mark.parametrize("torch_threads, expected", [(None, 1), (2, 2)])
def test_fits_in_dask_workers_use_one_thread_unless_told(client, binary_data, torch_threads,
                                                         expected):
    X, y = binary_data
    est = small_net(callbacks=[RecordThreads()], torch_threads=torch_threads)
    with parallel_config(backend="dask"):
        fitted = cross_validate(est, X, y, cv=2, return_estimator=True)["estimator"]
    assert {t for e in fitted for t in e.history_[:, "threads"]} == {expected}
    worker_pids = set(client.run(os.getpid).values())
    assert {p for e in fitted for p in e.history_[:, "pid"]} <= worker_pids


def _fit(est, X, y):
    return est.fit(X, y)


def test_parallel_fits_in_dask_workers_land_on_different_gpus(client, binary_data, tmp_path):
    # One fit pinned to each worker process: joblib's dask backend may batch
    # both fits of a small search into one task (run one after the other),
    # which would say nothing about concurrent claims across processes.
    X, y = binary_data
    est = FakeGPUClassifier(n_gpus=2, claims_dir=str(tmp_path), wait_for=2, device="auto",
                            hidden_layer_sizes=(8,), epochs=2, random_state=0)
    workers = sorted(client.scheduler_info()["workers"])
    assert len(workers) == 2
    futures = [client.submit(_fit, est, X, y, workers=[w], allow_other_workers=False,
                             pure=False) for w in workers]
    fitted = client.gather(futures)
    assert sorted(e._placed_on for e in fitted) == ["cuda:0", "cuda:1"]
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2  # two processes, sharing only the claim files


# -- a cluster started from the command line, reached by its address ---------------
def _start(*args):
    return subprocess.Popen([sys.executable, "-m", "dask", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _scheduler_address(scheduler_file, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the dask scheduler exited"
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)
    raise TimeoutError("the dask scheduler did not start")


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_search_on_a_cluster_started_by_command_line(binary_data, tmp_path):
    X, y = binary_data
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = _start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(scheduler_file))
    workers = None
    try:
        address = _scheduler_address(scheduler_file, scheduler)
        assert address.startswith("tcp://127.0.0.1:")
        workers = _start("worker", address, "--nworkers", "2", "--nthreads", "1",
                         "--no-dashboard", "--local-directory", str(tmp_path))
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=60)
            search = GridSearchCV(small_net(), {"lr": [0.003, 0.03]}, cv=3, refit=False)
            with parallel_config(backend="dask", scatter=[X, y]):
                remote = search.fit(X, y)
        local = GridSearchCV(small_net(), {"lr": [0.003, 0.03]}, cv=3, refit=False,
                             n_jobs=1).fit(X, y)
        _assert_same_results(local, remote)
    finally:
        for process in (workers, scheduler):
            if process is not None:
                _stop(process)


def test_a_dataset_search_on_the_cluster_equals_a_local_run(client, digits_data):
    """A torch Dataset, split by index into views that travel to the workers, read
    there batch by batch (loader workers are skipped in daemonic Dask workers)."""
    import numpy as np
    import torch
    from torch.utils.data import TensorDataset

    from sktune.data import DatasetView, RandomShift
    from sktune.modules import ConvNet

    X, y = digits_data
    X = torch.as_tensor(X[:150].reshape(-1, 1, 8, 8), dtype=torch.float32)
    view = DatasetView(TensorDataset(X, torch.as_tensor(y[:150])))
    net = small_net(module=ConvNet, module__channels=(4,), train_transform=RandomShift(1),
                    num_workers=2)
    make = lambda: GridSearchCV(net, {"train_transform__max_shift": [0, 1]}, cv=2)  # noqa
    local = make().fit(view, view.targets)
    with parallel_config(backend="dask"):
        remote = make().fit(view, view.targets)
    _assert_same_results(local, remote)
    assert np.isfinite(remote.cv_results_["mean_test_score"]).all()


def test_a_pretrained_instance_fine_tunes_on_the_cluster_as_locally(client, digits_data):
    """The instance travels to the workers inside the estimator; each fit there
    copies it, and the instance sent from here is never modified."""
    import torch

    from sktune.modules import ConvNet

    X, y = digits_data
    src = small_net(module=ConvNet, module__channels=(4,)).fit(X[:300], y[:300])
    pretrained = src.module_
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    net = small_net(module=pretrained, freeze=1)
    make = lambda: GridSearchCV(net, {"unfreeze_at": [None, 1], "lr": [0.01, 0.003]},  # noqa
                                cv=2)
    local = make().fit(X[300:500], y[300:500])
    with parallel_config(backend="dask"):
        remote = make().fit(X[300:500], y[300:500])
    _assert_same_results(local, remote)
    assert all(torch.equal(v, before[k]) for k, v in pretrained.state_dict().items())


def test_a_killed_dask_worker_costs_its_fits_only(client, tmp_path):
    """A worker process killed mid-search (its nanny starts a new one): the search
    finishes with the results of an undisturbed run."""
    from sktune import BayesSearchCV, HyperbandSearchCV

    from _scheduler_toys import Quadratic, toy_cv, toy_data

    X, y = toy_data()
    space = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}
    dying = Quadratic(die_once_in=str(tmp_path), main_pid=os.getpid(), sleep=0.05)
    for make in (lambda est: BayesSearchCV(est, space, n_iter=8, cv=toy_cv(), random_state=0,
                                           optimizer_kwargs={"n_initial_points": 4}),
                 lambda est: HyperbandSearchCV(est, space, max_epochs=9, cv=toy_cv(),
                                               random_state=0)):
        local = make(Quadratic()).set_params(n_jobs=1).fit(X, y)
        (tmp_path / "died").unlink(missing_ok=True)
        with parallel_config(backend="dask"):
            remote = make(dying).fit(X, y)
        assert (tmp_path / "died").exists()  # a worker died
        assert remote.cv_results_["params"] == local.cv_results_["params"]
        for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
            assert_array_equal(remote.cv_results_[key], local.cv_results_[key], err_msg=key)


def test_a_cluster_down_to_one_worker_thread_still_runs_the_fits(client, monkeypatch):
    """While a killed worker's nanny restarts it the cluster may count one thread:
    the fits still go to the cluster, not to the client's process (as joblib's
    dask backend does for any n_jobs)."""
    from joblib.parallel import get_active_backend

    from sktune.search._fits.pool import open_pool

    with parallel_config(backend="dask"):
        backend, _ = get_active_backend()
        monkeypatch.setattr(type(backend), "effective_n_jobs", lambda self, n_jobs: 1)
        assert open_pool(None).kind == "dask"
        assert open_pool(-1).kind == "dask"
        assert open_pool(1).kind == "dask"



def test_dask_and_loky_work_in_one_process_in_any_order(client):
    """scikit-learn's loky work, sktune's searches on the cluster and on loky, in
    turn, on data above joblib's memory-mapping threshold: each search's results
    are those of the same search alone (tests/test_parallel_sequences.py)."""
    from _sequence_helpers import SKTUNE_SEARCHES, large_data, results, run_in_turn

    X, y = large_data()
    alone = {name: results(SKTUNE_SEARCHES[name]().set_params(n_jobs=1).fit(X, y))
             for name in ("bayes", "hyperband")}
    steps = [("loky", "cross_validate"), ("dask", "bayes"), ("loky", "bayes"),
             ("dask", "grid"), ("dask", "hyperband"), ("loky", "hyperband")]
    run_in_turn(steps, X, y, alone)


def test_a_wait_that_raises_for_cancelled_futures_returns_them(monkeypatch):
    """distributed's wait raises when a future it waits for was cancelled (its data
    went with a lost worker): the pool returns the cancelled ones as done, so the
    scheduler reads their error and runs them again."""
    import distributed

    from sktune.search._fits.pool import DaskPool

    class FuturesCancelledError(Exception):
        pass

    class _Future:
        def __init__(self, status):
            self.status = status

    def cancelled_wait(futures, return_when):
        raise FuturesCancelledError("3 Futures cancelled: already forgotten")

    monkeypatch.setattr(distributed, "wait", cancelled_wait)
    pool = DaskPool.__new__(DaskPool)  # no client needed to wait
    futures = [_Future("cancelled"), _Future("pending"), _Future("finished")]
    assert pool.wait(futures) == [futures[0], futures[2]]

    def other_error(futures, return_when):
        raise OSError("the scheduler is gone")

    monkeypatch.setattr(distributed, "wait", other_error)
    with pytest.raises(OSError, match="scheduler is gone"):
        pool.wait(futures)
