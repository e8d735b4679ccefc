"""Parallel searches: wall time of one search for n_jobs=1, n_jobs=2 and Dask.

A ``GridSearchCV`` of 8 candidates x 3 folds (24 fits of an sktune MLP, each
about 1 s on one thread, ``refit=False``: only the search is timed). Every
scenario runs in a fresh Python process, which runs the same search twice:
the *first* search pays what a new process pays (joblib starting its workers,
and the workers importing torch, scikit-learn and sktune), the *second* runs
on warm workers. Each scenario is repeated and medians are printed, with
ratios against sktune with ``n_jobs=1`` (first vs first, second vs second).

Scenarios:

- ``sktune n_jobs=1``: sktune's default of one torch thread per fit;
- ``sktune n_jobs=1 torch_threads=-1``: torch's own thread count (every core),
  the other honest baseline on one process;
- ``sktune n_jobs=2``: joblib's loky workers;
- ``skorch n_jobs=2``: plain ``skorch.NeuralNetClassifier`` (same network,
  data, epochs), for comparison;
- ``sktune dask``: a ``dask.distributed.LocalCluster`` of 2 worker processes
  of 1 thread (``joblib.parallel_config(backend="dask", scatter=[X, y])``);
  the cluster's start-up is reported, not counted in the search time.

The start-up costs behind the first search are measured too: ``import
sktune``, importing the estimators, the first fit in a process (torch imports
``torch._dynamo`` on the first optimizer) and a loky worker's cold start up to
unpickling an estimator.

Usage::

    python benchmarks/bench_parallel.py [--repeats 3] [--epochs 85]

Run it on an otherwise idle machine (it prints the load average at the start
and the end). It checks that all sktune scenarios give identical
``cv_results_``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

N_SAMPLES, N_FEATURES, N_CLASSES, HIDDEN, BATCH = 3000, 40, 4, 64, 64
GRID = {"lr": [1e-3, 3e-3, 1e-2, 3e-2], "alpha": [1e-5, 1e-3]}
SCENARIOS = {
    "sktune n_jobs=1": dict(lib="sktune", n_jobs=1),
    "sktune n_jobs=1 torch_threads=-1": dict(lib="sktune", n_jobs=1, torch_threads=-1),
    "sktune n_jobs=2": dict(lib="sktune", n_jobs=2),
    "skorch n_jobs=2": dict(lib="skorch", n_jobs=2),
    "sktune dask (2 worker processes)": dict(lib="sktune", dask=True),
}
BASELINE = "sktune n_jobs=1"


def _data():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=20,
                               n_classes=N_CLASSES, random_state=0)
    return X.astype(np.float32), y


class _SkorchMLP(torch.nn.Module):
    """The network of sktune's ``MLP(hidden_layer_sizes=(HIDDEN,))``, for plain skorch."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.ReLU(),
                                       torch.nn.Linear(HIDDEN, N_CLASSES))

    def forward(self, X):
        return self.net(X)


def _search(lib, epochs, n_jobs, torch_threads=None):
    from sklearn.model_selection import GridSearchCV

    if lib == "sktune":
        from sktune import NeuralNetClassifier

        est = NeuralNetClassifier(hidden_layer_sizes=(HIDDEN,), epochs=epochs, batch_size=BATCH,
                                  torch_threads=torch_threads, random_state=0)
        grid = GRID
    else:
        from skorch import NeuralNetClassifier

        est = NeuralNetClassifier(_SkorchMLP, criterion=torch.nn.CrossEntropyLoss,
                                  optimizer=torch.optim.Adam, max_epochs=epochs,
                                  batch_size=BATCH, train_split=None, verbose=0)
        grid = {"lr": GRID["lr"], "optimizer__weight_decay": GRID["alpha"]}
    return GridSearchCV(est, grid, cv=3, n_jobs=n_jobs, refit=False)


def _run_scenario(spec, epochs):
    """In a fresh process: two searches; returns their times (and scores)."""
    from joblib import parallel_config

    X, y = _data()
    out = {}
    if spec.get("dask"):
        from dask.distributed import Client, LocalCluster

        tick = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        client.wait_for_workers(2)
        out["cluster_start"] = time.perf_counter() - tick
        config = dict(backend="dask", scatter=[X, y])
    else:
        config = dict(backend="loky")
    try:
        for which in ("first", "second"):
            search = _search(spec["lib"], epochs, spec.get("n_jobs"), spec.get("torch_threads"))
            with parallel_config(**config):
                tick = time.perf_counter()
                search.fit(X, y)
                out[which] = time.perf_counter() - tick
            out["scores"] = search.cv_results_["mean_test_score"].tolist()
    finally:
        if spec.get("dask"):
            client.close()
            cluster.close()
    return out


