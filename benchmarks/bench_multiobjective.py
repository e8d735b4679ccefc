"""Multi-objective Bayesian search: sktune against optuna's samplers.

Part ``problems``: standard two- and three-objective problems (ZDT1-3 and
DTLZ2 with 6 variables, and a mixed space with a categorical), seeds 0-9,
budgets 50 and 100 (the first 50 evaluations of each 100-evaluation run:
every method here is sequential), for

- sktune's ask/tell :class:`~sktune.search.Optimizer` with ``n_objectives``
  (one GP per objective, exact log EHVI),
- optuna's ``GPSampler`` (log EHVI by quasi-Monte Carlo), ``TPESampler``
  (MOTPE) and ``NSGAIISampler``, and ``RandomSampler``.

Printed: the median hypervolume of each method (fixed reference points:
BoTorch's, 11 for ZDT and 1.1 for DTLZ2), the median gap to the best
hypervolume any front can reach, the winner of each problem, and the median
time per suggestion. Needs the bench extra (``pip install optuna``).

Part ``digits``: the real task: ``BayesSearchCV`` over an sktune MLP on
digits with accuracy and the parameter count as objectives; prints the front
(docs/multi-objective.md shows it) and its hypervolume beside random search.

Run: ``python benchmarks/bench_multiobjective.py [--parts problems digits]
[--jobs 2] [--seeds 10]`` (the problems take ~45 min on 2 cores, most of it
optuna's GPSampler).
"""

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

D = 6  # variables of the ZDT and DTLZ2 problems


# -- problems (all minimised) ---------------------------------------------------------------
def zdt1(x):
    g = 1 + 9 * np.mean(x[1:])
    return [x[0], g * (1 - math.sqrt(x[0] / g))]


def zdt2(x):
    g = 1 + 9 * np.mean(x[1:])
    return [x[0], g * (1 - (x[0] / g) ** 2)]


def zdt3(x):
    g = 1 + 9 * np.mean(x[1:])
    r = x[0] / g
    return [x[0], g * (1 - math.sqrt(r) - r * math.sin(10 * math.pi * x[0]))]


def dtlz2(x):
    g = float(np.sum((np.asarray(x[2:]) - 0.5) ** 2))
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b),
            (1 + g) * math.sin(a)]


# The mixed problem: the category changes the front's shape and where the
# continuous optimum lies; the true front mixes categories a and b.
_SHIFT = {"a": 0.2, "b": 0.5, "c": 0.8}
_OFFSET = {"a": 0.3, "b": 0.0, "c": 1.0}


def mixed(x, c):
    g = 1 + _OFFSET[c] + 9 * float(np.mean((np.asarray(x[1:]) - _SHIFT[c]) ** 2))
    r = x[0] / g
    shape = {"a": 1 - math.sqrt(r), "b": 1 - r ** 2, "c": 1 - math.sqrt(r) - r * math.sin(10 * math.pi * x[0])}
    return [x[0], g * shape[c]]


PROBLEMS = {
    # name: (number of continuous variables, categorical?, objectives, reference point)
    "ZDT1": (D, False, zdt1, [11.0, 11.0]),
    "ZDT2": (D, False, zdt2, [11.0, 11.0]),
    "ZDT3": (D, False, zdt3, [11.0, 11.0]),
    "DTLZ2": (D, False, dtlz2, [1.1, 1.1, 1.1]),
    "mixed": (4, True, None, [11.0, 11.0]),
}


def evaluate(problem, point):
    n, categorical, f, _ = PROBLEMS[problem]
    x = [point[f"x{i}"] for i in range(n)]
    return mixed(x, point["c"]) if categorical else f(x)


def best_hypervolume(problem):
    """The hypervolume of (a dense sample of) the true front."""
    from sktune.search._pareto import hypervolume

    f1 = np.linspace(0, 1, 20001)
    ref = PROBLEMS[problem][3]
    if problem == "ZDT1":
        return 121.0 - 1.0 / 3.0
    if problem == "ZDT2":
        return 121.0 - 2.0 / 3.0
    if problem == "DTLZ2":
        return 1.1 ** 3 - math.pi / 6
    if problem == "ZDT3":
        Y = np.column_stack([f1, 1 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1)])
    else:
        rows = []
        for c in "abc":
            x = [0.0] + [_SHIFT[c]] * 3
            rows += [mixed([v] + x[1:], c) for v in f1[::10]]
        Y = np.array(rows)
    return hypervolume(Y, ref)


