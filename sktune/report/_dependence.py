"""Partial dependence: the score the model predicts as one or two hyperparameters
change, the others averaged out.

For hyperparameter ``j`` at value ``v``, the partial dependence is the mean of
the model's predicted score over settings of the others drawn uniformly over
the range searched (:func:`._surrogate.background`; scikit-optimize's
``plot_objective`` averages over random points of the space likewise), with
``j`` set to ``v``. Its variance over ``j``'s range is what :mod:`._importance`
calls ``j``'s main effect, so the two panels tell one story. The band is the
model's posterior standard deviation averaged over the same settings (an
upper bound on the standard deviation of their average): wide where the
search tried little.
"""

from dataclasses import dataclass

import numpy as np

from ._surrogate import (BACKGROUND_GRID, BACKGROUND_SAMPLES, background, grid_columns,
                         with_setting)

_GRID_1D = 40
_GRID_2D = 20
_BAND_SAMPLES = 64
_PAIR_SAMPLES = 64


@dataclass
class Dependence:
    """Partial dependence of the score on one hyperparameter (or two).

    Attributes
    ----------
    names : tuple of str
        The hyperparameter, or the pair.
    values : list of list
        Each one's values, low to high (categories in their order).
    mean : ndarray
        Predicted score, shape ``(len(values[0]),)`` or
        ``(len(values[0]), len(values[1]))``.
    std : ndarray or None
        The band's standard deviation (one hyperparameter only).
    log : tuple of bool
        Whether each is drawn on a log scale.
    categorical : tuple of bool
    """

    names: tuple
    values: list
    mean: np.ndarray
    std: object
    log: tuple
    categorical: tuple


def partial_dependence(model, name, other=None, random_state=0):
    """The :class:`Dependence` of the model's score on ``name`` (and ``other``).

    Raises
    ------
    ValueError
        If a name is not one of the model's hyperparameters, or both are the same.
    """
    for n in (name, other):
        if n is not None and n not in model.names:
            raise ValueError(
                f"{n!r} is not a hyperparameter of the model; partial dependence is "
                f"available for {model.names}.")
    if other == name:
        raise ValueError(f"partial_dependence needs two different hyperparameters; got "
                         f"{name!r} twice.")
    # the importance's settings: the variance of this curve is its main effect
    sample = background(model, BACKGROUND_SAMPLES, BACKGROUND_GRID, random_state)
    space = model.space
    if other is None:
        dim = space[name]
        grid = grid_columns(dim, _GRID_1D)
        mean = model.predict_mean(with_setting(sample, model, name, grid))
        mean = mean.reshape(len(grid), -1).mean(axis=1)
        _, std = model.predict(with_setting(sample[:_BAND_SAMPLES], model, name, grid))
        std = np.nan_to_num(std).reshape(len(grid), -1).mean(axis=1)
        return Dependence((name,), [dim.inverse_transform(grid)], mean, std,
                          (dim.is_log,), (dim.kind == "categorical",))
    dims = (space[name], space[other])
    grids = [grid_columns(d, _GRID_2D) for d in dims]
    rows = with_setting(sample[:_PAIR_SAMPLES], model, name, grids[0])
    rows = rows.reshape(len(grids[0]), _PAIR_SAMPLES, -1)
    probe = np.concatenate([with_setting(block, model, other, grids[1]) for block in rows])
    mean = model.predict_mean(probe).reshape(len(grids[0]), len(grids[1]), -1).mean(axis=2)
    return Dependence((name, other), [d.inverse_transform(g) for d, g in zip(dims, grids)],
                      mean, None, tuple(d.is_log for d in dims),
                      tuple(d.kind == "categorical" for d in dims))


def dependence_frame(dependence):
    """A :class:`Dependence` as a pandas DataFrame: one row per value (pair of
    values), the hyperparameters' columns then ``mean`` (and ``std``)."""
    from ._deps import require

    pd = require("pandas")
    if len(dependence.names) == 1:
        (name,) = dependence.names
        return pd.DataFrame({name: _column(dependence.values[0]), "mean": dependence.mean,
                             "std": dependence.std})
    a, b = dependence.names
    va, vb = dependence.values
    return pd.DataFrame({
        a: _column([x for x in va for _ in vb]),
        b: _column([y for _ in va for y in vb]),
        "mean": dependence.mean.ravel(),
    })


def _column(values):
    """Numbers as a numeric array, anything else (categories) as objects."""
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
           for v in values):
        return np.asarray(values)
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # tuples stay whole
        column[i] = value
    return column
