"""Optimisers, weight penalties and learning-rate schedules."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import LRScheduler

from sktune import NeuralNetClassifier, NeuralNetRegressor


def _fast(cls=NeuralNetClassifier, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=3, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def _weights(est):
    return torch.cat([p.detach().ravel() for p in est.net_.penalized_parameters()]).numpy()


def _biases(est):
    return [p.detach().numpy().copy() for n, p in est.module_.named_parameters()
            if n.endswith("bias")]


class PlainGD(torch.optim.Optimizer):
    """A user optimiser written from scratch: w -= lr * grad."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        return loss


class SGDSubclass(torch.optim.SGD):
    """A user subclass of SGD, same signature: sktune adds L2 to the loss for it."""


class SGDOwnSignature(torch.optim.SGD):
    """A user subclass of SGD whose constructor takes only its own arguments."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr=lr, momentum=momentum)


# -- optimisers ---------------------------------------------------------------------
@pytest.mark.parametrize("name, lr", [("sgd", 0.05), ("adam", 1e-2), ("adamw", 1e-2),
                                      ("rmsprop", 1e-3), ("adagrad", 0.05)])
def test_each_named_optimizer_trains(name, lr, binary_data):
    X, y = binary_data
    est = _fast(optimizer=name, lr=lr, epochs=5).fit(X, y)
    expected = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
                "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[name]
    assert type(est.net_.optimizer_) is expected
    assert all(g["lr"] == lr for g in est.net_.optimizer_.param_groups)
    losses = est.history_[:, "train_loss"]
    assert losses[-1] < losses[0]
    assert est.score(X, y) > 0.7


@pytest.mark.parametrize("name", ["sgd", "rmsprop"])
def test_momentum_reaches_the_optimizer(name, binary_data):
    X, y = binary_data
    est = _fast(optimizer=name, momentum=0.37, epochs=1).fit(X, y)
    assert all(g["momentum"] == 0.37 for g in est.net_.optimizer_.param_groups)


def test_momentum_changes_sgd_training(binary_data):
    X, y = binary_data
    a = _fast(optimizer="sgd", momentum=0.0).fit(X, y)
    b = _fast(optimizer="sgd", momentum=0.9).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_custom_optimizer_class(binary_data):
    X, y = binary_data
    est = _fast(optimizer=PlainGD, lr=0.1, epochs=5).fit(X, y)
    assert type(est.net_.optimizer_) is PlainGD
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.1
    losses = est.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_custom_optimizer_routed_args(binary_data):
    X, y = binary_data
    est = _fast(optimizer=PlainGD, optimizer__lr=0.2, epochs=1).fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.2


def test_custom_optimizer_subclass_with_own_signature(binary_data):
    # A subclass of a built-in optimiser with its own constructor must work: sktune
    # must not pass it arguments (fused=...) the user did not ask for.
    X, y = binary_data
    est = _fast(optimizer=SGDOwnSignature, optimizer__momentum=0.5, lr=0.05, epochs=3)
    est.fit(X, y)
    assert type(est.net_.optimizer_) is SGDOwnSignature
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.5


def test_optimizer_betas_routed(binary_data):
    X, y = binary_data
    est = _fast(optimizer="adam", optimizer__betas=(0.8, 0.95), epochs=1).fit(X, y)
    assert all(g["betas"] == (0.8, 0.95) for g in est.net_.optimizer_.param_groups)
    ref = _fast(optimizer="adam", epochs=1).fit(X, y)
    assert ref.net_.optimizer_.param_groups[0]["betas"] == (0.9, 0.999)
    assert not np.array_equal(est.predict_proba(X), ref.predict_proba(X))


def test_optimizer_foreach_routed_instead_of_fused(binary_data):
    X, y = binary_data
    est = _fast(optimizer="adam", optimizer__foreach=True, epochs=1).fit(X, y)
    group = est.net_.optimizer_.param_groups[0]
    assert group["foreach"] is True and not group["fused"]
    fused = _fast(optimizer="adam", epochs=1).fit(X, y)
    # the fused and foreach kernels perform the same update
    np.testing.assert_allclose(est.predict_proba(X), fused.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_optimizer_weight_decay_routed(name, binary_data):
    # optimizer__<arg> parameters are passed to the optimiser: an explicit
    # weight_decay must not be silently replaced by 0
    X, y = binary_data
    est = _fast(optimizer=name, optimizer__weight_decay=0.05, penalty=None, epochs=1)
    est.fit(X, y)
    decays = [g["weight_decay"] for g in est.net_.optimizer_.param_groups]
    assert 0.05 in decays, decays


def test_optimizer_lr_override_routed(binary_data):
    X, y = binary_data
    est = _fast(optimizer="sgd", lr=0.1, optimizer__lr=0.02, epochs=1).fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.02


# -- penalties -------------------------------------------------------------------------
@pytest.mark.parametrize("penalty, l1, l2", [
    (None, 0.0, 0.0), ("l2", 0.0, 0.01), ("l1", 0.01, 0.0), ("elasticnet", 0.003, 0.007),
])
def test_penalty_coefficients_follow_sklearn(penalty, l1, l2, binary_data):
    X, y = binary_data
    coupled = _fast(optimizer="sgd", penalty=penalty, alpha=0.01, l1_ratio=0.3,
                    epochs=1).fit(X, y).net_
    assert coupled.l1_penalty == pytest.approx(l1)
    assert coupled.weight_decay == pytest.approx(l2) and coupled.l2_in_loss == 0
    decoupled = _fast(optimizer="adamw", penalty=penalty, alpha=0.01, l1_ratio=0.3,
                      epochs=1).fit(X, y).net_
    assert decoupled.l2_in_loss == pytest.approx(l2) and decoupled.weight_decay == 0


def test_l2_weight_decay_equals_l2_in_loss(binary_data):
    X, y = binary_data
    kw = dict(penalty="l2", alpha=0.05, lr=0.05, epochs=5, hidden_layer_sizes=(16,))
    via_decay = _fast(optimizer="sgd", momentum=0.0, **kw).fit(X, y)
    via_loss = _fast(optimizer=SGDSubclass, **kw).fit(X, y)
    # the two really go through different paths
    assert via_decay.net_.weight_decay == 0.05 and via_decay.net_.l2_in_loss == 0
    assert via_loss.net_.weight_decay == 0 and via_loss.net_.l2_in_loss == 0.05
    a, b = via_decay.module_.state_dict(), via_loss.module_.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    # and the penalty does something: without it the weights differ
    free = _fast(optimizer="sgd", momentum=0.0, **{**kw, "penalty": None}).fit(X, y)
    assert not np.allclose(_weights(free), _weights(via_decay), atol=1e-3)
    assert np.linalg.norm(_weights(via_decay)) < np.linalg.norm(_weights(free))


def test_penalty_groups_only_weights(binary_data):
    X, y = binary_data
    est = _fast(optimizer="sgd", alpha=0.01, hidden_layer_sizes=(8, 4), epochs=1).fit(X, y)
    penalized, free = est.net_.optimizer_.param_groups
    assert penalized["weight_decay"] == 0.01 and free["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in penalized["params"]) and len(penalized["params"]) == 3
    assert all(p.ndim == 1 for p in free["params"]) and len(free["params"]) == 3


@pytest.mark.parametrize("optimizer", ["sgd", SGDSubclass])  # decay and in-loss paths
def test_huge_penalty_shrinks_weights_but_not_biases(optimizer, binary_data):
    X, y = make_classification(n_samples=200, n_features=8, weights=[0.8, 0.2], flip_y=0,
                               random_state=0)
    est = _fast(optimizer=optimizer, penalty="l2", alpha=10.0, lr=0.05, epochs=10,
                **({"momentum": 0.0} if optimizer == "sgd" else {})).fit(X, y)
    # the weights sit at the tiny balance |w| = |data gradient| / alpha ...
    assert np.abs(_weights(est)).max() < 0.01
    free = _fast(optimizer=optimizer, penalty=None, lr=0.05, epochs=10,
                 **({"momentum": 0.0} if optimizer == "sgd" else {})).fit(X, y)
    assert np.abs(_weights(free)).max() > 0.2
    # ... while the biases are not pulled to zero
    hidden_bias, out_bias = _biases(est)
    assert np.abs(hidden_bias).max() > 0.05  # untouched by the penalty
    # with (almost) no weights left, the output bias moves towards the class prior (0.2)
    p1 = torch.softmax(torch.as_tensor(out_bias), 0)[1].item()
    assert 0.2 <= p1 < 0.35
    proba = est.predict_proba(X)[:, 1]
    assert proba.std() < 0.01 and abs(proba.mean() - p1) < 0.01


def test_biases_not_penalized_in_loss_path(binary_data):
    X, y = binary_data
    a = _fast(optimizer="adamw", penalty="l2", alpha=1.0, epochs=1).fit(X, y)
    net = a.net_
    X_t, y_t = torch.as_tensor(X[:20], dtype=torch.float32), torch.as_tensor(y[:20])
    with torch.no_grad():
        out = net.module_(X_t)
        plain = net.criterion_(out, y_t)
        penalised = net.get_loss(out, y_t, training=True)
        manual = 0.5 * sum((p ** 2).sum() for n, p in net.module_.named_parameters()
                           if n.endswith("weight"))
    assert (penalised - plain).item() == pytest.approx(manual.item(), rel=1e-5)
    assert net.get_loss(out, y_t, training=False).item() == pytest.approx(plain.item())


def test_l1_loss_term(binary_data):
    X, y = binary_data
    net = _fast(optimizer="sgd", penalty="l1", alpha=0.2, epochs=1).fit(X, y).net_
    X_t, y_t = torch.as_tensor(X[:20], dtype=torch.float32), torch.as_tensor(y[:20])
    with torch.no_grad():
        out = net.module_(X_t)
        extra = net.get_loss(out, y_t, training=True) - net.criterion_(out, y_t)
        manual = 0.2 * sum(p.abs().sum() for n, p in net.module_.named_parameters()
                           if n.endswith("weight"))
    assert extra.item() == pytest.approx(manual.item(), rel=1e-5)


@pytest.fixture(scope="module")
def sparse_problem():
    return make_classification(n_samples=200, n_features=20, n_informative=3, n_redundant=0,
                               random_state=0)


def _near_zero_share(penalty, data):
    X, y = data
    est = _fast(optimizer="sgd", momentum=0.0, lr=0.05, epochs=30, penalty=penalty,
                alpha=0.01, l1_ratio=0.5).fit(X, y)
    return (np.abs(_weights(est)) < 1e-3).mean()


def test_l1_gives_more_zeros_than_l2_and_elasticnet_between(sparse_problem):
    l2 = _near_zero_share("l2", sparse_problem)
    en = _near_zero_share("elasticnet", sparse_problem)
    l1 = _near_zero_share("l1", sparse_problem)
    assert l1 > 2 * l2 + 0.05
    assert l2 < en < l1


# -- learning-rate schedules -------------------------------------------------------
def _lrs(est):
    return np.array(est.history_[:, "lr"])


def test_step_schedule_default_knobs(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=6, lr_schedule="step").fit(X, y)
    # step_size = epochs // 3 = 2, gamma = 0.1
    np.testing.assert_allclose(_lrs(est), [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-12)


def test_step_schedule_knobs(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=7, lr_schedule="step", lr_schedule__step_size=3,
                lr_schedule__gamma=0.5).fit(X, y)
    expected = [0.1 * 0.5 ** (epoch // 3) for epoch in range(7)]
    np.testing.assert_allclose(_lrs(est), expected, rtol=1e-12)
    # every param group follows the schedule
    assert {g["lr"] for g in est.net_.optimizer_.param_groups} == {0.1 * 0.5 ** 2}


def test_gamma_knob_changes_the_schedule(binary_data):
    X, y = binary_data
    a = _fast(lr=0.1, epochs=4, lr_schedule="exponential").fit(X, y)
    b = _fast(lr=0.1, epochs=4, lr_schedule="exponential", lr_schedule__gamma=0.5).fit(X, y)
    np.testing.assert_allclose(_lrs(a), [0.1 * 0.95 ** e for e in range(4)], rtol=1e-12)
    np.testing.assert_allclose(_lrs(b), [0.1 * 0.5 ** e for e in range(4)], rtol=1e-12)


def test_cosine_schedule_ends_at_eta_min(binary_data):
    X, y = binary_data
    epochs, lr, eta_min = 8, 0.1, 0.001
    est = _fast(lr=lr, epochs=epochs, lr_schedule="cosine",
                lr_schedule__eta_min=eta_min).fit(X, y)
    expected = [eta_min + (lr - eta_min) * (1 + math.cos(math.pi * e / epochs)) / 2
                for e in range(epochs)]
    np.testing.assert_allclose(_lrs(est), expected, rtol=1e-9)
    assert np.all(np.diff(_lrs(est)) < 0)
    # after the last epoch the optimiser sits at eta_min
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(eta_min, rel=1e-9)


def test_plateau_schedule_reduces_lr(binary_data):
    X, y = binary_data
    # a learning rate so small the training loss cannot improve by the threshold
    est = _fast(optimizer="sgd", momentum=0.0, lr=1e-7, epochs=6, lr_schedule="plateau",
                lr_schedule__patience=1, lr_schedule__factor=0.5).fit(X, y)
    lrs = _lrs(est)
    assert lrs[0] == 1e-7 and lrs[-1] < lrs[0]
    assert np.all(np.diff(lrs) <= 0)
    ratios = {round(b / a, 12) for a, b in zip(lrs, lrs[1:]) if b != a}
    assert ratios == {0.5}
    sched = dict(est.net_.callbacks_)["lr_schedule"]
    assert sched.monitor == "train_loss"


def test_plateau_watches_validation_loss_with_a_split(binary_data):
    X, y = binary_data
    est = _fast(lr=1e-2, epochs=2, lr_schedule="plateau", validation_fraction=0.2).fit(X, y)
    assert dict(est.net_.callbacks_)["lr_schedule"].monitor == "valid_loss"
    est = _fast(lr=1e-2, epochs=2, lr_schedule="plateau", early_stopping=True).fit(X, y)
    assert dict(est.net_.callbacks_)["lr_schedule"].monitor == "valid_loss"


def test_constant_schedule_keeps_lr(binary_data):
    X, y = binary_data
    for schedule in (None, "constant"):
        est = _fast(lr=0.03, epochs=3, lr_schedule=schedule).fit(X, y)
        np.testing.assert_array_equal(_lrs(est), [0.03] * 3)
        assert "lr_schedule" not in dict(est.net_.callbacks_)


def test_skorch_lr_scheduler_instance(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=4, lr_schedule=LRScheduler(policy="StepLR", step_size=1))
    est.fit(X, y)
    np.testing.assert_allclose(_lrs(est), [0.1 * 0.1 ** e for e in range(4)], rtol=1e-12)


def test_skorch_lr_scheduler_params_are_tunable(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=3,
                lr_schedule=LRScheduler(policy="StepLR", step_size=1, gamma=0.5))
    est.set_params(lr_schedule__step_size=2)
    est.fit(X, y)
    np.testing.assert_allclose(_lrs(est), [0.1, 0.1, 0.05], rtol=1e-12)


def test_schedule_continues_across_partial_fit(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=2, lr_schedule="step", lr_schedule__step_size=1,
                lr_schedule__gamma=0.5).fit(X, y)
    est.partial_fit(X, y, epochs=2)
    np.testing.assert_allclose(_lrs(est), [0.1, 0.05, 0.025, 0.0125], rtol=1e-12)


def test_schedule_restarts_on_refit(binary_data):
    X, y = binary_data
    est = _fast(lr=0.1, epochs=3, lr_schedule="exponential", lr_schedule__gamma=0.5)
    first = _lrs(est.fit(X, y))
    second = _lrs(est.fit(X, y))
    np.testing.assert_array_equal(first, second)


def test_schedule_works_for_regressor(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor, lr=0.1, epochs=3, lr_schedule="step",
                lr_schedule__step_size=1, lr_schedule__gamma=0.1).fit(X, y)
    np.testing.assert_allclose(_lrs(est), [0.1, 0.01, 0.001], rtol=1e-12)
