"""The model of the score a report explains the search with.

One Gaussian process, from the hyperparameters to the ranked mean CV score,
is fitted to the candidates of ``cv_results_`` with the Bayesian optimiser's
own engine (:mod:`sktune.search._gp`: Matern-5/2 kernel with a lengthscale per
hyperparameter, Hamming distance for categories, fitted noise), the scores
standardised without the optimiser's power warp (:func:`_score_warp`). It is
the kind of model a ``BayesSearchCV`` fits, for every search (grid, random,
Hyperband, a saved file). Partial dependence (:mod:`._dependence`) and
importance (:mod:`._importance`) read it.

Each hyperparameter is a dimension of the model on its own scale: the one its
search space declares (``Real(..., 'log-uniform')``, categories) where it
has one, else numbers on a linear or log scale (values spanning over a
decade, all positive) between the smallest and largest value tried, and
anything else as categories. Failed candidates count as the worst score seen
(as the optimiser sees them). Parameters that some candidates do not set
(alternative sub-spaces) are left out of the model. Beyond :data:`MAX_ROWS`
candidates, the model sees the best half of that many and an even spread of
the others.
"""

from dataclasses import dataclass, field

import numpy as np

from ..search._gp.gp import GaussianProcess
from ..search._gp.kernels import ColumnLayout
from ..search._gp.warp import TargetWarp
from ..search.space import Categorical, Integer, Real, Space
from ._format import is_missing

#: A model needs this many candidates with a finite score.
MIN_CANDIDATES = 5
#: At most this many candidates are modelled (a GP fit costs O(n^3)): the best
#: half and an even spread of the others, as the optimiser keeps its model small.
MAX_ROWS = 200
#: The settings partial dependence and importance average over: this many,
#: each hyperparameter drawn from a grid of at most BACKGROUND_GRID values.
BACKGROUND_SAMPLES = 128
BACKGROUND_GRID = 16


@dataclass
class ScoreModel:
    """A fitted Gaussian process of the ranked score over the hyperparameters.

    Attributes
    ----------
    space : Space
        One dimension per modelled hyperparameter.
    rows : ndarray of shape (n, n_columns)
        The candidates modelled, in the space's columns.
    index : ndarray of shape (n,)
        Their rows of ``cv_results_``.
    scores : ndarray of shape (n,)
        Their mean CV scores (NaN for failed candidates).
    loo_r2 : float or None
        R^2 of the leave-one-out predictions against the finite scores: how
        well the model predicts a candidate it did not see.
    left_out : list of str
        Varied hyperparameters not modelled (not set by every candidate).
    """

    space: Space
    rows: np.ndarray
    index: np.ndarray
    scores: np.ndarray
    gp: GaussianProcess
    warp: object
    loo_r2: object
    left_out: list = field(default_factory=list)

    @property
    def names(self):
        return self.space.names

    def predict_mean(self, X):
        """Predicted score at the rows of ``X`` (score units, larger is better)."""
        return -self._told(self.gp.predict_mean(np.asarray(X, dtype=float)))

    def predict(self, X):
        """Predicted score and its posterior standard deviation (score units; the
        standard deviation carried through the warp's slope, NaN where it is flat)."""
        mean, var = self.gp.predict(np.asarray(X, dtype=float))
        told = self._told(mean)
        slope = self.warp.slope(told)
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.where(slope > 0, np.sqrt(var) * self.gp.y_std_ / slope, np.nan)
        return -told, std

    def _told(self, latent):
        """Standardised latent values -> told values (the minimised negated score),
        kept within one range of the scores seen beyond them (a Gaussian
        process's mean does not overshoot further; the warp's inverse can, near
        the edge of its power transform's image)."""
        told = self.warp.inverse(latent * self.gp.y_std_ + self.gp.y_mean_)
        seen = -self.scores[np.isfinite(self.scores)]
        span = np.ptp(seen)
        return np.clip(told, seen.min() - span, seen.max() + span)

    def refitted_on(self, subset):
        """The model of the candidates ``subset`` (positions in ``rows``), with
        the same hyperparameters and output warping (nothing is optimised)."""
        gp = GaussianProcess(self.gp.layout).fit(self.rows[subset], self.warp.warped[subset],
                                                 theta0=self.gp.theta_, optimize=False)
        return ScoreModel(self.space, self.rows[subset], self.index[subset],
                          self.scores[subset], gp, self.warp, None, self.left_out)


def fit_score_model(results):
    """``(model, reason)``: the :class:`ScoreModel` of ``results``, or None and
    why none could be fitted."""
    score = results.mean[results.primary]
    varied = [p for p in results.params if p.n_distinct > 1]
    modelled = [p for p in varied if not any(is_missing(v) for v in p.values)]
    left_out = [p.name for p in varied if p not in modelled]
    if not modelled:
        return None, ("No hyperparameter took more than one value." if not varied else
                      "Every varied hyperparameter is set by some candidates only "
                      "(sub-spaces): no model of all of them.")
    finite = np.isfinite(score)
    if finite.sum() < MIN_CANDIDATES:
        return None, (f"Needs at least {MIN_CANDIDATES} candidates with a score; this search "
                      f"has {int(finite.sum())}.")
    if np.ptp(score[finite]) == 0:
        return None, "Every candidate scored the same: nothing to explain."
    declared = results.declared or {}
    space = Space({p.name: _dimension(p, declared.get(p.name)) for p in modelled})
    points = [{p.name: p.values[i] for p in modelled} for i in range(results.n_candidates)]
    rows = space.transform(points)
    index = _modelled_rows(score)
    rows, score = rows[index], score[index]
    warp = _score_warp(score)
    layout = ColumnLayout(space._column_dim, space._is_categorical_column)
    gp = GaussianProcess(layout)
    gp.fit(rows, warp.warped, theta0=[gp.default_theta])
    model = ScoreModel(space, rows, index, score.copy(), gp, warp, None, left_out)
    model.loo_r2 = _loo_r2(model)
    return model, ""


