"""Scheduling of searches: how busy the workers are, and what a cold start costs.

Issue "No idle workers". ``BayesSearchCV`` runs synchronous rounds (ask
``n_points`` candidates, cross-validate them through sklearn's
``evaluate_candidates``, wait for the slowest fit, tell, repeat) and
``HyperbandSearchCV`` waits at every rung; a worker that finishes early has
nothing to do. This script measures that, and is meant to be run again after
a scheduler change: the searches are tables of named factories
(``SEARCHES``, ``SIM_SEARCHES``) to which a variant such as
``BayesSearchCV(..., schedule="async")`` can be added.

Part 1, ``utilization``. digits (1,797 x 64, scaled to [0, 1]), an sktune
``NeuralNetClassifier`` MLP (``lr``, ``alpha``, ``dropout``, hidden layers
among (32,), (64,), (128,), (64, 32); 10 epochs, batch 64, one torch thread
per fit), 24 candidates x 3 folds (``StratifiedKFold``, shuffled, seeded),
``n_jobs=2``, ``refit=False``: ``RandomizedSearchCV``, ``BayesSearchCV``
in rounds (the loop sktune had before its scheduler, ``_round_based.py``)
with ``n_points`` 1, 2 and 4, today's ``BayesSearchCV`` with ``n_points`` 1
and 2 and ``asynchronous=True``, and ``HyperbandSearchCV`` (``factor=3``,
rounds and today's) at
``max_epochs=10`` (22 (candidate, rung) rows: about as many fits as the
others, a third of the epochs) and at ``max_epochs=27`` with its 3 most
aggressive brackets (249 epochs per fold against 240: about equal epochs, 65
rows). Each search runs in a fresh Python process whose loky workers are
warmed first (every worker imports torch, scikit-learn and sktune's search
code and does one small fit), then the search is timed. Utilization is the
sum over ``cv_results_`` rows of ``(mean_fit_time + mean_score_time) *
n_splits``, over ``n_jobs * wall``. Where the rest goes is read from a
timeline every fit and score call writes (pid, start, end): *all idle* is
worker time while no fit or score ran anywhere (the search process proposing,
dispatching, collecting, formatting results between rounds), *waiting* is
worker time idle while another worker was still busy (stragglers at a round's
or rung's barrier, and the tail of the search); both include the workers'
own time outside fit and score (receiving a task, cloning, splitting,
returning). Repeated ``--repeats`` times interleaved; medians.

Part 2, ``simulation``. ``SleepyFit``, an estimator whose ``fit`` sleeps a
lognormal time (sigma 0.5, drawn from a seed made of its parameters ``x``,
``y``, ``seed`` and the fold it is given) and whose ``score`` is a smooth
function of ``x`` and ``y``, searched with joblib's threading backend at W =
8, 32 and 128 workers (``SIM_PLAN``): 4W candidates x 3 folds (12 fits per
worker) with a median sleep of 0.05 s at 8 workers, 8W (24 fits per worker)
of 0.1 s at 32, 16W (48 per worker) of 0.4 s at 128; ``--sim-scale``
multiplies the sleeps. Why not 4W candidates of 0.05 s everywhere: (a) with
lognormal fits started in an order nobody can choose, the last long fit
leaves the others idle, and even a perfect list scheduler of 12 fits per
worker reaches only ~0.82 at 128 workers (~0.9 at 32): the *bound* column
is that greedy list schedule of the row's own fits, in the order they
started, so that 0.9 is reachable at all; (b) every fit costs the search
process ~1 ms of Python under the GIL (sklearn's ``_fit_and_score``,
cloning, formatting), so 128 threads cannot be kept busy with 50 ms fits
(2,500 fits/s) whatever the scheduler (measured: 0.54 for a bare
``joblib.Parallel``, 0.29 for ``RandomizedSearchCV``); 0.4 s fits at 128
workers need ~300 fits/s. The ideal wall is ~0.7 s at 8 workers, ~2.7 s at
32 and ~22 s at 128. The searches: ``RandomizedSearchCV``; ``BayesSearchCV``
in rounds of ``n_points = W`` (3 fits per worker per round: the best the
rounds could do); today's ``BayesSearchCV`` with ``n_points = ceil(W / 3)``
(the smallest window that feeds W workers), ``n_points = W`` (the rounds'
``n_points``) and ``asynchronous=True``; the Bayesian
ones with 512 candidates at 128 workers (``SIM_N_ITER``: the optimiser's
time per proposal grows with the points it has seen); and, as the ceiling of the harness
itself, the same fits as ``RandomizedSearchCV`` through one
``joblib.Parallel`` without a search. Utilization is the sum of the sleeps
over ``W * wall``; ideal wall is that sum over W; for ``BayesSearchCV``,
``optimizer_time_`` per proposal and per round (the time every worker waits
for the optimiser).

Part 4, ``quality``. Regret at equal wall time: ``TimedFunction`` (fits
sleep lognormal, median 0.1 s; score = minus Branin or Hartmann-3), 4
threads, 3 folds, each search stopped by ``TimeBudgetStopper(4 s)``; the
regret is the best value found by 4 s minus the optimum, seeds 0-9, for the
rounds (``n_points`` 1 and 2), today's window (``n_points=1``) and
``asynchronous=True``.

Part 3, ``coldstart``. ``GridSearchCV`` (8 candidates x 3 folds, ``lr`` x
``alpha``, ``refit=False``) of the default sktune MLP on digits, with
epochs chosen for ~0.6 s per fit (``COLD_EPOCHS``) and a short search of
~0.25 s per fit, and ``BayesSearchCV`` on the same 24 fits' worth (its 8
design candidates); each scenario in a fresh process that runs the search twice:
``n_jobs=1``, and ``n_jobs=2`` cold (the first search of the process: loky
starts its workers, which import torch, scikit-learn, skorch and sktune and
do their first fit) and warm (the second search). Also in fresh processes:
import times (wall of each import statement, and ``python -X importtime``
summed by top-level package), the first fit of a process against the second
identical one, and which modules the first fit imports (``torch._dynamo``?).

Targets (issue "No idle workers"): ``BayesSearchCV`` wall <= 1.1x
``RandomizedSearchCV`` at equal fits on 2 workers; utilization >= 0.9 for
every search; in the simulation >= 0.9 at 8, 32 and 128 workers;
``n_jobs=2`` cold >= 1.5x faster than ``n_jobs=1`` on the 24 fits of ~0.6 s,
and never slower on the short search.

Usage::

    python benchmarks/bench_scheduling.py [--part utilization|simulation|coldstart|all]
                                          [--repeats 3] [--sim-scale 1] [--quick]

``--quick`` is a smoke run of every part (small sizes, one repeat; its numbers
mean nothing). Run it on an otherwise idle machine (it prints the load
average at the start and the end of each part).
"""

