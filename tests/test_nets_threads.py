"""torch intra-op threads during fit/predict: one by default, explicit settings win."""

import pytest
import torch
from skorch.callbacks import Callback

from sktune import NeuralNetClassifier


class _RecordThreads(Callback):
    def on_epoch_begin(self, net, **kwargs):
        net.history.record("threads", torch.get_num_threads())


def _threads_seen(binary_data, **params):
    X, y = binary_data
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0,
                              callbacks=[_RecordThreads()], **params).fit(X, y)
    return set(clf.history_[:, "threads"])


@pytest.fixture
def two_threads_outside():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_default_is_one_thread_and_caller_setting_is_restored(binary_data, two_threads_outside,
                                                              monkeypatch):
    monkeypatch.delenv("SKTUNE_TORCH_THREADS", raising=False)
    assert _threads_seen(binary_data) == {1}
    assert torch.get_num_threads() == 2


def test_explicit_parameter_wins(binary_data, monkeypatch):
    monkeypatch.setenv("SKTUNE_TORCH_THREADS", "1")
    assert _threads_seen(binary_data, torch_threads=2) == {2}


def test_environment_variable_sets_the_default(binary_data, monkeypatch):
    monkeypatch.setenv("SKTUNE_TORCH_THREADS", "2")
    assert _threads_seen(binary_data) == {2}


def test_minus_one_leaves_torch_setting(binary_data, two_threads_outside, monkeypatch):
    monkeypatch.delenv("SKTUNE_TORCH_THREADS", raising=False)
    assert _threads_seen(binary_data, torch_threads=-1) == {2}


@pytest.mark.parametrize("value", ["0", "many", "-3"])
def test_bad_environment_variable_is_a_clear_error(binary_data, monkeypatch, value):
    monkeypatch.setenv("SKTUNE_TORCH_THREADS", value)
    with pytest.raises(ValueError, match="SKTUNE_TORCH_THREADS"):
        _threads_seen(binary_data)


@pytest.mark.parametrize("value", [0, -2, 1.5, "4"])
def test_bad_parameter_is_rejected_at_fit(binary_data, value):
    with pytest.raises(ValueError, match="torch_threads"):
        _threads_seen(binary_data, torch_threads=value)
