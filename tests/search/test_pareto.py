"""Pareto fronts, hypervolumes, the non-dominated boxes and the exact EHVI."""

import numpy as np
import pytest

from sktune.search._gp.ehvi import LogExpectedHypervolumeImprovement
from sktune.search._pareto import hypervolume, nondominated_boxes, pareto_mask, reference_point


def _brute_front(Y):
    n = len(Y)
    keep = []
    for i in range(n):
        if not np.all(np.isfinite(Y[i])):
            continue
        dominated = any(np.all(Y[j] <= Y[i]) and np.any(Y[j] < Y[i]) for j in range(n)
                        if np.all(np.isfinite(Y[j])))
        keep.append(not dominated)
    return [i for i, k in zip([i for i in range(n) if np.all(np.isfinite(Y[i]))], keep) if k]


@pytest.mark.parametrize("M", [2, 3])
def test_pareto_mask_matches_brute_force_with_ties_and_failures(M):
    rng = np.random.default_rng(M)
    Y = rng.integers(0, 4, size=(40, M)).astype(float)  # many ties
    Y[[3, 7]] = np.nan
    Y[11, 0] = np.inf
    assert list(np.flatnonzero(pareto_mask(Y))) == _brute_front(Y)


def _grid_hypervolume(Y, ref, n=120):
    """Dominated volume by counting the centres of a fine grid."""
    lows = np.min(Y, axis=0)
    axes = [np.linspace(lo, r, n, endpoint=False) + (r - lo) / (2 * n) for lo, r in zip(lows, ref)]
    Z = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(ref))
    dominated = np.zeros(len(Z), dtype=bool)
    for y in Y:
        dominated |= np.all(Z >= y, axis=1)
    return dominated.mean() * np.prod(np.asarray(ref) - lows)


@pytest.mark.parametrize("M", [2, 3])
def test_hypervolume_matches_counting_a_grid(M):
    rng = np.random.default_rng(10 + M)
    Y = rng.uniform(size=(15, M))
    ref = np.full(M, 1.1)
    exact = hypervolume(Y, ref)
    assert exact == pytest.approx(_grid_hypervolume(Y, ref), rel=0.03)
    assert hypervolume([[0.0] * M], ref) == pytest.approx(1.1 ** M)
    assert hypervolume(Y + 5, ref) == 0.0  # beyond the reference point


@pytest.mark.parametrize("M", [2, 3])
def test_boxes_give_each_points_hypervolume_improvement(M):
    rng = np.random.default_rng(M)
    Y = rng.uniform(size=(12, M))
    ref = reference_point(Y)
    lower, upper = nondominated_boxes(Y, ref)
    for y in rng.uniform(-0.1, 1.2, size=(20, M)):
        improvement = np.sum(np.prod(np.clip(upper - np.maximum(lower, y), 0, None), axis=1))
        assert improvement == pytest.approx(hypervolume(np.vstack([Y, y]), ref)
                                            - hypervolume(Y, ref), abs=1e-12)


def test_reference_point_lies_beyond_the_worst_values():
    Y = np.array([[0.0, 3.0], [1.0, 1.0], [np.nan, 0.0]])
    assert np.allclose(reference_point(Y), [1.1, 3.2])


class _LinearGP:
    """A stand-in model: mean a.x, variance 0.01 + (b.x)^2, with exact gradients."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def predict(self, X, return_grad=False):
        mean, var = X @ self.a, 0.01 + (X @ self.b) ** 2
        if not return_grad:
            return mean, var
        return mean, var, np.tile(self.a, (len(X), 1)), 2 * (X @ self.b)[:, None] * self.b


@pytest.mark.parametrize("M", [2, 3])
def test_ehvi_equals_monte_carlo_and_its_gradient_finite_differences(M):
    rng = np.random.default_rng(M)
    Y = rng.uniform(size=(10, M))
    lower, upper = nondominated_boxes(Y, reference_point(Y))
    gps = [_LinearGP(rng.normal(size=3) * 0.3, rng.normal(size=3) * 0.3) for _ in range(M)]
    acq = LogExpectedHypervolumeImprovement(gps, lower, upper)
    X = rng.uniform(size=(5, 3))
    value, grad = acq.value_and_grad(X)
    assert np.allclose(value, acq(X))
    # Monte Carlo estimate of the expectation at the first point
    mean, var = (np.array(v)[:, 0] for v in zip(*[gp.predict(X[:1]) for gp in gps]))
    S = mean + np.sqrt(var) * rng.standard_normal((100_000, M))
    gains = np.prod(np.clip(upper[None] - np.maximum(lower[None], S[:, None, :]), 0, None),
                    axis=2).sum(axis=1)
    assert np.exp(value[0]) == pytest.approx(gains.mean(), rel=0.02)
    eps = 1e-6
    for c in range(3):
        step = np.zeros_like(X)
        step[:, c] = eps
        numeric = (acq(X + step) - acq(X - step)) / (2 * eps)
        assert np.allclose(grad[:, c], numeric, rtol=1e-4, atol=1e-6)


def test_ehvi_stays_finite_far_from_the_front():
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])
    lower, upper = nondominated_boxes(Y, np.array([2.0, 2.0]))
    far = _LinearGP(np.array([1.0]), np.array([0.0]))  # mean x, sd 0.1
    acq = LogExpectedHypervolumeImprovement([far, far], lower, upper)
    value, grad = acq.value_and_grad(np.array([[40.0], [3.0], [0.5]]))
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert value[0] < value[1] < value[2]  # worse the further beyond the front
    assert value[0] < -1e4  # e^-(40/0.1)^2/2: far below what a float holds, in log space
