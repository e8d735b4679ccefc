"""Multi-fidelity search over epochs: HyperbandSearchCV vs BayesSearchCV vs sklearn's halving.

For each task, in one run and on the same folds, this script tunes the same
space with

- ``BayesSearchCV`` at full epochs (every candidate trained ``max_epochs``);
- sklearn's ``HalvingRandomSearchCV(resource='<net>__epochs')``: successive
  halving that retrains every promoted candidate from scratch;
- ``BayesSearchCV`` with a third of the candidates: what plain Bayesian
  search reaches with the epoch budget of the target;
- sklearn's ``HalvingRandomSearchCV(resource='<net>__epochs')``: successive
  halving that retrains every promoted candidate from scratch;
- sktune's ``HyperbandSearchCV``: successive halving that continues training
  promoted models, BOHB-style proposals; with the two most aggressive
  brackets (``--n-brackets``, about halving's epochs), with every bracket
  starting at ``--min-epochs`` (3: a ninth of the full epochs; about a
  quarter of Bayes's epochs) and with the defaults (all brackets from one
  epoch: more full-length candidates, more epochs).

For each seed (data split, folds, candidates) it prints the best CV accuracy
with its standard error (sample standard deviation of the best candidate's
fold scores / sqrt(n_folds)); the re-scored accuracy of the chosen
configuration (its mean over ``--rescore-repeats`` new 3-fold splits of the
training data, which no search selected on, so free of the upward bias of a
best score, the maximum of many noisy estimates); the test accuracy of the
refitted best model on a held-out quarter; the total epochs trained by all CV
fits (summed over candidates, folds and rungs; refit not counted) and the
wall time. Then the medians over the seeds and the targets: Hyperband within
one standard error of Bayes's best CV score with at most a third of its
epochs (on the medians, and the number of seeds where it holds), and fewer
epochs than halving at an equal or better score; then the same comparison
on the re-scored accuracy.

Tasks: an MLP and the convolutional network (``sktune.modules.ConvNet``) on
scikit-learn's digits, and an MLP on a larger generated problem
(``make_classification``, 6000 x 40, 5 classes).

Usage::

    python benchmarks/bench_multifidelity.py [--tasks mlp-digits cnn-digits mlp-generated]
        [--max-epochs 27] [--bayes-iter 30] [--n-brackets 2] [--min-epochs 3] [--n-jobs 2]
        [--seeds 0 1 2 3 4] [--rescore-repeats 3]
        [--same-candidates]

``--same-candidates`` runs only the comparison that isolates continuing from
restarting: one Hyperband bracket with quasi-random candidates, and
``HalvingGridSearchCV`` over exactly those candidates with the same rungs.

``--early-ranks`` runs only the measurement behind every early cut: 40
quasi-random candidates trained ``max_epochs`` on two thirds of the data and
scored on the rest after every epoch; it prints how well the ranking after 1,
3 and 9 epochs predicts the final ranking (Spearman), the final score of the
best of the top third at those epochs, and the same with the scores
extrapolated linearly in log-epochs from the rung before (a learning-curve
aware promotion rule).
"""

import argparse
import math
import time
from collections import namedtuple

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits, make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.base import clone
from sklearn.model_selection import (HalvingGridSearchCV, HalvingRandomSearchCV,
                                     RepeatedStratifiedKFold, StratifiedKFold, cross_val_score,
                                     train_test_split)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier
from sktune.modules import ConvNet
from sktune.search._hyperband.brackets import hyperband_brackets

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


def _mean_se(scores):
    """Mean and standard error (sample standard deviation / sqrt(n))."""
    return float(np.mean(scores)), float(np.std(scores, ddof=1)) / math.sqrt(len(scores))


def _best(search):
    """Best CV score and its standard error over the folds."""
    i = search.best_index_
    folds = [search.cv_results_[f"split{j}_test_score"][i] for j in range(search.n_splits_)]
    return search.best_score_, _mean_se(folds)[1]


