"""Out of the box: sktune's networks with their defaults against what a user would pick instead.

Every model is fitted with its defaults inside a pipeline that standardises
the features (a mixed-type table gets sktune's command-line preprocessing:
median imputation and scaling for numbers, one-hot encoding for text) and
scored by 5-fold cross-validation, one run, the same folds for every model.

- Regression (R2): ``RidgeCV``, sklearn's ``MLPRegressor``, and
  ``NeuralNetRegressor`` with its defaults (target scaling on), with
  ``early_stopping=True``, and with ``target_scaling=False`` (the defaults
  before target scaling), on diabetes, a generated problem with targets
  around 1e5, and a generated mixed-type table.
- Classification (accuracy): ``LogisticRegression``, sklearn's
  ``MLPClassifier``, ``NeuralNetClassifier`` with its defaults and with
  ``early_stopping=True``, on digits, wine and breast_cancer.

The targets (issue "Out of the box"): the regressor within 0.03 R2 of
``RidgeCV`` and above ``MLPRegressor``; the classifier within 0.01 accuracy of
``MLPClassifier`` or better. The table prints the median and the spread
(min-max) over the 5 folds, and the gap to the reference.

Usage::

    python benchmarks/bench_defaults.py [--folds 5] [--seed 0] [--n-jobs 2]
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits, load_wine,
                              make_regression)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktune import NeuralNetClassifier, NeuralNetRegressor


def mixed_table(n=600, seed=0):
    """Numbers (some missing), a category, a flag and a price-like target around 5e4."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "area": rng.normal(120, 35, n),
        "rooms": rng.integers(1, 7, n).astype(float),
        "age": rng.uniform(0, 80, n),
        "district": rng.choice(["north", "south", "east", "west"], n),
        "garden": rng.random(n) > 0.6,
    })
    bonus = frame["district"].map({"north": 8000, "south": -3000, "east": 2000, "west": 0})
    y = (300 * frame["area"] + 4000 * frame["rooms"] - 150 * frame["age"]
         + 5000 * frame["garden"] + bonus + 20 * (frame["area"] - 120) ** 2 / 35
         + rng.normal(0, 4000, n))
    frame.loc[rng.choice(n, 30, replace=False), "area"] = np.nan
    return frame, y.to_numpy()


def _preprocess(X):
    if isinstance(X, pd.DataFrame):
        numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        text = make_pipeline(SimpleImputer(strategy="most_frequent"),
                             OneHotEncoder(handle_unknown="ignore"))
        return make_column_transformer(
            (numbers, make_column_selector(dtype_include="number")),
            (text, make_column_selector(dtype_exclude="number")))
    return StandardScaler()


def regression_tasks(seed):
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes", X, y
    X, y = make_regression(n_samples=600, n_features=10, n_informative=6, noise=10.0,
                           random_state=seed)
    yield "generated, y ~ 1e5", X, 1e5 + 300 * y
    yield "mixed table", *mixed_table(seed=seed)


def classification_tasks():
    for name, loader in (("digits", load_digits), ("wine", load_wine),
                         ("breast_cancer", load_breast_cancer)):
        yield name, *loader(return_X_y=True)


def regressors(seed):
    return {
        "RidgeCV": RidgeCV(),
        "MLPRegressor": MLPRegressor(random_state=seed),
        "sktune": NeuralNetRegressor(random_state=seed),
        "sktune early_stopping": NeuralNetRegressor(early_stopping=True, random_state=seed),
        "sktune target_scaling=False": NeuralNetRegressor(target_scaling=False,
                                                          random_state=seed),
    }


def classifiers(seed):
    return {
        "LogisticRegression": LogisticRegression(max_iter=1000),
        "MLPClassifier": MLPClassifier(random_state=seed),
        "sktune": NeuralNetClassifier(random_state=seed),
        "sktune early_stopping": NeuralNetClassifier(early_stopping=True, random_state=seed),
    }


def _scores(model, X, y, cv, n_jobs):
    pipe = make_pipeline(_preprocess(X), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP*'s ConvergenceWarning at its default max_iter
        tick = time.perf_counter()
        scores = cross_val_score(pipe, X, y, cv=cv, n_jobs=n_jobs)
    return scores, time.perf_counter() - tick


def _table(kind, tasks, models, reference, cv, n_jobs):
    metric = "R2" if kind == "regression" else "accuracy"
    print(f"\n## {kind} ({metric}, {cv.get_n_splits()}-fold CV: median [min-max]; "
          f"gap = median minus {reference}'s)\n")
    print(f"| task | model | {metric} | gap | seconds |")
    print("|---|---|---:|---:|---:|")
    for task, X, y in tasks:
        results = {name: _scores(model, X, y, cv, n_jobs) for name, model in models.items()}
        best = np.median(results[reference][0])
        for name, (scores, seconds) in results.items():
            print(f"| {task} | {name} | {np.median(scores):.3f} "
                  f"[{scores.min():.3f}-{scores.max():.3f}] | {np.median(scores) - best:+.3f} "
                  f"| {seconds:.1f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    _table("regression", regression_tasks(args.seed), regressors(args.seed), "RidgeCV",
           KFold(args.folds, shuffle=True, random_state=args.seed), args.n_jobs)
    _table("classification", classification_tasks(), classifiers(args.seed), "MLPClassifier",
           StratifiedKFold(args.folds, shuffle=True, random_state=args.seed), args.n_jobs)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
