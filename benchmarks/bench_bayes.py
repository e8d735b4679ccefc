"""Benchmark sktune's Bayesian optimiser against its peers.

Optimisers (``--optimizers``):

* ``sktune``: :class:`sktune.search.Optimizer` (ask/tell);
* ``random``: random search from the same priors;
* ``skopt``: scikit-optimize ``gp_minimize`` (defaults);
* ``tpe``: optuna ``TPESampler`` (defaults);
* ``gp``: optuna ``GPSampler`` (defaults).

Every optimiser gets 10 initial points (its default). For every problem of
:mod:`_bayes_functions` and seed, one run of ``--budget`` trials gives the
simple regret (best value so far minus the known minimum) after 25, 50 and
100 trials; the table shows its median over the seeds and the ratio to
GPSampler's. A separate single run on Hartmann6 (seed 0) of
``--timing-trials`` trials per optimiser, alone in the main process after the
regret runs, gives the time per suggestion: the wall time between the end of
one evaluation and the start of the next (the optimiser's ask and tell),
averaged over the 10 trials ending at trial 50 and at trial 200. Every run
uses one BLAS thread and one torch thread.

The peers are benchmark-only dependencies (``pip install scikit-optimize
optuna``), imported when selected.

Usage::

    python benchmarks/bench_bayes.py --quick              # smoke test, ~1 min
    nohup python benchmarks/bench_bayes.py --jobs 2 --output bayes.json > bayes.log &
"""

import argparse
import json
import math
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bayes_functions import PROBLEMS  # noqa: E402

OPTIMIZERS = ("sktune", "random", "skopt", "tpe", "gp")
LABELS = {
    "sktune": "sktune Optimizer",
    "random": "random search",
    "skopt": "skopt gp_minimize",
    "tpe": "optuna TPESampler",
    "gp": "optuna GPSampler",
}
N_INITIAL_POINTS = 10
CHECKPOINTS = (25, 50, 100)
TIMING_AT = (50, 200)
TIMING_WINDOW = 10


def _missing(package, optimizer):
    raise SystemExit(
        f"The optimizer {optimizer!r} needs {package!r}, which is not installed: "
        f"pip install {package} (or leave it out with --optimizers)."
    )


# -- one run per optimizer: returns the values of the evaluated points, in order,
#    and the time spent before each evaluation ------------------------------------


class _Recorder:
    """Wraps the objective: records values and the time between evaluations."""

    def __init__(self, problem):
        self.problem = problem
        self.values, self.waits = [], []
        self._last = time.perf_counter()

    def __call__(self, point):
        start = time.perf_counter()
        self.waits.append(start - self._last)
        value = self.problem(point)
        self.values.append(value)
        self._last = time.perf_counter()
        return value


def _sktune_space(problem):
    space = {}
    for p in problem.params:
        if p.kind == "real":
            space[p.name] = (p.low, p.high, "log-uniform" if p.log else "uniform")
        elif p.kind == "int":
            space[p.name] = (int(p.low), int(p.high))
        else:
            space[p.name] = list(p.categories)
    return space


def run_sktune(problem, seed, n_trials, record):
    from sktune.search.optimizer import Optimizer

    opt = Optimizer(_sktune_space(problem), random_state=seed,
                    n_initial_points=N_INITIAL_POINTS)
    for _ in range(n_trials):
        point = opt.ask()
        opt.tell(point, record(point))


def run_random(problem, seed, n_trials, record):
    from sktune.search.space import Space

    for point in Space(_sktune_space(problem)).rvs(n_trials, random_state=seed):
        record(point)


def run_skopt(problem, seed, n_trials, record):
    try:
        import skopt
        from skopt.space import Categorical, Integer, Real
    except ImportError:
        _missing("scikit-optimize", "skopt")
    dims = []
    for p in problem.params:
        if p.kind == "real":
            dims.append(Real(p.low, p.high, prior="log-uniform" if p.log else "uniform"))
        elif p.kind == "int":
            dims.append(Integer(int(p.low), int(p.high)))
        else:
            dims.append(Categorical(list(p.categories)))
    names = [p.name for p in problem.params]

    def func(x):
        point = {}
        for name, v, p in zip(names, x, problem.params):
            point[name] = v if p.kind == "cat" else (int(v) if p.kind == "int" else float(v))
        return record(point)

    skopt.gp_minimize(func, dims, n_calls=n_trials, n_initial_points=N_INITIAL_POINTS,
                      random_state=seed)


