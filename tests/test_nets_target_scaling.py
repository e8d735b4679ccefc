"""NeuralNetRegressor(target_scaling=...): standardised targets, inverted at predict."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.model_selection import KFold, cross_validate, train_test_split

from sktune import HyperbandSearchCV, NeuralNetClassifier, NeuralNetRegressor, load, save
from sktune.space import Real

SMALL = {"hidden_layer_sizes": (16,), "epochs": 8, "random_state": 0}


@pytest.fixture(scope="module")
def big_targets():
    """Targets around 1e5 with a spread of about 3e4: raw, they defeat the defaults."""
    X, y = make_regression(n_samples=240, n_features=6, n_informative=4, noise=5.0,
                           random_state=0)
    return X, 1e5 + 300 * y


def test_large_targets_are_learned_and_predicted_in_their_units(big_targets):
    X, y = big_targets
    scaled = NeuralNetRegressor(**SMALL, lr=1e-2).fit(X, y)
    raw = NeuralNetRegressor(**SMALL, lr=1e-2, target_scaling=False).fit(X, y)
    assert scaled.score(X, y) > 0.9
    assert raw.score(X, y) < 0           # what the issue measured: the scale defeats it
    assert_allclose(scaled.target_mean_, [y.mean()], rtol=1e-12)
    assert_allclose(scaled.target_scale_, [y.std()], rtol=1e-12)
    assert abs(scaled.predict(X).mean() - y.mean()) < 0.05 * y.std()


def test_off_trains_on_the_raw_targets(big_targets):
    X, y = big_targets
    est = NeuralNetRegressor(**SMALL, target_scaling=False).fit(X, y)
    assert est.target_mean_ is None and est.target_scale_ is None
    assert "train_loss_scaled" not in est.history_[-1]
    # the first epoch's loss is of the order of the raw targets' second moment
    assert est.history_[0, "train_loss"] > 0.5 * np.mean(y ** 2)


def test_history_losses_are_in_target_units(big_targets):
    X, y = big_targets
    est = NeuralNetRegressor(**SMALL, validation_fraction=0.25).fit(X, y)
    history, scale2 = est.history_, est.target_scale_[0] ** 2
    # MSE in units = MSE on standardised targets x scale**2 (no penalty in the loss)
    assert_allclose(history[:, "train_loss"],
                    np.array(history[:, "train_loss_scaled"]) * scale2, rtol=1e-5)
    assert_allclose(history[:, "valid_loss"],
                    np.array(history[:, "valid_loss_scaled"]) * scale2, rtol=1e-5)
    # the last validation loss is the final model's MSE on the held-out rows
    _, valid = train_test_split(np.arange(len(X)), test_size=0.25,
                                random_state=est._split_seed)
    mse = np.mean((est.predict(X[valid]) - y[valid]) ** 2)
    assert_allclose(history[-1, "valid_loss"], mse, rtol=1e-4)
    # R2 does not depend on the units
    r2 = 1 - mse / np.var(y[valid])
    assert_allclose(history[-1, "valid_r2"], r2, rtol=1e-4)


def test_skorch_batch_path_records_the_same_units(big_targets):
    """A callback with batch hooks sends training through skorch's own loop."""
    from skorch.callbacks import Callback

    class CountBatches(Callback):
        def on_batch_end(self, net, **kwargs):
            self.n = getattr(self, "n", 0) + 1

    X, y = big_targets
    lean = NeuralNetRegressor(**SMALL).fit(X, y)
    hooked = NeuralNetRegressor(**SMALL, callbacks=[CountBatches()]).fit(X, y)
    assert hooked.callbacks[0].n > 0
    for key in ("train_loss", "train_loss_scaled"):
        assert_allclose(hooked.history_[:, key], lean.history_[:, key], rtol=1e-6)
    assert_allclose(hooked.predict(X), lean.predict(X), rtol=1e-6)


def test_scaling_sees_only_the_training_fold(big_targets):
    X, y = big_targets
    y = y + 1e4 * (np.arange(len(y)) % 2)  # folds with visibly different means
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(NeuralNetRegressor(**SMALL), X, y, cv=cv, return_estimator=True)
    for est, (train, test) in zip(result["estimator"], cv.split(X)):
        assert_allclose(est.target_mean_, [y[train].mean()], rtol=1e-12)
        assert_allclose(est.target_scale_, [y[train].std()], rtol=1e-12)
        assert not np.isclose(est.target_mean_[0], y.mean(), rtol=1e-9)


def test_sample_weights_weight_the_statistics(big_targets):
    X, y = big_targets
    w = np.where(np.arange(len(y)) < 60, 0.0, 2.0)
    est = NeuralNetRegressor(**SMALL).fit(X, y, sample_weight=w)
    assert_allclose(est.target_mean_, [y[60:].mean()], rtol=1e-12)
    assert_allclose(est.target_scale_, [y[60:].std()], rtol=1e-12)
    # equal weights train exactly like none
    same = NeuralNetRegressor(**SMALL).fit(X, y, sample_weight=np.full(len(y), 3.0))
    assert_array_equal(same.predict(X), NeuralNetRegressor(**SMALL).fit(X, y).predict(X))


def test_continued_training_keeps_the_first_statistics(big_targets):
    X, y = big_targets
    est = NeuralNetRegressor(**SMALL).partial_fit(X[:120], y[:120])
    mean, scale = est.target_mean_.copy(), est.target_scale_.copy()
    est.partial_fit(X[120:], 10 * y[120:])
    assert_array_equal(est.target_mean_, mean)
    assert_array_equal(est.target_scale_, scale)
    warm = NeuralNetRegressor(**SMALL, warm_start=True).fit(X[:120], y[:120])
    warm.fit(X[120:], 10 * y[120:])
    assert_array_equal(warm.target_mean_, mean)
    cold = NeuralNetRegressor(**SMALL).fit(X[:120], y[:120]).fit(X[120:], 10 * y[120:])
    assert_allclose(cold.target_mean_, [10 * y[120:].mean()], rtol=1e-12)


