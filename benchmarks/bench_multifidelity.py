"""Multi-fidelity search over epochs: HyperbandSearchCV vs BayesSearchCV vs sklearn's halving.

For each task, in one run and on the same folds, this script tunes the same
space with

- ``BayesSearchCV`` at full epochs (every candidate trained ``max_epochs``);
- sklearn's ``HalvingRandomSearchCV(resource='<net>__epochs')``: successive
  halving that retrains every promoted candidate from scratch;
- sktune's ``HyperbandSearchCV``: successive halving that continues training
  promoted models, BOHB-style proposals; with the two most aggressive
  brackets (``--n-brackets``, about halving's epochs) and with all brackets
  (the default: more full-length candidates, more epochs).

For each seed (data split, folds, candidates) it prints the best CV accuracy
with its standard error (fold spread of the best candidate / sqrt(n_folds)),
the test accuracy of the refitted best model on a held-out quarter, the total
epochs trained by all CV fits (summed over candidates, folds and rungs;
refit not counted) and the wall time; then the medians over the seeds and
the targets: Hyperband within one standard error of Bayes's best CV score
with at most a third of its epochs, and fewer epochs than halving at an
equal or better score.

Tasks: an MLP and the convolutional network (``sktune.modules.ConvNet``) on
scikit-learn's digits, and an MLP on a larger generated problem
(``make_classification``, 6000 x 40, 5 classes).

Usage::

    python benchmarks/bench_multifidelity.py [--tasks mlp-digits cnn-digits mlp-generated]
        [--max-epochs 27] [--bayes-iter 30] [--n-brackets 2] [--n-jobs 2] [--seeds 0 1 2]
        [--same-candidates]

``--same-candidates`` runs only the comparison that isolates continuing from
restarting: one Hyperband bracket with quasi-random candidates, and
``HalvingGridSearchCV`` over exactly those candidates with the same rungs.
"""

import argparse
import math
import time

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits, make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (HalvingGridSearchCV, HalvingRandomSearchCV, StratifiedKFold,
                                     train_test_split)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier
from sktune.modules import ConvNet
from sktune.search._brackets import hyperband_brackets

NET = "net__"


def _digits():
    return load_digits(return_X_y=True)


def _generated():
    return make_classification(6000, 40, n_informative=20, n_redundant=10, n_classes=5,
                               class_sep=0.8, random_state=0)


def _mlp_space():
    return {
        f"{NET}lr": loguniform(1e-4, 1e-1),
        f"{NET}alpha": loguniform(1e-6, 1e-2),
        f"{NET}dropout": uniform(0.0, 0.5),
        f"{NET}hidden_layer_sizes": [(32,), (128,), (256,), (128, 64)],
        f"{NET}batch_size": [32, 64, 128],
    }


def _cnn_space():
    return {
        f"{NET}lr": loguniform(1e-4, 1e-1),
        f"{NET}alpha": loguniform(1e-6, 1e-2),
        f"{NET}dropout": uniform(0.0, 0.5),
        f"{NET}module__channels": [(8, 16), (16, 32)],
        f"{NET}batch_size": [32, 64, 128],
    }


TASKS = {
    "mlp-digits": (_digits, lambda: NeuralNetClassifier(random_state=0), _mlp_space),
    "cnn-digits": (_digits, lambda: NeuralNetClassifier(
        module=ConvNet, module__input_shape=(1, 8, 8), random_state=0), _cnn_space),
    "mlp-generated": (_generated, lambda: NeuralNetClassifier(random_state=0), _mlp_space),
}


def _best(search):
    """Best CV score and its standard error (fold spread / sqrt(k))."""
    i = search.best_index_
    k = search.n_splits_
    folds = [search.cv_results_[f"split{j}_test_score"][i] for j in range(k)]
    return search.best_score_, float(np.std(folds)) / math.sqrt(k)