import argparse
import heapq
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np
from sklearn.base import BaseEstimator

HERE = os.path.dirname(os.path.abspath(__file__))
TIMELINE_ENV = "SKTUNE_BENCH_TIMELINE"
N_JOBS = 2
HIDDEN = [(32,), (64,), (128,), (64, 32)]

# ---------------------------------------------------------------------------------------
# Part 1: utilization on digits
# ---------------------------------------------------------------------------------------


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _log_interval(t0):
    path = os.environ.get(TIMELINE_ENV)
    if path:
        with open(path, "a") as f:  # one short line per call: appends do not interleave
            f.write(f"{os.getpid()} {t0:.6f} {time.time():.6f}\n")


def _timed_net_class():
    """``TimedNet``: sktune's ``NeuralNetClassifier`` whose fit, partial_fit and score
    append (pid, start, end) to the timeline file (if ``$SKTUNE_BENCH_TIMELINE`` is set).

    Built on first use so that importing this module (as loky workers do to
    unpickle it) does not import torch.
    """
    global TimedNet
    if "TimedNet" in globals():
        return TimedNet
    from sktune import NeuralNetClassifier

    class TimedNet(NeuralNetClassifier):
        def fit(self, X, y=None, sample_weight=None):
            t0 = time.time()
            try:
                return super().fit(X, y, sample_weight=sample_weight)
            finally:
                _log_interval(t0)

        def partial_fit(self, X, y=None, classes=None, epochs=1, sample_weight=None):
            t0 = time.time()
            try:
                return super().partial_fit(X, y, classes=classes, epochs=epochs,
                                           sample_weight=sample_weight)
            finally:
                _log_interval(t0)

        def score(self, X, y=None, sample_weight=None):
            t0 = time.time()
            try:
                return super().score(X, y, sample_weight=sample_weight)
            finally:
                _log_interval(t0)

    TimedNet.__module__ = __name__
    TimedNet.__qualname__ = "TimedNet"
    globals()["TimedNet"] = TimedNet
    return TimedNet


def __getattr__(name):  # a loky worker unpickling bench_scheduling.TimedNet
    if name == "TimedNet":
        return _timed_net_class()
    raise AttributeError(name)


class Problem:
    """What a search factory needs: estimator, both spellings of the space, sizes."""

    def __init__(self, estimator, bayes_space, random_space, n_iter, cv, n_jobs, epochs=None,
                 n_workers=None):
        self.estimator = estimator
        self.bayes_space = bayes_space
        self.random_space = random_space
        self.n_iter = n_iter
        self.cv = cv
        self.n_jobs = n_jobs
        self.epochs = epochs
        self.n_workers = n_workers if n_workers is not None else n_jobs


def _random_search(p):
    from sklearn.model_selection import RandomizedSearchCV

    return RandomizedSearchCV(p.estimator, p.random_space, n_iter=p.n_iter, cv=p.cv,
                              n_jobs=p.n_jobs, refit=False, random_state=0)


def _bayes(n_points, rounds=False, **extra):
    """A factory of ``BayesSearchCV``; ``n_points`` an int or a function of the Problem;
    ``rounds`` for the round-based loop sktune had before its scheduler."""
    def factory(p):
        from sktune import BayesSearchCV

        cls = BayesSearchCV
        if rounds:
            from _round_based import RoundsBayesSearchCV as cls
        k = n_points(p) if callable(n_points) else n_points
        return cls(p.estimator, p.bayes_space, n_iter=p.n_iter, n_points=k, cv=p.cv,
                   n_jobs=p.n_jobs, refit=False, random_state=0, **extra)
    return factory


