"""Hyperparameter importance: how much of the score variance each one explains.

The estimate is a functional ANOVA (fANOVA) of a random-forest surrogate:

1. Encode every candidate's parameters (numbers as they are, on a log10 scale
   when the parameter is log-scaled; categories as codes; "not set" as
   missing) and fit a ``RandomForestRegressor`` from them to the mean CV score
   of the ranked metric (failed candidates left out).
2. Give each parameter a grid: its distinct values when there are at most
   ``_GRID_POINTS`` of them, else that many evenly spaced points over the
   searched range; every category is one point.
3. Draw configurations with each parameter independently uniform on its grid
   (a product measure, as fANOVA uses) and predict them: their variance is
   the total variance ``V``.
4. The main effect of parameter ``j`` at grid value ``g`` is the mean
   prediction with ``j`` fixed at ``g`` and the others as drawn; the variance
   of the main effect over ``j``'s grid, divided by ``V``, is ``j``'s share
   (divided by the sum of the main effects instead, should sampling noise
   make that sum exceed ``V``).

Shares add up to at most 1; the rest is explained by interactions between
parameters. The random forest's out-of-bag R^2 says how well the surrogate
predicts the scores of candidates it did not see.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestRegressor

_GRID_POINTS = 16
_N_SAMPLES = 512
_MIN_CANDIDATES = 5

METHOD = (
    "fANOVA-style main effects of a random-forest surrogate: a random forest "
    "(200 trees) is fitted from the hyperparameters to the mean CV score, and "
    "each hyperparameter's share is the variance of its main effect (the "
    "average prediction with that hyperparameter fixed, others drawn "
    "uniformly over the values searched) divided by the total variance of "
    "the predictions. Shares add up to at most 100%; the rest comes from "
    "interactions. Log-scaled hyperparameters are treated on a log scale."
)


@dataclass
class Importance:
    """Result of :func:`parameter_importance`.

    Attributes
    ----------
    names : list of str
        Varied hyperparameters, most important first.
    shares : ndarray
        Share of the score variance each explains (0 to 1).
    interactions : float
        ``1 - sum(shares)``: variance explained only jointly.
    oob_r2 : float or None
        Out-of-bag R^2 of the surrogate forest.
    n_candidates : int
        Candidates the forest was fitted on.
    constant : list of str
        Hyperparameters with a single value (no effect measurable).
    reason : str
        Why no estimate was made (empty when there is one).
    """

    names: list
    shares: np.ndarray
    interactions: float
    oob_r2: object
    n_candidates: int
    constant: list
    reason: str = ""

    @property
    def available(self):
        return not self.reason


def parameter_importance(results, random_state=0):
    """Estimate how much each hyperparameter explains the ranked score.

    Parameters
    ----------
    results : SearchResults
        From :func:`sktune.report._results.read_search`.
    random_state : int, default=0
        Seeds the forest and the sampled configurations.

    Returns
    -------
    importance : Importance
    """
    score = results.mean[results.primary]
    ok = np.isfinite(score)
    varied = [p for p in results.params if p.n_distinct > 1]
    constant = [p.name for p in results.params if p.n_distinct <= 1]

    def unavailable(reason):
        return Importance([], np.zeros(0), 0.0, None, int(ok.sum()), constant, reason)

    if not varied:
        return unavailable("No hyperparameter took more than one value.")
    if ok.sum() < _MIN_CANDIDATES:
        return unavailable(
            f"Needs at least {_MIN_CANDIDATES} candidates with a score; this search has "
            f"{int(ok.sum())}.")
    if np.ptp(score[ok]) == 0:
        return unavailable("Every candidate scored the same: nothing to explain.")

    X = np.column_stack([_encode(p) for p in varied])[ok]
    y = score[ok]
    forest = RandomForestRegressor(n_estimators=200, oob_score=True, random_state=random_state,
                                   n_jobs=1)
    forest.fit(X, y)
    oob = float(forest.oob_score_) if np.isfinite(forest.oob_score_) else None

    grids = [_grid(X[:, j], p.kind == "numeric") for j, p in enumerate(varied)]
    rng = np.random.default_rng(random_state)
    sample = np.column_stack([g[rng.integers(len(g), size=_N_SAMPLES)] for g in grids])
    total = float(np.var(forest.predict(sample)))
    if total <= 0:
        return unavailable("The surrogate predicts the same score everywhere.")
    shares = np.empty(len(varied))
    for j, grid in enumerate(grids):
        probe = np.repeat(sample[None], len(grid), axis=0)
        probe[:, :, j] = grid[:, None]
        effect = forest.predict(probe.reshape(-1, X.shape[1])).reshape(len(grid), -1).mean(1)
        shares[j] = float(np.var(effect))
    # Monte Carlo noise can make the main effects add up to more than the total
    # variance; then the interactions are taken as nil.
    shares /= max(total, shares.sum())
    order = np.argsort(-shares, kind="stable")
    return Importance(
        names=[varied[j].name for j in order],
        shares=shares[order],
        interactions=float(max(0.0, 1.0 - shares.sum())),
        oob_r2=oob,
        n_candidates=int(ok.sum()),
        constant=constant,
    )


def _encode(param):
    if param.kind == "numeric":
        values = param.numeric_values()
        return np.log10(values) if param.log else values
    _, codes = param.categories()
    return codes.astype(float)


def _grid(column, numeric):
    present = column[~np.isnan(column)]
    distinct = np.unique(present)
    if numeric and len(distinct) > _GRID_POINTS:
        distinct = np.linspace(distinct[0], distinct[-1], _GRID_POINTS)
    if np.isnan(column).any():
        distinct = np.append(distinct, np.nan)
    return distinct
