"""A report that explains the search: importance against the truth, and its cost.

Issue "A report that explains the search". Three functions of known structure,
each searched by ``BayesSearchCV`` (50 candidates, 3 "folds": the function
plus independent Gaussian noise of standard deviation ``--noise`` x its range
per fold, seeds 0-2), then the digits MLP (``NeuralNetClassifier``: lr, alpha,
batch_size, optimizer, dropout; 50 candidates, 3-fold CV):

- ``irrelevant``: ``-(x - 0.3)^2 - 0.3 (y - 0.6)^2`` on ``[0, 1]^3``; ``z``
  does nothing.
- ``interaction``: ``a * b + 0.5 c`` on ``a, b in [-1, 1]``, ``c in [0, 1]``:
  ``a`` and ``b`` matter only together.
- ``edge``: ``-(log10(lr) + 1)^2 - 0.2 (dropout - 0.2)^2`` on
  ``lr in [1e-4, 1e-2]`` (log scale), ``dropout in [0, 0.5]``, ``width`` an
  integer in ``[16, 128]`` that does nothing: the optimum lies above the range
  of ``lr``.

The truth: each dimension's main-effect share (Sobol first-order index) and
each pair's interaction share under the uniform product measure over the
searched range (on each dimension's own scale, as the report measures), on a
40-point product grid. Printed per function and seed: the true and estimated
shares with the estimate's 5-95 % interval, whether the ranking matches, the
largest pair, and the findings of ``report.advice()``; then the time
``cv_report(search)`` plus ``to_html()`` (advice included) takes, median of 3
(target: under 5 s for a 50-candidate search).

Run: ``python benchmarks/bench_explain.py`` (about 4 minutes on 2 cores;
``--quick``: one seed, no MLP).
"""

import argparse
import itertools
import statistics
import time
import zlib

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.report import cv_report
from sktune.search.space import Integer, Real


class Function(RegressorMixin, BaseEstimator):
    """Scores ``problem``'s function at its parameters plus noise seeded by the test
    fold (column 0 of its rows) and the parameters."""

    def __init__(self, problem="irrelevant", noise=0.0, x=0.5, y=0.5, z=0.5, a=0.0, b=0.0,
                 c=0.5, lr=1e-3, dropout=0.2, width=64):
        self.problem = problem
        self.noise = noise
        self.x, self.y, self.z = x, y, z
        self.a, self.b, self.c = a, b, c
        self.lr, self.dropout, self.width = lr, dropout, width

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y=None):
        params = self.get_params()
        value = PROBLEMS[self.problem]["f"](params)
        key = repr((int(X[0, 0]), sorted((k, repr(v)) for k, v in params.items())))
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        return value + rng.normal(0, self.noise)


PROBLEMS = {
    "irrelevant": {
        "f": lambda p: -(p["x"] - 0.3) ** 2 - 0.3 * (p["y"] - 0.6) ** 2,
        "space": {"x": Real(0, 1), "y": Real(0, 1), "z": Real(0, 1)},
        "range": 0.49 + 0.3 * 0.36,
    },
    "interaction": {
        "f": lambda p: p["a"] * p["b"] + 0.5 * p["c"],
        "space": {"a": Real(-1, 1), "b": Real(-1, 1), "c": Real(0, 1)},
        "range": 2.5,
    },
    "edge": {
        "f": lambda p: -(np.log10(p["lr"]) + 1) ** 2 - 0.2 * (p["dropout"] - 0.2) ** 2,
        "space": {"lr": Real(1e-4, 1e-2, prior="log-uniform"), "dropout": Real(0, 0.5),
                  "width": Integer(16, 128)},
        "range": 9.0,
    },
}


def true_shares(problem, n=40):
    """Main-effect and pairwise interaction shares on a product grid."""
    space = PROBLEMS[problem]["space"]
    names = list(space)
    grids = [dim.inverse_transform(np.linspace(0, 1, n)[:, None]) for dim in space.values()]
    values = np.empty([n] * len(names))
    for index in itertools.product(range(n), repeat=len(names)):
        values[index] = PROBLEMS[problem]["f"]({k: grids[j][i] for j, (k, i) in
                                               enumerate(zip(names, index))})
    total = values.var()
    main = {}
    for j, name in enumerate(names):
        others = tuple(k for k in range(len(names)) if k != j)
        main[name] = values.mean(axis=others).var() / total
    pairs = {}
    for j, k in itertools.combinations(range(len(names)), 2):
        others = tuple(m for m in range(len(names)) if m not in (j, k))
        joint = values.mean(axis=others).var() / total
        pairs[(names[j], names[k])] = max(0.0, joint - main[names[j]] - main[names[k]])
    return main, pairs