def _hyperband(max_epochs, factor=3, n_brackets=None, rounds=False, **extra):
    def factory(p):
        from sktune import HyperbandSearchCV

        cls = HyperbandSearchCV
        if rounds:
            from _round_based import RoundsHyperbandSearchCV as cls
        return cls(p.estimator, p.bayes_space, max_epochs=max_epochs, factor=factor,
                   n_brackets=n_brackets, cv=p.cv, n_jobs=p.n_jobs, refit=False,
                   random_state=0, **extra)
    return factory


#: Part 1's searches, name -> factory(Problem). "rounds" rows are the loop sktune
#: had before its scheduler (benchmarks/_round_based.py), the others today's.
SEARCHES = {
    "RandomizedSearchCV": _random_search,
    "Bayes n_points=1 rounds": _bayes(1, rounds=True),
    "Bayes n_points=2 rounds": _bayes(2, rounds=True),
    "Bayes n_points=4 rounds": _bayes(4, rounds=True),
    "Bayes n_points=1": _bayes(1),
    "Bayes n_points=2": _bayes(2),
    "Bayes asynchronous": _bayes(1, asynchronous=True),
    "Hyperband max_epochs=10 rounds": _hyperband(10, rounds=True),
    "Hyperband max_epochs=10": _hyperband(10),
    "Hyperband max_epochs=27 3 brackets rounds": _hyperband(27, n_brackets=3, rounds=True),
    "Hyperband max_epochs=27 3 brackets": _hyperband(27, n_brackets=3),
}
BASELINE = "RandomizedSearchCV"


def _digits_problem(n_iter, epochs, n_jobs=N_JOBS):
    from scipy.stats import loguniform, uniform
    from sklearn.model_selection import StratifiedKFold

    from sktune.space import Categorical, Real

    TimedNet = _timed_net_class()
    est = TimedNet(epochs=epochs, batch_size=64, random_state=0)
    bayes_space = {
        "lr": Real(1e-4, 3e-2, prior="log-uniform"),
        "alpha": Real(1e-6, 1e-2, prior="log-uniform"),
        "dropout": Real(0.0, 0.5),
        "hidden_layer_sizes": Categorical(HIDDEN),
    }
    random_space = {"lr": loguniform(1e-4, 3e-2), "alpha": loguniform(1e-6, 1e-2),
                    "dropout": uniform(0.0, 0.5), "hidden_layer_sizes": HIDDEN}
    return Problem(est, bayes_space, random_space, n_iter,
                   StratifiedKFold(3, shuffle=True, random_state=0), n_jobs, epochs=epochs)


def _warm_task(seconds):
    """In a loky worker: the imports and the first fit a search's tasks would pay."""
    import sklearn.model_selection  # noqa: F401

    import sktune.search  # noqa: F401  (Hyperband's tasks carry sktune.search objects)

    X, y = _digits()
    _timed_net_class()(hidden_layer_sizes=(8,), epochs=1).fit(X[:200], y[:200])
    time.sleep(seconds)  # so that the other task lands on the other worker
    return os.getpid()


def _warm_pool(n_jobs):
    from joblib import Parallel, delayed

    tick = time.perf_counter()
    for _ in range(5):
        pids = set(Parallel(n_jobs=n_jobs)(delayed(_warm_task)(0.3) for _ in range(n_jobs)))
        if len(pids) == n_jobs:
            break
    return time.perf_counter() - tick, len(pids)


def _merge(intervals):
    merged = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _timeline_breakdown(path, t0, t1, n_workers):
    """Worker-time fractions of ``n_workers * (t1 - t0)``: busy in fit/score, all idle
    (nothing running anywhere), idle while another worker was busy."""
    by_pid = {}
    with open(path) as f:
        for line in f:
            pid, a, b = line.split()
            a, b = max(float(a), t0), min(float(b), t1)
            if b > a:
                by_pid.setdefault(pid, []).append((a, b))
    events = []
    for intervals in by_pid.values():
        for a, b in _merge(intervals):
            events += [(a, 1), (b, -1)]
    events.sort()
    busy = all_idle = waiting = 0.0
    k, last = 0, t0
    for t, d in events:
        dt = t - last
        if k == 0:
            all_idle += n_workers * dt
        else:
            busy += k * dt
            waiting += max(n_workers - k, 0) * dt
        k, last = k + d, t
    all_idle += n_workers * (t1 - last)
    total = n_workers * (t1 - t0)
    return {"tl_busy": busy / total, "tl_all_idle": all_idle / total,
            "tl_waiting": waiting / total, "pids": len(by_pid)}


def _cv_busy(search):
    r = search.cv_results_
    n = search.n_splits_
    return float(np.sum((np.asarray(r["mean_fit_time"]) + np.asarray(r["mean_score_time"])) * n))


