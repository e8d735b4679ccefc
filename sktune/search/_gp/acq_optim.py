"""Maximisation of an acquisition function over a :class:`Space`.

Multi-start local search that only ever evaluates valid points:

1. Score many candidates: a scrambled Sobol sample of the space plus
   perturbations of the best observed points (or, for a small finite space,
   every point of it).
2. From the best distinct candidates, alternate

   * L-BFGS-B on the continuous coordinates (all starts in one vectorised
     problem; coordinates scaled by the GP lengthscales for conditioning;
     integer dimensions with many values are relaxed here and rounded after),
   * an exhaustive sweep over the values of every categorical dimension and
     of every integer dimension with few values, one dimension at a time,

   until the discrete coordinates stop changing.
3. Return the best point that is not one of the excluded (already evaluated
   or pending) points.
"""

import itertools

import numpy as np
import scipy.optimize
from scipy.stats import qmc

_DUPLICATE_TOL = 1e-9
_MAX_EXHAUSTIVE_POINTS = 4096


class AcquisitionOptimizer:
    """Maximise acquisition functions over one space.

    Parameters
    ----------
    space : Space
        The search space.
    n_candidates : int, default=1024
        Number of random (Sobol) candidates scored before local search.
    n_local_candidates : int, default=256
        Number of perturbations of the best observed points scored too.
    n_restarts : int, default=8
        Number of local searches.
    maxiter : int, default=100
        Iterations of L-BFGS-B per round of local search.
    n_rounds : int, default=3
        Maximum number of rounds alternating continuous and discrete moves.
    """

    def __init__(
        self,
        space,
        *,
        n_candidates=1024,
        n_local_candidates=256,
        n_restarts=8,
        maxiter=100,
        n_rounds=3,
    ):
        self.space = space
        self.n_candidates = n_candidates
        self.n_local_candidates = n_local_candidates
        self.n_restarts = n_restarts
        self.maxiter = maxiter
        self.n_rounds = n_rounds

        continuous, enumerated, discrete = [], [], []
        for dim, s in zip(space.dimensions, space._slices):
            choices = dim._choices()
            if dim.kind != "categorical" and choices is None:
                continuous.extend(range(s.start, s.stop))
            if choices is not None and len(choices) > 1:
                enumerated.append((s, choices))
            if dim.kind != "continuous":
                discrete.append((s, dim))
        self._continuous = np.array(continuous, dtype=int)
        self._enumerated = enumerated
        self._discrete = discrete
        self._all_points = None
        if space.n_points <= _MAX_EXHAUSTIVE_POINTS and enumerated:
            self._all_points = self._enumerate_space()

    def _enumerate_space(self):
        per_dim = []
        for dim in self.space.dimensions:
            choices = dim._choices()
            if choices is None:  # a discrete dimension too large to list
                return None
            per_dim.append(choices)
        rows = [np.hstack(combo) for combo in itertools.product(*per_dim)]
        return np.array(rows)

    # -- candidates --------------------------------------------------------------
    def _candidates(self, rng, X_incumbents):
        if self._all_points is not None:
            return self._all_points
        m = int(np.ceil(np.log2(max(self.n_candidates, 2))))
        sobol = qmc.Sobol(self.space.n_dims, scramble=True, seed=rng.randint(2**31))
        blocks = [self.space._unit_to_columns(sobol.random_base2(m))]
        if X_incumbents is not None and len(X_incumbents) and self.n_local_candidates:
            blocks.append(self._perturb(rng, X_incumbents))
        return np.vstack(blocks)

    def _perturb(self, rng, X_incumbents):
        """Gaussian steps of several sizes on the continuous coordinates and
        random redraws of discrete dimensions around the incumbents."""
        n = self.n_local_candidates
        X = X_incumbents[rng.randint(len(X_incumbents), size=n)].copy()
        if len(self._continuous):
            scale = rng.choice([0.005, 0.02, 0.1], size=(n, 1))
            step = scale * rng.standard_normal((n, len(self._continuous)))
            X[:, self._continuous] += step
        if self._discrete:
            p = 1.0 / self.space.n_dims if len(self._continuous) else 1.0 / len(self._discrete)
            for s, dim in self._discrete:
                redraw = rng.uniform(size=n) < p
                if redraw.any():
                    X[redraw, s] = dim._unit_to_columns(rng.uniform(size=redraw.sum()))
        return self.space._snap(X)

    # -- local search ------------------------------------------------------------
    def _continuous_step(self, acq, X, values, scale):
        """Batched L-BFGS-B over the continuous coordinates of all rows."""
        cols = self._continuous
        m = len(X)
        X_work = X.copy()

        def func(z):
            X_work[:, cols] = z.reshape(m, -1) * scale
            vals, grads = acq.value_and_grad(X_work)
            vals = np.where(np.isfinite(vals), vals, -1e300)
            return -vals.sum(), -(grads[:, cols] * scale).ravel()

        upper = np.tile(1.0 / scale, m)
        z0 = (X[:, cols] / scale).ravel()
        z, _, _ = scipy.optimize.fmin_l_bfgs_b(
            func,
            z0,
            bounds=list(zip(np.zeros_like(upper), upper)),
            maxiter=self.maxiter,
            factr=1e8,
        )
        X_new = X.copy()
        X_new[:, cols] = np.clip(z.reshape(m, -1) * scale, 0.0, 1.0)
        X_new = self.space._snap(X_new)
        new_values = acq(X_new)
        better = new_values > values
        return np.where(better[:, None], X_new, X), np.where(better, new_values, values)

    def _discrete_sweep(self, acq, X, values):
        """Try every value of each enumerated dimension, one at a time."""
        changed = False
        m = len(X)
        for s, choices in self._enumerated:
            k = len(choices)
            trial = np.repeat(X, k, axis=0)
            trial[:, s] = np.tile(choices, (m, 1))
            trial_values = acq(trial).reshape(m, k)
            best = np.argmax(trial_values, axis=1)
            best_values = trial_values[np.arange(m), best]
            better = best_values > values + 1e-12 * np.abs(values)
            if better.any():
                changed = True
                X = X.copy()
                X[better, s] = choices[best[better]]
                values = np.where(better, best_values, values)
        return X, values, changed

    def _local_search(self, acq, X, values, scale):
        for _ in range(self.n_rounds):
            if len(self._continuous):
                X, values = self._continuous_step(acq, X, values, scale)
            if not self._enumerated:
                break
            X, values, changed = self._discrete_sweep(acq, X, values)
            if not changed or not len(self._continuous):
                break
        return X, values

    # -- entry point ---------------------------------------------------------------
    def maximize(self, acq, rng, *, X_incumbents=None, X_exclude=None, lengthscales=None):
        """Best valid point of ``acq`` that is not excluded.

        Parameters
        ----------
        acq : callable
            ``acq(X)`` returns values of shape (m,); ``acq.value_and_grad(X)``
            also returns gradients of shape (m, n_columns).
        rng : RandomState
        X_incumbents : ndarray of shape (k, n_columns), default=None
            Good observed points to search around.
        X_exclude : ndarray of shape (p, n_columns), default=None
            Points never to return (evaluated or pending ones).
        lengthscales : ndarray of shape (n_columns,), default=None
            Per-column lengthscales used to condition L-BFGS-B.

        Returns
        -------
        x : ndarray of shape (n_columns,) or None
            None if every scored point is excluded.
        value : float
        """
        X = self._candidates(rng, X_incumbents)
        values = np.asarray(acq(X), dtype=float)
        values = np.where(np.isfinite(values), values, -np.inf)
        if self._all_points is None:
            order = np.argsort(-values, kind="stable")
            starts = _first_distinct(X, order, self.n_restarts)
            scale = np.ones(len(self._continuous))
            if lengthscales is not None and len(self._continuous):
                scale = np.clip(lengthscales[self._continuous], 1e-3, 1.0)
            X_opt, values_opt = self._local_search(acq, X[starts], values[starts], scale)
            X = np.vstack([X_opt, X])
            values = np.concatenate([values_opt, values])
        for i in np.argsort(-values, kind="stable"):
            if X_exclude is None or not contains_row(X_exclude, X[i]):
                return X[i], float(values[i])
        return None, -np.inf


def contains_row(X, row):
    """Whether ``row`` equals a row of ``X`` (to the duplicate tolerance)."""
    return bool(len(X)) and bool(np.any(np.all(np.abs(X - row) <= _DUPLICATE_TOL, axis=1)))


def _first_distinct(X, order, k):
    """Indices of the first ``k`` rows of ``X`` in ``order`` that differ."""
    chosen = []
    for i in order:
        if not chosen or not contains_row(X[chosen], X[i]):
            chosen.append(i)
            if len(chosen) == k:
                break
    return np.array(chosen, dtype=int)