def _startup():
    """In a fresh process: what the first search of a process pays before fitting."""
    tick = time.perf_counter()
    import sktune  # noqa: F401

    out = {"import sktune": time.perf_counter() - tick}
    tick = time.perf_counter()
    from sktune import NeuralNetClassifier

    out["import the estimators"] = time.perf_counter() - tick
    X, y = _data()
    tick = time.perf_counter()
    NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X[:100], y[:100])
    out["first fit in a process (tiny)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X[:100], y[:100])
    out["second fit (tiny)"] = time.perf_counter() - tick

    from joblib import Parallel, delayed

    tick = time.perf_counter()
    Parallel(n_jobs=2)(delayed(_noop)(None) for _ in range(2))
    out["loky: start 2 workers"] = time.perf_counter() - tick
    tick = time.perf_counter()
    Parallel(n_jobs=2)(delayed(_noop)(NeuralNetClassifier()) for _ in range(2))
    out["loky: a new worker unpickles a NeuralNetClassifier (imports)"] = time.perf_counter() - tick
    return out


def _noop(obj):
    return None


def _fit_time(epochs):
    """One fit on a training fold's worth of data, on one thread, in a fresh process."""
    from sktune import NeuralNetClassifier

    X, y = _data()
    X, y = X[: 2 * N_SAMPLES // 3], y[: 2 * N_SAMPLES // 3]
    NeuralNetClassifier(hidden_layer_sizes=(HIDDEN,), epochs=1).fit(X, y)  # warm-up
    tick = time.perf_counter()
    NeuralNetClassifier(hidden_layer_sizes=(HIDDEN,), epochs=epochs, batch_size=BATCH,
                        random_state=0).fit(X, y)
    return time.perf_counter() - tick


def _in_fresh_process(*args):
    result = subprocess.run([sys.executable, __file__, "--child", json.dumps(args)],
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{args[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _child(payload):
    what, *args = json.loads(payload)
    if what == "scenario":
        out = _run_scenario(SCENARIOS[args[0]], args[1])
    elif what == "startup":
        out = _startup()
    else:
        out = _fit_time(args[0])
    print(json.dumps(out))


def _load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=85)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)

    print(f"load average at start: {_load()}  (cores: {os.cpu_count()})")
    print(f"one fit ({2 * N_SAMPLES // 3} rows, MLP({HIDDEN}), {args.epochs} epochs, 1 thread): "
          f"{_in_fresh_process('fit', args.epochs):.2f} s")
    startup = [_in_fresh_process("startup") for _ in range(args.repeats)]
    print("\nstart-up costs (median s):")
    for key in startup[0]:
        print(f"  {key:<58} {statistics.median(s[key] for s in startup):6.2f}")

    runs = {name: [] for name in SCENARIOS}
    for _ in range(args.repeats):  # interleaved, so that load changes hit all alike
        for name in SCENARIOS:
            if SCENARIOS[name].get("dask"):
                try:
                    import distributed  # noqa: F401
                except ImportError:
                    continue
            runs[name].append(_in_fresh_process("scenario", name, args.epochs))

    base = {w: statistics.median(r[w] for r in runs[BASELINE]) for w in ("first", "second")}
    print(f"\n8 candidates x 3 folds, median of {args.repeats} (ratio = n_jobs=1 time / time):")
    print(f"  {'scenario':<36} {'first search':>14} {'ratio':>6} {'second search':>14} "
          f"{'ratio':>6}")
    for name, results in runs.items():
        if not results:
            print(f"  {name:<36} skipped (dask not installed)")
            continue
        cells = []
        for which in ("first", "second"):
            t = statistics.median(r[which] for r in results)
            cells += [f"{t:13.2f}s", f"{base[which] / t:5.2f}x"]
        print(f"  {name:<36} {cells[0]:>14} {cells[1]:>6} {cells[2]:>14} {cells[3]:>6}")
        if "cluster_start" in results[0]:
            start = statistics.median(r["cluster_start"] for r in results)
            print(f"  {'  (cluster start-up, not counted)':<36} {start:13.2f}s")

    print("\nevery run (first / second search, s):")
    for name, results in runs.items():
        shown = ", ".join(f"{r['first']:.2f}/{r['second']:.2f}" for r in results)
        print(f"  {name:<36} {shown}")

    sktune_scores = {name: results[0]["scores"] for name, results in runs.items()
                     if results and name.startswith("sktune") and "torch_threads" not in name}
    same = len({json.dumps(s) for s in sktune_scores.values()}) == 1
    print(f"\nidentical mean_test_score for {', '.join(sktune_scores)}: {same}")
    print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
