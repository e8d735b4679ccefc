"""Racing folds: 5-fold ``BayesSearchCV`` with and without ``racing``, side by side.

Three tasks, 40 candidates, 5-fold CV on 75 % of the data, the chosen
candidate refitted and scored on the other 25 % (a test split no fold sees):

- ``mlp``: sktune's MLP on digits (lr, alpha, dropout, width, batch size);
- ``convnet``: sktune's ConvNet on digits as 8x8 images (lr, alpha, dropout,
  channels, batch size);
- ``close``: a logistic regression on a generated noisy task, ``C`` over a
  range where every candidate scores within the folds' noise of the others
  (racing can only lose there: this measures what it costs).

For each seed: fits run, search wall time and held-out accuracy of the choice,
without racing, with racing, and (``--equal-wall``) racing with as many
candidates as fit in the unraced search's wall time (a ``TimeBudgetStopper``,
up to 3x the candidates). Then the medians, the ratios and the seed-by-seed
held-out difference (racing - plain) with its standard error.

Usage::

    python benchmarks/bench_racing.py --tasks mlp convnet close --seeds 0 1 2 3 4 5 6 7 8 9 \
        [--n-iter 40] [--n-jobs 2] [--racing 0.05] [--equal-wall]
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.modules import ConvNet
from sktune.search.callbacks import TimeBudgetStopper
from sktune.space import Categorical, Real


def mlp_task(seed):
    X, y = load_digits(return_X_y=True)
    net = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=10, random_state=seed))
    p = "neuralnetclassifier__"
    space = {f"{p}lr": Real(1e-4, 3e-1, prior="log-uniform"),
             f"{p}alpha": Real(1e-6, 1e-1, prior="log-uniform"),
             f"{p}dropout": Real(0.0, 0.6),
             f"{p}hidden_layer_sizes": Categorical([(16,), (64,), (128,), (64, 32)]),
             f"{p}batch_size": Categorical([32, 64, 128])}
    return X.astype(np.float32), y, net, space


def convnet_task(seed):
    X, y = load_digits(return_X_y=True)
    net = NeuralNetClassifier(module=ConvNet, epochs=8, random_state=seed)
    space = {"lr": Real(1e-4, 3e-1, prior="log-uniform"),
             "alpha": Real(1e-6, 1e-1, prior="log-uniform"),
             "dropout": Real(0.0, 0.6),
             "module__channels": Categorical([(8,), (8, 16), (16, 32)]),
             "batch_size": Categorical([32, 64, 128])}
    return (X / 16.0).astype(np.float32), y, net, space


def close_task(seed):
    X, y = make_classification(n_samples=600, n_features=20, n_informative=4, flip_y=0.25,
                               random_state=1000 + seed)
    space = {"C": Real(0.05, 5.0, prior="log-uniform")}
    return X, y, LogisticRegression(max_iter=500), space


TASKS = {"mlp": mlp_task, "convnet": convnet_task, "close": close_task}


def run(task, seed, racing, n_iter, n_jobs, budget=None):
    X, y, estimator, space = TASKS[task](seed)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=seed)
    search = BayesSearchCV(estimator, space, n_iter=n_iter, random_state=seed, n_jobs=n_jobs,
                           cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                           racing=racing,
                           callbacks=None if budget is None else TimeBudgetStopper(budget))
    start = time.perf_counter()
    search.fit(X_fit, y_fit)
    wall = time.perf_counter() - start  # the search and its refit
    results = search.cv_results_
    evaluated = results.get("n_splits_evaluated", np.full(len(results["params"]), 5))
    return {"fits": int(np.sum(evaluated)), "candidates": len(results["params"]),
            "wall": wall, "test": float(search.score(X_test, y_test)),
            "cv": float(search.best_score_)}


def summary(task, rows, label):
    plain = [r["plain"] for r in rows]
    other = [r[label] for r in rows]
    fits = np.median([o["fits"] for o in other]) / np.median([p["fits"] for p in plain])
    wall = np.median([p["wall"] for p in plain]) / np.median([o["wall"] for o in other])
    diff = np.array([o["test"] - p["test"] for o, p in zip(other, plain)])
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    print(f"{task:<8} {label:<11} fits {np.median([o['fits'] for o in other]):6.0f} "
          f"({fits - 1:+.0%} vs plain {np.median([p['fits'] for p in plain]):.0f}), "
          f"wall {np.median([o['wall'] for o in other]):6.1f} s (plain/this {wall:.2f}x), "
          f"held-out {np.median([o['test'] for o in other]):.4f} vs "
          f"{np.median([p['test'] for p in plain]):.4f}, "
          f"mean diff {diff.mean():+.4f} +- {se:.4f} (SE), "
          f"wins/ties/losses {int((diff > 0).sum())}/{int((diff == 0).sum())}/"
          f"{int((diff < 0).sum())}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--n-iter", type=int, default=40)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--racing", type=float, default=0.05)
    parser.add_argument("--equal-wall", action="store_true")
    parser.add_argument("--json", help="write every run's numbers to this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(1)
    print(f"5-fold BayesSearchCV, {args.n_iter} candidates, n_jobs={args.n_jobs}, "
          f"racing={args.racing}; seeds {args.seeds}")
    everything = {}
    for task in args.tasks:
        rows = []
        for seed in args.seeds:
            row = {"plain": run(task, seed, False, args.n_iter, args.n_jobs),
                   "racing": run(task, seed, args.racing, args.n_iter, args.n_jobs)}
            if args.equal_wall:
                row["equal wall"] = run(task, seed, args.racing, 3 * args.n_iter, args.n_jobs,
                                        budget=row["plain"]["wall"])
            rows.append(row)
            print(f"  {task} seed {seed}: " + "; ".join(
                f"{k} {v['fits']} fits / {v['candidates']} cand, {v['wall']:.1f} s, "
                f"test {v['test']:.4f}" for k, v in row.items()), flush=True)
        for label in [k for k in rows[0] if k != "plain"]:
            summary(task, rows, label)
        everything[task] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1)


if __name__ == "__main__":
    main()
