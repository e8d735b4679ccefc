"""Noise nobody tells: one validation split, where only the scores show it.

The optimiser learns the noise level from the values; a material fitted noise
switches the model to the values without the power warp and the expected
improvement's incumbent to the best posterior mean (issue "noise without folds").
"""

import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit

from sktune import BayesSearchCV
from sktune.search import Optimizer
from sktune.search import optimizer as optimizer_module
from sktune.search._gp import surrogate

try:
    from ._bayes_search_toys import NoisyParamScoreClassifier
except ImportError:  # run as a rootdir-relative module
    from _bayes_search_toys import NoisyParamScoreClassifier


def _run(f, steps, seed=3, sd=0.0):
    rng = np.random.default_rng(seed)
    opt = Optimizer({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, random_state=seed, n_initial_points=6)
    for _ in range(steps):
        p = opt.ask()
        opt.tell(p, f(p) + sd * rng.standard_normal())
    return opt


def _bowl(p):
    return (p["x"] - 0.2) ** 2 + 0.5 * p["y"] ** 2


def test_noise_free_values_keep_the_power_warped_model(monkeypatch):
    opt = _run(_bowl, 20)
    s = opt._surrogates[0]
    assert not s.noisy and s.gp.noise_ < surrogate._MATERIAL_NOISE
    assert s.warp._lmbda is not None  # the power warp is on
    monkeypatch.setattr(surrogate, "_MATERIAL_NOISE", np.inf)  # the optimiser before
    assert _run(_bowl, 20).Xi == opt.Xi  # the same proposals, to the bit


def test_a_material_noise_is_learnt_and_modelled_without_the_power_warp():
    sd = 0.05  # the values span ~1.2
    opt = _run(_bowl, 40, sd=sd)
    opt.predict(opt.Xi[:1])  # the model of all 40 values
    s = opt._surrogates[0]
    assert s.noisy and s.warp._lmbda is None  # clipped and standardised only
    told_units_sd = np.sqrt(s.gp.noise_) * s.gp.y_std_ / s.warp.slope(np.array([0.0]))[0]
    assert sd / 2 < told_units_sd < 2 * sd  # the noise level, learnt from the values
    # the posterior mean is closer to the truth than the readings are
    truth = np.array([_bowl(p) for p in opt.Xi])
    mean, _ = opt.predict(opt.Xi)
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.7 * np.sqrt(
        np.mean((np.asarray(opt.yi) - truth) ** 2))


def test_under_material_noise_the_incumbent_is_the_best_posterior_mean(monkeypatch):
    seen = []

    class Recording(optimizer_module.LogExpectedImprovement):
        def __init__(self, gp, best):
            seen.append((gp, best))
            super().__init__(gp, best)

    monkeypatch.setattr(optimizer_module, "LogExpectedImprovement", Recording)
    opt = _run(_bowl, 30, sd=0.05)
    gp, best = seen[-1]
    assert opt._surrogates[0].noisy
    assert best == pytest.approx(gp.predict(gp.X_)[0].min())
    assert best > gp.ys_.min() + 0.1  # not the luckiest reading (standardised units)
    seen.clear()
    _run(_bowl, 20)  # noise-free: the best reading
    gp, best = seen[-1]
    assert best == gp.ys_.min()


def test_the_believed_best_of_noisy_readings_is_better_than_the_luckiest():
    def true_value(opt, i):
        return _bowl(opt.Xi[i])

    wins = 0
    for seed in range(5):
        opt = _run(_bowl, 30, seed=seed, sd=0.08)
        wins += true_value(opt, opt.posterior_best_index) <= true_value(opt, opt.best_index)
    assert wins >= 4


def _single_split_search(n_jobs):
    X, y = np.zeros((40, 1)), np.arange(40) % 2
    return BayesSearchCV(NoisyParamScoreClassifier(sd=0.03), {"x": (0.0, 1.0)}, n_iter=16,
                         cv=ShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
                         n_jobs=n_jobs, n_points=2, random_state=0).fit(X, y)


def test_bayes_search_on_one_split_learns_the_noise_reproducibly():
    one, two = _single_split_search(1), _single_split_search(2)
    r = one.cv_results_
    assert one.optimizers_[0]._surrogates[0].noisy  # the noise learnt: nothing was told
    assert np.isnan(np.asarray(one.optimizers_[0]._noise, dtype=float)).all()
    assert [p["x"] for p in r["params"]] == [p["x"] for p in two.cv_results_["params"]]
    np.testing.assert_array_equal(r["mean_test_score"], two.cv_results_["mean_test_score"])
    assert abs(r["params"][one.posterior_best_index_]["x"] - 0.3) < 0.1
