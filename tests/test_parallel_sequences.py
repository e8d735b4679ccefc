"""scikit-learn's parallel work and sktune's searches in one process, in any order.

The everyday notebook: a baseline with scikit-learn's tools, then sktune's
search on the same data. sktune's loky pool shares joblib's reusable executor
(warm workers), whose memory-mapping folder is chosen per ``joblib.Parallel``
call: a search that did not choose its own sent large arrays to the folder of
the last, finished call and crashed ("Could not pickle the task to send it to
the workers"). Data here are just above joblib's 1 MB memory-mapping threshold;
every search's results must equal those of the same search run alone (``n_jobs=1``
in this process, and a fresh process), and the process must be left as found.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from joblib import parallel_config
from skorch.callbacks import Callback

from _sequence_helpers import (SKLEARN_WORK, SKTUNE_SEARCHES, large_data, net, process_state,
                               results)

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def data():
    return large_data()


@pytest.fixture(scope="module")
def alone(data):
    """name -> the search's results with n_jobs=1 (cached), which equal a parallel
    run's in a fresh process (tests/test_parallel_reproducibility.py)."""
    cache = {}

    def get(name):
        if name not in cache:
            search = SKTUNE_SEARCHES[name]().set_params(n_jobs=1).fit(*data)
            cache[name] = results(search)
            assert len(set(cache[name][1]["mean_test_score"])) > 1  # can fail
        return cache[name]

    return get


@pytest.mark.parametrize("work", sorted(SKLEARN_WORK))
@pytest.mark.parametrize("search", ["bayes", "hyperband"])
def test_an_sktune_search_after_sklearn_parallel_work(data, alone, work, search):
    X, y = data
    with parallel_config(backend="loky"):
        SKLEARN_WORK[work](X, y)
        assert results(SKTUNE_SEARCHES[search]().fit(X, y)) == alone(search)


def test_searches_and_sklearn_work_in_any_order_leave_the_process_as_found(data, alone):
    X, y = data
    before = process_state()
    steps = ["bayes", "grid", "hyperband", "cross_validate", "bayes-3-jobs",
             "permutation_importance", "bayes", "hyperband", "random", "bayes"]
    with parallel_config(backend="loky"):
        for step in steps:
            if step in SKLEARN_WORK:
                SKLEARN_WORK[step](X, y)
            else:
                got = results(SKTUNE_SEARCHES[step]().fit(X, y))
                assert got == alone(step.replace("-3-jobs", "")), step
            assert process_state() == before, step


def test_threads_between_process_searches(data, alone):
    """joblib's threading backend between loky work: runs, and the loky searches
    after it are unchanged (threads share torch's global generator, so a
    threaded search's own scores are not reproducible: docs/parallel.md)."""
    X, y = data
    before = process_state()
    SKLEARN_WORK["cross_validate"](X, y)
    for name in ("bayes", "hyperband"):
        with parallel_config(backend="threading"):
            params, scores = results(SKTUNE_SEARCHES[name]().fit(X, y))
        assert len(params) == len(alone(name)[0])
        assert all(math.isfinite(s) for s in scores["mean_test_score"])
        assert process_state() == before
        assert results(SKTUNE_SEARCHES[name]().fit(X, y)) == alone(name)


class RecordProcess(Callback):
    """Leaves a file named for the process that ran the fit."""

    def __init__(self, folder):
        self.folder = folder

    def on_train_begin(self, net, **kwargs):
        import os
        import uuid

        # not id(net): a process's next network may reuse a collected one's id
        (Path(self.folder) / f"{os.getpid()}-{uuid.uuid4().hex}").touch()


def _fitting_processes(folder):
    return {p.name.split("-")[0] for p in Path(folder).iterdir()}


def test_a_search_with_fewer_jobs_after_more_uses_no_more_processes(data, tmp_path):
    X, y = data
    more, fewer = tmp_path / "more", tmp_path / "fewer"
    more.mkdir()
    fewer.mkdir()
    with parallel_config(backend="loky"):
        SKLEARN_WORK["cross_validate"](X, y)  # warm workers: no cold start in this process
        for folder, n_jobs in ((more, 3), (fewer, 2)):
            search = SKTUNE_SEARCHES["bayes"]().set_params(
                estimator=net(callbacks=[RecordProcess(str(folder))]), n_jobs=n_jobs)
            search.fit(X, y)
    assert len(list(fewer.iterdir())) == 12  # 4 candidates x 3 folds
    assert 1 < len(_fitting_processes(fewer)) <= 2
    assert len(_fitting_processes(more)) <= 3


def _in_a_fresh_process(*steps):
    run = subprocess.run([sys.executable, str(TESTS / "_sequence_script.py"), *steps],
                         cwd=TESTS, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_each_search_of_a_sequence_equals_a_fresh_process_running_it_alone():
    # In a new process the first search starts cold (this process fits), the
    # others find the workers that scikit-learn's work started.
    sequence = _in_a_fresh_process("bayes", "cross_validate", "hyperband", "grid", "bayes")
    assert [r["step"] for r in sequence] == ["bayes", "hyperband", "bayes"]
    assert all(r["state_unchanged"] for r in sequence)
    for name in ("bayes", "hyperband"):
        (fresh,) = _in_a_fresh_process(name)
        for run in (r for r in sequence if r["step"] == name):
            assert (run["params"], run["scores"]) == (fresh["params"], fresh["scores"])