def test_fit_then_partial_fit_equals_one_fit(big_targets):
    """Continuing is exact with scaling, as Hyperband's continued rungs need."""
    X, y = big_targets
    params = {**SMALL, "epochs": 3}
    continued = NeuralNetRegressor(**params).fit(X, y).partial_fit(X, y, epochs=2)
    once = NeuralNetRegressor(**{**params, "epochs": 5}).fit(X, y)
    assert_array_equal(continued.predict(X), once.predict(X))


def test_multi_output_targets_are_scaled_per_output():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=1.0,
                           random_state=1)
    Y = Y * [1.0, 1e4] + [0.0, 5e5]
    est = NeuralNetRegressor(**{**SMALL, "epochs": 30}, lr=1e-2).fit(X, Y)
    assert_allclose(est.target_mean_, Y.mean(axis=0), rtol=1e-12)
    assert_allclose(est.target_scale_, Y.std(axis=0), rtol=1e-12)
    pred = est.predict(X)
    assert pred.shape == Y.shape
    r2 = 1 - ((pred - Y) ** 2).sum(axis=0) / ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    assert (r2 > 0.9).all(), r2


def test_constant_target_is_only_centred():
    X = np.random.default_rng(0).normal(size=(50, 3))
    est = NeuralNetRegressor(**SMALL).fit(X, np.full(50, 7.5))
    assert_array_equal(est.target_scale_, [1.0])
    assert abs(est.predict(X).mean() - 7.5) < 0.2


def test_early_stopping_tolerance_is_relative_to_the_target_variance(big_targets):
    """tol applies to the standardised loss: tiny targets still train."""
    X, y = big_targets
    tiny = (y - y.mean()) * 1e-7  # MSE ~ 1e-6, below tol=1e-4 in raw units
    params = {**SMALL, "epochs": 30, "early_stopping": True, "n_iter_no_change": 3,
              "lr": 1e-2}
    scaled = NeuralNetRegressor(**params).fit(X, tiny)
    raw = NeuralNetRegressor(**params, target_scaling=False).fit(X, tiny)
    # in raw units the loss soon moves by less than tol: stopped before it fits
    assert raw.n_iter_ < scaled.n_iter_
    assert raw.score(X, tiny) < 0 < 0.9 < scaled.score(X, tiny)


@pytest.mark.parametrize("criterion", [torch.nn.L1Loss, torch.nn.HuberLoss])
def test_auto_scales_other_residual_losses(big_targets, criterion):
    X, y = big_targets
    est = NeuralNetRegressor(**SMALL, lr=1e-2, criterion=criterion).fit(X, y)
    assert est.target_mean_ is not None and est.score(X, y) > 0.8


def test_count_losses_get_raw_targets_or_a_clear_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    counts = rng.poisson(np.exp(0.5 * X[:, 0] + 1)).astype(float)
    auto = NeuralNetRegressor(**SMALL, criterion=torch.nn.PoissonNLLLoss).fit(X, counts)
    assert auto.target_mean_ is None
    with pytest.raises(ValueError, match="PoissonNLLLoss needs the raw targets"):
        NeuralNetRegressor(**SMALL, criterion=torch.nn.PoissonNLLLoss,
                           target_scaling=True).fit(X, counts)
    with pytest.raises(ValueError, match="target_scaling"):
        NeuralNetRegressor(target_scaling="yes").fit(X, counts)


def test_a_parameter_of_the_regressor_only(big_targets):
    X, y = big_targets
    est = NeuralNetRegressor(target_scaling=False)
    assert est.get_params()["target_scaling"] is False
    assert clone(est).target_scaling is False
    assert repr(est) == "NeuralNetRegressor(target_scaling=False)"
    assert "target_scaling" not in NeuralNetClassifier().get_params()
    with pytest.raises(ValueError, match="Unknown parameter"):
        NeuralNetClassifier(target_scaling=True).fit(X, y > y.mean())


def test_saved_and_loaded_models_predict_the_same(big_targets, tmp_path):
    X, y = big_targets
    est = NeuralNetRegressor(**SMALL).fit(X, y)
    path = tmp_path / "reg.sktune"
    save(est, path)
    loaded = load(path)
    assert_array_equal(loaded.target_mean_, est.target_mean_)
    assert_array_equal(loaded.predict(X), est.predict(X))
    loaded.partial_fit(X, y)   # continues with the saved statistics
    assert_array_equal(loaded.target_mean_, est.target_mean_)


def test_hyperband_continues_scaled_regressors(big_targets):
    X, y = big_targets
    cv = KFold(3, shuffle=True, random_state=0)
    search = HyperbandSearchCV(NeuralNetRegressor(hidden_layer_sizes=(16,), random_state=0),
                               {"lr": Real(1e-3, 3e-2, prior="log-uniform")}, max_epochs=4,
                               factor=2, n_brackets=1, cv=cv, random_state=0).fit(X, y)
    results = search.cv_results_
    continued = np.flatnonzero(np.asarray(results["iter"]) > 0)
    assert len(continued) >= 2
    for row in continued:  # each continued row equals fresh fits of its epochs
        fresh = cross_validate(clone(search.estimator).set_params(**results["params"][row]),
                               X, y, cv=cv)["test_score"]
        assert_allclose([results[f"split{k}_test_score"][row] for k in range(3)], fresh,
                        rtol=1e-12)
    assert search.best_score_ > 0.5
    assert_allclose(search.best_estimator_.target_mean_, [y.mean()], rtol=1e-12)