def _child_utilization(name, n_iter, epochs):
    from joblib import parallel_config

    X, y = _digits()
    fd, path = tempfile.mkstemp(prefix="sktune-timeline-", suffix=".txt")
    os.close(fd)
    os.environ[TIMELINE_ENV] = path  # inherited by the loky workers started below
    try:
        problem = _digits_problem(n_iter, epochs)
        search = SEARCHES[name](problem)
        with parallel_config(backend="loky"):
            warm, n_pids = _warm_pool(N_JOBS)
            t0, tick = time.time(), time.perf_counter()
            search.fit(X, y)
            wall = time.perf_counter() - tick
            t1 = time.time()
        out = {"wall": wall, "warm_up": warm, "warm_pids": n_pids,
               "busy": _cv_busy(search), "rows": len(search.cv_results_["params"]),
               "fits": len(search.cv_results_["params"]) * search.n_splits_,
               "optimizer_time": getattr(search, "optimizer_time_", 0.0),
               "rounds": getattr(search, "n_rounds_", 1)}
        trained = getattr(search, "epochs_trained_", None)
        out["epochs"] = trained if trained is not None else out["fits"] * epochs
        out["util"] = out["busy"] / (N_JOBS * wall)
        out.update(_timeline_breakdown(path, t0, t1, N_JOBS))
        scores = np.asarray(search.cv_results_["mean_test_score"], dtype=float)
        if "candidate" in search.cv_results_:  # Hyperband: final rungs only
            from sktune.search._hyperband.brackets import last_rows

            scores = scores[last_rows(search.cv_results_["candidate"])]
        out["best"] = float(np.nanmax(scores))
        return out
    finally:
        os.remove(path)


def utilization(args):
    n_iter, epochs = (6, 3) if args.quick else (24, 10)
    names = [n for n in SEARCHES if n == BASELINE or _chosen(n, args)]
    print(f"\n== utilization: digits, sktune MLP, {epochs} epochs, {n_iter} candidates x 3 "
          f"folds, n_jobs={N_JOBS}, warm pool, fresh process per search "
          f"(load {_load()}) ==", flush=True)
    runs = {name: [] for name in names}
    for _ in range(args.repeats):  # interleaved
        for name in names:
            runs[name].append(_in_fresh_process("utilization", name, n_iter, epochs))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for name, rs in runs.items()}
    base = med[BASELINE]["wall"]
    print(f"median of {args.repeats}; fits = rows of cv_results_ x folds; util = sum of "
          f"fit+score times / ({N_JOBS} x wall); opt s = optimizer_time_; best = best mean CV "
          "accuracy. Worker time, as fractions of n_jobs x wall, from the timeline of fit and "
          "score calls: busy (~ util), all idle = no fit or score running on any worker "
          "(of which opt = the optimiser's share, opt s / wall), waiting = idle while the "
          "other worker was busy. Both idle columns include the workers' per-task time "
          "outside fit and score (receiving, cloning, splitting, returning).")
    head = (f"  {'search':<36}{'fits':>5}{'epochs':>7}{'rounds':>7}{'wall s':>8}{'x Random':>9}"
            f"{'util':>6}{'opt s':>7}{'best':>7}{'busy':>6}{'all idle':>9}{'(opt)':>6}"
            f"{'waiting':>8}")
    print(head)
    for name in names:
        m = med[name]
        print(f"  {name:<36}{m['fits']:>5.0f}{m['epochs']:>7.0f}{m['rounds']:>7.0f}"
              f"{m['wall']:>8.2f}{m['wall'] / base:>8.2f}x{m['util']:>6.2f}"
              f"{m['optimizer_time']:>7.2f}{m['best']:>7.3f}{m['tl_busy']:>6.2f}"
              f"{m['tl_all_idle']:>9.2f}{m['optimizer_time'] / m['wall']:>6.2f}"
              f"{m['tl_waiting']:>8.2f}")
    print("every run (wall s / util):")
    for name in names:
        shown = ", ".join(f"{r['wall']:.2f}/{r['util']:.2f}" for r in runs[name])
        warm = statistics.median(r["warm_up"] for r in runs[name])
        pids = {r["warm_pids"] for r in runs[name]} | {r["pids"] for r in runs[name]}
        print(f"  {name:<36} {shown}   (warm-up {warm:.1f} s, worker pids seen {sorted(pids)})")
    print(f"load average at the end: {_load()}", flush=True)


# ---------------------------------------------------------------------------------------
# Part 2: simulation with sleeping fits, threading backend
# ---------------------------------------------------------------------------------------

_SLEPT = []  # (duration) of every SleepyFit.fit, appended by the worker threads
_SLEPT_LOCK = threading.Lock()


class SleepyFit(BaseEstimator):
    """An estimator whose ``fit`` sleeps a lognormal time and whose ``score`` is smooth.

    The duration is drawn from a seed made of ``x``, ``y``, ``seed`` and the
    training rows (``X`` holds row indices), so the same candidate on the same
    fold always sleeps the same time. ``score`` is ``-((x - 0.3)^2 + (y - 0.7)^2)``.
    """

    def __init__(self, x=0.5, y=0.5, seed=0, median=0.05, sigma=0.5):
        self.x, self.y, self.seed, self.median, self.sigma = x, y, seed, median, sigma

    def duration(self, X):
        key = repr((float(self.x), float(self.y), int(self.seed), int(np.sum(X[:, 0])), len(X)))
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        return float(self.median * math.exp(self.sigma * rng.standard_normal()))

    def fit(self, X, y=None):
        d = self.duration(X)
        with _SLEPT_LOCK:  # in the order the fits start
            _SLEPT.append(d)
        time.sleep(d)
        self.fitted_ = True
        return self

    def score(self, X, y=None):
        return -((self.x - 0.3) ** 2 + (self.y - 0.7) ** 2)


def _harness_ceiling(p):
    """Not a search: the fits of RandomizedSearchCV through one joblib.Parallel."""
    return _HarnessCeiling(p)