# -- methods ------------------------------------------------------------------------------
def run_sktune(problem, seed, budget):
    from sktune.search import Optimizer

    n, categorical, f, ref = PROBLEMS[problem]
    space = {f"x{i}": (0.0, 1.0) for i in range(n)}
    if categorical:
        space["c"] = ["a", "b", "c"]
    opt = Optimizer(space, n_objectives=len(ref), random_state=seed)

    def ask():
        point = opt.ask()
        return point, point

    return _timed_loop(problem, budget, ask, opt.tell)


def _timed_loop(problem, budget, ask, tell):
    """``budget`` rounds of ``ask() -> (handle, point)``, evaluation, ``tell(handle, y)``:
    the objective vectors and the mean seconds of ask + tell (evaluations not counted)."""
    Y, spent = [], 0.0
    for _ in range(budget):
        tick = time.perf_counter()
        handle, point = ask()
        spent += time.perf_counter() - tick
        y = evaluate(problem, point)
        tick = time.perf_counter()
        tell(handle, y)
        spent += time.perf_counter() - tick
        Y.append(y)
    return Y, spent / budget


def run_optuna(problem, seed, budget, sampler_name):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {
        "optuna GP": lambda: optuna.samplers.GPSampler(seed=seed),
        "optuna TPE": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna NSGA-II": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    n, categorical, _, ref = PROBLEMS[problem]
    study = optuna.create_study(directions=["minimize"] * len(ref), sampler=samplers[sampler_name]())

    def ask():
        trial = study.ask()
        point = {f"x{i}": trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)}
        if categorical:
            point["c"] = trial.suggest_categorical("c", ["a", "b", "c"])
        return trial, point

    return _timed_loop(problem, budget, ask, study.tell)


METHODS = ["sktune", "optuna GP", "optuna TPE", "optuna NSGA-II", "random"]


def one_run(args):
    problem, method, seed, budget = args
    import torch

    torch.set_num_threads(1)  # one core per run (optuna's GP runs on torch)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if method == "sktune":
        Y, per = run_sktune(problem, seed, budget)
    else:
        Y, per = run_optuna(problem, seed, budget, method)
    return problem, method, seed, Y, per


def part_problems(args):
    from sktune.search._pareto import hypervolume

    results = {}
    for path in args.load or []:  # runs saved by an earlier --save are not run again
        with open(path) as fh:
            for key, value in json.load(fh).items():
                problem, method, seed = key.split("|")
                results[(problem, method, int(seed))] = value
    runs = [(p, m, s, args.budget) for p in args.problems for s in range(args.seeds)
            for m in args.methods if (p, m, s) not in results]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for problem, method, seed, Y, per in pool.map(one_run, runs):
            results[(problem, method, seed)] = (Y, per)
    print(f"{len(runs)} runs in {time.perf_counter() - start:.0f} s "
          f"({args.jobs} processes, one thread each)\n")
    if args.save:
        with open(args.save, "w") as fh:
            json.dump({"|".join(map(str, k)): v for k, v in results.items()}, fh)

    budgets = [b for b in (50, args.budget) if b <= args.budget]
    wins = {b: {m: 0 for m in args.methods} for b in budgets}
    for budget in sorted(set(budgets)):
        print(f"## budget {budget}: median hypervolume over seeds 0-{args.seeds - 1} "
              "(higher is better; [gap to the best reachable, median])\n")
        print("| problem | " + " | ".join(args.methods) + " |")
        print("|---|" + "---:|" * len(args.methods))
        for problem in args.problems:
            ref = PROBLEMS[problem][3]
            best = best_hypervolume(problem)
            medians, cells = {}, []
            for method in args.methods:
                hv = [hypervolume(np.array(results[(problem, method, s)][0][:budget]), ref)
                      for s in range(args.seeds)]
                medians[method] = float(np.median(hv))
                gap = float(np.median(best - np.array(hv)))
                cells.append((method, f"{medians[method]:.4f} [{gap:.2g}]"))
            winner = max(medians, key=medians.get)
            wins[budget][winner] += 1
            print(f"| {problem} | " + " | ".join(f"**{c}**" if m == winner else c
                                                for m, c in cells) + " |")
        print("\nbest median hypervolume on: "
              + ", ".join(f"{m} {wins[budget][m]}/{len(args.problems)}" for m in args.methods)
              + "\n")
    print("## median time per suggestion (ask + tell, ms), over all runs of a problem\n")
    print("| problem | " + " | ".join(args.methods) + " |")
    print("|---|" + "---:|" * len(args.methods))
    for problem in args.problems:
        print(f"| {problem} | " + " | ".join(
            f"{1000 * np.median([results[(problem, m, s)][1] for s in range(args.seeds)]):.1f}"
            for m in args.methods) + " |")
    print()


