"""Fits that resume where they were killed (``FitCheckpoint``, ``checkpoint_every``).

A fit that saves its training state and is interrupted continues, when run
again, from its last state: the epochs it holds are not trained again, and
the result is the uninterrupted fit's, bit for bit on the CPU (weights,
history, predictions; a search's ``cv_results_``).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sktune import FitCheckpoint, NeuralNetClassifier, NeuralNetRegressor
from sktune.exceptions import CheckpointMismatchError

sys.path.insert(0, str(Path(__file__).parent))
from _fit_state_helpers import EpochLog, SlowEpochs, StopAt, data, make_search  # noqa: E402

HELPER = str(Path(__file__).parent / "_fit_state_helpers.py")
_TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


class _Killed(Exception):
    pass


class _KillAt(Callback):
    """Raises at the end of epoch ``k`` (before the state of that epoch is saved)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise _Killed


def _body_and_head():
    torch.manual_seed(0)
    module = torch.nn.Module()
    module.body = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.BatchNorm1d(32),
                                      torch.nn.ReLU())
    module.head = torch.nn.Linear(32, 2)
    module.forward = lambda X: module.head(module.body(X))
    return module


class _BodyHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        inner = _body_and_head()
        self.body, self.head = inner.body, inner.head

    def forward(self, X):
        return self.head(self.body(X))


_SETTINGS = {
    "plain": {},
    "early stopping, cosine, dropout": {"early_stopping": True, "n_iter_no_change": 2,
                                        "lr_schedule": "cosine", "dropout": 0.3},
    "plateau, sgd, micro-batches": {"lr_schedule": "plateau", "optimizer": "sgd",
                                    "micro_batch_size": 8},
    "pretrained, unfrozen at 3": {"module": "pretrained", "freeze": "body", "unfreeze_at": 3},
    "linear warmup per step": {"lr_schedule": "linear", "lr_schedule__warmup": 0.3},
    "pretrained, LoRA rank 2": {"module": "pretrained", "lora_rank": 2},
}


def _estimator(name, callbacks, regressor=False):
    settings = dict(_SETTINGS[name])
    if settings.get("module") == "pretrained":
        settings["module"] = _BodyHead()
    cls = NeuralNetRegressor if regressor else NeuralNetClassifier
    return cls(hidden_layer_sizes=(16,), epochs=8, batch_size=32, lr=1e-2, random_state=0,
               callbacks=callbacks, **settings)


def _same_fit(a, b):
    sa, sb = a.net_.module_.state_dict(), b.net_.module_.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    for key in ("train_loss", "valid_loss"):
        if key in a.history_[-1]:
            assert a.history_[:, key] == b.history_[:, key], key
    assert len(a.history_) == len(b.history_)


@pytest.mark.parametrize("name", list(_SETTINGS))
@pytest.mark.parametrize("kill_at", [2, 5])
def test_a_killed_fit_resumes_to_the_uninterrupted_result(tmp_path, name, kill_at):
    X, y = data()
    path = str(tmp_path / "fit.pt")
    whole = _estimator(name, []).fit(X, y)
    with pytest.raises(_Killed):
        _estimator(name, [_KillAt(kill_at), FitCheckpoint(path, every=0)]).fit(X, y)
    assert os.path.exists(path)
    log = tmp_path / "epochs"
    resumed = _estimator(name, [FitCheckpoint(path, every=0), EpochLog(str(log))]).fit(X, y)
    trained = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert trained == list(range(kill_at, len(whole.history_) + 1))  # from the saved epoch
    _same_fit(whole, resumed)
    np.testing.assert_array_equal(whole.predict_proba(X), resumed.predict_proba(X))
    assert not os.path.exists(path)  # removed once the fit ended


def test_a_regressor_with_scaled_targets_resumes(tmp_path):
    X, y = data()
    target = X[:, 0] * 5.0 + 3.0
    path = str(tmp_path / "fit.pt")
    whole = _estimator("plain", [], regressor=True).fit(X, target)
    with pytest.raises(_Killed):
        _estimator("plain", [_KillAt(4), FitCheckpoint(path, every=0)], regressor=True).fit(
            X, target)
    resumed = _estimator("plain", [FitCheckpoint(path, every=0)], regressor=True).fit(X, target)
    _same_fit(whole, resumed)


