"""The ask/tell Bayesian optimiser and its surrogate and acquisition."""

import math
import warnings

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from sktune.search._gp.acquisition import log_ei, log_h
from sktune.search._gp.gp import GaussianProcess
from sktune.search._gp.kernels import ColumnLayout
from sktune.search.optimizer import Optimizer
from sktune.search.space import Categorical, Integer, Real, Space


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    return ((x2 - 5.1 / (4 * np.pi**2) * x1**2 + 5 / np.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10)


BRANIN_MIN = 0.397887357729738
BRANIN_SPACE = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}


def run(opt, func, n_trials):
    for _ in range(n_trials):
        point = opt.ask()
        opt.tell(point, func(point))
    return opt


# -- the optimiser ------------------------------------------------------------------


def test_beats_random_search_on_branin():
    n_trials, seeds = 30, range(5)
    bo, rs = [], []
    for seed in seeds:
        opt = run(Optimizer(BRANIN_SPACE, random_state=seed), branin, n_trials)
        bo.append(opt.best_value - BRANIN_MIN)
        points = Space(BRANIN_SPACE).rvs(n_trials, random_state=seed)
        rs.append(min(branin(p) for p in points) - BRANIN_MIN)
    # Random search's median regret at 30 trials is around 1; the model-based
    # search must be much closer to the optimum on every seed's median.
    assert np.median(bo) < 0.1 * np.median(rs)
    assert np.median(bo) < 0.05


def test_same_seed_same_asks_and_different_seed_different_asks():
    space = {"lr": (1e-4, 1e-1, "log-uniform"), "n": (1, 8), "act": ["relu", "tanh", None]}

    def objective(p):
        return (np.log10(p["lr"]) + 2) ** 2 + abs(p["n"] - 3) + (p["act"] != "relu")

    def asks(seed):
        opt = Optimizer(space, random_state=seed, n_initial_points=4)
        out = []
        for _ in range(8):
            point = opt.ask()
            out.append(point)
            opt.tell(point, objective(point))
        out.append(opt.ask(n_points=3))
        return out

    assert asks(0) == asks(0)
    assert asks(0) != asks(1)
    rng = np.random.RandomState(7)
    assert Optimizer(space, random_state=rng).ask() != Optimizer(space, random_state=rng).ask()