def _run_optuna(problem, seed, n_trials, record, sampler_name):
    try:
        import optuna
    except ImportError:
        _missing("optuna", sampler_name)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=N_INITIAL_POINTS)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=N_INITIAL_POINTS)

    def objective(trial):
        point = {}
        for p in problem.params:
            if p.kind == "real":
                point[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
            elif p.kind == "int":
                point[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
            else:
                point[p.name] = trial.suggest_categorical(p.name, list(p.categories))
        return record(point)

    study = optuna.create_study(sampler=sampler, direction="minimize")
    study.optimize(objective, n_trials=n_trials)


RUNNERS = {
    "sktune": run_sktune,
    "random": run_random,
    "skopt": run_skopt,
    "tpe": lambda *args: _run_optuna(*args, "tpe"),
    "gp": lambda *args: _run_optuna(*args, "gp"),
}


def run_one(task):
    """Run one optimisation; returns the regret trajectory and the waits."""
    from threadpoolctl import threadpool_limits

    optimizer, problem_name, seed, n_trials = task
    problem = PROBLEMS[problem_name]
    record = _Recorder(problem)
    # One BLAS/torch thread per run: the same conditions for every optimiser,
    # and no oversubscription of the cores by parallel workers.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        _set_torch_threads(1)
        RUNNERS[optimizer](problem, seed, n_trials, record)
    values = np.asarray(record.values[:n_trials], dtype=float)
    regret = np.minimum.accumulate(np.where(np.isfinite(values), values, np.inf)) - problem.f_min
    return {
        "optimizer": optimizer, "problem": problem_name, "seed": seed,
        "regret": regret.tolist(), "waits": record.waits[:n_trials],
    }


def _set_torch_threads(n):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


# -- tables ------------------------------------------------------------------------


def _fmt(x):
    return "-" if x is None or not math.isfinite(x) else f"{x:.2g}" if x >= 0.01 else f"{x:.1e}"


def regret_table(results, optimizers, problems, checkpoints):
    medians = {}
    for r in results:
        key = (r["problem"], r["optimizer"])
        medians.setdefault(key, []).append(r["regret"])
    lines = [
        "| problem | optimizer | " + " | ".join(f"regret @{c}" for c in checkpoints) + " |",
        "|---|---|" + "---:|" * len(checkpoints),
    ]
    for problem in problems:
        gp = medians.get((problem, "gp"))
        for opt in optimizers:
            runs = medians.get((problem, opt))
            if runs is None:
                continue
            cells = []
            for c in checkpoints:
                med = float(np.median([run[c - 1] for run in runs]))
                cell = _fmt(med)
                if gp is not None and opt != "gp":
                    ref = float(np.median([run[c - 1] for run in gp]))
                    if ref > 0:
                        cell += f" ({med / ref:.2g}x)"
                cells.append(cell)
            lines.append(f"| {problem} | {LABELS[opt]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_table(timings, at):
    lines = ["| optimizer | " + " | ".join(f"s / suggestion @{t}" for t in at) + " |",
             "|---|" + "---:|" * len(at)]
    for opt, waits in timings.items():
        cells = []
        for t in at:
            window = waits[max(0, t - TIMING_WINDOW):t]
            cells.append(f"{np.mean(window):.3f}" if len(waits) >= t else "-")
        lines.append(f"| {LABELS[opt]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0..n-1)")
    parser.add_argument("--budget", type=int, default=100, help="trials per run")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS),
                        help=f"comma-separated subset of {','.join(OPTIMIZERS)}")
    parser.add_argument("--problems", default=",".join(PROBLEMS),
                        help=f"comma-separated subset of {','.join(PROBLEMS)}")
    parser.add_argument("--timing-trials", type=int, default=200,
                        help="trials of the timing run on Hartmann6 (0: no timing)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="parallel worker processes for the regret runs")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2 seeds, budget 25, timing over 50 trials")
    parser.add_argument("--output", help="write all trajectories and timings to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.budget, args.timing_trials = 2, 25, 50

    optimizers = [o.strip() for o in args.optimizers.split(",") if o.strip()]
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    for name, allowed in ((optimizers, OPTIMIZERS), (problems, tuple(PROBLEMS))):
        unknown = sorted(set(name) - set(allowed))
        if unknown:
            parser.error(f"unknown {unknown}; choose from {', '.join(allowed)}")
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget] or [args.budget]

    tasks = [(o, p, s, args.budget) for o in optimizers for p in problems
             for s in range(args.seeds)]
    start = time.perf_counter()
    print(f"{len(tasks)} runs of {args.budget} trials on {args.jobs} worker(s) ...", flush=True)
    results = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for r in pool.map(run_one, tasks):
                results.append(r)
                print(f"  done {r['optimizer']} {r['problem']} seed {r['seed']}: "
                      f"regret {r['regret'][-1]:.3g}", flush=True)
    else:
        for task in tasks:
            results.append(run_one(task))
            r = results[-1]
            print(f"  done {r['optimizer']} {r['problem']} seed {r['seed']}: "
                  f"regret {r['regret'][-1]:.3g}", flush=True)

    timings = {}
    if args.timing_trials:
        print(f"timing runs: hartmann6, {args.timing_trials} trials, seed 0 ...", flush=True)
        for opt in optimizers:
            if opt != "random":
                timings[opt] = run_one((opt, "hartmann6", 0, args.timing_trials))["waits"]
                print(f"  done {opt}", flush=True)

    print(f"\nMedian simple regret over {args.seeds} seeds (ratio to optuna GPSampler); "
          f"total {time.perf_counter() - start:.0f} s\n")
    print(regret_table(results, optimizers, problems, checkpoints))
    if timings:
        at = [t for t in TIMING_AT if t <= args.timing_trials] or [args.timing_trials]
        print(f"\nTime per suggestion on Hartmann6 (mean over the {TIMING_WINDOW} trials "
              "ending at the given trial; one run, main process, one thread)\n")
        print(timing_table(timings, at))
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"args": vars(args), "results": results, "timings": timings}, f)
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
