"""Hyperband's brackets: how many candidates start, and at which epochs they are cut.

A bracket starts ``n`` candidates with ``r`` epochs; after each rung the best
``1 / factor`` of them go on, trained ``factor`` times longer, up to
``max_epochs``. Hyperband runs brackets from the most aggressive (many
candidates, ``min_epochs`` first) to plain evaluation at ``max_epochs``, so
that a bad guess of how early scores predict final ones costs little
(Li et al., 2018, "Hyperband: a novel bandit-based approach to
hyperparameter optimization", JMLR 18).
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """One rung: ``n_candidates`` models trained up to ``epochs``."""

    n_candidates: int
    epochs: int


def hyperband_brackets(max_epochs, min_epochs=1, factor=3, n_brackets=None):
    """The rungs of each Hyperband bracket, most aggressive bracket first.

    Parameters
    ----------
    max_epochs : int
        Epochs of the candidates that reach the last rung.
    min_epochs : int, default=1
        Fewest epochs a candidate is trained before it may be cut.
    factor : float, default=3
        Ratio of survivors between rungs (and of epochs, the other way).
    n_brackets : int, default=None
        Keep only the first (most aggressive) brackets; None keeps all.

    Returns
    -------
    brackets : list of list of Rung

    Examples
    --------
    >>> from sktune.search._hyperband.brackets import hyperband_brackets
    >>> for rungs in hyperband_brackets(27, 1, 3):
    ...     print([(r.n_candidates, r.epochs) for r in rungs])
    [(27, 1), (9, 3), (3, 9), (1, 27)]
    [(12, 3), (4, 9), (1, 27)]
    [(6, 9), (2, 27)]
    [(4, 27)]
    """
    if min_epochs > max_epochs:
        raise ValueError(f"min_epochs={min_epochs} must not exceed max_epochs={max_epochs}.")
    s_max = int(math.floor(math.log(max_epochs / min_epochs) / math.log(factor) + 1e-9))
    brackets = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * factor ** s - 1e-9))
        rungs, last_epochs = [], 0
        for i in range(s + 1):
            epochs = max_epochs if i == s else int(round(max_epochs * factor ** (i - s)))
            epochs = min(max(epochs, min_epochs, last_epochs + 1), max_epochs)
            n_i = max(1, int(math.floor(n * factor ** -i + 1e-9)))
            if epochs == last_epochs:  # rounding merged two rungs
                continue
            rungs.append(Rung(n_i, epochs))
            last_epochs = epochs
        brackets.append(rungs)
    return brackets if n_brackets is None else brackets[:n_brackets]


def epochs_per_fold(brackets):
    """Epochs one fold trains in all brackets when models are continued."""
    total = 0
    for rungs in brackets:
        previous = 0
        for rung in rungs:
            total += rung.n_candidates * (rung.epochs - previous)
            previous = rung.epochs
    return total


def last_rows(candidates):
    """Indices of the rows that are each candidate's last rung, in row order.

    ``candidates`` holds the candidate id of every row of ``cv_results_``
    (rows in evaluation order), so a candidate's last row is its final score.

    Examples
    --------
    >>> from sktune.search._hyperband.brackets import last_rows
    >>> last_rows([0, 1, 2, 0, 2, 0])
    [1, 4, 5]
    """
    last = {c: i for i, c in enumerate(candidates)}
    return sorted(last.values())