@pytest.mark.parametrize("n_initial_points", [4, 20])
def test_batches_are_distinct_from_each_other_and_from_history(n_initial_points):
    opt = Optimizer({"a": (0.0, 1.0), "b": (0.0, 1.0)}, random_state=0,
                    n_initial_points=n_initial_points)
    run(opt, lambda p: (p["a"] - 0.3) ** 2 + (p["b"] - 0.6) ** 2, 6)
    batch = opt.ask(n_points=5)
    assert len(batch) == 5 and len(opt.pending) == 5
    X = opt.space.transform(batch)
    seen = opt.space.transform(opt.Xi)
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    assert dist[np.triu_indices(5, 1)].min() > 1e-3
    assert np.sqrt(((X[:, None] - seen[None]) ** 2).sum(-1)).min() > 1e-3
    opt.tell(batch, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert opt.pending == [] and len(opt.Xi) == 11


def test_pending_points_are_not_proposed_again():
    opt = Optimizer({"a": (0.0, 1.0)}, random_state=0, n_initial_points=3)
    run(opt, lambda p: np.sin(12 * p["a"]), 5)
    first, second = opt.ask(), opt.ask()
    assert abs(first["a"] - second["a"]) > 1e-3
    assert opt.pending == [first, second]
    opt.tell(second, 0.2)
    assert opt.pending == [first]


def test_integer_and_categorical_only_space():
    space = {"depth": (1, 6), "act": ["relu", "tanh", (64, 32), None]}

    def objective(p):
        return (p["depth"] - 4) ** 2 + {"relu": 1, "tanh": 2, (64, 32): 0, None: 3}[p["act"]]

    opt = Optimizer(space, random_state=0, n_initial_points=5)
    points = []
    for _ in range(24):  # the space has 24 points: every ask must be new
        point = opt.ask()
        assert type(point["depth"]) is int
        points.append((point["depth"], point["act"]))
        opt.tell(point, objective(point))
    assert len(set(points)) == 24
    assert opt.best_point == {"depth": 4, "act": (64, 32)}
    # found long before the space is exhausted
    assert points.index((4, (64, 32))) < 15
    # an exhausted space still answers
    assert opt.ask(n_points=2)[0] in [dict(depth=d, act=a) for d, a in points]


def test_list_dimensions_give_list_points():
    opt = Optimizer([Real(-2.0, 2.0), Integer(0, 3), Categorical(["a", "b"])],
                    random_state=0, n_initial_points=3)
    for _ in range(6):
        x = opt.ask()
        assert isinstance(x, list) and len(x) == 3
        opt.tell(x, x[0] ** 2 + x[1] + (x[2] == "b"))
    assert isinstance(opt.best_point, list)
    with pytest.raises(ValueError, match="as a list of 3 values"):
        opt.tell([0.5, 1], 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_failed_evaluations_are_avoided(bad):
    def objective(p):
        if p["x"] > 0.6:  # the evaluation fails in this region
            return bad
        return (p["x"] - 0.45) ** 2 + (p["y"] - 0.5) ** 2

    opt = Optimizer({"x": (0.0, 1.0), "y": (0.0, 1.0)}, random_state=0, n_initial_points=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(opt, objective, 30)
    X = np.array([[p["x"], p["y"]] for p in opt.Xi])
    failed = ~np.isfinite(opt.yi)
    assert failed[:6].any()  # the design did hit the failing region
    # after the design, proposals rarely go back into the failing region ...
    assert np.mean(X[6:, 0] > 0.6) < 0.2
    # ... and never right next to an earlier failed point
    for i in range(6, len(X)):
        earlier_failed = X[:i][failed[:i]]
        assert np.sqrt(((X[i] - earlier_failed) ** 2).sum(-1)).min() > 0.02
    assert opt.best_value < 1e-3
    assert np.isfinite(opt.best_value) and opt.best_point["x"] <= 0.6


def test_huge_finite_values_neither_overflow_nor_hide_the_good_region():
    def objective(p):
        return 1e300 if p["x"] > 0.7 else (p["x"] - 0.1) ** 2 + p["y"]

    opt = Optimizer({"x": (0.0, 1.0), "y": (0.0, 1.0)}, random_state=0, n_initial_points=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning
        run(opt, objective, 20)
    assert opt.best_value < 0.01
    assert np.mean(np.array(opt.yi[4:]) > 1e100) < 0.2


def test_all_failures_keep_sampling_space_filling_points():
    opt = Optimizer({"x": (0.0, 1.0), "y": (0.0, 1.0)}, random_state=0, n_initial_points=4)
    run(opt, lambda p: math.nan, 12)
    X = opt.space.transform(opt.Xi)
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    assert dist[np.triu_indices(len(X), 1)].min() > 0.05
    assert opt.best_point is None and opt.best_value is None
    # once evaluations succeed the model takes over
    run(opt, lambda p: p["x"] + p["y"], 10)
    assert opt.best_value < 0.3


def test_tell_validation():
    opt = Optimizer({"a": (0.0, 1.0)}, random_state=0)
    with pytest.raises(ValueError, match="2 points but 1 values"):
        opt.tell([{"a": 0.1}, {"a": 0.2}], [1.0])
    with pytest.raises(TypeError, match="y must be a number or a 1-D sequence"):
        opt.tell({"a": 0.1}, "bad")
    with pytest.raises(ValueError, match="outside its bounds"):
        opt.tell({"a": 3.0}, 1.0)
    opt.tell([{"a": 0.1}, {"a": 0.2}], np.array([2.0, 1.0]))
    assert opt.yi == [2.0, 1.0] and opt.best_point == {"a": 0.2} and opt.best_index == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_initial_points": -1}, "n_initial_points must be a non-negative integer"),
        ({"acq_func": "ucb"}, "Unknown acq_func 'ucb'; the allowed values are 'logei'"),
        ({"acq_optimizer_kwargs": {"n_starts": 3}}, r"Unknown acq_optimizer_kwargs \['n_starts'\]"),
    ],
)
def test_constructor_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Optimizer({"a": (0.0, 1.0)}, **kwargs)
    with pytest.raises(ValueError, match="n_points must be None or a positive integer"):
        Optimizer({"a": (0.0, 1.0)}).ask(n_points=0)


def test_told_points_before_asking_skip_the_design():
    opt = Optimizer({"a": (-1.0, 1.0)}, random_state=0, n_initial_points=10)
    grid = [{"a": a} for a in np.linspace(-1, 1, 12)]
    opt.tell(grid, [(p["a"] - 0.33) ** 2 for p in grid])
    point = opt.ask()
    assert abs(point["a"] - 0.33) < 0.1


# -- surrogate and acquisition -------------------------------------------------------


def test_log_h_is_accurate_and_smooth_far_in_the_tail():
    z = np.array([3.0, 0.5, -0.5, -2.0, -10.0])
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(log_h(z), direct, rtol=1e-10)
    tail = log_h(np.array([-40.0, -1e3, -1e5, -1e8]))
    assert np.all(np.isfinite(tail)) and np.all(np.diff(tail) < 0)
    # asymptotically log h(z) ~ -z**2 / 2 - log(sqrt(2 pi)) - 2 log|z|
    np.testing.assert_allclose(tail[-1], -0.5e16 - 0.5 * np.log(2 * np.pi) - 2 * np.log(1e8))
    # continuity across the regime boundaries
    for edge in (-1.0, -1e4):
        np.testing.assert_allclose(log_h(np.array([edge - 1e-9])), log_h(np.array([edge + 1e-9])),
                                   rtol=1e-7)


def test_log_ei_gradients():
    mean, var, best = np.array([0.3, -1.0, 5.0]), np.array([0.5, 0.01, 0.2]), 0.0
    value, d_mean, d_var = log_ei(mean, var, best)
    eps = 1e-7
    np.testing.assert_allclose(d_mean, (log_ei(mean + eps, var, best)[0] - value) / eps,
                               rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(d_var, (log_ei(mean, var + eps, best)[0] - value) / eps,
                               rtol=1e-4, atol=1e-7)
    assert d_mean[2] < -1.0  # far above the incumbent log EI is steep


def _fitted_gp(seed=0, n=25):
    space = Space({"a": (0.0, 1.0), "n": (1, 9), "c": ["x", "y", "z"]})
    layout = ColumnLayout(space._column_dim, space._is_categorical_column)
    X = space.transform(space.rvs(n, random_state=seed))
    y = np.sin(6 * X[:, 0]) + X[:, 1] + X[:, 3]
    return space, layout, X, y, GaussianProcess(layout).fit(X, y)


def test_gp_hyperparameter_gradient_and_fit():
    space, layout, X, y, gp = _fitted_gp()
    ys = (y - y.mean()) / y.std()
    sq = layout.per_dim_sq_diff(X)
    theta = gp.default_theta + 0.2
    numeric = approx_fprime(theta, lambda t: gp._neg_log_posterior(t, sq, ys)[0], 1e-6)
    np.testing.assert_allclose(gp._neg_log_posterior(theta, sq, ys)[1], numeric,
                               rtol=1e-3, atol=1e-3)
    # the fit interpolates its (noise-free) data
    mean, var = gp.predict(X)
    np.testing.assert_allclose(mean * gp.y_std_ + gp.y_mean_, y, atol=0.05 * y.std())
    assert np.all(var < 0.05)


def test_gp_prediction_gradients():
    space, layout, X, y, gp = _fitted_gp()
    Xs = space.transform(space.rvs(4, random_state=9))
    mean, var, dmean, dvar = gp.predict(Xs, return_grad=True)
    eps = 1e-4
    for c in range(X.shape[1]):
        up, down = Xs.copy(), Xs.copy()
        up[:, c] += eps
        down[:, c] -= eps
        (m_up, v_up), (m_down, v_down) = gp.predict(up), gp.predict(down)
        np.testing.assert_allclose(dmean[:, c], (m_up - m_down) / (2 * eps), atol=1e-5)
        np.testing.assert_allclose(dvar[:, c], (v_up - v_down) / (2 * eps), atol=1e-5)
    assert np.abs(dmean).max() > 1e-2  # not trivially flat


def test_fantasies_shrink_the_variance_at_pending_points():
    space, layout, X, y, gp = _fitted_gp()
    Xf = space.transform(space.rvs(2, random_state=3))
    mean, var = gp.predict(Xf)
    cond = gp.with_fantasies(Xf)
    mean_f, var_f = cond.predict(Xf)
    np.testing.assert_allclose(mean_f, mean, atol=1e-4)
    assert np.all(var_f < 1e-3 * var + 1e-5)


def test_scipy_distributions_as_dimensions():
    from scipy import stats

    space = {"alpha": stats.loguniform(1e-4, 1e-1), "shift": stats.norm(0, 1),
             "k": stats.poisson(3), "n": stats.randint(1, 5)}

    def objective(p):
        return (np.log10(p["alpha"]) + 2) ** 2 + (p["shift"] - 0.5) ** 2 + abs(p["k"] - 2)

    opt = Optimizer(space, random_state=0, n_initial_points=6)
    for _ in range(20):
        p = opt.ask()
        assert type(p["shift"]) is float and type(p["k"]) is int and type(p["n"]) is int
        assert 1e-4 <= p["alpha"] <= 1e-1 and 1 <= p["n"] <= 4
        opt.tell(p, objective(p))
    assert opt.best_value < 0.5


def test_batch_in_a_small_finite_space_covers_it_without_repeats():
    opt = Optimizer({"a": [1, 2, 3], "b": ["x", "y"]}, random_state=0, n_initial_points=2)
    opt.tell([{"a": 1, "b": "x"}, {"a": 3, "b": "y"}], [1.0, 0.0])
    batch = opt.ask(n_points=4)
    assert sorted((p["a"], p["b"]) for p in batch) == [(1, "y"), (2, "x"), (2, "y"), (3, "x")]


def test_warp_is_monotone_and_tames_long_tails():
    from sktune.search._gp.gp import warp_targets

    y = np.random.RandomState(0).lognormal(sigma=2.0, size=50)
    warped = warp_targets(y)
    np.testing.assert_array_equal(np.argsort(warped), np.argsort(y))
    skew = lambda v: np.mean(((v - v.mean()) / v.std()) ** 3)  # noqa: E731
    assert abs(skew(warped)) < 0.5 * abs(skew(y))
