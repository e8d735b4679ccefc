"""Every candidate's training curves, from the search's ``fit_histories_``.

A candidate's curve is the mean over its folds, epoch by epoch, of one
per-epoch record: the validation loss where the networks computed one
(``validation_fraction`` / ``early_stopping``) for most fits, else the training
loss. A fit *diverged* when its training loss was not finite at some epoch
(sktune's networks stop such a fit with a ``DivergenceError``: the epoch it
stopped in has no loss). For ``HyperbandSearchCV`` each candidate is drawn
once, from its last rung (whose history holds every epoch it trained).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Curves:
    """The curves a report draws.

    Attributes
    ----------
    key : str
        The per-epoch record drawn (``'valid_loss'`` or ``'train_loss'``).
    rows : ndarray of int
        The ``cv_results_`` rows drawn (one per candidate).
    curves : list of ndarray
        Per row, the fold-mean curve (NaN where no fold has the epoch).
    train : list of ndarray
        Per row, the fold-mean training loss.
    valid : list of ndarray or None
        Per row, the fold-mean validation loss (None for a row without one).
    diverged : ndarray of bool
        Per row, whether a fold's training diverged.
    n_diverged_fits : int
        Fits (all rows) that diverged.
    """

    key: str
    rows: np.ndarray
    curves: list
    train: list
    valid: list
    diverged: np.ndarray
    n_diverged_fits: int


def read_curves(results):
    """The :class:`Curves` of a search that kept its fits' histories, else None."""
    histories = results.histories
    if histories is None:
        return None
    final = results.final
    rows = np.flatnonzero(final) if final is not None else np.arange(results.n_candidates)
    rows = np.array([r for r in rows if any(h is not None for h in histories[r])], dtype=int)
    if not len(rows):
        return None
    kept = [[h for h in histories[r] if h is not None] for r in rows]
    with_valid = sum(any("valid_loss" in h for h in fits) for fits in kept)
    key = "valid_loss" if with_valid > len(rows) / 2 else "train_loss"
    diverged_fits = [[_diverged(h) for h in fits] for fits in kept]
    n_diverged = sum(_diverged(h) for splits in histories for h in splits if h is not None)
    valid = [_fold_mean(fits, "valid_loss") if any("valid_loss" in h for h in fits) else None
             for fits in kept]
    return Curves(
        key=key,
        rows=rows,
        curves=[_fold_mean(fits, key) for fits in kept],
        train=[_fold_mean(fits, "train_loss") for fits in kept],
        valid=valid,
        diverged=np.array([any(d) for d in diverged_fits], dtype=bool),
        n_diverged_fits=int(n_diverged),
    )


def diverged_rows(results):
    """Per ``cv_results_`` row, whether one of its fits diverged (all False
    without histories)."""
    flags = np.zeros(results.n_candidates, dtype=bool)
    if results.histories is not None:
        for r, splits in enumerate(results.histories):
            flags[r] = any(h is not None and _diverged(h) for h in splits)
    return flags


def rung_correlations(results):
    """For ``HyperbandSearchCV``: how well each rung's ranking predicted the final one.

    Returns
    -------
    rows : list of (amount, n, rho)
        Per amount of resource below the largest: the candidates that trained
        further, and the Spearman rank correlation of their score at that rung
        with their final score (nan when fewer than 3 or a ranking is flat).
        Empty for other searches.
    """
    if results.candidate_ids is None or results.n_resources is None:
        return []
    from scipy.stats import spearmanr

    score = results.mean[results.primary]
    ids = results.candidate_ids
    amounts = np.asarray(results.n_resources, dtype=float)
    final_row = {}
    for r in np.flatnonzero(results.final):
        final_row[ids[r]] = r
    out = []
    for level in np.unique(amounts)[:-1]:
        pairs = [(score[r], score[final_row[ids[r]]]) for r in np.flatnonzero(amounts == level)
                 if amounts[final_row[ids[r]]] > level]
        pairs = [(a, b) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
        rho = np.nan
        if len(pairs) >= 3:
            a, b = np.transpose(pairs)
            if np.ptp(a) > 0 and np.ptp(b) > 0:
                rho = float(spearmanr(a, b).statistic)
        out.append((float(level), len(pairs), rho))
    return out


def _diverged(history):
    loss = history.get("train_loss")
    return loss is not None and not np.all(np.isfinite(loss))


def _fold_mean(fits, key):
    """The mean over folds, epoch by epoch, of ``key`` (folds with fewer epochs
    count where they have them; NaN epochs, as a diverged one, are skipped)."""
    arrays = [np.asarray(h[key], dtype=float) for h in fits if key in h]
    if not arrays:
        return np.full(0, np.nan)
    length = max(len(a) for a in arrays)
    table = np.full((len(arrays), length), np.nan)
    for i, a in enumerate(arrays):
        table[i, :len(a)] = np.where(np.isfinite(a), a, np.nan)
    with np.errstate(all="ignore"):
        counts = np.isfinite(table).sum(axis=0)
        return np.where(counts > 0, np.nansum(table, axis=0) / np.maximum(counts, 1), np.nan)
