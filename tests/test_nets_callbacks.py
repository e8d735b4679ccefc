"""skorch callbacks given through ``callbacks=`` (and the lean/non-lean training loops)."""

import json

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, EpochScoring, GradientNormClipping

from sktune import NeuralNetClassifier, NeuralNetRegressor


def _fast(cls=NeuralNetClassifier, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


class BatchCounter(Callback):
    def initialize(self):
        self.train_batches_, self.valid_batches_, self.sizes_ = 0, 0, []
        self.epochs_ = 0
        return self

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.train_batches_ += 1
            self.sizes_.append(len(batch[0]))
        else:
            self.valid_batches_ += 1

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


class GradNormRecorder(Callback):
    def initialize(self):
        self.norms_ = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms_.append(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())


class InitialWeights(Callback):
    def on_train_begin(self, net, **kwargs):
        self.state_ = {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_epoch_scoring_on_train(binary_data):
    X, y = binary_data
    est = _fast(epochs=3, callbacks=[
        EpochScoring("accuracy", on_train=True, name="train_acc", lower_is_better=False)])
    est.fit(X, y)
    acc = est.history_[:, "train_acc"]
    assert len(acc) == 3 and all(0 <= a <= 1 for a in acc)
    assert acc[-1] > 0.6


def test_epoch_scoring_on_validation_is_correct(binary_data):
    X, y = binary_data
    est = _fast(epochs=2, validation_fraction=0.25, callbacks=[
        ("bal_acc", EpochScoring("balanced_accuracy", name="valid_bal_acc",
                                 lower_is_better=False))])
    est.fit(X, y)
    from sklearn.metrics import balanced_accuracy_score
    valid = est.net_.train_split.keywords["valid_ds"]
    expected = balanced_accuracy_score(valid.y.numpy(), est.predict(valid.X.numpy()))
    assert est.history_[-1, "valid_bal_acc"] == pytest.approx(expected)


def test_checkpoint_writes_files(binary_data, tmp_path):
    X, y = binary_data
    est = _fast(epochs=3, validation_fraction=0.2,
                callbacks=[Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")])
    est.fit(X, y)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"params.pt", "optimizer.pt", "history.json"} <= names
    with open(tmp_path / "history.json") as f:
        history = json.load(f)
    best = int(np.argmin(est.history_[:, "valid_loss"]))
    assert len(history) == best + 1  # written last at the best epoch
    saved = torch.load(tmp_path / "params.pt")
    assert saved.keys() == est.module_.state_dict().keys()
    assert any(event for event in est.history_[:, "event_cp"])


def test_checkpoint_every_epoch_saves_final_weights(binary_data, tmp_path):
    X, y = binary_data
    est = _fast(epochs=2, callbacks=[Checkpoint(dirname=str(tmp_path), monitor=None)])
    est.fit(X, y)
    saved = torch.load(tmp_path / "params.pt")
    for key, value in est.module_.state_dict().items():
        assert torch.equal(saved[key], value)


def test_custom_batch_callback_called_once_per_batch(binary_data):
    X, y = binary_data
    counter = BatchCounter()
    est = _fast(epochs=3, batch_size=48, callbacks=[counter]).fit(X, y)
    assert est.net_.batch_hooks_  # the non-lean loop
    assert counter.train_batches_ == 3 * 5  # ceil(200 / 48) = 5 batches per epoch
    assert counter.sizes_[:5] == [40, 40, 40, 40, 40]  # spread evenly
    assert counter.valid_batches_ == 0
    assert counter.epochs_ == 3


def test_custom_batch_callback_with_validation(binary_data):
    X, y = binary_data
    counter = BatchCounter()
    _fast(epochs=2, batch_size=50, validation_fraction=0.2, callbacks=[counter]).fit(X, y)
    assert counter.train_batches_ == 2 * 4  # 160 training rows
    assert counter.valid_batches_ == 2 * 1  # 40 validation rows in one inference batch


@pytest.mark.parametrize("params", [dict(), dict(dropout=0.3, optimizer="sgd"),
                                    dict(penalty="l1", alpha=1e-3)])
def test_lean_and_callback_loops_train_identically(params, binary_data):
    X, y = binary_data
    lean = _fast(**params).fit(X, y)
    assert not lean.net_.batch_hooks_
    hooked = _fast(callbacks=[BatchCounter()], **params).fit(X, y)
    np.testing.assert_array_equal(lean.predict_proba(X), hooked.predict_proba(X))
    assert lean.history_[:, "train_loss"] == hooked.history_[:, "train_loss"]


def test_gradient_norm_clipping(binary_data):
    X, y = binary_data
    recorder = GradNormRecorder()
    initial = InitialWeights()
    est = _fast(optimizer="sgd", momentum=0.0, lr=0.5, epochs=2, penalty=None, callbacks=[
        initial, GradientNormClipping(gradient_clip_value=1e-6), recorder])
    est.fit(X, y)
    assert len(recorder.norms_) == 2 * 7
    assert max(recorder.norms_) <= 1e-6 * (1 + 1e-4)
    # so the weights barely moved: 14 steps of at most lr * 1e-6
    for key, value in est.module_.state_dict().items():
        assert (value - initial.state_[key]).abs().max().item() <= 14 * 0.5 * 1e-6 * 1.01
    # without clipping the gradients are much larger and the weights move
    free = GradNormRecorder()
    _fast(optimizer="sgd", momentum=0.0, lr=0.5, epochs=2, callbacks=[free]).fit(X, y)
    assert min(free.norms_) > 1e-3


def test_callbacks_work_for_regressor(regression_data):
    X, y = regression_data
    counter = BatchCounter()
    est = _fast(NeuralNetRegressor, epochs=2, callbacks=[
        counter, EpochScoring("neg_mean_squared_error", on_train=True, name="train_nmse")])
    est.fit(X, y)
    assert counter.train_batches_ == 2 * 10
    assert len(est.history_[:, "train_nmse"]) == 2


def test_named_callback_pairs_are_accessible(binary_data):
    X, y = binary_data
    counter = BatchCounter()
    est = _fast(callbacks=[("counter", counter)]).fit(X, y)
    assert dict(est.net_.callbacks_)["counter"] is counter


def test_verbose_prints_epoch_table(binary_data, capsys):
    X, y = binary_data
    _fast(epochs=2, verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""
    _fast(epochs=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("1", "2"))]) == 2


@pytest.mark.parametrize("params", [dict(validation_fraction=0.2),
                                    dict(early_stopping=True, n_iter_no_change=5)])
def test_validation_scoring_keeps_the_lean_training_loop(params, binary_data):
    # The built-in validation score only listens to validation batches, so the
    # training batches can still take the lean loop; results are the same either way.
    X, y = binary_data
    est = _fast(epochs=2, **params).fit(X, y)
    assert not est.net_.batch_hooks_
    hooked = _fast(epochs=2, callbacks=[BatchCounter()], **params).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), hooked.predict_proba(X))
    assert est.history_[:, "valid_acc"] == hooked.history_[:, "valid_acc"]
