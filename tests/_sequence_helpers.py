"""What the sequence tests run: data above joblib's memory-mapping threshold,
scikit-learn's parallel work, sktune's searches, and the process state a search
must leave as it found it. A module that worker processes can import.
"""

import os

import numpy as np
import torch
from scipy.stats import loguniform
from joblib import parallel_config
from sklearn.inspection import permutation_importance
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from threadpoolctl import threadpool_info

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier
from sktune.space import Real


def large_data():
    """1,100 x 128 float64 (1.13 MB): above joblib's 1 MB ``max_nbytes``, so process
    workers receive ``X`` as a memory-mapped file, not in the task's pickle."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1100, 128))
    y = (X[:, 0] + 0.5 * rng.normal(size=1100) > 0).astype(int)
    assert X.nbytes > 1e6
    return X, y


def net(**params):
    return NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=2, batch_size=64,
                               random_state=0, **params)


_SPACE = {"lr": Real(1e-3, 1e-1, prior="log-uniform"), "alpha": Real(1e-6, 1e-2, prior="log-uniform")}

#: name -> a seeded sktune search (``n_jobs=2`` unless the name says otherwise)
SKTUNE_SEARCHES = {
    "bayes": lambda: BayesSearchCV(net(), _SPACE, n_iter=4, n_points=2, cv=3, n_jobs=2,
                                   refit=False, random_state=0,
                                   optimizer_kwargs={"n_initial_points": 2}),
    "hyperband": lambda: HyperbandSearchCV(net(), _SPACE, max_epochs=4, factor=2, n_brackets=2,
                                           cv=3, n_jobs=2, refit=False, random_state=0,
                                           optimizer_kwargs={"n_initial_points": 2}),
    "bayes-3-jobs": lambda: SKTUNE_SEARCHES["bayes"]().set_params(n_jobs=3),
}


def _permutation_importance(X, y):
    return permutation_importance(net().fit(X, y), X, y, n_repeats=2, n_jobs=2, random_state=0)


#: name -> scikit-learn's own parallel work on (X, y), n_jobs=2 on loky
SKLEARN_WORK = {
    "cross_validate": lambda X, y: cross_validate(net(), X, y, cv=2, n_jobs=2),
    "grid": lambda X, y: GridSearchCV(net(), {"lr": [0.01, 0.1]}, cv=2, n_jobs=2).fit(X, y),
    "random": lambda X, y: RandomizedSearchCV(net(), {"lr": loguniform(1e-3, 1e-1)}, n_iter=2,
                                              cv=2, n_jobs=2, random_state=0).fit(X, y),
    "permutation_importance": _permutation_importance,
}


def results(search):
    """Candidates and every test score, as JSON-able lists."""
    cv = search.cv_results_
    params = [{k: float(v) for k, v in p.items()} for p in cv["params"]]
    scores = {k: [float(s) for s in v] for k, v in cv.items() if k.endswith("test_score")}
    return params, scores


def process_state():
    """What a search may change while it runs and must restore: torch's threads,
    the environment (joblib's workers get theirs, not this process), the native
    thread pools' sizes."""
    pools = sorted((p["internal_api"], p["filepath"], p["num_threads"]) for p in threadpool_info())
    return torch.get_num_threads(), torch.get_num_interop_threads(), dict(os.environ), pools


def in_backend(backend, fn, *args):
    with parallel_config(backend=backend):
        return fn(*args)


def run_in_turn(steps, X, y, alone):
    """Run ``(backend, step)`` pairs in order, each inside ``parallel_config(backend)``;
    every sktune search's results must equal ``alone[step]`` (its results alone)."""
    for backend, step in steps:
        with parallel_config(backend=backend):
            if step in SKLEARN_WORK:
                SKLEARN_WORK[step](X, y)
            else:
                assert results(SKTUNE_SEARCHES[step]().fit(X, y)) == alone[step], (backend, step)
