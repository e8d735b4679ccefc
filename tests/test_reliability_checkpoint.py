"""BayesSearchCV(checkpoint=...): durable rounds, exact resume, mismatch detection."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sktune import NeuralNetClassifier
from sktune.exceptions import CheckpointMismatchError

sys.path.insert(0, str(Path(__file__).parent))
from _reliability_helpers import iris, make_search  # noqa: E402

HELPER = str(Path(__file__).parent / "_reliability_helpers.py")
_TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def _stored_rounds(path):
    if not os.path.exists(path):
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM rounds").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _assert_same_results(got, expected, skip=_TIMES):
    assert set(got) == set(expected)
    for key in expected:
        if key in skip:
            continue
        if key == "params":
            assert got[key] == expected[key]
        else:
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), key)


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted search (no checkpoint)."""
    return make_search().fit(*iris())


class _Crash(Exception):
    pass


def _crash_after(round_):
    def callback(state):
        if state.round == round_:
            raise _Crash
    return callback


def _count_fits(monkeypatch):
    calls = []
    original = NeuralNetClassifier.fit

    def counting(self, X, y):
        calls.append(1)
        return original(self, X, y)

    monkeypatch.setattr(NeuralNetClassifier, "fit", counting)
    return calls


def test_resume_after_exception_replays_without_refitting(reference, tmp_path, monkeypatch):
    path = tmp_path / "search.db"
    with pytest.raises(_Crash):
        make_search(path).set_params(callbacks=_crash_after(2)).fit(*iris())
    assert _stored_rounds(path) == 2
    first = make_search(path)
    calls = _count_fits(monkeypatch)
    first.fit(*iris())
    # 2 of 4 rounds (2 candidates x 2 folds each) are replayed: 8 fits + 1 refit.
    assert len(calls) == 2 * 2 * 2 + 1
    _assert_same_results(first.cv_results_, reference.cv_results_)
    assert first.best_params_ == reference.best_params_
    # Everything stored now: nothing is refitted but the best estimator, and the
    # results, timings included, are the same as the first resumed run's.
    calls.clear()
    again = make_search(path).fit(*iris())
    assert len(calls) == 1
    _assert_same_results(again.cv_results_, first.cv_results_, skip=())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupt_mid_round_then_resume(tmp_path, monkeypatch, sig):
    path = str(tmp_path / "killed.db")
    proc = subprocess.Popen([sys.executable, HELPER, path, "1", "40"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while _stored_rounds(path) < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert _stored_rounds(path) >= 1, proc.stderr.read().decode() if proc.poll() else ""
        time.sleep(0.1)  # into the next round
        os.kill(proc.pid, sig)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Ctrl-C stops the search (it is not swallowed by the network's training loop).
    assert proc.returncode != 0
    stored = _stored_rounds(path)
    assert 1 <= stored < 20  # the helper's search has 20 rounds
    # Resume with a shorter plan (n_iter=8, 4 rounds) than the killed run's:
    # the first rounds are the same, and the result equals the uninterrupted
    # search's; stored rounds are not refitted.
    calls = _count_fits(monkeypatch)
    resumed = make_search(path, epochs=40).fit(*iris())
    assert len(calls) == max(0, 4 - stored) * 2 * 2 + 1
    calls.clear()
    expected = make_search(epochs=40).fit(*iris())
    _assert_same_results(resumed.cv_results_, expected.cv_results_)
    assert _stored_rounds(path) >= 4


def test_random_state_none_resumes(tmp_path):
    path = tmp_path / "none.db"
    with pytest.raises(_Crash):
        make_search(path).set_params(random_state=None, callbacks=_crash_after(1)).fit(*iris())
    resumed = make_search(path).set_params(random_state=None).fit(*iris())
    again = make_search(path).set_params(random_state=None).fit(*iris())
    _assert_same_results(again.cv_results_, resumed.cv_results_, skip=())


@pytest.mark.parametrize("change, differs", [
    (lambda s, X, y: (s.set_params(estimator__lr_schedule="cosine"), X, y), "estimator"),
    (lambda s, X, y: (s.set_params(search_spaces={"lr": (1e-4, 1.0)}), X, y), "search_spaces"),
    (lambda s, X, y: (s, X[:120], y[:120]), "X"),
    (lambda s, X, y: (s, X, y[::-1].copy()), "y"),
    (lambda s, X, y: (s.set_params(cv=3), X, y), "cv"),
    (lambda s, X, y: (s.set_params(scoring="balanced_accuracy"), X, y), "scoring"),
])
def test_checkpoint_of_another_search_is_refused(tmp_path, change, differs):
    path = tmp_path / "other.db"
    X, y = iris()
    make_search(path, n_iter=2).fit(X, y)
    search, X2, y2 = change(make_search(path, n_iter=2), X, y)
    with pytest.raises(CheckpointMismatchError, match=f"different search: .*{differs}"):
        search.fit(X2, y2)


def test_checkpoint_of_other_fit_parameters_is_refused(tmp_path):
    """Sample weights are data: resuming with other weights would mix two searches."""
    path = tmp_path / "weights.db"
    X, y = iris()
    weights = np.where(y == 0, 2.0, 1.0)
    make_search(path, n_iter=2).fit(X, y, sample_weight=weights)
    resumed = make_search(path, n_iter=2).fit(X, y, sample_weight=weights)  # same: replayed
    assert len(resumed.cv_results_["params"]) == 2
    for other in ({"sample_weight": weights[::-1].copy()}, {}):
        with pytest.raises(CheckpointMismatchError, match="different search: .*fit_params"):
            make_search(path, n_iter=2).fit(X, y, **other)


def test_newer_checkpoint_version_refused(tmp_path):
    path = tmp_path / "new.db"
    make_search(path, n_iter=2).fit(*iris())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (json.dumps(99),))
    with pytest.raises(CheckpointMismatchError, match="format version 99"):
        make_search(path, n_iter=2).fit(*iris())


def test_checkpoint_validated(tmp_path):
    with pytest.raises(ValueError, match="checkpoint"):
        make_search(checkpoint=3).fit(*iris())