class _HarnessCeiling:
    def __init__(self, p):
        self.p = p

    def fit(self, X, y=None):
        from joblib import Parallel, delayed
        from sklearn.base import clone
        from sklearn.model_selection import ParameterSampler

        params = list(ParameterSampler(self.p.random_space, self.p.n_iter, random_state=0))
        splits = list(self.p.cv.split(X))

        def one(p, train, test):
            est = clone(self.p.estimator).set_params(**p).fit(X[train])
            return est.score(X[test])

        Parallel(n_jobs=self.p.n_jobs)(delayed(one)(p, tr, te) for p in params
                                       for tr, te in splits)
        return self


#: Part 2's searches, name -> factory(Problem); ``Problem.n_workers`` is W.
SIM_SEARCHES = {
    "RandomizedSearchCV": _random_search,
    "Bayes rounds n_points=W": _bayes(lambda p: p.n_workers, rounds=True),
    "Bayes n_points=ceil(W/3)": _bayes(lambda p: math.ceil(p.n_workers / 3)),
    "Bayes n_points=W": _bayes(lambda p: p.n_workers),
    "Bayes asynchronous": _bayes(1, asynchronous=True),
    "no search: joblib.Parallel of the same fits": _harness_ceiling,
}
#: W -> (median sleep of a fit in s, candidates per worker): 12, 24 and 48 fits per
#: worker (see the module docstring for why).
SIM_PLAN = {8: (0.05, 4), 32: (0.1, 8), 128: (0.4, 16)}
#: Candidates of (search, W) where not SIM_PLAN's: at 128 workers the optimiser's
#: time per proposal grows with the points seen (~0.2 s at 500 told + 128 pending in
#: 2-D, ~1 s at 1,500), so 2,048 would take many minutes: 512 (4 per worker) instead.
SIM_N_ITER = {(name, 128): 512 for name in ("Bayes rounds n_points=W", "Bayes n_points=W",
                                            "Bayes n_points=ceil(W/3)", "Bayes asynchronous")}


def _sim_problem(n_workers, n_iter, median):
    from scipy.stats import uniform
    from sklearn.model_selection import KFold

    from sktune.space import Real

    return Problem(SleepyFit(median=median), {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)},
                   {"x": uniform(0, 1), "y": uniform(0, 1)}, n_iter,
                   KFold(3, shuffle=True, random_state=0), n_workers, n_workers=n_workers)


def _sim_run(name, n_workers, n_iter, median, n_rows):
    from joblib import parallel_config

    X = np.arange(n_rows, dtype=float).reshape(-1, 1)
    search = SIM_SEARCHES[name](_sim_problem(n_workers, n_iter, median))
    _SLEPT.clear()
    with parallel_config(backend="threading", n_jobs=n_workers):
        tick = time.perf_counter()
        search.fit(X)
        wall = time.perf_counter() - tick
    slept = float(sum(_SLEPT))
    out = {"wall": wall, "slept": slept, "fits": len(_SLEPT), "ideal": slept / n_workers,
           "util": slept / (n_workers * wall), "n_iter": n_iter,
           "bound": slept / (n_workers * _list_schedule(_SLEPT, n_workers))}
    if hasattr(search, "optimizer_time_"):
        out.update(opt=search.optimizer_time_, rounds=search.n_rounds_,
                   per_proposal=search.optimizer_time_ / n_iter,
                   per_round=search.optimizer_time_ / search.n_rounds_)
    return out


def _list_schedule(durations, n_workers):
    """Makespan of ``durations`` run in this order, each on the first free worker."""
    free = [0.0] * n_workers
    for d in durations:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def simulation(args):
    plan = {w: SIM_PLAN[w] for w in (args.sim_workers or ((8, 32) if args.quick else SIM_PLAN))}
    scale = 1 if not args.quick else 0.5
    shown = "; ".join(f"W={w}: {per}W candidates, median {median * args.sim_scale:g} s"
                      for w, (median, per) in plan.items())
    print(f"\n== simulation: SleepyFit (lognormal sleep, sigma 0.5), threading backend, 3 "
          f"folds; {shown} (load {_load()}) ==", flush=True)
    print("util = sum of sleeps / (W x wall); ideal = sum of sleeps / W; bound = util of a "
          "perfect list schedule of the same fits in the order they started; opt = the "
          "optimiser's time (optimizer_time_), per proposal and per round; the 'no search' "
          "row is the harness's own ceiling")
    print(f"  {'W':>4} {'search':<44}{'cands':>6}{'fits':>6}{'wall s':>8}{'ideal s':>8}"
          f"{'util':>6}{'bound':>6}{'rounds':>7}{'opt s':>7}{'opt/prop ms':>12}"
          f"{'opt/round s':>12}")
    start = time.perf_counter()
    for w, (median, per) in plan.items():
        for name in [n for n in SIM_SEARCHES if _chosen(n, args)]:
            n_iter = int((per * w if args.sim_full else SIM_N_ITER.get((name, w), per * w))
                         * scale)
            r = _sim_run(name, w, n_iter, median * args.sim_scale, n_rows=300)
            cells = (f"{r['rounds']:>7}{r['opt']:>7.2f}{1000 * r['per_proposal']:>12.1f}"
                     f"{r['per_round']:>12.3f}" if "opt" in r else "")
            print(f"  {w:>4} {name:<44}{n_iter:>6}{r['fits']:>6}{r['wall']:>8.2f}"
                  f"{r['ideal']:>8.2f}{r['util']:>6.2f}{r['bound']:>6.2f}{cells}", flush=True)
    print(f"simulation took {time.perf_counter() - start:.0f} s; load average at the end: "
          f"{_load()}", flush=True)


