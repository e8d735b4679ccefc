"""Toy estimators for ``test_bayes_search.py``.

They live in their own module, which imports only numpy and scikit-learn, so
that the worker processes of ``n_jobs=2`` searches unpickle them without
importing sktune (and torch) first: that keeps those tests a few seconds faster.
"""

import hashlib
import time
import uuid
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC


class FailingSVC(ClassifierMixin, BaseEstimator):
    """An SVC whose ``fit`` raises when ``C > threshold``."""

    def __init__(self, C=1.0, threshold=10.0):
        self.C = C
        self.threshold = threshold

    def fit(self, X, y):
        if self.C > self.threshold:
            raise ValueError(f"C={self.C} is too large for this toy model")
        self.svc_ = SVC(C=self.C).fit(X, y)
        self.classes_ = self.svc_.classes_
        return self

    def predict(self, X):
        return self.svc_.predict(X)


class AlwaysFails(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        raise RuntimeError("this model never fits")

    def predict(self, X):
        return np.zeros(len(X))


class ParamScoreClassifier(ClassifierMixin, BaseEstimator):
    """Its ``score`` is a known function of its parameters (the data are ignored).

    ``-(x - target) ** 2`` (best 0 at ``x = target``), or 0 everywhere with
    ``flat=True``. Lets the tests know the optimum and the score of every
    candidate exactly, at the cost of nothing.
    """

    def __init__(self, x=0.5, k="a", target=0.3, flat=False):
        self.x = x
        self.k = k
        self.target = target
        self.flat = flat

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return 0.0 if self.flat else -((self.x - self.target) ** 2)


class FoldRecorder(ClassifierMixin, BaseEstimator):
    """A deterministic classifier that logs which training rows each fit saw.

    The last column of ``X`` is a row id; every fit writes the hash of its
    sorted ids to a new file in ``log_dir`` (fits may run in other processes).
    """

    def __init__(self, k="a", log_dir=None):
        self.k = k
        self.log_dir = log_dir

    def fit(self, X, y):
        ids = np.sort(np.asarray(X)[:, -1].astype(np.int64))
        key = hashlib.sha1(ids.tobytes()).hexdigest()
        Path(self.log_dir, f"{uuid.uuid4().hex}.fit").write_text(key)
        n_neighbors = 1 if self.k == "a" else 7
        self.knn_ = KNeighborsClassifier(n_neighbors=n_neighbors).fit(X[:, :-1], y)
        self.classes_ = self.knn_.classes_
        return self

    def predict(self, X):
        return self.knn_.predict(X[:, :-1])


class FoldScoreRegressor(RegressorMixin, BaseEstimator):
    """Scores ``-(x - target) ** 2`` plus a bit per fold, whatever it learnt.

    The first column of ``X`` is the id of the fold a row tests in (with
    :class:`~sklearn.model_selection.PredefinedSplit` on it), so ``score``
    knows its fold: fold ``f`` adds ``0.01 * f`` (folds differ in
    difficulty, the same for every candidate) and a small deterministic
    wiggle of the candidate and fold (``noise``). ``fail_above``: fits of
    ``x`` above it raise. ``jitter``: fits sleep up to this many seconds
    (unseeded: fits end in any order).
    """

    def __init__(self, x=0.5, target=0.7, noise=0.002, fail_above=None, jitter=0.0):
        self.x = x
        self.target = target
        self.noise = noise
        self.fail_above = fail_above
        self.jitter = jitter

    def fit(self, X, y):
        if self.jitter:
            time.sleep(np.random.default_rng().uniform(0, self.jitter))
        if self.fail_above is not None and self.x > self.fail_above:
            raise ValueError("x too large")
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y, sample_weight=None):
        fold = int(X[0, 0])
        wiggle = np.sin(1000.0 * self.x + 7.0 * fold) * self.noise
        return float(-((self.x - self.target) ** 2) + 0.01 * fold + wiggle)


class NoisyParamScoreClassifier(ParamScoreClassifier):
    """:class:`ParamScoreClassifier` whose score carries Gaussian noise of
    standard deviation ``sd``, as a network's validation score does: a
    function of the parameters and ``random_state`` only (the same candidate
    scores the same in any process, in any order)."""

    def __init__(self, x=0.5, k="a", target=0.3, flat=False, sd=0.02, random_state=0):
        super().__init__(x=x, k=k, target=target, flat=flat)
        self.sd = sd
        self.random_state = random_state

    def score(self, X, y, sample_weight=None):
        key = f"{self.x!r}|{self.k}|{self.random_state}".encode()
        seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
        noise = self.sd * np.random.default_rng(seed).standard_normal()
        return super().score(X, y) + noise
