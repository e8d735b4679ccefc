"""Sequence models (RNN, Transformer) on digits read as sequences: accuracy and epoch time.

Each 8x8 digit is a sequence of 8 rows of 8 pixels (``X.reshape(-1, 8, 8)``,
pixels scaled to [0, 1]); a seeded stratified split keeps 1,347 digits for
tuning and 450 held out.

Part "accuracy": for ``sktune.modules.RNN`` and ``Transformer``, a short
``BayesSearchCV`` (3-fold stratified CV on the 1,347 digits, ``n_jobs=2``,
two candidates per round) over the learning rate, the width, the depth, the
dropout and the pooling (and the cell of the RNN), with the number of epochs
fixed and a cosine learning-rate schedule. It prints the best CV accuracy,
the best parameters, the held-out accuracy of the refitted model (target
>= 0.95) and the wall time.

Part "timing": seconds per epoch of sktune's ``NeuralNetClassifier(module=RNN
/ Transformer)`` against a hand-written torch loop that trains the same
module class, built with the same arguments, on the same data: Adam with the
same ``lr``, the same batch size, a fresh ``torch.randperm`` order each
epoch, ``zero_grad`` / forward / ``CrossEntropyLoss`` / ``backward`` /
``step`` and ``loss.item()`` per batch, one torch thread (as in
benchmarks/bench_training_loop.py). sktune runs with ``penalty=None`` (so
``alpha`` adds no weight decay) and the hand loop uses no weight decay either.
Three variants run interleaved (their order rotates each round): the hand
loop with torch's default Adam, sktune as it comes (its Adam uses the fused
kernel) and sktune with ``optimizer__fused=False`` (the very Adam code the
hand loop runs: the ratio of this one to the hand loop is the cost of
sktune's loop itself; target <= 1.15x). The first epoch of every fit is
discarded; the table gives the median of the other epochs over all rounds.

Usage::

    python benchmarks/bench_sequences.py [--part accuracy|timing|all] [--repeats 5]
                                         [--n-iter 16] [--quick]
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, train_test_split

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.modules import RNN, Transformer
from sktune.space import Categorical, Integer, Real

N_HELD_OUT = 450
TARGET = 0.95

# -- data ---------------------------------------------------------------------------


def digits_sequences():
    """Digits as ``(n, 8 steps, 8 features)`` float32 in [0, 1], and labels."""
    digits = load_digits()
    X = (digits.data / 16).astype(np.float32).reshape(-1, 8, 8)
    return X, digits.target.astype(np.int64)


# -- part "accuracy" ----------------------------------------------------------------

#: ``(fixed estimator parameters, search space)`` per model.
SEARCHES = {
    "RNN": (
        dict(module=RNN, epochs=30, batch_size=64, lr_schedule="cosine"),
        {
            "lr": Real(1e-3, 2e-2, prior="log-uniform"),
            "module__hidden_size": Categorical([32, 64, 128]),
            "module__num_layers": Integer(1, 2),
            "module__cell": Categorical(["gru", "lstm"]),
            "module__pooling": Categorical(["last", "mean", "max"]),
            "dropout": Real(0.0, 0.3),
        },
    ),
    "Transformer": (
        dict(module=Transformer, epochs=20, batch_size=64, lr_schedule="cosine",
             module__nhead=4),
        {
            "lr": Real(3e-4, 5e-3, prior="log-uniform"),
            "module__d_model": Categorical([32, 64]),
            "module__num_layers": Integer(1, 2),
            "module__dim_feedforward": Categorical([64, 128]),
            "module__pooling": Categorical(["mean", "max", "cls"]),
            "dropout": Real(0.0, 0.2),
        },
    ),
}


def _shown(params):
    """Parameters as short JSON-like text (floats rounded)."""
    return json.dumps({k: (round(v, 5) if isinstance(v, float) else v)
                       for k, v in sorted(params.items())})


def run_accuracy(args):
    X, y = digits_sequences()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=N_HELD_OUT, stratify=y, random_state=0)
    if args.quick:  # a smoke run: a few candidates on part of the data, few epochs
        X_train, y_train = X_train[:400], y_train[:400]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    print(f"digits as sequences (8 steps x 8 features): {len(X_train)} tuning / "
          f"{len(X_test)} held out; BayesSearchCV {args.n_iter} candidates x 3 folds, "
          f"n_points=2, n_jobs={args.n_jobs}", flush=True)
    rows = []
    for name, (fixed, space) in SEARCHES.items():
        fixed = dict(fixed)
        if args.quick:
            fixed["epochs"] = 2
        search = BayesSearchCV(
            NeuralNetClassifier(random_state=0, **fixed), space, n_iter=args.n_iter,
            n_points=2, cv=cv, n_jobs=args.n_jobs, random_state=args.seed)
        start = time.perf_counter()
        search.fit(X_train, y_train)
        wall = time.perf_counter() - start
        held_out = search.score(X_test, y_test)
        scores = search.cv_results_["mean_test_score"]
        fixed_shown = {k: (v.__name__ if isinstance(v, type) else v) for k, v in fixed.items()}
        print(f"\n{name}: fixed {_shown(fixed_shown)}", flush=True)
        print(f"  best CV accuracy    {search.best_score_:.4f}  (candidates: median "
              f"{np.nanmedian(scores):.4f}, worst {np.nanmin(scores):.4f})")
        print(f"  best params         {_shown(search.best_params_)}")
        print(f"  held-out accuracy   {held_out:.4f}  (refitted on {len(X_train)} digits; "
              f"target >= {TARGET})")
        print(f"  wall time           {wall:.1f} s (search + refit; refit "
              f"{search.refit_time_:.1f} s)", flush=True)
        rows.append((name, search.best_score_, held_out, wall))
    print(f"\n{'model':<13}{'best CV':>9}{'held out':>10}{'wall s':>9}  target >= {TARGET}")
    for name, cv_score, held_out, wall in rows:
        verdict = "reached" if held_out >= TARGET else "NOT reached"
        print(f"{name:<13}{cv_score:>9.4f}{held_out:>10.4f}{wall:>9.1f}  {verdict}")


# -- part "timing" ------------------------------------------------------------------

#: The module arguments of each timed network (given to sktune as module__<arg>
#: and to the hand loop's constructor), and the estimator's dropout.
TIMED = {
    "RNN": (RNN, dict(cell="gru", hidden_size=64, num_layers=1, pooling="last"), 0.0),
    "Transformer": (Transformer, dict(d_model=64, nhead=4, num_layers=2, dim_feedforward=128,
                                      pooling="mean"), 0.1),
}
LR = 1e-3


def hand_loop(X, y, module_name, batch_size, epochs, seed=0):
    """The practical limit: the module built by hand, an index shuffled per epoch,
    sliced tensors, torch's default Adam, no weight decay."""
    cls, module_args, dropout = TIMED[module_name]
    torch.manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = cls(n_features=int(np.prod(X.shape[1:])), n_outputs=int(y.max()) + 1,
                input_shape=X.shape[1:], dropout=dropout, **module_args)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            loss.item()
        times.append(time.perf_counter() - start)
    return times, sum(p.numel() for p in model.parameters())