def _data(n_splits=3, n_per_fold=4):
    X = np.array([[fold, k] for fold in range(n_splits) for k in range(n_per_fold)],
                 dtype=float)
    return X, np.zeros(len(X))


class _FoldIds(KFold):
    """Folds whose test rows carry the fold's id in column 0 (the noise's seed)."""

    def split(self, X, y=None, groups=None):
        ids = X[:, 0]
        for fold in range(self.n_splits):
            yield np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)


def search_function(problem, seed, noise):
    spec = PROBLEMS[problem]
    estimator = Function(problem=problem, noise=noise * spec["range"])
    X, y = _data()
    search = BayesSearchCV(estimator, spec["space"], n_iter=50, cv=_FoldIds(3),
                           random_state=seed, refit=False)
    return search.fit(X, y)


def search_digits(seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    space = {"lr": Real(1e-4, 3e-2, prior="log-uniform"),
             "alpha": Real(1e-6, 1e-2, prior="log-uniform"),
             "batch_size": Integer(16, 256, prior="log-uniform"),
             "optimizer": ["adam", "sgd"], "dropout": Real(0.0, 0.5)}
    net = NeuralNetClassifier(hidden_layer_sizes=(64,), epochs=10, random_state=seed)
    return BayesSearchCV(net, space, n_iter=50, cv=3, n_jobs=2, random_state=seed,
                         refit=False).fit(X, y)


def report_time(search, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        report = cv_report(search)
        report.to_html()
        times.append(time.perf_counter() - start)
    return statistics.median(times), report


def show(problem, seed, search, truth):
    seconds, report = report_time(search)
    imp = report.importance
    print(f"\n{problem}, seed {seed}: report {seconds:.2f} s (median of 3); "
          f"leave-one-out R2 {report._importance.fit_r2:.2f}")
    if truth is not None:
        main, pairs = truth
        print(f"  {'dimension':10s} {'true':>6s} {'estimate':>8s} {'5-95 %':>12s} inside")
        for name in main:
            row = imp.loc[name]
            inside = row["lower"] - 0.01 <= main[name] <= row["upper"] + 0.01
            print(f"  {name:10s} {main[name]:6.3f} {row['share']:8.3f} "
                  f"{row['lower']:5.3f}-{row['upper']:5.3f}  {'yes' if inside else 'NO'}")
        true_order = sorted(main, key=lambda n: -main[n])
        estimated = list(imp.index)
        # pairs whose true shares differ by more than 0.01 must be in the true order
        agree = all(estimated.index(a) < estimated.index(b) for a in main for b in main
                    if main[a] > main[b] + 0.01)
        print(f"  ranking {'matches' if agree else 'DIFFERS'} (ties within 0.01 free): "
              f"true {true_order}, estimated {estimated}")
        top_true = max(pairs, key=pairs.get)
        est = report.interactions
        top_est = tuple(est.index[0]) if len(est) else None
        print(f"  largest pair: true {top_true} {pairs[top_true]:.3f}; estimated {top_est} "
              f"{est['share'].iloc[0] if len(est) else float('nan'):.3f}")
    else:
        for name, row in imp.iterrows():
            print(f"  {name:12s} {row['share']:6.3f}  [{row['lower']:.3f}-{row['upper']:.3f}]")
    findings = report.advice()
    print(f"  findings ({len(findings)}):")
    for f in findings:
        print(f"    - {f}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.01,
                        help="fold noise, as a share of each function's range")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = args.seeds[:1] if args.quick else args.seeds
    times = []
    for problem in PROBLEMS:
        truth = true_shares(problem)
        for seed in seeds:
            times.append(show(problem, seed, search_function(problem, seed, args.noise), truth))
    if not args.quick:
        for seed in seeds[:2]:
            start = time.perf_counter()
            search = search_digits(seed)
            print(f"\ndigits MLP search, seed {seed}: {time.perf_counter() - start:.0f} s")
            times.append(show("digits MLP", seed, search, None))
    print(f"\nreport time over every search: median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
