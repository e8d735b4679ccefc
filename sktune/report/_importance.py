"""Hyperparameter importance: how much of the score's variation each one explains.

A functional ANOVA (fANOVA) of the report's Gaussian-process model of the
score (:mod:`._surrogate`):

1. Each hyperparameter gets a grid (its categories; its integers when few;
   else ``_GRID_POINTS`` settings evenly spaced on its own scale), and
   ``_N_SAMPLES`` settings are drawn with every hyperparameter independently
   uniform on its grid (a product measure, as fANOVA uses). The variance of
   the model's predicted score over them is the total variance ``V``.
2. The main effect of hyperparameter ``j`` at a grid value is the mean
   prediction with ``j`` set to it and the others as drawn (its partial
   dependence); its variance over ``j``'s grid divided by ``V`` is ``j``'s
   share.
3. For each pair of the most important hyperparameters, the variance of the
   joint effect (both set, on coarser grids) less the two main effects is the
   pair's interaction share (at most ``1 - sum(shares)``).
4. Intervals: the same shares from models refitted on random subsets of the
   candidates (``_N_RESAMPLES`` of them, each ``_RESAMPLE_FRACTION`` of the
   candidates, the hyperparameters of the model kept), their 5 % and 95 %
   quantiles. They say how much the estimate rests on particular candidates.

Everything is seeded: a search gives the same numbers on every call. Shares
add up to at most 1 (the main effects divided by their sum instead should
sampling noise make that sum exceed ``V``); ``interactions`` is the rest.
"""

from dataclasses import dataclass, field

import numpy as np

from ._surrogate import (BACKGROUND_GRID, BACKGROUND_SAMPLES, background, fit_score_model,
                         grid_columns, with_setting)

_GRID_POINTS = BACKGROUND_GRID
_N_SAMPLES = BACKGROUND_SAMPLES
_PAIR_GRID = 8
_PAIR_SAMPLES = 64
_PAIR_DIMS = 4          # pairs among this many most important hyperparameters
_N_RESAMPLES = 30
_RESAMPLE_FRACTION = 0.632  # the share of distinct candidates in a bootstrap sample
_QUANTILES = (0.05, 0.95)

METHOD = (
    "fANOVA-style main effects of the report's Gaussian-process model of the mean CV "
    "score (the Bayesian optimiser's kernel, fitted to every candidate's score): each "
    "hyperparameter's share is the variance of its main effect (the average prediction "
    "with that hyperparameter fixed, the others drawn uniformly over the range searched) "
    "divided by the total variance of the predictions. Intervals (5-95 %) come from "
    f"{_N_RESAMPLES} models refitted on random subsets of 63 % of the candidates. Shares "
    "add up to at most 100%; the rest comes from interactions. Hyperparameters are "
    "treated on their own scale (log, categories); failed candidates count as the worst "
    "score."
)


@dataclass
class Importance:
    """Result of :func:`parameter_importance`.

    Attributes
    ----------
    names : list of str
        Modelled hyperparameters, most important first.
    shares : ndarray
        Share of the score variance each explains alone (0 to 1).
    lower, upper : ndarray
        The shares' 5 % and 95 % quantiles over the refitted models.
    interactions : float
        ``1 - sum(shares)``: variance explained only jointly.
    pairs : list of tuple
        ``(a, b, share, lower, upper)``: the interaction share of pairs of the
        most important hyperparameters, largest first.
    fit_r2 : float or None
        Leave-one-out R^2 of the model (how well it predicts a candidate it
        did not see).
    n_candidates : int
        Candidates with a score the model was fitted on.
    constant : list of str
        Hyperparameters with a single value (no effect measurable).
    left_out : list of str
        Varied hyperparameters not modelled (set by some candidates only).
    reason : str
        Why no estimate was made (empty when there is one).
    """

    names: list
    shares: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    interactions: float
    pairs: list
    fit_r2: object
    n_candidates: int
    constant: list
    left_out: list = field(default_factory=list)
    reason: str = ""

    @property
    def available(self):
        return not self.reason