# ---------------------------------------------------------------------------------------
# Part 4: quality at equal wall time
# ---------------------------------------------------------------------------------------


def _branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])
_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann3(x1, x2, x3):
    x = np.array([x1, x2, x3])
    return float(-np.sum(_H3_ALPHA * np.exp(-np.sum(_H3_A * (x - _H3_P) ** 2, axis=1))))


#: name -> (function, {parameter: (low, high)}, minimum)
QUALITY_PROBLEMS = {
    "branin": (_branin, {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}, 0.397887),
    "hartmann3": (_hartmann3, {"x1": (0.0, 1.0), "x2": (0.0, 1.0), "x3": (0.0, 1.0)},
                  -3.86278),
}


class TimedFunction(BaseEstimator):
    """``score`` is ``-f(x)`` of a benchmark function; ``fit`` sleeps a lognormal time
    (median ``median``, sigma 0.5) drawn from the parameters and the fold, like SleepyFit."""

    def __init__(self, problem="branin", median=0.1, x1=0.0, x2=0.0, x3=0.0):
        self.problem, self.median, self.x1, self.x2, self.x3 = problem, median, x1, x2, x3

    def _args(self):
        names = QUALITY_PROBLEMS[self.problem][1]
        return [getattr(self, n) for n in names]

    def fit(self, X, y=None):
        key = repr((self.problem, *map(float, self._args()), int(np.sum(X[:, 0]))))
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        time.sleep(float(self.median * math.exp(0.5 * rng.standard_normal())))
        return self

    def score(self, X, y=None):
        return -QUALITY_PROBLEMS[self.problem][0](*self._args())


#: Part 4's searches: name -> (class path, extra arguments).
QUALITY_SEARCHES = {
    "Bayes rounds n_points=1": ("rounds", {"n_points": 1}),
    "Bayes rounds n_points=2": ("rounds", {"n_points": 2}),
    "Bayes n_points=1": ("sktune", {"n_points": 1}),
    "Bayes asynchronous": ("sktune", {"asynchronous": True}),
}


def _quality_run(name, problem, seed, budget, n_workers, median):
    from joblib import parallel_config
    from sklearn.model_selection import KFold

    from sktune import BayesSearchCV
    from sktune.search.callbacks import TimeBudgetStopper

    kind, extra = QUALITY_SEARCHES[name]
    cls = BayesSearchCV
    if kind == "rounds":
        from _round_based import RoundsBayesSearchCV as cls
    space = QUALITY_PROBLEMS[problem][1]
    history = []

    def record(state):
        history.append((state.elapsed, -state.best_score))  # best value of f so far
        return False

    search = cls(TimedFunction(problem, median), space, n_iter=400, cv=KFold(3),
                 n_jobs=n_workers, refit=False, random_state=seed,
                 callbacks=[record, TimeBudgetStopper(budget)], **extra)
    X = np.arange(30, dtype=float).reshape(-1, 1)
    with parallel_config(backend="threading"):
        search.fit(X)
    within = [v for t, v in history if t <= budget]
    best = min(within) if within else math.inf
    return best - QUALITY_PROBLEMS[problem][2], len(search.cv_results_["params"])


def quality(args):
    budget, n_workers, median = (2.0, 4, 0.05) if args.quick else (4.0, 4, 0.1)
    seeds = range(2) if args.quick else range(10)
    print(f"\n== quality at equal wall time: {n_workers} threads, fits sleep lognormal "
          f"(median {median} s), 3 folds, stopped at {budget:g} s of wall; regret = best "
          f"f found by then - f*, seeds {seeds.start}-{seeds.stop - 1} (load {_load()}) ==",
          flush=True)
    print(f"  {'problem':<11}{'search':<26}{'median regret':>14}{'[min - max]':>24}"
          f"{'candidates':>11}")
    for problem in QUALITY_PROBLEMS:
        for name in QUALITY_SEARCHES:
            runs = [_quality_run(name, problem, seed, budget, n_workers, median)
                    for seed in seeds]
            regrets = [r for r, _ in runs]
            print(f"  {problem:<11}{name:<26}{statistics.median(regrets):>14.2e}"
                  f"{f'[{min(regrets):.2e} - {max(regrets):.2e}]':>24}"
                  f"{statistics.median(n for _, n in runs):>11.0f}", flush=True)
    print(f"load average at the end: {_load()}", flush=True)


# ---------------------------------------------------------------------------------------
# Part 3: cold start
# ---------------------------------------------------------------------------------------

#: Epochs of the default MLP (100 hidden units, batch 64) for ~0.6 s and ~0.25 s
#: per fit on a training fold of digits (1,198 rows), one thread, on the 2-core
#: machine this was written on (whose speed drifted by up to ~1.5x over an hour);
#: the output prints the measured mean fit time.
COLD_EPOCHS = {"long": 30, "short": 12}
COLD_GRID = {"lr": [1e-3, 3e-3, 1e-2, 3e-2], "alpha": [1e-5, 1e-3]}
COLD_SCENARIOS = {"n_jobs=1": 1, "n_jobs=2": 2}
#: The searches of the cold start: sklearn's GridSearchCV (which sktune does not
#: change) and sktune's BayesSearchCV on the same 24 fits' worth (8 candidates
#: of its space-filling design, over the grid's lr and alpha ranges).
COLD_SEARCHES = ("GridSearchCV", "BayesSearchCV")


