"""Pareto fronts and hypervolumes of objective vectors (all minimised).

The region a front does *not* dominate, below a reference point, is cut
into disjoint boxes (:func:`nondominated_boxes`): a grid over the first
``M - 1`` objectives, with edges at the front's values, and in each cell of
it one interval of the last objective. The same cells give the dominated
volume (:func:`hypervolume`) and, in :mod:`._gp.ehvi`, the expected
hypervolume improvement of a Gaussian prediction in closed form. There are
``(n + 1) ** (M - 1)`` cells for ``n`` front points: cheap for the two and
three objectives of a search (a few hundred points at most).
"""

import numpy as np

__all__ = ["pareto_mask", "hypervolume", "nondominated_boxes", "reference_point"]


def pareto_mask(Y):
    """Which rows of ``Y`` (shape (n, M), minimised) are non-dominated.

    A row is dominated when another is no worse in every objective and better
    in one (equal rows do not dominate each other: both are on the front). Rows
    with a non-finite value are never on it.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"Y must have shape (n_points, n_objectives); got {Y.shape}.")
    finite = np.all(np.isfinite(Y), axis=1)
    mask = np.zeros(len(Y), dtype=bool)
    idx = np.flatnonzero(finite)
    F = Y[idx]
    for a, i in enumerate(idx):
        no_worse = np.all(F <= F[a], axis=1)
        better = np.any(F < F[a], axis=1)
        mask[i] = not np.any(no_worse & better)
    return mask


def reference_point(Y, margin=0.1):
    """A reference point just beyond the worst finite value of each objective
    (``margin`` times its range further, 1 if the range is 0)."""
    Y = np.asarray(Y, dtype=float)
    Y = Y[np.all(np.isfinite(Y), axis=1)]
    worst, best = Y.max(axis=0), Y.min(axis=0)
    span = np.where(worst > best, worst - best, 1.0)
    return worst + margin * span


def _cells(front, ref):
    """The grid cells over the first ``M - 1`` objectives: their lower and upper
    edges (lower may be ``-inf``), and for each the smallest last objective of
    the front points that dominate its lower corner (``ref[-1]`` if none)."""
    M = front.shape[1]
    edges = []
    for j in range(M - 1):
        values = np.unique(front[:, j])
        edges.append((np.concatenate([[-np.inf], values]), np.concatenate([values, [ref[j]]])))
    grids = np.meshgrid(*[np.arange(len(lo)) for lo, _ in edges], indexing="ij")
    index = [g.ravel() for g in grids]
    lower = np.column_stack([edges[j][0][index[j]] for j in range(M - 1)])
    upper = np.column_stack([edges[j][1][index[j]] for j in range(M - 1)])
    # front points that dominate a cell's lower corner in the first M - 1 objectives
    covers = np.all(front[None, :, : M - 1] <= lower[:, None, :], axis=2)
    last = np.where(covers, front[None, :, M - 1], np.inf).min(axis=1)
    return lower, upper, np.minimum(last, ref[M - 1])


def _front_below(Y, ref):
    Y = np.asarray(Y, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if Y.ndim != 2 or ref.shape != (Y.shape[1],):
        raise ValueError(f"Y of shape {Y.shape} and ref of shape {ref.shape} do not match.")
    if Y.shape[1] < 2:
        raise ValueError("A Pareto front needs at least two objectives.")
    Y = Y[pareto_mask(Y)]
    return Y[np.all(Y < ref, axis=1)], ref


def hypervolume(Y, ref):
    """The volume dominated by the rows of ``Y`` (minimised) and bounded by ``ref``.

    Points not below ``ref`` in every objective add nothing. Exact.

    Examples
    --------
    >>> hypervolume([[1.0, 2.0], [2.0, 1.0]], ref=[3.0, 3.0])
    3.0
    """
    front, ref = _front_below(Y, ref)
    if not len(front):
        return 0.0
    lower, upper, last = _cells(front, ref)
    inner = np.isfinite(lower).all(axis=1)  # cells with a -inf edge are not dominated
    widths = np.prod(upper[inner] - lower[inner], axis=1)
    return float(np.sum(widths * (ref[-1] - last[inner])))


def nondominated_boxes(Y, ref):
    """Disjoint boxes covering the region below ``ref`` that the rows of ``Y``
    do not dominate: ``(lower, upper)``, each of shape (n_boxes, M); lower
    edges may be ``-inf``.

    A new point ``y`` improves the hypervolume by
    ``sum over boxes of prod_i max(0, upper_i - max(lower_i, y_i))``.
    """
    front, ref = _front_below(Y, ref)
    M = len(ref)
    if not len(front):
        return np.full((1, M), -np.inf), ref[None, :].copy()
    lower, upper, last = _cells(front, ref)
    keep = np.all(upper > lower, axis=1)
    lower = np.column_stack([lower[keep], np.full(keep.sum(), -np.inf)])
    upper = np.column_stack([upper[keep], last[keep]])
    return lower, upper
