"""Toy estimators for ``test_scheduler.py`` (numpy and scikit-learn only, so that
worker processes unpickle them fast)."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class Quadratic(RegressorMixin, BaseEstimator):
    """Scores ``-(x - 0.3)**2 - (y + 0.2)**2`` (plus a fold-dependent bit), whatever
    the data; ``fit`` may sleep, record its time span, or kill its own process."""

    def __init__(self, x=0.0, y=0.0, epochs=1, sleep=0.0, jitter=0.0, slow_first_fold=0.0,
                 log=None, die_once_in=None, always_die_above=None, main_pid=None):
        self.x = x
        self.jitter = jitter
        self.y = y
        self.epochs = epochs
        self.sleep = sleep
        self.slow_first_fold = slow_first_fold
        self.log = log
        self.die_once_in = die_once_in
        self.always_die_above = always_die_above
        self.main_pid = main_pid

    def _work(self, X):
        begin = time.perf_counter()
        in_worker = self.main_pid is not None and os.getpid() != self.main_pid
        if in_worker and self.always_die_above is not None and self.x > self.always_die_above \
                and X[:, 0].min() > 0:  # fold 0 only
            os.kill(os.getpid(), signal.SIGKILL)
        if in_worker and self.die_once_in is not None:
            marker = Path(self.die_once_in) / "died"
            try:
                marker.touch(exist_ok=False)
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        first_fold = X[:, 0].min() > 0  # fold 0 trains on the rows of ids 1, 2...
        jitter = np.random.default_rng().uniform(0, self.jitter)  # unseeded: any order
        time.sleep(self.sleep + jitter + (self.slow_first_fold if first_fold else 0.0))
        if self.log is not None:
            with open(self.log, "a") as f:
                f.write(f"{self.x!r} {self.epochs} {begin} {time.perf_counter()} "
                        f"{threading.get_ident()}\n")

    def fit(self, X, y):
        self._work(X)
        self.fitted_epochs_ = self.epochs
        self.offset_ = float(np.mean(X[:, 1]))
        return self

    def partial_fit(self, X, y, epochs=1):
        self._work(X)
        self.fitted_epochs_ = getattr(self, "fitted_epochs_", 0) + epochs
        self.offset_ = float(np.mean(X[:, 1]))
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        value = -(self.x - 0.3) ** 2 - (self.y + 0.2) ** 2 - 0.01 * self.offset_
        # more epochs help, less so for bad settings (Hyperband's scores)
        return value - 0.5 / (1 + getattr(self, "fitted_epochs_", 1)) * (1 + abs(self.x))


def toy_data(n_splits=3, n_per_fold=4):
    """Rows whose first column is the id of the fold they test in (with
    ``PredefinedSplit``-like folds from :func:`toy_cv`)."""
    rows = [[fold, fold * 0.1 + k] for fold in range(n_splits) for k in range(n_per_fold)]
    return np.array(rows, dtype=float), np.zeros(len(rows))


def toy_cv(n_splits=3, n_per_fold=4):
    """Folds where fold i tests on the rows of id i and trains on the others."""
    ids = np.repeat(np.arange(n_splits), n_per_fold)
    folds = []
    for i in range(n_splits):
        test = np.flatnonzero(ids == i)
        train = np.flatnonzero(ids != i)
        folds.append((train, test))
    return folds
