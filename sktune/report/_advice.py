"""What to change next: short findings computed from the search's results.

Every finding is computed from the numbers of this search and says what to
do about it; none is printed unless its test holds:

- **edge**: the model's partial dependence of an important numeric
  hyperparameter (Hyperband's epochs aside) peaks in the outer ``_EDGE`` of
  its searched range and most of the best candidates lie in the outer
  ``2 * _EDGE`` there: the optimum may lie beyond the bound (widen it).
- **irrelevant**: a hyperparameter whose importance interval lies below
  ``_IRRELEVANT`` of the score variance: fix it and search the others.
- **stalled**: over the last half of the candidates (in evaluation order) the
  best mean score improved by less than the folds' noise of the best
  candidate (its fold scores' standard error).
- **more epochs**: the best candidate's curve (validation loss, else
  training loss) still fell over its last epochs by more than
  ``_STILL_FALLING`` of its whole fall.
- **overfitting**: the best candidate's validation loss rose since its
  minimum by more than ``_RISING`` of its fall while its training loss kept
  falling.
- **diverged**: at least ``_MIN_DIVERGED`` fits diverged and most candidates
  with a learning rate at or above the lowest diverged one did.
"""

import math

import numpy as np

from ._format import format_number, short_repr
from ._surrogate import dimension_bounds

_EDGE = 0.10
_IMPORTANT = 0.05
_IRRELEVANT = 0.02
_STILL_FALLING = 0.05
_RISING = 0.05
_LAST_EPOCHS = 3
_MIN_DIVERGED = 3
_LR_NAMES = ("lr", "learning_rate", "learning_rate_init", "eta")


def advice(results, model, importance, curves, dependence):
    """The findings, most actionable first (a list of str, possibly empty).

    Parameters
    ----------
    results : SearchResults
    model : ScoreModel or None
    importance : Importance
    curves : Curves or None
    dependence : callable
        ``dependence(name)`` -> the 1-D :class:`~._dependence.Dependence`.
    """
    findings = []
    if model is not None and importance.available:
        findings += _edges(results, model, importance, dependence)
        findings += _irrelevant(results, importance)
    findings += _diverged(results, curves)
    if curves is not None:
        findings += _best_curve(results, curves)
    findings += _stalled(results)
    return findings


def _edges(results, model, importance, dependence):
    out = []
    score = model.scores
    finite = np.isfinite(score)
    n = int(finite.sum())
    k = max(3, math.ceil(0.1 * n))
    top = np.argsort(-np.where(finite, score, -np.inf), kind="stable")[:k]
    shares = dict(zip(importance.names, importance.shares))
    for dim in model.space.dimensions:
        bounds = dimension_bounds(dim)
        if dim.kind == "categorical" or bounds is None or _is_fidelity(results, dim.name):
            continue
        if shares.get(dim.name, 0.0) < _IMPORTANT:
            continue
        curve = dependence(dim.name)
        peak = int(np.argmax(curve.mean)) / max(len(curve.mean) - 1, 1)
        unit = model.rows[top, model.space._slices[model.space.names.index(dim.name)].start]
        for side, at_edge, near in (("upper", peak >= 1 - _EDGE, unit >= 1 - 2 * _EDGE),
                                    ("lower", peak <= _EDGE, unit <= 2 * _EDGE)):
            if at_edge and near.sum() * 2 > len(top):
                scale = "log scale" if dim.is_log else "its scale"
                out.append(
                    f"{dim.name}: {int(near.sum())} of the best {len(top)} candidates lie "
                    f"in the {side} {int(2 * _EDGE * 100)} % of [{format_number(bounds[0])}, "
                    f"{format_number(bounds[1])}] ({scale}) and the model's score is highest "
                    f"at that end: widen the {side} bound.")
    return out


def _is_fidelity(results, name):
    """Hyperband's epochs: its best rows are at the most epochs by construction
    (whether more would help is the curves' finding)."""
    return results.candidate_ids is not None and name.rsplit("__", 1)[-1] == results.resource