def _rescore(search, X, y, args):
    """The chosen configuration on new splits: ``rescore_repeats`` x 3 folds
    shuffled with another seed than the search's, mean and standard error."""
    cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=args.rescore_repeats,
                                 random_state=args.seed + 1000)
    model = clone(search.estimator).set_params(**search.best_params_)
    return _mean_se(cross_val_score(model, X, y, cv=cv, n_jobs=args.n_jobs))


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

    def hyperband(**kwargs):
        return HyperbandSearchCV(full, space(), max_epochs=args.max_epochs, factor=3, cv=cv,
                                 n_jobs=args.n_jobs, random_state=args.seed, **kwargs)

    n_third = args.bayes_iter // 3
    searches = {
        f"BayesSearchCV (n_iter={args.bayes_iter}, {args.max_epochs} epochs)": BayesSearchCV(
            full, space(), n_iter=args.bayes_iter, n_points=2, cv=cv, n_jobs=args.n_jobs,
            random_state=args.seed),
        f"BayesSearchCV (n_iter={n_third}: a third of the epochs)": BayesSearchCV(
            full, space(), n_iter=n_third, n_points=2, cv=cv, n_jobs=args.n_jobs,
            random_state=args.seed),
        f"HalvingRandomSearchCV ({n_candidates} cand.)": HalvingRandomSearchCV(
            full, space(), n_candidates=n_candidates, resource=f"{NET}epochs",
            min_resources=1, max_resources=args.max_epochs, factor=3, cv=cv,
            n_jobs=args.n_jobs, random_state=args.seed),
        f"HyperbandSearchCV ({n_candidates} cand., {args.n_brackets} brackets)":
            hyperband(n_brackets=args.n_brackets),
        f"HyperbandSearchCV (min_epochs={args.min_epochs}, all brackets)":
            hyperband(min_epochs=args.min_epochs),
        f"HyperbandSearchCV ({n_all} cand., all brackets)": hyperband(),
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
        rows.append(Row(label, score, se, *_rescore(search, X_train, y_train, args),
                        search.score(X_test, y_test), epochs, wall,
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


def early_ranks(name, args, n_candidates=40):
    """Rank correlation of the scores after a few epochs with the final ones."""
    from joblib import Parallel, delayed
    from scipy.stats import spearmanr

    from sktune.search import Optimizer

    load, make_net, space = TASKS[name]
    X, y = load()
    X_fit, X_val, y_fit, y_val = train_test_split(X.astype(np.float32), y, test_size=1 / 3,
                                                  stratify=y, random_state=args.seeds[0])
    scaler = StandardScaler().fit(X_fit)
    X_fit, X_val = scaler.transform(X_fit), scaler.transform(X_val)
    params = {k[len(NET):]: v for k, v in space().items()}
    points = Optimizer(params, random_state=args.seeds[0],
                       n_initial_points=n_candidates).ask(n_points=n_candidates)

    def curve(point):
        net = make_net().set_params(**point, epochs=1).fit(X_fit, y_fit)
        scores = [net.score(X_val, y_val)]
        for _ in range(args.max_epochs - 1):
            scores.append(net.partial_fit(X_fit, y_fit, epochs=1).score(X_val, y_val))
        return scores

    curves = np.array(Parallel(n_jobs=args.n_jobs)(delayed(curve)(p) for p in points))
    final = curves[:, -1]
    print(f"\n== {name}: {n_candidates} quasi-random candidates, {args.max_epochs} epochs, "
          f"validation accuracy after every epoch (best final {final.max():.4f})")
    for epochs in (1, 3, 9):
        rows = [("scores", curves[:, epochs - 1])]
        if epochs > 1:
            before = curves[:, epochs // 3 - 1]
            rows.append(("extrapolated", 2 * curves[:, epochs - 1] - before))
        for label, key in rows:
            top = np.argsort(-key, kind="stable")[:n_candidates // 3]
            print(f"   after {epochs:2d} epochs, {label:<12}: Spearman with the final ranking "
                  f"{spearmanr(key, final).statistic:5.2f}; best final score in the top "
                  f"third {final[top].max():.4f}")


#: One search of one task and seed (or the medians over seeds); n = rows of cv_results_.
Row = namedtuple("Row", "label score se rescored rescored_se test epochs wall n")
#: The two scores the targets are judged on: (score field, its standard-error field).
SCORES = {"best CV": ("score", "se"), "re-scored": ("rescored", "rescored_se")}


def _print_rows(rows):
    print(f"{'search':<52} {'best CV':>8} {'+-SE':>7} {'re-scored':>9} {'+-SE':>7} {'test':>7} "
          f"{'epochs':>7} {'wall s':>7} {'rows':>5}")
    for r in rows:
        print(f"{r.label:<52} {r.score:8.4f} {r.se:7.4f} {r.rescored:9.4f} "
              f"{r.rescored_se:7.4f} {r.test:7.4f} {r.epochs:7.0f} {r.wall:7.1f} {r.n:5.0f}")


def _compare(rows):
    bayes, _, halving = rows[:3]
    for row in rows[3:]:
        print(f"{row.label}: epochs {row.epochs / bayes.epochs:.2f}x Bayes's (target <= 0.33), "
              f"{row.epochs / halving.epochs:.2f}x halving's (target < 1); wall "
              f"{row.wall / bayes.wall:.2f}x Bayes's, {row.wall / halving.wall:.2f}x halving's; "
              f"test {row.test - bayes.test:+.4f} vs Bayes")
        for name, (score, se) in SCORES.items():
            diff, one_se = getattr(row, score) - getattr(bayes, score), getattr(bayes, se)
            versus_halving = getattr(row, score) - getattr(halving, score)
            print(f"  {name:<9}: vs Bayes {diff:+.4f} (1 SE = {one_se:.4f}: "
                  f"{'within' if diff >= -one_se else 'NOT within'}), vs halving "
                  f"{versus_halving:+.4f} "
                  f"({'equal or better' if versus_halving >= 0 else 'worse'})")


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
    parser.add_argument("--min-epochs", type=int, default=3,
                        help="min_epochs of the Hyperband row that starts every bracket later")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="data split, folds and search seeds; medians are reported")
    parser.add_argument("--rescore-repeats", type=int, default=3,
                        help="new 3-fold splits on which each search's choice is re-scored")
    parser.add_argument("--same-candidates", action="store_true",
                        help="only compare continuing with restarting on the same candidates "
                        "and rungs (one bracket vs HalvingGridSearchCV)")
    parser.add_argument("--early-ranks", action="store_true",
                        help="only measure how well early scores rank the candidates")
    args = parser.parse_args(argv)
    _warm_up(args.n_jobs)
    if args.early_ranks:
        for name in args.tasks:
            early_ranks(name, args)
        return
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
        medians = [Row(runs[0][i].label, *np.median([r[i][1:] for r in runs], axis=0))
                   for i in range(len(runs[0]))]
        print(f"\n== {name}: medians over seeds {args.seeds}")
        _print_rows(medians)
        _compare(medians)
        for i in range(3, len(runs[0])):
            hits = {name: sum(getattr(r[i], score) >= getattr(r[0], score) - getattr(r[0], se)
                              for r in runs)
                    for name, (score, se) in SCORES.items()}
            print(f"{runs[0][i].label}: within one SE of Bayes in "
                  + ", ".join(f"{n}/{len(runs)} seeds ({name})" for name, n in hits.items()))


if __name__ == "__main__":
    main()
