"""Per-step learning-rate schedules with warmup ('linear', 'cosine', 'constant')."""

import math
import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from sklearn.datasets import make_classification

from sktune import NeuralNetClassifier

N, BATCH, EPOCHS, LR = 100, 16, 3, 0.01
STEPS = EPOCHS * math.ceil(N / BATCH)  # 21


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=N, n_features=6, random_state=0)
    return X.astype(np.float32), y


class _RatesUsed(Callback):
    """The learning rate of every parameter group at each optimiser step (read by a
    step pre-hook: not a batch hook, so the lean loop runs as in any fit)."""

    def __init__(self):
        self.rates = []

    def on_train_begin(self, net, **kwargs):
        if not getattr(self, "_hooked", None) is net.optimizer_:
            net.optimizer_.register_step_pre_hook(
                lambda opt, args, kw: self.rates.append([g["lr"] for g in opt.param_groups]))
            self._hooked = net.optimizer_


def _fit(data, **kw):
    rates = _RatesUsed()
    params = dict(hidden_layer_sizes=(8,), lr=LR, epochs=EPOCHS, batch_size=BATCH,
                  random_state=0, callbacks=[rates])
    params.update(kw)
    net = NeuralNetClassifier(**params).fit(*data)
    return net, [r[0] for r in rates.rates]


def _reference(name, warmup, total, eta_min=0.0):
    """transformers' formulas, written out (the test below also compares with
    transformers itself where it is installed)."""
    out = []
    for step in range(total):
        if step < warmup:
            f = step / max(1, warmup)
        elif name == "constant":
            f = 1.0
        elif name == "linear":
            f = max(0.0, (total - step) / max(1, total - warmup))
        else:
            progress = (step - warmup) / max(1, total - warmup)
            f = max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))
            f = eta_min / LR + (1 - eta_min / LR) * f
        out.append(LR * f)
    return out