def _epochs_from_scratch(search):
    """Every (candidate, fold) fit trained its n_resources (or the full epochs) anew."""
    r = search.cv_results_
    if "n_resources" in r:
        return int(np.sum(r["n_resources"])) * search.n_splits_
    return sum(p[f"{NET}epochs"] if f"{NET}epochs" in p else search.estimator.get_params()[
        f"{NET}epochs"] for p in r["params"]) * search.n_splits_


def run_task(name, args):
    load, make_net, space = TASKS[name]
    X, y = load()
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed)
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    pipe = Pipeline([("scale", StandardScaler()), ("net", make_net())])
    full = pipe.set_params(net__epochs=args.max_epochs)
    n_candidates = sum(b[0].n_candidates for b in hyperband_brackets(
        args.max_epochs, 1, 3, args.n_brackets))  # the same count for halving
    n_all = sum(b[0].n_candidates for b in hyperband_brackets(args.max_epochs, 1, 3))

    def hyperband(n_brackets):
        return HyperbandSearchCV(full, space(), max_epochs=args.max_epochs, factor=3,
                                 n_brackets=n_brackets, cv=cv, n_jobs=args.n_jobs,
                                 random_state=args.seed)

    searches = {
        f"BayesSearchCV (n_iter={args.bayes_iter}, {args.max_epochs} epochs)": BayesSearchCV(
            full, space(), n_iter=args.bayes_iter, n_points=2, cv=cv, n_jobs=args.n_jobs,
            random_state=args.seed),
        f"HalvingRandomSearchCV ({n_candidates} cand.)": HalvingRandomSearchCV(
            full, space(), n_candidates=n_candidates, resource=f"{NET}epochs",
            min_resources=1, max_resources=args.max_epochs, factor=3, cv=cv,
            n_jobs=args.n_jobs, random_state=args.seed),
        f"HyperbandSearchCV ({n_candidates} cand., {args.n_brackets} brackets)":
            hyperband(args.n_brackets),
        f"HyperbandSearchCV ({n_all} cand., all brackets)": hyperband(None),
    }
    rows = []
    for label, search in searches.items():
        start = time.perf_counter()
        search.fit(X_train, y_train)
        wall = time.perf_counter() - start
        epochs = getattr(search, "epochs_trained_", None)
        if epochs is None:
            epochs = _epochs_from_scratch(search)
        score, se = _best(search)
        rows.append((label, score, se, search.score(X_test, y_test), epochs, wall,
                     len(search.cv_results_["params"])))
    print(f"\n== {name}, seed {args.seed}: {X_train.shape[0]} training samples x "
          f"{X.shape[1]} features, 3-fold CV, n_jobs={args.n_jobs}")
    _print_rows(rows)
    return rows


def same_candidates(name, args):
    """Continuing vs restarting, all else equal: one bracket of Hyperband and
    scikit-learn's halving over the *same* 27 candidates and the same rungs
    (27 at 1 epoch, 9 at 3, 3 at 9, 1 at 27)."""
    load, make_net, space = TASKS[name]
    X, y = load()
    X_train, _, y_train, _ = train_test_split(X.astype(np.float32), y, test_size=0.25,
                                              stratify=y, random_state=args.seed)
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    full = Pipeline([("scale", StandardScaler()), ("net", make_net())]).set_params(
        net__epochs=args.max_epochs)
    start = time.perf_counter()
    hyperband = HyperbandSearchCV(full, space(), max_epochs=args.max_epochs, factor=3,
                                  n_brackets=1, proposals="random", cv=cv, n_jobs=args.n_jobs,
                                  random_state=args.seed).fit(X_train, y_train)
    hb_wall = time.perf_counter() - start
    r = hyperband.cv_results_
    first = [{k: [v] for k, v in p.items() if k != f"{NET}epochs"}
             for p, i in zip(r["params"], r["iter"]) if i == 0]
    start = time.perf_counter()
    halving = HalvingGridSearchCV(full, first, resource=f"{NET}epochs", min_resources=1,
                                  max_resources=args.max_epochs, factor=3, cv=cv,
                                  n_jobs=args.n_jobs).fit(X_train, y_train)
    hv_wall = time.perf_counter() - start
    hv_epochs = _epochs_from_scratch(halving)
    same = np.array_equal(np.sort(halving.cv_results_["mean_test_score"]),
                          np.sort(r["mean_test_score"]))
    print(f"   same {len(first)} candidates, seed {args.seed}: best CV {hyperband.best_score_:.4f} "
          f"(halving {halving.best_score_:.4f}); all rung scores equal: {same}; epochs "
          f"{hyperband.epochs_trained_} vs {hv_epochs} ({hyperband.epochs_trained_ / hv_epochs:.2f}x);"
          f" wall {hb_wall:.1f} s vs {hv_wall:.1f} s ({hb_wall / hv_wall:.2f}x)")
    return hyperband.epochs_trained_ / hv_epochs, hb_wall / hv_wall, same


