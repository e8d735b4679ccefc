"""Ask/tell Bayesian optimiser: Gaussian process + log expected improvement."""

import contextlib
import functools
import numbers
from collections.abc import Mapping

import numpy as np
from scipy.stats import qmc
from sklearn.utils import check_random_state
from threadpoolctl import ThreadpoolController

from ._gp.acq_optim import AcquisitionOptimizer, contains_row
from ._gp.acquisition import LogExpectedImprovement
from ._gp.ehvi import LogExpectedHypervolumeImprovement
from ._gp.kernels import ColumnLayout
from ._gp.surrogate import Surrogate, predict_told_units
from ._pareto import nondominated_boxes, pareto_mask, reference_point
from .space import Space

__all__ = ["Optimizer"]

_ACQ_FUNCS = ("logei",)
_ACQ_OPTIMIZER_KEYS = ("n_candidates", "n_local_candidates", "n_restarts", "maxiter", "n_rounds")
# log2 of the length of the space-filling design drawn once.
_DESIGN_LOG2 = 10
# Number of best observed points the acquisition search perturbs.
_N_INCUMBENTS = 5
# Beyond this many observations the models are fitted on a subset of them (the
# best half and an even spread of the rest): a GP costs O(n^3) per fit, and
# thousands of candidates (a search feeding a hundred workers) would otherwise
# make each proposal take seconds. Searches of a few hundred candidates use all.
_MAX_MODEL_POINTS = 400
_MAX_TRIES_UNSEEN = 100


@functools.cache
def _threadpool_controller():
    return ThreadpoolController()


def _single_threaded_blas():
    """Run BLAS on one thread: the matrices here are small, and threads only
    add synchronisation costs (large ones when the cores are busy, e.g. with
    parallel cross-validation)."""
    try:
        return _threadpool_controller().limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl could not inspect the libraries
        return contextlib.nullcontext()


# Told noise variances are shrunk this far to their mean (see _pooled).
_NOISE_POOLING = 0.5


def _pooled(noise):
    """Told noise variances shrunk halfway to their mean (per objective): an
    estimate from a few folds is itself noisy (3 folds: 2 degrees of freedom,
    +-100 %), and a candidate whose folds agreed by chance must not be trusted
    as noise-free."""
    out = noise.copy()
    for j in range(noise.shape[1]):
        told = np.isfinite(noise[:, j])
        if told.any():
            out[told, j] = (_NOISE_POOLING * noise[told, j].mean()
                            + (1 - _NOISE_POOLING) * noise[told, j])
    return out