def _score_warp(score):
    """The model's output scaling: the negated scores (the optimiser's convention,
    minimised) clipped of extreme outliers and standardised, failures at the
    worst score seen. No power transform: the optimiser's compresses the bad
    scores to resolve the good ones, where a report must model every score on
    its own scale (with it, the model of a Bayesian search's crowded results
    predicted the candidates it left out with an R^2 below 0.4 on smooth
    functions; benchmarks/bench_explain.py)."""
    y = -np.asarray(score, dtype=float)
    finite = np.isfinite(y)
    return TargetWarp(np.where(finite, y, np.max(y[finite])), power=False)


def _modelled_rows(score):
    """Every candidate up to :data:`MAX_ROWS`; beyond, the best half of that and
    an even spread over the others (failures last), in order."""
    n = len(score)
    if n <= MAX_ROWS:
        return np.arange(n)
    order = np.argsort(-np.where(np.isfinite(score), score, -np.inf), kind="stable")
    best = order[: MAX_ROWS // 2]
    rest = np.setdiff1d(np.arange(n), best)
    spread = rest[np.linspace(0, len(rest) - 1, MAX_ROWS - len(best)).round().astype(int)]
    return np.sort(np.concatenate([best, spread]))


def _dimension(param, declared):
    """The model's dimension of one hyperparameter: as declared by the search
    space when every value tried lies in it, else from the values tried."""
    values = list(param.values)
    if declared is not None and (declared.kind == "categorical") == (param.kind != "numeric"):
        try:
            declared.transform(values)
        except (ValueError, TypeError):
            pass  # a value outside the declared range (a later change): the values decide
        else:
            return declared._with_name(param.name)
    if param.kind == "numeric":
        numbers = param.numeric_values()
        low, high = float(numbers.min()), float(numbers.max())
        prior = "log-uniform" if param.log else "uniform"
        if all(float(v).is_integer() and not isinstance(v, float) for v in values):
            return Integer(int(low), int(high), prior=prior)
        return Real(low, high, prior=prior)
    categories, _ = param.categories()
    return Categorical(categories)


def _loo_r2(model):
    finite = np.isfinite(model.scores)
    predicted = -model._told(model.gp.loo_mean())[finite]
    observed = model.scores[finite]
    total = float(np.sum((observed - observed.mean()) ** 2))
    if not total > 0:
        return None
    return 1.0 - float(np.sum((observed - predicted) ** 2)) / total


def grid_columns(dim, n):
    """At most ``n`` settings of one dimension, in its columns, low to high:
    every category; every integer when there are few enough; else evenly
    spaced on the dimension's scale (a scipy distribution: evenly spaced
    quantiles, its infinite ends left out)."""
    if dim.kind == "categorical":
        return np.eye(dim.n_columns)
    choices = dim._choices()
    if choices is not None and len(choices) <= n:
        return np.asarray(choices, dtype=float)
    if dimension_bounds(dim) is not None:
        unit = np.linspace(0.0, 1.0, n)
    else:
        unit = (np.arange(n) + 0.5) / n
    return np.unique(dim._snap(unit[:, None]), axis=0)


def dimension_bounds(dim):
    """``(low, high)`` of a numeric dimension with finite bounds, else None."""
    if isinstance(dim, (Real, Integer)):
        return dim.low, dim.high
    support = getattr(dim, "_support", None)  # a scipy distribution
    if support is not None and all(np.isfinite(support)):
        return support
    return None


def background(model, n_samples, n_grid, random_state=0):
    """``n_samples`` settings with each hyperparameter drawn independently and
    uniformly from its grid (:func:`grid_columns`), as model rows: the
    settings partial dependence and importance average over (fANOVA's product
    measure; scikit-optimize's ``plot_objective`` averages over random points
    of the space likewise)."""
    rng = np.random.default_rng(random_state)
    parts = []
    for dim in model.space.dimensions:
        grid = grid_columns(dim, n_grid)
        parts.append(grid[rng.integers(len(grid), size=n_samples)])
    return np.hstack(parts)


def with_setting(sample, model, name, columns):
    """Copies of the rows ``sample``, one block per row of ``columns``, with
    ``name``'s columns set to it: shape ``(len(columns) * len(sample), n_columns)``."""
    where = model.space._slices[model.space.names.index(name)]
    probe = np.repeat(sample[None], len(columns), axis=0)
    probe[:, :, where] = np.asarray(columns)[:, None, :]
    return probe.reshape(-1, sample.shape[1])