def _print_rows(rows):
    print(f"{'search':<52} {'best CV':>8} {'+-SE':>7} {'test':>7} {'epochs':>7} "
          f"{'wall s':>7} {'rows':>5}")
    for label, score, se, test, epochs, wall, n in rows:
        print(f"{label:<52} {score:8.4f} {se:7.4f} {test:7.4f} {epochs:7.0f} {wall:7.1f} {n:5.0f}")


def _compare(rows):
    (_, b_score, b_se, _, b_epochs, b_wall, _), (_, h_score, _, _, h_epochs, h_wall, _) = rows[:2]
    for label, score, _, _, epochs, wall, _ in rows[2:]:
        print(f"{label}:")
        print(f"  vs Bayes: score diff {score - b_score:+.4f} (1 SE = {b_se:.4f}: "
              f"{'within' if score >= b_score - b_se else 'NOT within'}), epochs "
              f"{epochs / b_epochs:.2f}x (target <= 0.33), wall {wall / b_wall:.2f}x")
        print(f"  vs halving: score diff {score - h_score:+.4f} "
              f"({'equal or better' if score >= h_score else 'worse'}), epochs "
              f"{epochs / h_epochs:.2f}x (target < 1), wall {wall / h_wall:.2f}x")


def _warm_up(n_jobs):
    """Start the workers (and import torch there) before anything is timed."""
    from joblib import Parallel, delayed

    X, y = make_classification(60, 4, random_state=0)
    Parallel(n_jobs=n_jobs)(delayed(NeuralNetClassifier(epochs=1).fit)(X, y)
                            for _ in range(2 * n_jobs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--max-epochs", type=int, default=27)
    parser.add_argument("--bayes-iter", type=int, default=30)
    parser.add_argument("--n-brackets", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="data split, folds and search seeds; medians are reported")
    parser.add_argument("--same-candidates", action="store_true",
                        help="only compare continuing with restarting on the same candidates "
                        "and rungs (one bracket vs HalvingGridSearchCV)")
    args = parser.parse_args(argv)
    _warm_up(args.n_jobs)
    if args.same_candidates:
        for name in args.tasks:
            print(f"\n== {name}: one bracket, continued (HyperbandSearchCV) vs restarted "
                  "(HalvingGridSearchCV), same candidates")
            runs = []
            for seed in args.seeds:
                args.seed = seed
                runs.append(same_candidates(name, args))
            print(f"   median epochs ratio {np.median([r[0] for r in runs]):.2f}x, wall ratio "
                  f"{np.median([r[1] for r in runs]):.2f}x, equal scores in "
                  f"{sum(r[2] for r in runs)}/{len(runs)} runs")
        return
    for name in args.tasks:
        runs = []
        for seed in args.seeds:
            args.seed = seed
            runs.append(run_task(name, args))
        medians = [(runs[0][i][0], *np.median([[r[i][k] for k in range(1, 7)] for r in runs],
                                              axis=0)) for i in range(len(runs[0]))]
        print(f"\n== {name}: medians over seeds {args.seeds}")
        _print_rows(medians)
        _compare(medians)


if __name__ == "__main__":
    main()