def sktune_fit(X, y, module_name, batch_size, epochs, seed=0, **params):
    cls, module_args, dropout = TIMED[module_name]
    clf = NeuralNetClassifier(
        module=cls, dropout=dropout, optimizer="adam", lr=LR, penalty=None, epochs=epochs,
        batch_size=batch_size, random_state=seed,
        **{f"module__{k}": v for k, v in module_args.items()}, **params)
    clf.fit(X, y)
    return list(clf.history_[:, "dur"]), sum(p.numel() for p in clf.module_.parameters())


def sktune_unfused(X, y, module_name, batch_size, epochs, seed=0):
    return sktune_fit(X, y, module_name, batch_size, epochs, seed, optimizer__fused=False)


VARIANTS = {"hand loop": hand_loop, "sktune": sktune_fit,
            "sktune, unfused Adam": sktune_unfused}


def run_timing(args):
    torch.set_num_threads(1)
    X, y = digits_sequences()
    if args.quick:
        X, y = X[:256], y[:256]
    modules = list(TIMED)
    # warm-up (imports, first allocations), and a check that both build the same network
    for name in modules:
        sizes = {variant: fit(X[:128], y[:128], name, 64, 1)[1]
                 for variant, fit in VARIANTS.items()}
        if len(set(sizes.values())) != 1:
            raise RuntimeError(f"{name}: the variants built different networks: {sizes}")
    times = {(v, m, bs): [] for v in VARIANTS for m in modules for bs in args.batch_sizes}
    names = list(VARIANTS)
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate the order
        for m in modules:
            for bs in args.batch_sizes:
                for v in order:
                    durations, _ = VARIANTS[v](X, y, m, bs, args.epochs, seed=r)
                    times[v, m, bs] += durations[1:]  # the first epoch is a warm-up
        print(f"round {r + 1}/{args.repeats} done", flush=True)

    print(f"\nMedian seconds per epoch ({len(X)} digits as 8x8 sequences, Adam lr={LR}, no "
          f"weight decay, 1 torch thread, {args.repeats} rounds x {args.epochs - 1} epochs "
          "after the first), ratio to the hand loop")
    for m in modules:
        cls, module_args, dropout = TIMED[m]
        print(f"\n{m} ({_shown(module_args)}, dropout={dropout})")
        header = f"{'variant':<22}" + "".join(f"{'batch ' + str(bs):>22}"
                                              for bs in args.batch_sizes)
        print(header)
        print("-" * len(header))
        for v in VARIANTS:
            cells = []
            for bs in args.batch_sizes:
                med = float(np.median(times[v, m, bs]))
                ratio = med / float(np.median(times["hand loop", m, bs]))
                cells.append(f"{med:9.4f} s ({ratio:4.2f}x)")
            print(f"{v:<22}" + "".join(f"{c:>22}" for c in cells))
    print("\n'sktune, unfused Adam' runs the same Adam code as the hand loop (the ratio of "
          "the loop itself; target <= 1.15x); 'sktune' is its default (fused Adam).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["accuracy", "timing", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timing: interleaved rounds (default 5)")
    parser.add_argument("--epochs", type=int, default=4,
                        help="timing: epochs per fit, the first discarded (default 4)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256],
                        help="timing: batch sizes (default 64 256)")
    parser.add_argument("--n-iter", type=int, default=16,
                        help="accuracy: candidates per search (default 16)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="accuracy: parallel fits (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="accuracy: the search's seed")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny smoke run (a few candidates, 256 digits, 1 round)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.epochs, args.n_iter = 1, 2, 4
        args.batch_sizes = args.batch_sizes[:1]
    if args.part in ("accuracy", "all"):
        run_accuracy(args)
    if args.part in ("timing", "all"):
        if args.part == "all":
            print()
        run_timing(args)


if __name__ == "__main__":
    main()
