"""A real CV task: tune an sktune network on digits with 30 candidates, 3-fold CV.

Compares, in one run, sktune's ``BayesSearchCV`` with sklearn's
``RandomizedSearchCV`` over the same space. Prints the
best CV accuracy, the test accuracy, the wall time and, for sktune, the
optimiser's own time (``optimizer_time_``: proposing and updating, the overhead
beyond cross-validation; target < 1 s per search).

Usage::

    python benchmarks/bench_search_digits.py [--n-iter 30] [--n-jobs 2] [--epochs 15]
"""

import argparse
import time

from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.space import Categorical, Real

HIDDEN = [(32,), (64,), (128,), (64, 32)]
BATCH = [32, 64, 128]


def _spaces(prefix):
    sktune_space = {
        f"{prefix}lr": Real(1e-4, 3e-2, prior="log-uniform"),
        f"{prefix}alpha": Real(1e-6, 1e-2, prior="log-uniform"),
        f"{prefix}dropout": Real(0.0, 0.5),
        f"{prefix}hidden_layer_sizes": Categorical(HIDDEN),
        f"{prefix}batch_size": Categorical(BATCH),
    }
    random_space = {
        f"{prefix}lr": loguniform(1e-4, 3e-2),
        f"{prefix}alpha": loguniform(1e-6, 1e-2),
        f"{prefix}dropout": uniform(0.0, 0.5),
        f"{prefix}hidden_layer_sizes": HIDDEN,
        f"{prefix}batch_size": BATCH,
    }
    return sktune_space, random_space


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    pipe = make_pipeline(StandardScaler(),
                         NeuralNetClassifier(epochs=args.epochs, random_state=0))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    bayes_space, random_space = _spaces("neuralnetclassifier__")
    common = dict(n_iter=args.n_iter, cv=cv, n_jobs=args.n_jobs, random_state=args.seed)
    searches = {
        "sktune BayesSearchCV": BayesSearchCV(pipe, bayes_space, **common),
        "RandomizedSearchCV": RandomizedSearchCV(pipe, random_space, **common),
    }
    print(f"digits, {args.n_iter} candidates x 3 folds, n_jobs={args.n_jobs}, "
          f"{args.epochs} epochs per fit")
    print(f"{'search':<24}{'best CV acc':>12}{'test acc':>10}{'wall s':>9}{'optimizer s':>13}")
    for name, search in searches.items():
        start = time.perf_counter()
        search.fit(X_train, y_train)
        wall = time.perf_counter() - start
        overhead = getattr(search, "optimizer_time_", float("nan"))
        print(f"{name:<24}{search.best_score_:>12.4f}{search.score(X_test, y_test):>10.4f}"
              f"{wall:>9.1f}{overhead:>13.3f}", flush=True)


if __name__ == "__main__":
    main()