def test_states_are_saved_every_so_many_seconds_and_kept_on_request(tmp_path):
    X, y = data()
    path = str(tmp_path / "fit.pt")
    with pytest.raises(_Killed):  # nothing saved within the first hour
        _estimator("plain", [_KillAt(6), FitCheckpoint(path, every=3600)]).fit(X, y)
    assert not os.path.exists(path)
    kept = _estimator("plain", [FitCheckpoint(path, every=0, keep=True)]).fit(X, y)
    state = torch.load(path, weights_only=False)
    assert len(state["history"]) == len(kept.history_) == 8
    assert state["signature"]["epochs"] == 8 and state["signature"]["n_train"] == len(X)


def test_a_state_of_another_fit_is_refused(tmp_path):
    X, y = data()
    path = str(tmp_path / "fit.pt")
    _estimator("plain", [FitCheckpoint(path, every=0, keep=True)]).fit(X, y)
    other = _estimator("plain", [FitCheckpoint(path, every=0)]).set_params(
        hidden_layer_sizes=(32,))
    with pytest.raises(CheckpointMismatchError, match=r"saved by another fit \(weights differ"):
        other.fit(X, y)
    longer = _estimator("plain", [FitCheckpoint(path, every=0)]).set_params(epochs=9)
    with pytest.raises(CheckpointMismatchError, match="epochs differ"):
        longer.fit(X, y)


def test_a_pretrained_instance_is_never_written_by_a_resume(tmp_path):
    """Resuming loads trained weights into the fit's copy, never into the frozen
    weights it shares with the instance."""
    X, y = data()
    module = _BodyHead()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    path = str(tmp_path / "fit.pt")
    common = {"module": module, "freeze": "body", "unfreeze_at": 3, "epochs": 6,
              "random_state": 0, "lr": 0.05}
    with pytest.raises(_Killed):
        NeuralNetClassifier(**common, callbacks=[_KillAt(5), FitCheckpoint(path, every=0)]).fit(
            X, y)
    NeuralNetClassifier(**common, callbacks=[FitCheckpoint(path, every=0)]).fit(X, y)
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())


# -- searches ------------------------------------------------------------------------------
def _assert_same_results(got, expected):
    assert set(got) == set(expected)
    for key in expected:
        if key in _TIMES:
            continue
        if key == "params":
            assert got[key] == expected[key]
        else:
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), key)


def test_a_search_interrupted_mid_fit_resumes_that_fit(tmp_path):
    X, y = data()
    path = str(tmp_path / "search.db")
    flag = tmp_path / "stop"
    flag.touch()
    log = tmp_path / "epochs"
    callbacks = [StopAt(7, str(flag)), EpochLog(str(log))]
    with pytest.raises(KeyboardInterrupt):
        make_search(path, callbacks).fit(X, y)
    states = [p for p in os.listdir(path + ".fits") if p.endswith(".pt")]
    assert len(states) == 1  # the interrupted fit's
    first_run = len(log.read_text().splitlines())
    resumed = make_search(path, callbacks).fit(X, y)
    assert not os.path.exists(path + ".fits")  # removed with the search's end
    epochs = len(log.read_text().splitlines()) - first_run
    # 2 candidates x 2 folds x 12 epochs (+ the refit's 12), less the 6 saved
    assert epochs == 2 * 2 * 12 + 12 - 6
    expected = make_search(None, [EpochLog(str(tmp_path / "other"))]).fit(X, y)
    _assert_same_results(resumed.cv_results_, expected.cv_results_)


def test_a_search_without_checkpoint_every_restarts_the_fit(tmp_path):
    X, y = data()
    path = str(tmp_path / "search.db")
    flag = tmp_path / "stop"
    flag.touch()
    callbacks = [StopAt(7, str(flag))]
    with pytest.raises(KeyboardInterrupt):
        make_search(path, callbacks, every=None).fit(X, y)
    assert not os.path.exists(path + ".fits")
    resumed = make_search(path, callbacks, every=None).fit(X, y)
    expected = make_search(None, callbacks).fit(X, y)
    _assert_same_results(resumed.cv_results_, expected.cv_results_)