def _cold_search(kind, n_jobs, epochs):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sktune import BayesSearchCV, NeuralNetClassifier

    est = NeuralNetClassifier(epochs=epochs, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    if kind == "GridSearchCV":
        return GridSearchCV(est, COLD_GRID, cv=cv, n_jobs=n_jobs, refit=False)
    return BayesSearchCV(est, {"lr": (1e-3, 3e-2, "log-uniform"),
                               "alpha": (1e-5, 1e-3, "log-uniform")},
                         n_iter=8, cv=cv, n_jobs=n_jobs, refit=False, random_state=0)


def _child_coldstart(kind, size, n_jobs, epochs):
    X, y = _digits()
    out = {}
    for which in ("first", "second"):
        search = _cold_search(kind, n_jobs, epochs)
        tick = time.perf_counter()
        search.fit(X, y)
        out[which] = time.perf_counter() - tick
        out[f"{which}_fit"] = float(np.mean(search.cv_results_["mean_fit_time"]))
        out[f"{which}_local"] = getattr(search, "n_local_fits_", 0)
    return out


IMPORT_STATEMENTS = {
    "import sktune": "import sktune",
    "+ NeuralNetClassifier (what a worker pays)": "from sktune import NeuralNetClassifier",
    "+ BayesSearchCV, HyperbandSearchCV": "from sktune import NeuralNetClassifier, "
                                          "BayesSearchCV, HyperbandSearchCV",
}
IMPORT_GROUPS = ("torch", "sklearn", "scipy", "numpy", "skorch", "sktune")
CUMULATIVE = ("torch", "sklearn", "skorch", "pandas")


def _import_wall(statement):
    code = (f"import time; t = time.perf_counter(); {statement}; "
            "print(time.perf_counter() - t)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return float(result.stdout.strip().splitlines()[-1])


def _import_breakdown(statement):
    """``-X importtime`` self times summed by top-level package (seconds)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", statement],
                            capture_output=True, text=True, check=True)
    sums = dict.fromkeys((*IMPORT_GROUPS, "other"), 0.0)
    others = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        name = name.strip()
        if name in CUMULATIVE and f"cum {name}" not in sums:  # its first (outermost) import
            sums[f"cum {name}"] = int(cumulative_us) / 1e6
        top = name.split(".")[0]
        sums[top if top in sums else "other"] += int(self_us) / 1e6
        if top not in sums:
            others[top] = others.get(top, 0.0) + int(self_us) / 1e6
    sums["total"] = sum(sums[k] for k in (*IMPORT_GROUPS, "other"))
    for name in CUMULATIVE:
        sums.setdefault(f"cum {name}", 0.0)
    return sums, others


def _child_first_fit():
    tick = time.perf_counter()
    from sktune import NeuralNetClassifier

    out = {"import": time.perf_counter() - tick}
    X, y = _digits()
    before = set(sys.modules)
    out["dynamo_after_import"] = "torch._dynamo" in sys.modules
    times = []
    for _ in range(2):
        tick = time.perf_counter()
        NeuralNetClassifier(hidden_layer_sizes=(32,), epochs=2, random_state=0).fit(X[:300],
                                                                                   y[:300])
        times.append(time.perf_counter() - tick)
        if len(times) == 1:
            new = sorted(set(sys.modules) - before)
    out.update(first=times[0], second=times[1], dynamo_after_fit="torch._dynamo" in sys.modules,
               n_new_modules=len(new))
    groups = {}
    for mod in new:
        parts = mod.split(".")
        key = ".".join(parts[:2]) if parts[0] == "torch" else parts[0]
        groups[key] = groups.get(key, 0) + 1
    out["new_modules"] = sorted(groups.items(), key=lambda kv: -kv[1])[:8]
    return out


def coldstart(args):
    repeats = args.repeats
    epochs = {"long": 5, "short": 2} if args.quick else COLD_EPOCHS
    print(f"\n== coldstart: GridSearchCV and BayesSearchCV, 8 candidates x 3 folds, default "
          f"sktune MLP on "
          f"digits, fresh process per scenario (load {_load()}) ==", flush=True)

    walls = {s: [] for s in IMPORT_STATEMENTS}
    parts = {s: [] for s in IMPORT_STATEMENTS}
    other_parts = {}
    for _ in range(repeats):
        for label, statement in IMPORT_STATEMENTS.items():
            walls[label].append(_import_wall(statement))
            sums, others = _import_breakdown(statement)
            parts[label].append(sums)
            other_parts[label] = others
    print(f"import times in a fresh process (s, median of {repeats}; the package columns "
          "are -X importtime self times summed by top-level package)")
    print(f"  {'statement':<44}{'wall':>6}" + "".join(f"{g:>8}" for g in IMPORT_GROUPS)
          + f"{'other':>7}{'sum':>6}")
    for label in IMPORT_STATEMENTS:
        row = {k: statistics.median(p[k] for p in parts[label]) for k in parts[label][0]}
        print(f"  {label:<44}{statistics.median(walls[label]):>6.2f}"
              + "".join(f"{row[g]:>8.2f}" for g in IMPORT_GROUPS)
              + f"{row['other']:>7.2f}{row['total']:>6.2f}")
    top = sorted(other_parts[label].items(), key=lambda kv: -kv[1])[:5]
    print(f"  (other, last statement, last run: {', '.join(f'{k} {v:.2f}' for k, v in top)})")
    print("  cumulative time of the first import of each (nested, not additive: sklearn's "
          "includes the scipy and pandas it imports, skorch's what it imports first):")
    for label in IMPORT_STATEMENTS:
        cells = ", ".join(f"{name} {statistics.median(p[f'cum {name}'] for p in parts[label]):.2f}"
                          for name in CUMULATIVE)
        print(f"    {label:<44} {cells}")

    first = [_in_fresh_process("first_fit") for _ in range(repeats)]
    f0 = first[0]
    print(f"first fit of a process (MLP(32), 2 epochs, 300 rows; median of {repeats}): "
          f"{statistics.median(f['first'] for f in first):.2f} s, the second identical one "
          f"{statistics.median(f['second'] for f in first):.3f} s; torch._dynamo imported "
          f"after `from sktune import NeuralNetClassifier`: {f0['dynamo_after_import']}, "
          f"after the first fit: {f0['dynamo_after_fit']} ({f0['n_new_modules']} modules "
          f"imported by the first fit; most: "
          f"{', '.join(f'{k} {n}' for k, n in f0['new_modules'])})", flush=True)

    runs = {(kind, size, s): [] for kind in COLD_SEARCHES for size in epochs
            for s in COLD_SCENARIOS}
    for _ in range(repeats):
        for kind, size, s in runs:
            runs[(kind, size, s)].append(_in_fresh_process("coldstart", kind, size,
                                                           COLD_SCENARIOS[s], epochs[size]))
    print(f"search wall (s, median of {repeats}); first = first search of the process, "
          "second = the same search again (warm workers); local = fits the search's own "
          "process ran (first search)")
    print(f"  {'search':<16}{'size':<20}{'scenario':<10}{'mean fit s':>11}{'first':>8}"
          f"{'second':>8}{'local':>6}{'n_jobs=1 first / first':>24}{'second / second':>17}")
    for kind in COLD_SEARCHES:
        for size in epochs:
            base = {w: statistics.median(r[w] for r in runs[(kind, size, "n_jobs=1")])
                    for w in ("first", "second")}
            for s in COLD_SCENARIOS:
                rs = runs[(kind, size, s)]
                m = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                label = f"{size}: {epochs[size]} epochs"
                print(f"  {kind:<16}{label:<20}{s:<10}{m['second_fit']:>11.2f}{m['first']:>8.2f}"
                      f"{m['second']:>8.2f}{m['first_local']:>6.0f}"
                      f"{base['first'] / m['first']:>23.2f}x"
                      f"{base['second'] / m['second']:>16.2f}x")
    print("every run (first / second, s):")
    for (kind, size, s), rs in runs.items():
        print(f"  {kind:<14} {size:<6} {s:<9} " + ", ".join(f"{r['first']:.2f}/{r['second']:.2f}"
                                                             for r in rs))
    print(f"load average at the end: {_load()}", flush=True)


# ---------------------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------------------


def _in_fresh_process(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [HERE, *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop(TIMELINE_ENV, None)
    result = subprocess.run([sys.executable, "-c",
                             "import sys, bench_scheduling; bench_scheduling.main(sys.argv[1:])",
                             "--child", json.dumps(args)],
                            capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise RuntimeError(f"{args[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _child(payload):
    what, *args = json.loads(payload)
    if what == "utilization":
        out = _child_utilization(*args)
    elif what == "coldstart":
        out = _child_coldstart(*args)
    else:
        out = _child_first_fit()
    print(json.dumps(out))


def _chosen(name, args):
    """Whether ``--only`` (substrings of search names) selects the search ``name``."""
    return not args.only or any(part in name for part in args.only)


def _load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["utilization", "simulation", "quality", "coldstart",
                                           "all"],
                        default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sim-scale", type=float, default=1.0,
                        help="multiplies the simulated fits' sleeps (SIM_PLAN)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run of every part")
    parser.add_argument("--only", nargs="+", help="run only the searches whose names contain "
                        "one of these (utilization, simulation; utilization keeps its baseline)")
    parser.add_argument("--sim-full", action="store_true",
                        help="the Bayesian rows at 128 workers with SIM_PLAN's candidates too "
                             "(2,048; SIM_N_ITER's 512 otherwise)")
    parser.add_argument("--sim-workers", nargs="+", type=int,
                        help="the simulation's W values (default: 8 32 128)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    if args.quick:
        args.repeats = 1
    start = time.perf_counter()
    print(f"load average at start: {_load()}  (cores: {os.cpu_count()}, python "
          f"{sys.version.split()[0]})", flush=True)
    if args.part in ("utilization", "all"):
        utilization(args)
    if args.part in ("simulation", "all"):
        simulation(args)
    if args.part in ("quality", "all"):
        quality(args)
    if args.part in ("coldstart", "all"):
        coldstart(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