def parameter_importance(results, model=None, reason=None, random_state=0):
    """Estimate how much each hyperparameter explains the ranked score.

    Parameters
    ----------
    results : SearchResults
        From :func:`sktune.report._results.read_search`.
    model, reason : ScoreModel or None, str, default=None
        The model of the score and why there is none (from
        :func:`~._surrogate.fit_score_model`); fitted here when not given.
    random_state : int, default=0
        Seeds the sampled settings and the subsets.

    Returns
    -------
    importance : Importance
    """
    score = results.mean[results.primary]
    n_ok = int(np.isfinite(score).sum())
    constant = [p.name for p in results.params if p.n_distinct <= 1]
    if model is None and reason is None:
        model, reason = fit_score_model(results)
    if model is None:
        return Importance([], np.zeros(0), np.zeros(0), np.zeros(0), 0.0, [], None, n_ok,
                          constant, [], reason)
    probes = _Probes(model, random_state)
    main, pairs = probes.effects(model)
    if main is None:
        return Importance([], np.zeros(0), np.zeros(0), np.zeros(0), 0.0, [], model.loo_r2,
                          n_ok, constant, model.left_out,
                          "The model predicts the same score everywhere.")
    rng = np.random.default_rng(random_state)
    n = len(model.rows)
    size = max(2, int(round(_RESAMPLE_FRACTION * n)))
    resampled_main, resampled_pairs = [], []
    for _ in range(_N_RESAMPLES):
        subset = np.sort(rng.choice(n, size=size, replace=False))
        m, p = probes.effects(model.refitted_on(subset))
        if m is not None:
            resampled_main.append(m)
            resampled_pairs.append(p)
    lower, upper = _bounds(resampled_main, main)
    pair_lower, pair_upper = _bounds(resampled_pairs, pairs)
    # a pair explains at most what the main effects leave (its coarser grids put
    # more weight on the edges than the total variance's settings do)
    rest = max(0.0, 1.0 - float(main.sum()))
    pairs, pair_lower, pair_upper = (np.minimum(v, rest) for v in (pairs, pair_lower,
                                                                     pair_upper))
    order = np.argsort(-main, kind="stable")
    names = model.names
    pair_rows = sorted(
        ((names[a], names[b], float(pairs[k]), float(pair_lower[k]), float(pair_upper[k]))
         for k, (a, b) in enumerate(probes.pairs)),
        key=lambda row: -row[2])
    return Importance(
        names=[names[j] for j in order],
        shares=main[order],
        lower=lower[order],
        upper=upper[order],
        interactions=float(max(0.0, 1.0 - main.sum())),
        pairs=pair_rows,
        fit_r2=model.loo_r2,
        n_candidates=n_ok,
        constant=constant,
        left_out=model.left_out,
    )


class _Probes:
    """The settings the effects are computed at: fixed for a search, so that the
    full model and every refitted one are probed alike."""

    def __init__(self, model, random_state):
        space = model.space
        self.sample = background(model, _N_SAMPLES, _GRID_POINTS, random_state)
        self.grids = [grid_columns(dim, _GRID_POINTS) for dim in space.dimensions]
        self.main = [with_setting(self.sample, model, name, grid)
                     for name, grid in zip(space.names, self.grids)]
        self.pair_sample = self.sample[:_PAIR_SAMPLES]
        self.pair_grids = [_thinned(g, _PAIR_GRID) for g in self.grids]
        self.pairs, self.pair_probes = [], []
        # pairs among the dimensions most important in the full model
        shares, _ = self.effects(model)
        top = [] if shares is None else sorted(np.argsort(-shares, kind="stable")[:_PAIR_DIMS])
        self.pairs = [(a, b) for i, a in enumerate(top) for b in top[i + 1:]]
        self.pair_probes = [self._pair_probe(model, a, b) for a, b in self.pairs]

    def _pair_probe(self, model, a, b):
        ga, gb = self.pair_grids[a], self.pair_grids[b]
        names = model.space.names
        rows = with_setting(self.pair_sample, model, names[a], ga)
        rows = rows.reshape(len(ga), len(self.pair_sample), -1)
        return np.concatenate([with_setting(block, model, names[b], gb) for block in rows])

    def _effect(self, model, probe, n_values):
        return model.predict_mean(probe).reshape(n_values, -1).mean(axis=1)

    def effects(self, model):
        """``(main shares, pair interaction shares)`` of ``model``; ``(None,
        None)`` when it predicts the same score everywhere."""
        total = float(np.var(model.predict_mean(self.sample)))
        if not total > 0:
            return None, None
        main = np.array([np.var(self._effect(model, probe, len(grid)))
                         for probe, grid in zip(self.main, self.grids)])
        scale = max(total, main.sum())
        pairs = np.empty(len(self.pairs))
        for k, ((a, b), probe) in enumerate(zip(self.pairs, self.pair_probes)):
            na, nb = len(self.pair_grids[a]), len(self.pair_grids[b])
            joint = model.predict_mean(probe).reshape(na, nb, -1).mean(axis=2)
            alone = np.var(joint.mean(axis=1)) + np.var(joint.mean(axis=0))
            pairs[k] = max(0.0, float(np.var(joint) - alone)) / scale
        return main / scale, pairs


def _thinned(grid, n):
    if len(grid) <= n:
        return grid
    return grid[np.unique(np.linspace(0, len(grid) - 1, n).round().astype(int))]


def _bounds(replicates, estimate):
    """The 5 % and 95 % quantiles of the replicates' values (the estimate itself
    when there are none)."""
    if not replicates or len(estimate) == 0:
        return estimate.copy(), estimate.copy()
    values = np.asarray(replicates)
    lower, upper = np.quantile(values, _QUANTILES, axis=0)
    return np.minimum(lower, estimate), np.maximum(upper, estimate)