def _irrelevant(results, importance):
    if len(importance.names) < 2:
        return []
    out = []
    best = results.param_dicts[results.best]
    for name, upper in zip(importance.names, importance.upper):
        if upper < _IRRELEVANT:
            value = best.get(name)
            shown = (format_number(value) if isinstance(value, (int, float, np.number))
                     and not isinstance(value, bool) else short_repr(value, 40))
            out.append(
                f"{name} explains under {int(_IRRELEVANT * 100)} % of the score's variation "
                f"(interval up to {upper * 100:.1f} %): fix it (the best candidate used "
                f"{shown}) and spend the search on the others.")
    return out


def _stalled(results):
    score = results.mean[results.primary]
    rows = np.flatnonzero(results.final) if results.final is not None else \
        np.arange(results.n_candidates)
    values = score[rows]
    if len(values) < 10 or not np.isfinite(values).any():
        return []
    half = len(values) // 2
    running = np.fmax.accumulate(np.where(np.isfinite(values), values, -np.inf))
    gain = running[-1] - running[half - 1]
    b = results.best
    folds = results.folds[results.primary][b]
    folds = folds[np.isfinite(folds)]
    if len(folds) < 2 or not np.isfinite(running[half - 1]):
        return []
    noise = float(np.std(folds, ddof=1) / np.sqrt(len(folds)))
    if gain >= noise:
        return []
    change = "did not improve" if gain <= 0 else f"improved by {format_number(gain)}"
    return [f"The best mean score {change} over the last "
            f"{len(values) - half} of {len(values)} candidates, less than the folds' noise "
            f"({format_number(noise)}, the standard error of the best candidate's folds): "
            "more candidates in this space are unlikely to help; change the space or stop."]


def _best_curve(results, curves):
    where = np.flatnonzero(curves.rows == results.best)
    if results.final is not None:  # Hyperband: the best candidate's last rung
        ids = results.candidate_ids
        where = np.flatnonzero(ids[curves.rows] == ids[results.best])
    if not len(where):
        return []
    i = int(where[0])
    out = []
    valid, train = curves.valid[i], curves.train[i]
    if valid is not None and _rising(valid) and _still_falling(train):
        low = int(np.nanargmin(valid)) + 1
        out.append(f"The best candidate overfits: its validation loss was lowest at epoch "
                   f"{low} of {len(valid)} and rose since while its training loss kept "
                   "falling: regularise (alpha, dropout) or stop early (early_stopping=True).")
    elif _still_falling(curves.curves[i]):
        what = "validation" if curves.key == "valid_loss" else "training"
        out.append(f"The best candidate's {what} loss was still falling at its last epoch "
                   f"({len(curves.curves[i])}): train longer (more epochs"
                   + (", a larger max_epochs" if results.candidate_ids is not None else "")
                   + ").")
    return out


def _still_falling(curve):
    curve = np.asarray(curve, dtype=float)
    curve = curve[np.isfinite(curve)]
    if len(curve) < _LAST_EPOCHS + 2:
        return False
    fall = curve[0] - np.min(curve)
    recent = curve[-_LAST_EPOCHS - 1] - curve[-1]
    return fall > 0 and recent > _STILL_FALLING * fall


def _rising(curve):
    curve = np.asarray(curve, dtype=float)
    curve = curve[np.isfinite(curve)]
    if len(curve) < _LAST_EPOCHS + 2:
        return False
    low = int(np.argmin(curve))
    fall = curve[0] - curve[low]
    return (low < len(curve) - _LAST_EPOCHS and fall > 0
            and curve[-1] - curve[low] > _RISING * fall)


def _diverged(results, curves):
    from ._curves import diverged_rows

    flags = diverged_rows(results)
    if flags.sum() < _MIN_DIVERGED:
        return []
    for param in results.params:
        if param.name.rsplit("__", 1)[-1] not in _LR_NAMES or param.kind != "numeric":
            continue
        lr = param.numeric_values()
        known = np.isfinite(lr)
        if not (flags & known).any():
            continue
        threshold = float(np.min(lr[flags & known]))
        above = known & (lr >= threshold)
        if flags[above].sum() * 2 <= above.sum():
            continue
        return [f"{int(flags[above].sum())} of {int(above.sum())} candidates with {param.name} "
                f">= {format_number(threshold)} diverged (a non-finite training loss): lower "
                f"{param.name}'s upper bound below {format_number(threshold)} (or clip "
                "gradients)."]
    return [f"{int(flags.sum())} of {results.n_candidates} candidates diverged (a non-finite "
            "training loss): lower the learning rates searched or clip gradients."]
