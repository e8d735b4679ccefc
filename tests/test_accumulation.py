"""Gradient accumulation (``micro_batch_size``) and the out-of-memory retry.

A batch run as micro-batches makes the same optimiser step as the whole batch
(float round-off apart) whatever else the step has: sample weights,
penalties, clipping, a summing criterion, the '16' gradient scaler, skorch's
own loop; a step that runs out of device memory is retried with micro-batches
of half the size (an injected ``torch.OutOfMemoryError`` stands for CUDA's).
"""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from sklearn.utils._param_validation import InvalidParameterError

from sktune import BayesSearchCV, NeuralNetClassifier, NeuralNetRegressor
from sktune.nets._accumulation import halved, micro_batches, slice_batch
from sktune.nets._data import attach_weights, batch_weights
from sktune.space import Real


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 12)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.7).astype(int)
    return X, y


def _weights(est):
    return {k: v.detach().clone() for k, v in est.net_.module_.state_dict().items()}


def _max_difference(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


class _Sizes(Callback):
    """Records the sizes of the batches the module sees in training (a forward hook)."""

    def __init__(self):
        self.sizes = []

    def on_train_begin(self, net, **kwargs):
        net.module_.register_forward_hook(
            lambda m, args, out: self.sizes.append(len(args[0])) if m.training else None)


_SETTINGS = {
    "plain": {},
    "weighted": {"sample_weight": True},
    "l1 penalty": {"penalty": "l1", "alpha": 1e-3},
    "adamw l2 in the loss": {"optimizer": "adamw", "alpha": 1e-2},
    "clipped": {"max_grad_norm": 0.05},
    "sum criterion": {"criterion__reduction": "sum", "lr": 1e-4},
    "float16 scaler": {"precision": "16"},
    "cosine schedule": {"lr_schedule": "cosine"},
}


@pytest.mark.parametrize("name", list(_SETTINGS))
def test_micro_batches_make_the_step_of_the_whole_batch(data, name):
    X, y = data
    settings = dict(_SETTINGS[name])
    fit_kwargs = {}
    if settings.pop("sample_weight", False):
        fit_kwargs["sample_weight"] = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    common = {"hidden_layer_sizes": (32,), "batch_size": 64, "epochs": 2, "lr": 1e-2,
              "random_state": 0, **settings}
    if name == "float16 scaler":
        try:
            whole = NeuralNetClassifier(**common).fit(X, y, **fit_kwargs)
        except (RuntimeError, ValueError) as exc:  # a torch build without CPU float16
            pytest.skip(f"precision='16' unavailable here: {exc}")
    else:
        whole = NeuralNetClassifier(**common).fit(X, y, **fit_kwargs)
    sizes = _Sizes()
    split = NeuralNetClassifier(**common, micro_batch_size=16,
                                callbacks=[sizes]).fit(X, y, **fit_kwargs)
    assert sizes.sizes[:4] == [16, 16, 16, 16] and len(sizes.sizes) == 2 * 16
    tolerance = 2e-3 if name == "float16 scaler" else 2e-6
    assert _max_difference(_weights(whole), _weights(split)) < tolerance
    # one optimiser step, one recorded loss per batch of 64, not per micro-batch
    assert len(split.history_[-1, "batches"]) == len(whole.history_[-1, "batches"]) == 4
    np.testing.assert_allclose(split.history_[:, "train_loss"], whole.history_[:, "train_loss"],
                               rtol=1e-3 if name == "float16 scaler" else 1e-5)
    steps = {int(s["step"]) for s in split.net_.optimizer_.state.values()}
    assert steps == {2 * 4}


def test_micro_batches_in_skorchs_own_loop_and_for_a_regressor(data):
    """A callback with batch hooks takes skorch's loop; the regressor scales its
    targets and records its loss in their units: both accumulate the same."""
    X, y = data
    target = X[:, 0] * 3.0 + 10.0

    class _OnBatch(Callback):
        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            if training:
                net._batches_seen = getattr(net, "_batches_seen", 0) + 1

    common = {"hidden_layer_sizes": (16,), "batch_size": 50, "epochs": 2, "random_state": 0}
    whole = NeuralNetRegressor(**common, callbacks=[_OnBatch()]).fit(X, target)
    split = NeuralNetRegressor(**common, micro_batch_size=20, callbacks=[_OnBatch()]).fit(X, target)
    assert split.net_._batches_seen == 2 * 6  # per batch of 50, not per micro-batch
    assert _max_difference(_weights(whole), _weights(split)) < 2e-6
    np.testing.assert_allclose(split.history_[:, "train_loss"], whole.history_[:, "train_loss"],
                               rtol=1e-5)


def test_batchnorm_normalises_each_micro_batch_by_its_own_statistics(data):
    """The documented exception: batch statistics differ, so the weights do."""
    X, y = data
    module = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.BatchNorm1d(16),
                                 torch.nn.ReLU(), torch.nn.Linear(16, 3))
    common = {"module": module, "batch_size": 64, "epochs": 1, "random_state": 0}
    whole = NeuralNetClassifier(**common).fit(X, y)
    split = NeuralNetClassifier(**common, micro_batch_size=16).fit(X, y)
    assert _max_difference(_weights(whole), _weights(split)) > 1e-4