@pytest.mark.parametrize("name, warmup, expected_warmup", [
    ("linear", 5, 5), ("linear", 0.1, 3), ("cosine", 0, 0), ("cosine", 0.25, 6),
    ("constant", 4, 4),
])
def test_rates_follow_the_schedule_step_by_step(data, name, warmup, expected_warmup):
    net, rates = _fit(data, lr_schedule=name, lr_schedule__warmup=warmup)
    assert len(rates) == STEPS
    np.testing.assert_allclose(rates, _reference(name, expected_warmup, STEPS), rtol=1e-12,
                               atol=1e-15)
    schedule = dict(net.net_.callbacks_)["lr_schedule"]
    assert (schedule.total_steps_, schedule.warmup_steps_) == (STEPS, expected_warmup)
    # history's "lr" is the rate at each epoch's first step
    assert net.history_[:, "lr"] == [rates[e * (STEPS // EPOCHS)] for e in range(EPOCHS)]


def test_cosine_ends_at_eta_min(data):
    net, rates = _fit(data, lr_schedule="cosine", lr_schedule__eta_min=0.001)
    np.testing.assert_allclose(rates, _reference("cosine", 0, STEPS, eta_min=0.001), rtol=1e-12)
    assert net.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.001, rel=1e-12)


@pytest.mark.parametrize("name", ["linear", "cosine", "constant"])
@pytest.mark.parametrize("warmup", [0, 4, 0.2])
def test_rates_equal_transformers_get_scheduler(data, name, warmup):
    transformers = pytest.importorskip("transformers")
    net, rates = _fit(data, lr_schedule=name, lr_schedule__warmup=warmup)
    steps = math.ceil(STEPS * warmup) if isinstance(warmup, float) else warmup
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    hf_name = "constant_with_warmup" if name == "constant" else name
    scheduler = transformers.get_scheduler(hf_name, optimizer, num_warmup_steps=steps,
                                           num_training_steps=STEPS)
    expected = []
    for _ in range(STEPS):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == expected  # the same arithmetic: equal, not only close


def test_every_parameter_group_follows_its_own_rate(data):
    rates = _RatesUsed()
    net = NeuralNetClassifier(hidden_layer_sizes=(8,), lr=LR, epochs=EPOCHS, batch_size=BATCH,
                              random_state=0, callbacks=[rates], lr_schedule="linear",
                              lr_schedule__warmup=3, lr_multipliers={"layers.0": 0.1}).fit(*data)
    by_group = np.array(rates.rates)  # (steps, groups)
    assert by_group.shape[0] == STEPS and by_group.shape[1] >= 2
    base = np.array([g["initial_lr"] for g in net.net_.optimizer_.param_groups])
    assert sorted(set(base.tolist())) == pytest.approx([0.1 * LR, LR])
    # each group: its own base rate times the same factor
    factors = by_group / base
    np.testing.assert_allclose(factors, np.repeat(factors[:, :1], len(base), axis=1), rtol=1e-12)
    assert factors[1, 0] == pytest.approx(1 / 3)  # warmup: step 1 of 3
    assert all(g["lr"] == 0.0 for g in net.net_.optimizer_.param_groups)  # linear's end


def test_micro_batches_step_the_schedule_once_per_batch(data):
    _, whole = _fit(data, lr_schedule="cosine", lr_schedule__warmup=0.2)
    _, split = _fit(data, lr_schedule="cosine", lr_schedule__warmup=0.2, micro_batch_size=4)
    assert whole == split


def test_continued_training_keeps_the_position(data):
    """partial_fit and a pickle round trip continue the schedule where it was."""
    X, y = data
    one = NeuralNetClassifier(hidden_layer_sizes=(8,), lr=LR, epochs=EPOCHS, batch_size=BATCH,
                              random_state=0, lr_schedule="linear", lr_schedule__warmup=4)
    one.fit(X, y)
    two = NeuralNetClassifier(hidden_layer_sizes=(8,), lr=LR, epochs=EPOCHS, batch_size=BATCH,
                              random_state=0, lr_schedule="linear", lr_schedule__warmup=4)
    two.partial_fit(X, y, classes=[0, 1], epochs=1)
    two = pickle.loads(pickle.dumps(two))
    two.partial_fit(X, y, epochs=2)
    assert one.history_[:, "lr"] == two.history_[:, "lr"]
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("knobs, match", [
    ({"lr_schedule__warmup": -1}, "warmup must be"),
    ({"lr_schedule__warmup": 1.5}, "warmup must be"),
    ({"lr_schedule__warmup": True}, "warmup must be"),
    ({"lr_schedule__T_max": 5}, r"takes the knobs \['eta_min', 'warmup'\].*got \['T_max'\]"),
    ({"lr_schedule__eta_min": -0.1}, "eta_min must be"),
])
def test_knob_errors(data, knobs, match):
    with pytest.raises(ValueError, match=match):
        NeuralNetClassifier(lr_schedule="cosine", epochs=1, **knobs).fit(*data)


def test_warmup_is_searchable(data):
    from sktune import BayesSearchCV
    from sktune.space import Real

    search = BayesSearchCV(
        NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=2, batch_size=BATCH,
                            random_state=0, lr_schedule="linear"),
        {"lr_schedule__warmup": Real(0.0, 0.5), "lr": Real(1e-3, 1e-1, prior="log-uniform")},
        n_iter=3, cv=2, random_state=0).fit(*data)
    warmups = search.cv_results_["param_lr_schedule__warmup"]
    assert len(set(map(float, warmups))) == 3
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_onecycle_equals_torchs_and_stays_at_its_end(data):
    net, rates = _fit(data, lr_schedule="onecycle")
    warm = math.ceil(0.3 * STEPS)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=STEPS,
                                                    pct_start=warm / STEPS, cycle_momentum=False)
    expected = []
    for _ in range(STEPS):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == expected
    assert max(rates) == pytest.approx(LR) and rates[0] == pytest.approx(LR / 25)
    end = net.net_.optimizer_.param_groups[0]["lr"]
    net.partial_fit(*data, epochs=1)  # beyond the schedule's steps: no error, rate kept
    assert net.net_.optimizer_.param_groups[0]["lr"] == end


def test_onecycle_needs_a_warmup(data):
    with pytest.raises(ValueError, match="onecycle.*warmup must be > 0"):
        NeuralNetClassifier(lr_schedule="onecycle", lr_schedule__warmup=0, epochs=1).fit(*data)
    with pytest.raises(ValueError, match="div_factor must be a number >= 1"):
        NeuralNetClassifier(lr_schedule="onecycle", lr_schedule__div_factor=0.5,
                            epochs=1).fit(*data)