class Optimizer:
    """Bayesian optimiser with an ask/tell interface (minimisation).

    A Gaussian process with a Matern-5/2 kernel (one lengthscale per
    dimension, Hamming distance for categorical ones) models the objective
    values, standardised and power-transformed (Yeo-Johnson) so that a long
    tail of bad values does not hide the good region; its hyperparameters
    are fitted by maximum a posteriori, warm-started from the previous fit.
    Points are chosen by maximising the log expected improvement (multi-start
    L-BFGS-B on continuous coordinates, exhaustive moves on categorical and
    small integer ones); the first ``n_initial_points`` come from a scrambled
    Sobol design. Batches and
    pending points are handled by the kriging believer: each pending point is
    added to the model with its predicted value, so later points go
    elsewhere.

    Failed evaluations (``nan`` or ``±inf``) are kept in ``Xi``/``yi`` but the
    model sees them with the worst finite value observed, which steers the
    search away from them; while fewer than two evaluations succeeded, points
    keep coming from the space-filling design.

    Parameters
    ----------
    dimensions : Space, dict or list
        The search space: a :class:`~sktune.search.space.Space`, a dict
        ``{name: spec}`` (points are then dicts) or a list of specs
        (scikit-optimize style; points are then lists in the same order). A
        spec is a dimension or a shorthand such as ``(low, high)``,
        ``(low, high, 'log-uniform')``, a list of categories or a frozen
        ``scipy.stats`` distribution.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed and the same tells give the same asks.
    n_initial_points : int, default=10
        Number of points from the space-filling design before the model is
        used (counting told and pending points).
    acq_func : {'logei'}, default='logei'
        Acquisition function: log expected improvement.
    acq_optimizer_kwargs : dict, default=None
        Options of the acquisition search: ``n_candidates`` (1024),
        ``n_local_candidates`` (256), ``n_restarts`` (8), ``maxiter`` (100),
        ``n_rounds`` (3).
    n_objectives : int, default=1
        Values told per point. With more than one, each objective gets its
        own Gaussian process and points are chosen by maximising the log
        expected hypervolume improvement over the Pareto front of the told
        and pending points (exact, closed form for independent models;
        docs/multi-objective.md); ``tell`` takes a vector per point and
        :attr:`pareto_indices` gives the non-dominated points.

    Attributes
    ----------
    space : Space
        The parsed search space.
    Xi : list
        Told points, in order.
    yi : list of float, or of tuples of floats
        Their values (``nan``/``inf`` for failed evaluations); a tuple of
        ``n_objectives`` values per point with several objectives.
    pending : list
        Asked points not told yet.

    Examples
    --------
    >>> from sktune.search import Optimizer
    >>> opt = Optimizer({"x": (-2.0, 2.0), "k": [1, 2, 3]}, random_state=0,
    ...                 n_initial_points=5)
    >>> for _ in range(12):
    ...     p = opt.ask()
    ...     opt.tell(p, (p["x"] - 0.5) ** 2 + p["k"])
    >>> opt.best_point["k"], round(opt.best_point["x"], 1)
    (1, 0.5)
    """

    def __init__(
        self,
        dimensions,
        *,
        random_state=None,
        n_initial_points=10,
        acq_func="logei",
        acq_optimizer_kwargs=None,
        n_objectives=1,
    ):
        self.space = Space(dimensions)
        if not isinstance(n_objectives, numbers.Integral) or n_objectives < 1:
            raise ValueError(
                f"n_objectives must be a positive integer; got {n_objectives!r}."
            )
        self.n_objectives = int(n_objectives)
        self._as_lists = not isinstance(dimensions, (Mapping, Space))
        if not isinstance(n_initial_points, numbers.Integral) or n_initial_points < 0:
            raise ValueError(
                f"n_initial_points must be a non-negative integer; got {n_initial_points!r}."
            )
        if acq_func not in _ACQ_FUNCS:
            raise ValueError(
                f"Unknown acq_func {acq_func!r}; the allowed values are "
                f"{', '.join(repr(a) for a in _ACQ_FUNCS)}."
            )
        kwargs = dict(acq_optimizer_kwargs or {})
        unknown = sorted(set(kwargs) - set(_ACQ_OPTIMIZER_KEYS))
        if unknown:
            raise ValueError(
                f"Unknown acq_optimizer_kwargs {unknown}; the allowed keys are "
                f"{list(_ACQ_OPTIMIZER_KEYS)}."
            )
        self.n_initial_points = int(n_initial_points)
        self.acq_func = acq_func
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self._design_seed = self._rng.randint(2**31)
        self._design = None
        self._n_design_used = 0
        self._acq_optimizer = AcquisitionOptimizer(self.space, **kwargs)
        self._layout = ColumnLayout(self.space._column_dim, self.space._is_categorical_column)

        self.Xi, self.yi, self.pending = [], [], []
        self._noise = []  # told noise variance of each value (nan: none told)
        self._X = np.empty((0, self.space.n_columns))
        self._pending_X = np.empty((0, self.space.n_columns))
        self._surrogates = [Surrogate(self._layout) for _ in range(self.n_objectives)]

    # -- conversions -------------------------------------------------------------
    def _to_rows(self, points):
        if self._as_lists:
            dicts = []
            for p in points:
                if isinstance(p, (Mapping, str)) or not hasattr(p, "__len__") \
                        or len(p) != len(self.space):
                    raise ValueError(
                        f"Expected a point as a list of {len(self.space)} values "
                        f"{self.space.names}; got {p!r}."
                    )
                dicts.append(dict(zip(self.space.names, p)))
            points = dicts
        return self.space.transform(points)

    def _to_points(self, X):
        points = self.space.inverse_transform(X)
        if self._as_lists:
            return [[p[name] for name in self.space.names] for p in points]
        return points

    # -- ask -------------------------------------------------------------------
    def ask(self, n_points=None):
        """Suggest the next point(s) to evaluate.

        The returned points are recorded as pending until told.

        Parameters
        ----------
        n_points : int, default=None
            ``None`` for one point; otherwise the size of a batch of distinct
            points for parallel evaluation.

        Returns
        -------
        point : dict or list, or list of them
            One point if ``n_points`` is None, else a list of ``n_points``.
        """
        if n_points is not None and (
            not isinstance(n_points, numbers.Integral) or n_points < 1
        ):
            raise ValueError(f"n_points must be None or a positive integer; got {n_points!r}.")
        rows = []
        with _single_threaded_blas():
            for _ in range(1 if n_points is None else int(n_points)):
                rows.append(self._next_row(np.array(rows).reshape(-1, self.space.n_columns)))
        X = np.array(rows)
        points = self._to_points(X)
        self.pending.extend(points)
        # store the rows of the returned values (rounded as the values are)
        self._pending_X = np.vstack([self._pending_X, self._to_rows(points)])
        return points[0] if n_points is None else points

    def _next_row(self, X_chosen):
        X_busy = np.vstack([self._X, self._pending_X, X_chosen])
        finite = self._succeeded()
        if len(X_busy) < self.n_initial_points or finite.sum() < 2:
            return self._design_row(X_busy)
        if self.n_objectives > 1:
            return self._next_row_of_front(X_busy, X_chosen, finite)
        (gp,), rows = self._fitted_models()
        finite = finite[rows]
        model = gp.with_fantasies(np.vstack([self._pending_X, X_chosen]))
        # Kriging believer: the believed values at pending points count as
        # observations, for the incumbent too (so EI vanishes around them).
        believed = model.ys_[len(gp.ys_):]
        # With told or material fitted noise an observed value is a noisy reading:
        # compare with the best posterior mean of the observed points (a
        # "plug-in" noisy EI).
        seen = gp.predict(gp.X_)[0] if self._surrogates[0].noisy else gp.ys_
        best = float(np.min(np.concatenate([seen[finite], believed])))
        order = np.argsort(np.where(finite, seen, np.inf), kind="stable")
        incumbents = self._X[rows][order[: min(_N_INCUMBENTS, int(finite.sum()))]]
        x, _ = self._acq_optimizer.maximize(
            LogExpectedImprovement(model, best),
            self._rng,
            X_incumbents=incumbents,
            X_exclude=X_busy,
            lengthscales=gp.column_lengthscales_,
        )
        return x if x is not None else self._random_row(X_busy)

    def _next_row_of_front(self, X_busy, X_chosen, finite):
        """Several objectives: the point of largest expected hypervolume
        improvement, one model per objective. Pending points count as
        observed with their believed values (kriging believer), in the front
        too, so the next point goes elsewhere."""
        gps, rows = self._fitted_models()
        X_pending = np.vstack([self._pending_X, X_chosen])
        models = [gp.with_fantasies(X_pending) for gp in gps]
        # the models' (warped, standardised) values; failures were given the worst
        Y = np.column_stack([m.ys_ for m in models])
        front = pareto_mask(Y)
        lower, upper = nondominated_boxes(Y[front], reference_point(Y))
        observed_front = np.flatnonzero(front[: len(rows)] & finite[rows])
        if len(observed_front) > _N_INCUMBENTS:
            observed_front = self._rng.choice(observed_front, _N_INCUMBENTS, replace=False)
        x, _ = self._acq_optimizer.maximize(
            LogExpectedHypervolumeImprovement(models, lower, upper),
            self._rng,
            X_incumbents=self._X[rows][observed_front],
            X_exclude=X_busy,
            lengthscales=np.min([gp.column_lengthscales_ for gp in gps], axis=0),
        )
        return x if x is not None else self._random_row(X_busy)

    def _design_row(self, X_busy):
        if self._design is None:
            sobol = qmc.Sobol(self.space.n_dims, scramble=True, seed=self._design_seed)
            self._design = self.space._unit_to_columns(sobol.random_base2(_DESIGN_LOG2))
        while self._n_design_used < len(self._design):
            row = self._design[self._n_design_used]
            self._n_design_used += 1
            if not contains_row(X_busy, row):
                return row
        return self._random_row(X_busy)

    def _random_row(self, X_busy):
        """A random point, unseen if one is found."""
        for _ in range(_MAX_TRIES_UNSEEN):
            row = self.space._unit_to_columns(self._rng.uniform(size=(1, self.space.n_dims)))[0]
            if not contains_row(X_busy, row):
                break
        return row

    # -- model -------------------------------------------------------------------
    def _values(self):
        """Told values as an array of shape (n, n_objectives)."""
        return np.asarray(self.yi, dtype=float).reshape(len(self.yi), self.n_objectives)

    def _succeeded(self):
        """Which told points succeeded: finite in every objective."""
        return np.all(np.isfinite(self._values()), axis=1)

    def _fitted_models(self):
        """One fitted Gaussian process per objective, and the indices of the
        observations they were fitted on (:meth:`_model_rows`)."""
        rows = self._model_rows()
        Y = self._values()[rows]
        failed = ~self._succeeded()[rows]  # a failure counts in every objective
        noise = _pooled(np.asarray(self._noise, dtype=float).reshape(-1, self.n_objectives))[rows]
        models = [s.fitted(self._X[rows], np.where(failed, np.nan, Y[:, i]),
                           len(self._pending_X), n_told=len(self._X),
                           noise_var=noise[:, i] if np.isfinite(noise[:, i]).any() else None)
                  for i, s in enumerate(self._surrogates)]
        return models, rows

    def _model_rows(self):
        """All observations up to ``_MAX_MODEL_POINTS``; beyond, that many: the
        best half of them (non-dominated first with several objectives, then by
        the sum of the objectives' ranks; failures last) and an even spread
        over the rest, in order."""
        n = len(self._X)
        if n <= _MAX_MODEL_POINTS:
            return np.arange(n)
        Y = self._values()
        failed = ~self._succeeded()
        ranks = np.argsort(np.argsort(np.where(failed[:, None], np.inf, Y), axis=0,
                                      kind="stable"), axis=0).sum(axis=1)
        dominated = ~pareto_mask(Y) if self.n_objectives > 1 else np.zeros(n, dtype=bool)
        order = np.lexsort([np.arange(n), ranks, dominated, failed])
        best = order[: _MAX_MODEL_POINTS // 2]
        rest = np.setdiff1d(np.arange(n), best)
        spread = rest[np.linspace(0, len(rest) - 1, _MAX_MODEL_POINTS - len(best)).astype(int)]
        return np.sort(np.concatenate([best, spread]))

    @property
    def _gp(self):
        """The first objective's model, once fitted (scikit-optimize's ``models``)."""
        return self._surrogates[0].gp

    # -- tell --------------------------------------------------------------------
    def tell(self, x, y, noise=None):
        """Record evaluation results.

        Parameters
        ----------
        x : point or list of points
            Point(s) as returned by :meth:`ask` (or any valid points).
        y : float or sequence of float
            Value(s) to minimise; a sequence when ``x`` is a list of points.
            With ``n_objectives > 1``: a sequence of ``n_objectives`` values
            for one point, or an array of shape (n_points, n_objectives).
            ``nan`` and ``±inf`` mark failed evaluations (with several
            objectives, a non-finite value makes the point a failure in all).
        noise : float or sequence of float, default=None
            The variance of each value's noise, in the units of ``y`` (for a
            mean of k fold scores: their variance / k), shaped as ``y``. Told
            noise makes the model heteroscedastic (each told variance times a
            fitted scale, on top of its own noise term), models the values
            without the output power warp (only clipped and standardised) and
            makes the acquisition compare against the best *posterior mean*
            instead of the best observed value, so a lucky value is not trusted
            more than its noise allows (docs/bayes-search.md). ``nan``: not
            known.
        """
        if self.n_objectives > 1:
            points, values = self._objective_vectors(x, y)
        elif isinstance(y, (numbers.Real, np.number)) and not isinstance(y, (bool, np.bool_)):
            points, values = [x], [y]
        elif isinstance(y, (list, tuple, np.ndarray)) and np.ndim(y) == 1:
            points, values = list(x), list(y)
            if len(points) != len(values):
                raise ValueError(
                    f"tell got {len(points)} points but {len(values)} values; give one value "
                    "per point."
                )
        else:
            raise TypeError(
                f"y must be a number or a 1-D sequence of numbers; got {y!r}."
            )
        if self.n_objectives == 1:
            try:
                values = [float(v) for v in values]
            except (TypeError, ValueError):
                raise TypeError(f"y must contain numbers; got {values!r}.") from None
        noises = self._told_noise(noise, len(points))
        rows = self._to_rows(points)
        for point, row, value, var in zip(points, rows, values, noises):
            self._drop_pending(row)
            self.Xi.append(list(point) if self._as_lists else dict(point))
            self.yi.append(value)
            self._noise.append(var)
        self._X = np.vstack([self._X, rows])

    def _told_noise(self, noise, n_points):
        """One row of ``n_objectives`` noise variances per told point (nan: unknown)."""
        m = self.n_objectives
        if noise is None:
            return np.full((n_points, m), np.nan)
        try:
            N = np.asarray(noise, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"noise must contain numbers; got {noise!r}.") from None
        if N.size != n_points * m:
            raise ValueError(
                f"noise must be shaped as y: one variance per value ({n_points} point(s) x "
                f"{m} objective(s)); got shape {N.shape}."
            )
        N = N.reshape(n_points, m)
        if np.any(N[np.isfinite(N)] < 0) or np.any(np.isinf(N)):
            raise ValueError(f"noise variances must be >= 0 (or nan if unknown); got {noise!r}.")
        return N

    def _objective_vectors(self, x, y):
        """``(points, values)`` of a tell with several objectives: ``y`` is one
        vector of ``n_objectives`` values, or one per point of the list ``x``."""
        try:
            Y = np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"y must contain numbers; got {y!r}.") from None
        m = self.n_objectives
        if Y.shape == (m,):
            return [x], [tuple(float(v) for v in Y)]
        if Y.ndim == 2 and Y.shape[1] == m and len(x) == len(Y):
            return list(x), [tuple(float(v) for v in row) for row in Y]
        raise ValueError(
            f"With n_objectives={m}, tell takes y as {m} values for one point or an array of "
            f"shape (n_points, {m}) for a list of points; got y of shape {Y.shape}"
            + ("" if Y.ndim != 2 else f" for {len(x)} points") + "."
        )

    def _drop_pending(self, row):
        if len(self._pending_X):
            match = np.all(np.abs(self._pending_X - row) <= 1e-8, axis=1)
            if match.any():
                i = int(np.argmax(match))
                del self.pending[i]
                self._pending_X = np.delete(self._pending_X, i, axis=0)

    # -- results -------------------------------------------------------------------
    def predict(self, points):
        """The model's belief about the (noise-free) value at ``points``.

        Parameters
        ----------
        points : list of points

        Returns
        -------
        mean, std : ndarray of shape (n_points,) or (n_points, n_objectives)
            Posterior mean and standard deviation in the units of the told
            values (the output warping inverted); ``nan`` before the model is
            fitted (fewer than two successful evaluations).
        """
        X = self._to_rows(points)
        shape = (len(points),) if self.n_objectives == 1 else (len(points), self.n_objectives)
        if self._succeeded().sum() < 2 or not len(points):
            return np.full(shape, np.nan), np.full(shape, np.nan)
        with _single_threaded_blas():
            models, _ = self._fitted_models()
            parts = [predict_told_units(gp, s.warp, X) for gp, s in zip(models, self._surrogates)]
        mean = np.column_stack([p[0] for p in parts]).reshape(shape)
        std = np.column_stack([p[1] for p in parts]).reshape(shape)
        return mean, std

    @property
    def posterior_best_index(self):
        """Index in ``Xi``/``yi`` of the told point whose posterior mean is the
        smallest (the one the model believes best), or None (one objective)."""
        if self.n_objectives > 1:
            raise AttributeError("With several objectives no point is best: see pareto_indices.")
        finite = self._succeeded()
        if finite.sum() < 2:
            return self.best_index
        mean, _ = self.predict(self.Xi)
        return int(np.argmin(np.where(finite, mean, np.inf)))

    @property
    def pareto_indices(self):
        """Indices in ``Xi``/``yi`` of the non-dominated told points (minimised;
        failed ones excluded), in order. With one objective: the best one."""
        Y = self._values()
        if self.n_objectives == 1:
            best = self.best_index
            return [] if best is None else [best]
        return [int(i) for i in np.flatnonzero(pareto_mask(Y))] if len(Y) else []

    @property
    def best_index(self):
        """Index in ``Xi``/``yi`` of the best finite value, or None (one objective)."""
        if self.n_objectives > 1:
            raise AttributeError(
                f"With {self.n_objectives} objectives no point is best: the best ones are "
                "the non-dominated points, Optimizer.pareto_indices."
            )
        y = np.asarray(self.yi, dtype=float)
        finite = np.isfinite(y)
        if not finite.any():
            return None
        return int(np.argmin(np.where(finite, y, np.inf)))

    @property
    def best_point(self):
        """Point with the smallest finite value, or None."""
        i = self.best_index
        return None if i is None else self.Xi[i]

    @property
    def best_value(self):
        """Smallest finite value told, or None."""
        i = self.best_index
        return None if i is None else self.yi[i]