def part_digits(args):
    """accuracy against parameter count of an sktune MLP on digits."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from sktune import BayesSearchCV, NeuralNetClassifier
    from sktune.metrics import neg_n_parameters
    from sktune.search._objectives import Objectives
    from sktune.search._pareto import hypervolume

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    space = {
        "hidden_layer_sizes": [(4,), (8,), (16,), (32,), (64,), (128,), (16, 16), (64, 64)],
        "lr": (1e-3, 3e-2, "log-uniform"),
        "epochs": (5, 30),
    }
    scoring = {"accuracy": "accuracy", "size": neg_n_parameters}
    objectives = Objectives(["accuracy", "size"], ["accuracy", "size"], None)
    ref = [0.0, 20000.0]  # accuracy 0 (negated), 20,000 parameters
    rows = []
    for seed in range(args.digits_seeds):
        per_method = {}
        for name, n_initial in (("sktune", 10), ("random", args.n_iter)):
            search = BayesSearchCV(
                NeuralNetClassifier(random_state=seed), space, n_iter=args.n_iter, cv=3,
                scoring=scoring, objectives=["accuracy", "size"], refit="accuracy",
                random_state=seed, n_jobs=args.jobs, n_points=2,
                optimizer_kwargs={"n_initial_points": n_initial})
            tick = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                search.fit(X, y)
            per_method[name] = (search, time.perf_counter() - tick)
        for name, (search, wall) in per_method.items():
            hv = hypervolume(objectives.matrix(search.cv_results_), ref)
            rows.append((seed, name, hv, len(search.pareto_front_), wall))
        if seed == 0:
            search = per_method["sktune"][0]
            r = search.cv_results_
            print(f"## digits, seed 0: the front of BayesSearchCV ({args.n_iter} candidates, "
                  "3-fold)\n")
            print("| parameters | CV accuracy | hidden_layer_sizes | lr | epochs |")
            print("|---:|---:|---|---:|---:|")
            front = sorted(search.pareto_front_, key=lambda i: -r["mean_test_size"][i])
            for i in front:
                p = r["params"][i]
                print(f"| {-r['mean_test_size'][i]:.0f} | {r['mean_test_accuracy'][i]:.4f} | "
                      f"{p['hidden_layer_sizes']} | {p['lr']:.4f} | {p['epochs']} |")
            print(f"\nrefit (best accuracy on the front): test accuracy "
                  f"{search.score(X_test, y_test):.4f}\n")
    print(f"## digits: hypervolume of the fronts (reference: accuracy 0, {ref[1]:.0f} "
          "parameters; higher is better)\n")
    print("| seed | sktune | random | front size (sktune / random) | wall s |")
    print("|---:|---:|---:|---|---|")
    for seed in range(args.digits_seeds):
        s, r_ = [row for row in rows if row[0] == seed]
        print(f"| {seed} | {s[2]:.1f} | {r_[2]:.1f} | {s[3]} / {r_[3]} | "
              f"{s[4]:.0f} / {r_[4]:.0f} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["problems", "digits"],
                        choices=["problems", "digits"])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--save", help="write every run's objective values to this JSON file")
    parser.add_argument("--load", nargs="+", help="JSON files of --save: reuse their runs")
    parser.add_argument("--n-iter", type=int, default=30, help="candidates of the digits task")
    parser.add_argument("--digits-seeds", type=int, default=3)
    args = parser.parse_args()
    if "problems" in args.parts:
        part_problems(args)
    if "digits" in args.parts:
        part_digits(args)


if __name__ == "__main__":
    main()