def test_fit_states_of_another_search_are_refused(tmp_path):
    X, y = data()
    path = str(tmp_path / "search.db")
    flag = tmp_path / "stop"
    flag.touch()
    with pytest.raises(KeyboardInterrupt):
        make_search(path, [StopAt(7, str(flag))]).fit(X, y)
    os.remove(path)  # the checkpoint is gone, its fits' states are not
    with pytest.raises(CheckpointMismatchError, match=r"fit states in .* different search"):
        make_search(path, [StopAt(7, str(flag))], epochs=13).fit(X, y)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_search_killed_mid_fit_with_kill_9_resumes(tmp_path, n_jobs):
    path = str(tmp_path / "search.db")
    log = tmp_path / "epochs"
    proc = subprocess.Popen([sys.executable, HELPER, path, str(log), str(n_jobs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SKTUNE_TEST_EPOCH_SLEEP": "0.2"})
    folder = path + ".fits"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            lines = log.read_text().splitlines() if log.exists() else []
            if len(lines) >= 8 * n_jobs:  # in the first fits' epochs 8-9 (0.2 s each)
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert [p for p in os.listdir(folder) if p.endswith(".pt")]
    killed_epochs = len(log.read_text().splitlines())
    callbacks = [EpochLog(str(log)), SlowEpochs()]  # not slowed down here
    resumed = make_search(path, callbacks, epochs=20, n_jobs=n_jobs).fit(*data())
    if n_jobs == 1:
        redone = len(log.read_text().splitlines()) - killed_epochs
        # 2 candidates x 2 folds x 20 epochs and the refit's 20, less what the killed
        # run finished and saved (every epoch): at most one epoch is trained again
        assert 2 * 2 * 20 + 20 - killed_epochs <= redone <= 2 * 2 * 20 + 20 - killed_epochs + 1
    # (with n_jobs=2 the killed search's workers may finish their fits after it died)
    expected = make_search(None, callbacks, epochs=20).fit(*data())
    _assert_same_results(resumed.cv_results_, expected.cv_results_)


def test_a_hyperband_search_interrupted_mid_fit_resumes(tmp_path):
    from sktune import HyperbandSearchCV
    from sktune.space import Real

    X, y = data()
    path = str(tmp_path / "search.db")
    flag = tmp_path / "stop"
    flag.touch()

    def search(checkpoint):
        net = NeuralNetClassifier(hidden_layer_sizes=(16,), batch_size=32, dropout=0.2,
                                  random_state=0, callbacks=[StopAt(5, str(flag))])
        return HyperbandSearchCV(net, {"lr": Real(1e-3, 1e-1, prior="log-uniform")},
                                 max_epochs=9, factor=3, n_brackets=1, cv=2, random_state=0,
                                 checkpoint=checkpoint, checkpoint_every=0)

    with pytest.raises(KeyboardInterrupt):
        search(path).fit(X, y)
    assert [p for p in os.listdir(path + ".fits") if p.endswith(".pt")]
    resumed = search(path).fit(X, y)
    expected = search(None).fit(X, y)
    _assert_same_results(resumed.cv_results_, expected.cv_results_)


def test_a_state_cut_short_is_no_state(tmp_path):
    """A state the disk did not get whole (power loss: states are not fsync-ed) is
    ignored with a warning: the fit starts again and ends as an uninterrupted one."""
    X, y = data()
    path = tmp_path / "fit.pt"
    _estimator("plain", [FitCheckpoint(str(path), every=0, keep=True)]).fit(X, y)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(RuntimeWarning, match="cannot be read.*starts from the beginning"):
        again = _estimator("plain", [FitCheckpoint(str(path), every=0)]).fit(X, y)
    _same_fit(_estimator("plain", []).fit(X, y), again)


def test_slow_saves_are_spaced_out(tmp_path, monkeypatch):
    """Saving takes at most 5 % of a fit: after a save of s seconds the next one
    waits 19 s, whatever `every` says."""
    from sktune.nets import _fit_state

    saves = []
    real_save = _fit_state.save_state

    def slow_save(net, target, path):
        saves.append(len(net.history))
        real_save(net, target, path)
        time.sleep(0.05)  # a save of ~0.05 s: the next waits ~0.95 s

    monkeypatch.setattr(_fit_state, "save_state", slow_save)
    monkeypatch.setattr(_fit_state, "_last_save_seconds", 0.0)  # no save yet in this process

    class _Tick(Callback):
        def on_epoch_end(self, net, **kwargs):
            time.sleep(0.2)

    X, y = data()
    _estimator("plain", [_Tick(), FitCheckpoint(str(tmp_path / "fit.pt"), every=0.01)]).fit(X, y)
    # 8 epochs of >= 0.2 s: saved after epoch 1, then every 5th epoch at most
    assert saves[0] == 1 and all(b - a >= 4 for a, b in zip(saves, saves[1:])), saves
    # the next fit in this process waits for its first save too (a search's fits
    # save states of one size)
    saves.clear()
    _estimator("plain", [_Tick(), FitCheckpoint(str(tmp_path / "fit2.pt"), every=0.01)]).fit(X, y)
    assert saves and saves[0] >= 4, saves
