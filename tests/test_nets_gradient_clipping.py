"""max_grad_norm: gradients clipped to a global L2 norm before each optimiser step."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from skorch.callbacks import Callback

from sktune import NeuralNetClassifier


class ListensToBatches(Callback):
    """Any batch hook sends training through skorch's own per-batch loop."""

    def on_batch_end(self, net, **kwargs):
        pass


def _step_norm(binary_data, **params):
    """The L2 norm of the change of all weights after one full-batch SGD step, lr=1."""
    X, y = binary_data
    clf = NeuralNetClassifier(hidden_layer_sizes=(16,), optimizer="sgd", momentum=0.0, lr=1.0,
                              penalty=None, epochs=1, batch_size=len(X), random_state=0,
                              **params)
    start = NeuralNetClassifier(**{**clf.get_params(), "epochs": 1, "lr": 1e-30}).fit(X, y)
    before = torch.cat([p.detach().flatten() for p in start.module_.parameters()])
    after = torch.cat([p.detach().flatten() for p in clf.fit(X, y).module_.parameters()])
    return float((after - before).norm())


@pytest.mark.parametrize("skorch_loop", [False, True], ids=["lean loop", "skorch loop"])
def test_the_step_is_the_gradient_clipped_to_max_grad_norm(binary_data, skorch_loop):
    extra = {"callbacks": [ListensToBatches()]} if skorch_loop else {}
    raw = _step_norm(binary_data, **extra)
    assert raw > 0.05
    clipped = _step_norm(binary_data, max_grad_norm=raw / 4, **extra)
    assert clipped == pytest.approx(raw / 4, rel=1e-4)
    assert _step_norm(binary_data, max_grad_norm=10 * raw, **extra) == pytest.approx(raw,
                                                                                     rel=1e-6)


def test_off_by_default_and_a_loose_bound_changes_nothing(binary_data):
    X, y = binary_data
    common = dict(hidden_layer_sizes=(8,), epochs=3, lr=0.01, random_state=0)
    plain = NeuralNetClassifier(**common).fit(X, y)
    for off in (None, 0, 0.0):
        same = NeuralNetClassifier(max_grad_norm=off, **common).fit(X, y)
        assert_array_equal(same.predict_proba(X), plain.predict_proba(X))
    loose = NeuralNetClassifier(max_grad_norm=1e9, **common).fit(X, y)
    assert_array_equal(loose.history_[:, "train_loss"], plain.history_[:, "train_loss"])
    tight = NeuralNetClassifier(max_grad_norm=1e-3, **common).fit(X, y)
    assert not np.array_equal(tight.history_[:, "train_loss"], plain.history_[:, "train_loss"])


def test_a_negative_bound_is_refused_at_fit(binary_data):
    X, y = binary_data
    clf = NeuralNetClassifier(max_grad_norm=-1.0)  # stored as given
    with pytest.raises(ValueError, match="max_grad_norm"):
        clf.fit(X, y)
