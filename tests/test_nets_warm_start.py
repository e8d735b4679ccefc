"""Continued training: partial_fit and warm_start."""

import numpy as np
import pytest
import torch

from sktune import NeuralNetClassifier, NeuralNetRegressor


def _fast(cls=NeuralNetClassifier, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def _state(est):
    return {k: v.detach().clone() for k, v in est.module_.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_partial_fit_continues_training(binary_data):
    X, y = binary_data
    est = _fast(epochs=2).fit(X, y)
    module, optimizer = est.module_, est.net_.optimizer_
    before = _state(est)
    est.partial_fit(X, y)
    assert est.n_iter_ == 3 and len(est.history_) == 3
    assert est.module_ is module and est.net_.optimizer_ is optimizer  # not re-initialised
    after = _state(est)
    assert not _same(before, after)
    # one more epoch moved the weights by a training step, not to a fresh draw
    drift = max((after[k] - before[k]).abs().max().item() for k in before)
    fresh = _fast(epochs=1, random_state=1).fit(X, y)
    jump = max((_state(fresh)[k] - before[k]).abs().max().item() for k in before)
    assert drift < jump
    est.partial_fit(X, y, epochs=3)
    assert est.n_iter_ == 6
    assert est.history_[:, "epoch"] == [1, 2, 3, 4, 5, 6]
    # the optimiser state carried over (Adam's step counter)
    steps = [s["step"] for s in est.net_.optimizer_.state.values()]
    assert all(float(s) == 6 * 7 for s in steps)  # 7 batches of 32 out of 200 rows


def test_partial_fit_first_call_initialises(binary_data):
    X, y = binary_data
    est = _fast().partial_fit(X, y)
    assert est.n_iter_ == 1
    np.testing.assert_array_equal(est.classes_, [0, 1])
    est2 = _fast().partial_fit(X, y, epochs=2)
    assert est2.n_iter_ == 2


@pytest.mark.parametrize("cls", [NeuralNetClassifier, NeuralNetRegressor])
@pytest.mark.parametrize("params", [
    dict(),
    dict(optimizer="sgd", momentum=0.9, dropout=0.3),
    dict(validation_fraction=0.2),
])
def test_fit_then_partial_fit_equals_one_fit(cls, params, binary_data, regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    whole = _fast(cls, epochs=5, **params).fit(X, y)
    parts = _fast(cls, epochs=2, **params).fit(X, y).partial_fit(X, y, epochs=3)
    assert parts.n_iter_ == 5
    assert _same(_state(whole), _state(parts))
    assert whole.history_[:, "train_loss"] == parts.history_[:, "train_loss"]
    np.testing.assert_array_equal(whole.predict(X), parts.predict(X))


def test_repeated_partial_fit_equals_one_fit(binary_data):
    X, y = binary_data
    whole = _fast(epochs=4, dropout=0.2).fit(X, y)
    parts = _fast(dropout=0.2)
    for _ in range(4):
        parts.partial_fit(X, y)
    np.testing.assert_array_equal(whole.predict_proba(X), parts.predict_proba(X))


def test_warm_start_second_fit_continues(binary_data):
    X, y = binary_data
    est = _fast(epochs=2, warm_start=True).fit(X, y)
    module = est.module_
    before = _state(est)
    est.fit(X, y)
    assert est.n_iter_ == 4
    assert est.module_ is module
    assert not _same(before, _state(est))
    whole = _fast(epochs=4).fit(X, y)
    np.testing.assert_array_equal(whole.predict_proba(X), est.predict_proba(X))


def test_without_warm_start_fit_starts_over(binary_data):
    X, y = binary_data
    est = _fast(epochs=2).fit(X, y)
    first = est.predict_proba(X)
    module = est.module_
    est.fit(X, y)
    assert est.n_iter_ == 2 and est.module_ is not module
    np.testing.assert_array_equal(first, est.predict_proba(X))


def test_switching_warm_start_on_after_fit(binary_data):
    X, y = binary_data
    est = _fast(epochs=2).fit(X, y)
    est.set_params(warm_start=True, epochs=1)
    est.fit(X, y)
    assert est.n_iter_ == 3


def test_partial_fit_with_different_n_features_raises(binary_data):
    X, y = binary_data
    est = _fast().fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        est.partial_fit(X[:, :5], y)
    assert est.n_iter_ == 3


def test_warm_start_with_different_n_features_raises(binary_data):
    X, y = binary_data
    est = _fast(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.fit(X[:, :5], y)


def test_partial_fit_classes_declared_up_front(binary_data):
    X, y = binary_data
    labels = np.array(["a", "b", "c"])
    est = _fast().partial_fit(X[:100], labels[y[:100]], classes=labels)
    np.testing.assert_array_equal(est.classes_, labels)
    assert est.predict_proba(X).shape == (200, 3)
    # a later batch with the third class is fine
    y2 = labels[y[100:]].copy()
    y2[:5] = "c"
    est.partial_fit(X[100:], y2)
    assert est.n_iter_ == 2


def test_partial_fit_unseen_label_raises(binary_data):
    X, y = binary_data
    est = _fast().partial_fit(X, y, classes=[0, 1])
    y_bad = y.copy()
    y_bad[:3] = 7
    with pytest.raises(ValueError, match=r"\[7\]"):
        est.partial_fit(X, y_bad)
    assert est.n_iter_ == 1
    # inferred classes behave the same
    est = _fast().fit(X, y)
    with pytest.raises(ValueError, match="not in classes_"):
        est.partial_fit(X, y_bad)


def test_partial_fit_classes_must_cover_y(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="not in classes_"):
        _fast().partial_fit(X, y, classes=[0, 2])  # y has 1 too
