"""Every fit's training curves, kept by the search beside its scores.

A network keeps a per-epoch record of its training (skorch's ``History``:
``train_loss``, and with a validation split ``valid_loss`` and the validation
score). scikit-learn's searches throw each fitted model away once it is
scored, and its curves with it. sktune's searches read the curves in the
worker, right after the fit (:func:`read_history`), send back only the
per-epoch numbers a report draws (a few hundred bytes a fit) in the fit's
result dict under :data:`HISTORY_KEY`, and keep them as ``fit_histories_``:
one entry per ``cv_results_`` row, one per split in it.

The result dicts go into the search's checkpoint as they are, so a resumed
search has the curves of the fits it replays; :func:`take_histories` takes
them out before scikit-learn formats ``cv_results_``.
"""

import numbers

import numpy as np

from ...nets._steps import final_step

#: Key of a fit's per-epoch history in its ``_fit_and_score`` result dict.
HISTORY_KEY = "_sktune_history"

#: Per-epoch records a history keeps: losses first, then every validation
#: score (``valid_acc``, ``valid_r2``...) but the running bests and counts.
_LOSSES = ("train_loss", "valid_loss")


def read_history(estimator):
    """The per-epoch curves of a fitted (or failed) network, or None.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator; a pipeline is read at its last step. Networks keep
        their history in ``history_`` (sktune) or ``history`` (skorch); a fit
        that failed part-way (a diverging loss) has the epochs it ran.

    Returns
    -------
    history : dict of str to ndarray of float32, or None
        ``train_loss`` and, where the network computed them, ``valid_loss``
        and its validation scores (``valid_acc``, ...), one value per epoch
        (NaN where an epoch has none); None for an estimator without a
        per-epoch history.
    """
    records = _records(final_step(estimator))
    if not records:
        return None
    names = [n for n in _LOSSES if any(n in r for r in records)]
    names += sorted({n for r in records for n in r
                     if n.startswith("valid_") and n not in _LOSSES
                     and not n.endswith(("_best", "_count"))})
    if "train_loss" not in names:
        return None
    return {name: np.array([_number(r.get(name)) for r in records], dtype=np.float32)
            for name in names}


def take_histories(out):
    """``(out, histories)``: the result dicts without their histories (new dicts;
    ``out`` is not changed) and each one's history (None where it has none)."""
    histories = [o.get(HISTORY_KEY) for o in out]
    if not any(h is not None for h in histories):
        return out, histories
    return [{k: v for k, v in o.items() if k != HISTORY_KEY} for o in out], histories


def by_candidate(histories, n_splits):
    """The flat per-fit list (candidate-major, as ``_format_results`` gets it) as
    one list of ``n_splits`` histories per candidate."""
    return [list(histories[i:i + n_splits]) for i in range(0, len(histories), n_splits)]


def _records(net):
    """A network's per-epoch records as dicts, or None (scikit-learn's MLPs:
    ``loss_curve_``, and ``validation_scores_`` with early stopping)."""
    curve = getattr(net, "loss_curve_", None)
    if isinstance(curve, list) and curve:
        scores = getattr(net, "validation_scores_", None) or []
        return [{"train_loss": loss, **({"valid_score": scores[i]} if i < len(scores) else {})}
                for i, loss in enumerate(curve)]
    history = net.__dict__.get("history_") if hasattr(net, "__dict__") else None
    if history is None:  # a fit that failed before its end: the skorch net's own
        inner = getattr(net, "net_", None)
        history = getattr(inner, "history", None) if inner is not None else None
    if history is None:
        history = getattr(net, "history", None)
    if history is None or not isinstance(history, list):
        return None
    if not all(hasattr(entry, "items") for entry in history):
        return None
    return [{k: v for k, v in entry.items() if k != "batches"} for entry in history]


def _number(value):
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool):
        return float(value)
    return np.nan
