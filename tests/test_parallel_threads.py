"""torch threads of fits run in parallel workers (joblib processes and threads)."""

import os

import pytest
import torch
from joblib import parallel_config
from sklearn.model_selection import cross_validate

from _parallel_helpers import RecordThreads, small_net


def _seen_in_workers(data, backend, **params):
    """``(threads, pids)`` seen by the epochs of 2 fits run by 2 workers."""
    X, y = data
    est = small_net(callbacks=[RecordThreads()], **params)
    # Loky workers start with OMP_NUM_THREADS=2, so that torch's own setting
    # there (2) differs from sktune's default (1).
    config = {"inner_max_num_threads": 2} if backend == "loky" else {}
    with parallel_config(backend=backend, **config):
        fitted = cross_validate(est, X, y, cv=2, n_jobs=2, return_estimator=True)["estimator"]
    threads = {t for e in fitted for t in e.history_[:, "threads"]}
    pids = {p for e in fitted for p in e.history_[:, "pid"]}
    return threads, pids


@pytest.mark.parametrize("torch_threads, expected", [(None, 1), (2, 2), (-1, 2)])
def test_process_workers_use_one_thread_unless_told(binary_data, monkeypatch, torch_threads,
                                                    expected):
    monkeypatch.delenv("SKTUNE_TORCH_THREADS", raising=False)
    threads, pids = _seen_in_workers(binary_data, "loky", torch_threads=torch_threads)
    assert threads == {expected}
    assert os.getpid() not in pids


@pytest.mark.parametrize("torch_threads, expected", [(None, 1), (2, 2)])
def test_thread_workers_use_one_thread_unless_told(binary_data, monkeypatch, torch_threads,
                                                   expected):
    monkeypatch.delenv("SKTUNE_TORCH_THREADS", raising=False)
    before = torch.get_num_threads()
    threads, pids = _seen_in_workers(binary_data, "threading", torch_threads=torch_threads)
    assert threads == {expected}
    assert pids == {os.getpid()}
    assert torch.get_num_threads() == before  # the caller's thread is untouched
