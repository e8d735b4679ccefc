"""Noise-aware search: told noise variances, the posterior's choice, BayesSearchCV's folds."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from sktune import BayesSearchCV
from sktune.search import Optimizer, posterior_best
from sktune.search._gp.gp import GaussianProcess
from sktune.search._gp.kernels import ColumnLayout
from sktune.search._gp.warp import TargetWarp


def _layout(d):
    return ColumnLayout(np.arange(d), np.zeros(d, dtype=bool))


def test_told_noise_gradient_and_fitted_scale():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 2))
    r = 0.01 * rng.uniform(0.5, 2.0, size=40)  # told variances
    y = np.sin(3 * X[:, 0]) + np.sqrt(r) * rng.standard_normal(40)
    gp = GaussianProcess(_layout(2), told_noise=True)
    sq = gp.layout.per_dim_sq_diff(X)
    ys, rs = (y - y.mean()) / y.std(), r / y.var()
    theta = gp.default_theta + 0.1 * rng.standard_normal(len(gp.default_theta))
    value, grad = gp._neg_log_posterior(theta, sq, ys, rs)
    step = 1e-6
    numeric = [(gp._neg_log_posterior(theta + e, sq, ys, rs)[0]
                - gp._neg_log_posterior(theta - e, sq, ys, rs)[0]) / (2 * step)
               for e in np.eye(len(theta)) * step]
    assert np.allclose(grad, numeric, atol=1e-5)
    gp.fit(X, y, noise_var=r)
    assert 0.3 < np.exp(gp.theta_[-1]) < 3.0  # the told noise was right: scale ~1
    with pytest.raises(ValueError, match="needs noise_var"):
        GaussianProcess(_layout(2), told_noise=True).fit(X, y)


def test_warp_slope_and_inverse():
    y = np.random.default_rng(1).lognormal(sigma=1.5, size=30)
    warp = TargetWarp(y)
    assert np.allclose(warp.inverse(warp.warped), y)
    eps = 1e-6 * y
    numeric = (warp.transform(y + eps) - warp.transform(y - eps)) / (2 * eps)
    assert np.allclose(warp.slope(y), numeric, rtol=1e-5)


def test_values_told_with_noise_are_modelled_without_the_power_warp():
    from sktune.search._gp.surrogate import fit_targets

    y = np.random.default_rng(2).lognormal(sigma=1.5, size=30)
    warp = TargetWarp(y, power=False)
    np.testing.assert_allclose(warp.warped, (y - y.mean()) / y.std())
    np.testing.assert_allclose(warp.slope(y), 1 / y.std())
    np.testing.assert_allclose(warp.inverse(warp.warped), y)
    noise = np.full(30, 0.04)
    warp, r = fit_targets(y, noise)
    np.testing.assert_allclose(warp.warped, (y - y.mean()) / y.std())
    np.testing.assert_allclose(r, 0.04 / y.var())  # the same affine units
    plain, none = fit_targets(y)
    assert none is None and abs(np.mean(plain.warped ** 3)) < 0.5 * abs(np.mean(warp.warped ** 3))
    # a diverged value is still clipped
    y[0] = 1e300
    assert np.all(np.isfinite(fit_targets(y, noise)[0].warped))


def _noisy_optimizer(told):
    opt = Optimizer({"x": (0.0, 1.0)}, random_state=0, n_initial_points=3)
    xs = np.linspace(0.0, 1.0, 15)
    values = (xs - 0.3) ** 2
    values[12] = -0.05  # x = 0.857: one lucky, very noisy reading
    noise = np.full(15, 1e-5)
    noise[12] = 0.05
    opt.tell([{"x": float(x)} for x in xs], list(values), noise=list(noise) if told else None)
    return opt


def test_a_lucky_noisy_value_is_not_the_believed_best():
    opt = _noisy_optimizer(told=True)
    assert opt.Xi[opt.best_index]["x"] == pytest.approx(0.857, abs=1e-3)  # best reading
    believed = opt.Xi[opt.posterior_best_index]["x"]
    assert abs(believed - 0.3) < 0.08  # the model's belief: near the true minimum
    mean, std = opt.predict([{"x": 0.857}, {"x": 0.3}])
    assert mean[0] > 0.2 and abs(mean[1]) < 0.02  # told units: (0.857-0.3)^2 = 0.31
    assert std[0] > std[1]
    # the next point is not spent next to the lucky reading
    assert abs(opt.ask()["x"] - 0.857) > 0.05


def test_tell_checks_the_noise():
    opt = Optimizer({"x": (0.0, 1.0)}, random_state=0)
    with pytest.raises(ValueError, match="shaped as y"):
        opt.tell([{"x": 0.1}, {"x": 0.2}], [1.0, 2.0], noise=[0.1])
    with pytest.raises(ValueError, match=">= 0"):
        opt.tell({"x": 0.1}, 1.0, noise=-1.0)
    with pytest.raises(TypeError, match="noise must contain numbers"):
        opt.tell({"x": 0.1}, 1.0, noise="a lot")
    opt.tell({"x": 0.1}, 1.0, noise=np.nan)  # unknown
    assert opt.predict([{"x": 0.1}])[0][0] != opt.predict([{"x": 0.1}])[0][0]  # nan: no model


def test_no_told_noise_leaves_the_optimiser_as_it_was():
    def run(tell_nan):
        opt = Optimizer({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, random_state=3, n_initial_points=4)
        for _ in range(12):
            p = opt.ask()
            v = (p["x"] - 0.2) ** 2 + p["y"] ** 2
            opt.tell(p, v, noise=np.nan) if tell_nan else opt.tell(p, v)
        return opt.Xi

    assert run(False) == run(True)


def _svc_search(**kwargs):
    return BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform"),
                                 "gamma": (1e-3, 1e1, "log-uniform")},
                         n_iter=12, cv=3, random_state=0, **kwargs)


def test_bayes_search_tells_fold_noise_and_reports_its_posterior():
    X, y = load_iris(return_X_y=True)
    search = _svc_search().fit(X, y)
    r = search.cv_results_
    told = np.asarray(search.optimizers_[0]._noise, dtype=float).ravel()
    folds = np.column_stack([r[f"split{i}_test_score"] for i in range(3)])
    assert np.allclose(told, folds.var(axis=1, ddof=1) / 3)
    mean, std = r["posterior_mean_test_score"], r["posterior_std_test_score"]
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    assert np.corrcoef(mean, r["mean_test_score"])[0, 1] > 0.8
    assert search.posterior_best_index_ == int(np.argmax(mean))
    assert search.posterior_best_score_ == mean[search.posterior_best_index_]
    assert search.best_index_ == int(np.argmin(r["rank_test_score"]))  # sklearn's meaning

    chosen = _svc_search(refit=posterior_best).fit(X, y)
    assert chosen.best_index_ == chosen.posterior_best_index_
    assert chosen.best_params_ == r["params"][search.posterior_best_index_]

    plain = _svc_search(fold_noise=False).fit(X, y)
    assert np.isnan(np.asarray(plain.optimizers_[0]._noise, dtype=float)).all()


def test_posterior_best_needs_posterior_means():
    with pytest.raises(ValueError, match="posterior_mean_test_"):
        posterior_best({"mean_test_score": np.array([0.1, 0.2])})


def test_a_failed_candidate_is_never_the_believed_best():
    results = {"mean_test_acc": np.array([0.8, np.nan, 0.7]),
               "posterior_mean_test_acc": np.array([0.75, 0.9, 0.72])}
    assert posterior_best(results) == 0  # not 1, whose folds failed
    results["mean_test_acc"][:] = np.nan
    with pytest.raises(ValueError, match="no candidate has a posterior mean"):
        posterior_best(results)
