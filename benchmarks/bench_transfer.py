"""Fine-tuning a pretrained ConvNet: what tuning freeze, lr and head buys over scratch training.

Digits (``load_digits``, ``X / 16`` as float32, 8x8 images), sktune's default
``ConvNet`` (one torch thread). For each seed:

- Task ``shifted``: a network is pretrained (``NeuralNetClassifier(module=ConvNet,
  epochs=30, lr=3e-3, random_state=seed)``) on 1,000 digits (a stratified split
  seeded by ``seed``); the other 797 are the target domain, shifted one pixel
  to the right (``np.roll`` along the width, first column zeroed). From the
  target pool the labelled set is drawn per class (seeded): 3 per class for the
  budget of 30, 10 per class for 100; the 30 are a subset of the 100, and both
  budgets are scored on the same held-out digits, the pool less the 100 (697).
- Task ``0-4 -> 5-9``: pretrained on the digits 0-4 (all 901 of them, 5
  outputs; at most 1,000 would be used); the target is the digits 5-9 (labels
  kept; the classifier encodes them in sorted order, so they meet the
  pretrained head's 5 outputs and the head is kept unless ``reinit_head``):
  20 labelled per class (100), the other 796 held out. No shift.

Methods, each fitted on the labelled set and scored on the held-out set:

- ``pretrained``: (shifted only) the pretrained network as it is, no fine-tuning;
- ``scratch``: ``ConvNet`` from random init, the defaults (30 epochs, lr 3e-3);
- ``tuned scratch``: ``BayesSearchCV`` over ``lr`` (1e-4..3e-2, log) and
  ``epochs`` (10..60), ``--scratch-iter`` candidates;
- ``fine-tune``: ``module=`` the pretrained instance, the same defaults,
  nothing frozen, head kept;
- ``tuned fine-tune``: ``BayesSearchCV``, ``--n-iter`` candidates, over
  ``freeze`` in {None, 1 (the conv stack), 'features.0' (the first conv)},
  ``unfreeze_at`` in {None, 5, 10, 20}, ``lr`` (1e-4..3e-2, log),
  ``lr_multipliers`` as a layer-wise decay (0.05..1, log; 1 is no decay),
  ``reinit_head`` in {False, True} and ``epochs`` (10..60).

Both searches use 3-fold ``StratifiedKFold(shuffle=True, random_state=seed)``
on the labelled set (every class has >= 3 labels by construction, so no
small-class warning), the same folds for both, ``random_state=seed``, refit on
the whole labelled set. Cells are held-out accuracy with the epochs trained in
parentheses; margins are per-seed differences, summarised by median, min and
max over seeds. Target (issue "Fine-tuning"): tuned fine-tuning beats scratch
and untuned fine-tuning on both label budgets of the shifted task.

Batch size: the target fits use ``--batch-size`` (default 64, the library's).
sktune spreads an epoch's samples evenly over ``ceil(n / batch_size)``
batches, so a fold of a 100-label search (66-67 samples) trains on batches of
34 and 33. (Before that change it trained on 64 + 2-3, and Adam's full-size
step on the tiny remainder batch ruined training from scratch: 65 digits
trained to near chance at 30 epochs and lr 3e-3; this benchmark found it.)
``--batch-size 128`` makes every target fit one batch.

Usage::

    python benchmarks/bench_transfer.py [--seeds 0 1 2 3 4] [--n-iter 30] [--scratch-iter 15]
    python benchmarks/bench_transfer.py --budgets 100 --batch-size 128
    python benchmarks/bench_transfer.py --tasks shifted --budgets 30 --cv-repeats 3
    python benchmarks/bench_transfer.py --quick   # 1 seed, few candidates: a smoke run
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, train_test_split

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.modules import ConvNet

DEFAULTS = dict(epochs=30, lr=3e-3)
FINETUNE_SPACE = {
    "freeze": [None, 1, "features.0"],
    "unfreeze_at": [None, 5, 10, 20],
    "lr": (1e-4, 3e-2, "log-uniform"),
    "lr_multipliers": (0.05, 1.0, "log-uniform"),
    "reinit_head": [False, True],
    "epochs": (10, 60),
}
SCRATCH_SPACE = {
    "lr": (1e-4, 3e-2, "log-uniform"),
    "epochs": (10, 60),
}
METHODS = ["pretrained", "scratch", "tuned scratch", "fine-tune", "tuned fine-tune"]


def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def shift_right(X):
    """Shift 8x8 images (flat rows) one pixel right; the new first column is zero."""
    images = np.roll(X.reshape(-1, 8, 8), 1, axis=2)
    images[:, :, 0] = 0.0
    return images.reshape(len(X), 64)


def per_class(y, counts, seed):
    """Index arrays, nested: for each ``n`` of ``counts`` (increasing), ``n`` per class."""
    rng = np.random.default_rng(seed)
    orders = {c: rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)}
    return [np.sort(np.concatenate([order[:n] for order in orders.values()]))
            for n in counts]


def net(module, seed, **params):
    return NeuralNetClassifier(module=module, random_state=seed, **{**DEFAULTS, **params})


def target_net(module, seed, args):
    return net(module, seed, batch_size=args.batch_size)


def search(estimator, space, n_iter, seed, n_jobs, repeats=1):
    cv = (StratifiedKFold(3, shuffle=True, random_state=seed) if repeats == 1 else
          RepeatedStratifiedKFold(n_splits=3, n_repeats=repeats, random_state=seed))
    return BayesSearchCV(estimator, space, n_iter=n_iter, cv=cv, random_state=seed,
                         n_jobs=n_jobs)


def tasks(seeds):
    """``{task: {seed: (pretrain (X, y), {budget: (X_l, y_l)}, (X_held, y_held), note)}}``."""
    X, y = digits()
    out = {"shifted": {}, "0-4 -> 5-9": {}}
    for seed in seeds:
        X_src, X_pool, y_src, y_pool = train_test_split(X, y, train_size=1000, stratify=y,
                                                        random_state=seed)
        X_pool = shift_right(X_pool)
        idx30, idx100 = per_class(y_pool, [3, 10], seed)
        held = np.setdiff1d(np.arange(len(y_pool)), idx100)
        out["shifted"][seed] = ((X_src, y_src),
                                {30: (X_pool[idx30], y_pool[idx30]),
                                 100: (X_pool[idx100], y_pool[idx100])},
                                (X_pool[held], y_pool[held]))
        low = np.flatnonzero(y < 5)
        if len(low) > 1000:
            low = np.sort(np.random.default_rng(seed).choice(low, 1000, replace=False))
        high = np.flatnonzero(y >= 5)
        (labelled,) = per_class(y[high], [20], seed)
        held = np.setdiff1d(np.arange(len(high)), labelled)
        out["0-4 -> 5-9"][seed] = ((X[low], y[low]),
                                   {100: (X[high][labelled], y[high][labelled])},
                                   (X[high][held], y[high][held]))
    return out


def run_block(task, data, budget, args):
    """One (task, budget): every method on every seed. Returns per-seed results."""
    rows = {}
    for seed, (pretrained, labelled, held) in data.items():
        X_l, y_l = labelled[budget]
        X_h, y_h = held
        row, chosen = {}, {}
        if task == "shifted":
            row["pretrained"] = (pretrained.score(X_h, y_h), len(pretrained.history_))
        m = target_net(ConvNet, seed, args).fit(X_l, y_l)
        row["scratch"] = (m.score(X_h, y_h), len(m.history_))
        if args.scratch_iter:
            s = search(target_net(ConvNet, seed, args), SCRATCH_SPACE, args.scratch_iter, seed,
                       args.n_jobs, args.cv_repeats).fit(X_l, y_l)
            row["tuned scratch"] = (s.score(X_h, y_h), len(s.best_estimator_.history_))
            chosen["tuned scratch"] = (s.best_params_, s.best_score_)
        m = target_net(pretrained.module_, seed, args).fit(X_l, y_l)
        row["fine-tune"] = (m.score(X_h, y_h), len(m.history_))
        s = search(target_net(pretrained.module_, seed, args), FINETUNE_SPACE, args.n_iter, seed,
                   args.n_jobs, args.cv_repeats).fit(X_l, y_l)
        row["tuned fine-tune"] = (s.score(X_h, y_h), len(s.best_estimator_.history_))
        chosen["tuned fine-tune"] = (s.best_params_, s.best_score_)
        rows[seed] = (row, chosen)
        print(f"  seed {seed} done ({time.perf_counter() - args.t0:.0f}s since start)",
              flush=True)
    return rows


def compact(params):
    short = {"unfreeze_at": "unfreeze", "lr_multipliers": "decay", "reinit_head": "reinit"}
    parts = []
    for key, value in params.items():
        if isinstance(value, float):
            value = f"{value:.2g}"
        elif isinstance(value, str):
            value = repr(value)
        parts.append(f"{short.get(key, key)}={value}")
    return " ".join(parts)


def report(task, budget, rows, n_held, seconds):
    methods = [m for m in METHODS if all(m in row for row, _ in rows.values())]
    print(f"\n{task}, {budget} labels, {n_held} held out: held-out accuracy "
          f"(epochs trained), {seconds:.0f}s")
    width = 16
    print(f"{'seed':<8}" + "".join(f"{m:>{width}}" for m in methods))
    for seed, (row, _) in rows.items():
        print(f"{seed:<8}" + "".join(
            f"{f'{row[m][0]:.3f} ({row[m][1]})':>{width}}" for m in methods))
    print(f"{'median':<8}" + "".join(
        f"{statistics.median([row[m][0] for row, _ in rows.values()]):>{width}.3f}"
        for m in methods))
    print(f"{'min/max':<8}" + "".join(
        f"{'%.3f/%.3f' % (min(a), max(a)):>{width}}"
        for a in ([row[m][0] for row, _ in rows.values()] for m in methods)))
    others = [m for m in ("scratch", "tuned scratch", "fine-tune") if m in methods]
    for other in others:
        d = [row["tuned fine-tune"][0] - row[other][0] for row, _ in rows.values()]
        print(f"  tuned fine-tune - {other + ':':<15} median {statistics.median(d):+.3f}, "
              f"min {min(d):+.3f}, max {max(d):+.3f}")
    for seed, (_, chosen) in rows.items():
        for m, (params, cv) in chosen.items():
            print(f"  seed {seed} {m + ':':<16} {compact(params)} (CV {cv:.3f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-iter", type=int, default=30,
                        help="candidates of the fine-tuning search")
    parser.add_argument("--scratch-iter", type=int, default=15,
                        help="candidates of the scratch search (0: no tuned scratch)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="batch size of the fits on the target (pretraining keeps 64)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[30, 100],
                        help="label budgets to run (0-4 -> 5-9 has only 100)")
    parser.add_argument("--cv-repeats", type=int, default=1,
                        help="repeat the searches' 3-fold CV this many times, reshuffled "
                             "(RepeatedStratifiedKFold): less noisy scores on few labels")
    parser.add_argument("--tasks", nargs="+", default=["shifted", "0-4 -> 5-9"],
                        help="tasks to run: 'shifted' and/or '0-4 -> 5-9'")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 seed, 6 and 4 candidates")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.n_iter, args.scratch_iter = args.seeds[:1], 6, 4
    args.t0 = time.perf_counter()
    print(f"seeds {args.seeds}, fine-tuning search {args.n_iter} candidates, scratch search "
          f"{args.scratch_iter}, 3-fold CV x {args.cv_repeats}, n_jobs={args.n_jobs}, batch size {args.batch_size} "
          "on the target, ConvNet, 1 torch thread")

    for task, per_seed in tasks(args.seeds).items():
        if task not in args.tasks or not set(args.budgets) & set(next(iter(per_seed.values()))[1]):
            continue
        start = time.perf_counter()
        data = {}
        for seed, (source, labelled, held) in per_seed.items():
            pretrained = net(ConvNet, seed).fit(*source)
            data[seed] = (pretrained, labelled, held)
        print(f"\n[{task}] pretrained {len(data)} networks on {len(source[1])} digits "
              f"in {time.perf_counter() - start:.0f}s", flush=True)
        for budget in (b for b in labelled if b in args.budgets):
            start = time.perf_counter()
            rows = run_block(task, data, budget, args)
            report(task, budget, rows, len(held[1]), time.perf_counter() - start)
    print(f"\ntotal {time.perf_counter() - args.t0:.0f}s")


if __name__ == "__main__":
    main()