def test_micro_batch_size_errors(data):
    X, y = data
    with pytest.raises(ValueError, match=r"micro_batch_size=128 is larger than batch_size=64"):
        NeuralNetClassifier(batch_size=64, micro_batch_size=128).fit(X, y)
    with pytest.raises(InvalidParameterError, match="micro_batch_size"):
        NeuralNetClassifier(micro_batch_size=0).fit(X, y)
    equal = NeuralNetClassifier(batch_size=64, micro_batch_size=64, epochs=1,
                                random_state=0).fit(X, y)
    assert equal.net_.micro_batch_size_ == 64


def test_cutting_a_batch_keeps_its_weights_and_its_containers():
    X = torch.arange(10.0).reshape(5, 2)
    y = attach_weights(torch.arange(5), torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    parts = micro_batches({"ids": X, "mask": X > 2}, y, 2)
    assert [len(p[0]["ids"]) for p in parts] == [2, 2, 1]
    assert [p[2] for p in parts] == [0.4, 0.4, 0.2]
    assert batch_weights(parts[1][1]).tolist() == [3.0, 4.0]
    assert torch.equal(parts[2][0]["mask"], torch.tensor([[True, True]]))
    assert slice_batch((X, X), 1, 2)[1].tolist() == [[2.0, 3.0]]
    assert micro_batches(X, y, None) == [(X, y, 1.0)]
    with pytest.raises(TypeError, match="micro_batch_size cuts batches of tensors"):
        micro_batches("text", None, 2)
    assert [halved(None, 64), halved(40, 64), halved(100, 64), halved(1, 64)] == [32, 20, 32, None]


# -- out of memory ------------------------------------------------------------------------
class _RunsOutAbove(torch.nn.Module):
    """An MLP whose training forward raises torch's out-of-memory error on more
    than ``limit`` samples (as CUDA would on a batch too large for the GPU)."""

    def __init__(self, limit, n_features=12, n_outputs=3):
        super().__init__()
        self.limit = limit
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.Linear(n_features, 16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, n_outputs)

    def forward(self, X):
        hidden = self.body(X)
        if self.training and len(X) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.head(hidden)


def test_a_step_out_of_memory_is_retried_with_half_the_micro_batch(data):
    X, y = data
    common = {"batch_size": 64, "epochs": 2, "random_state": 0}
    with pytest.warns(ResourceWarning, match=r"micro-batches of 16 samples.*batch_size keeps"):
        retried = NeuralNetClassifier(module=_RunsOutAbove(20), **common).fit(X, y)
    assert retried.net_.micro_batch_size_ == 16  # 64 -> 32 -> 16, then kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no retry when the size fits from the start
        planned = NeuralNetClassifier(module=_RunsOutAbove(20), micro_batch_size=16,
                                      **common).fit(X, y)
    assert _max_difference(_weights(retried), _weights(planned)) == 0.0
    assert len(retried.history_) == 2 and np.isfinite(retried.history_[:, "train_loss"]).all()


def test_a_network_that_never_fits_still_fails_with_a_clear_error(data):
    X, y = data
    with pytest.raises(torch.OutOfMemoryError, match="one sample"):
        NeuralNetClassifier(module=_RunsOutAbove(0), batch_size=8, epochs=1,
                            random_state=0).fit(X, y)


def test_a_search_keeps_the_candidate_that_ran_out_of_memory(data):
    X, y = data
    net = NeuralNetClassifier(module=_RunsOutAbove(20), batch_size=64, epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        search = BayesSearchCV(net, {"lr": Real(1e-3, 1e-1, prior="log-uniform")}, n_iter=2,
                               cv=2, random_state=0).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.net_.micro_batch_size_ == 16
