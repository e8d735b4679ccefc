"""Noise-aware Bayesian search: the public problems with noisy evaluations.

Issue "Noise-aware Bayesian search". The four problems of
``benchmarks/_bayes_functions.py`` (Branin, Hartmann-6, Rosenbrock-4, the
mixed hyperparameter-like space) with Gaussian noise of standard deviation
``level x range`` (``range``: max - min of the function over 4,096 Sobol
points; levels 1 % and 5 %). Every evaluation is read like a cross-validated
score: the mean of 3 "folds", each the function plus independent noise of
standard deviation ``sd * sqrt(3)`` (so the mean's noise has standard
deviation ``sd``); the folds' variance / 3 is what a search knows of it.
Budget 50, seeds 0-9. Each method's *final choice* is scored by the true
(noise-free) function: the regret is ``f(choice) - f_min``, median over seeds.

Methods (all sequential):

- ``sktune``: the ask/tell ``Optimizer`` told each value's fold variance / 3
  as its noise; choice: ``posterior_best_index`` (best posterior mean).
- ``sktune before``: the same optimiser told the values only (what
  ``BayesSearchCV`` did before this change); choice: the best observed value.
- ``sktune warped`` (not run by default; the design ablation): as ``sktune``
  but keeping the power (Yeo-Johnson) output warp on values told with noise,
  as the first version of the noise-aware optimiser did.
- ``optuna GP``: ``GPSampler`` (noise learned); choice: ``study.best_trial``.
- ``optuna TPE``: ``TPESampler``; choice: ``study.best_trial``.
- ``botorch``: BoTorch's standard loop: ``SingleTaskGP`` (noise learned) on
  normalised inputs and standardised outputs, ``fit_gpytorch_mll``,
  ``LogExpectedImprovement`` on the best posterior mean, ``optimize_acqf``
  (one-hot categories relaxed and rounded; integers rounded); 10 Sobol points
  first; choice: the observed point of best posterior mean. Needs ``pip
  install botorch`` (installs beside the pinned torch).

One split (``--splits 1``; issue "noise without folds"): each evaluation is
the function plus noise of standard deviation ``sd``, read like one validation
score: nothing tells its noise, and the methods learn it from the values. The
five problems (Levy-4 added: multimodal). Methods: ``sktune`` (told nothing;
choice: ``posterior_best_index``, what ``refit=posterior_best`` refits),
``sktune best reading`` (the same optimiser; choice: the best observed value,
scikit-learn's ``best_index_``), the peers as above; the design's ablations
(:data:`ABLATIONS`, sktune with module constants replaced) were chosen on seeds
10-39: ``--splits 1 --first-seed 10 --seeds 30 --methods sktune "sktune untold" ...``.
``--tag " before"`` saves the runs under suffixed names (the same command on an
older checkout, for a before/after table with ``--load``).

Part ``rescore`` (``--part rescore``): the multi-fidelity benchmark's
re-scoring protocol on its ``mlp-digits`` and ``mlp-generated`` tasks:
``BayesSearchCV`` (30 candidates, 27 epochs, 3 folds) chooses, and its choice
is re-scored on 3 x 3 new folds, before (means only, sklearn's best) and after
(fold noise told, ``refit=posterior_best``).

Besides the medians, every method is compared with ``sktune`` seed by seed:
the mean over problems and seeds of ``log10(regret) - log10(regret of
sktune)``, with its standard error (positive: worse than ``sktune``).
The design (no power warp with told noise) was chosen on seeds 10-39:
``--methods sktune "sktune warped" --first-seed 10 --seeds 30``.

Run: ``python benchmarks/bench_noisy.py [--levels 0.01 0.05] [--seeds 10]
[--methods ...] [--jobs 2] [--save F] [--load F ...]`` and
``python benchmarks/bench_noisy.py --part rescore [--tasks ...] [--rescore-seeds 3]``.
"""

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from _bayes_functions import PROBLEMS

N_FOLDS = 3
BUDGET = 50
METHODS = ["sktune", "sktune before", "optuna GP", "optuna TPE", "botorch"]
# Single split (``--splits 1``): the design's ablations, each the optimiser with
# module constants of ``sktune.search._gp.surrogate`` replaced.
ABLATIONS = {
    # today's optimiser before issue "noise without folds": a fitted noise is
    # never material (power-warped values, the best observed value as incumbent)
    "sktune untold": {"_MATERIAL_NOISE": math.inf},
    # material noise changes the incumbent only (the power warp kept)
    "sktune incumbent only": {"_AFFINE_WHEN_NOISY": False},
    "sktune material 1e-4": {"_MATERIAL_NOISE": 1e-4},
    "sktune material 1e-3": {"_MATERIAL_NOISE": 1e-3},
    "sktune noisy start": {"_NOISY_START": math.log(0.1)},
}
# One split: "sktune best reading" chooses the best observed value (the same
# optimiser; scikit-learn's best_index_), "sktune" the best posterior mean.
ALL_METHODS = METHODS + ["sktune warped", "sktune best reading"] + list(ABLATIONS)


def _ranges():
    """max - min of each problem over 4,096 Sobol points of its space."""
    from scipy.stats import qmc

    out = {}
    for name, problem in PROBLEMS.items():
        U = qmc.Sobol(len(problem.params), scramble=True, seed=0).random_base2(12)
        values = [problem.func(_from_unit(problem, u)) for u in U]
        out[name] = float(np.max(values) - np.min(values))
    return out


def _from_unit(problem, u):
    """The point of ``problem`` at ``u`` in the unit cube (one coordinate per parameter)."""
    return {p.name: _param_from_unit(p, v) for p, v in zip(problem.params, u)}


def _param_from_unit(p, v):
    if p.kind == "cat":
        return p.categories[min(int(v * len(p.categories)), len(p.categories) - 1)]
    if p.log:
        value = float(math.exp(math.log(p.low) + v * (math.log(p.high) - math.log(p.low))))
    else:
        value = float(p.low + v * (p.high - p.low))
    return int(round(value)) if p.kind == "int" else value


class Noisy:
    """A problem read as a K-fold CV score: mean and fold variance / K (nan with
    one split: a single validation score tells nothing of its noise)."""

    def __init__(self, problem, sd, seed, splits=N_FOLDS):
        self.problem, self.sd, self.splits = problem, sd, splits
        self.rng = np.random.default_rng(10_000 + seed)

    def __call__(self, point):
        f = self.problem.func(point)
        if self.splits == 1:
            return float(f + self.sd * self.rng.standard_normal()), math.nan
        folds = f + self.sd * math.sqrt(self.splits) * self.rng.standard_normal(self.splits)
        return float(folds.mean()), float(folds.var(ddof=1) / self.splits)


def _space(problem):
    space = {}
    for p in problem.params:
        if p.kind == "cat":
            space[p.name] = list(p.categories)
        elif p.kind == "int":
            space[p.name] = (int(p.low), int(p.high))
        else:
            space[p.name] = (p.low, p.high, "log-uniform") if p.log else (p.low, p.high)
    return space


def run_sktune(problem, sd, seed, told, warped=False, splits=N_FOLDS):
    if warped:
        return _with_power_warp(run_sktune, problem, sd, seed, told, False, splits)
    from sktune.search import Optimizer

    objective = Noisy(problem, sd, seed, splits)
    opt = Optimizer(_space(problem), random_state=seed)
    for _ in range(BUDGET):
        point = opt.ask()
        value, var = objective(point)
        opt.tell(point, value, noise=var if told and math.isfinite(var) else None)
    choice = opt.posterior_best_index if told else opt.best_index
    return opt.Xi[choice]


def _with_constants(constants, run, *args):
    """``run(*args)`` with module constants of sktune's surrogate replaced (the
    design's ablations)."""
    from sktune.search._gp import surrogate

    saved = {k: getattr(surrogate, k) for k in constants}
    for k, v in constants.items():
        setattr(surrogate, k, v)
    try:
        return run(*args)
    finally:
        for k, v in saved.items():
            setattr(surrogate, k, v)


def _with_power_warp(run, *args):
    """``run(*args)`` with the power warp kept on values told with noise."""
    from sktune.search._gp import surrogate, warp

    surrogate.TargetWarp = lambda y, power=True: warp.TargetWarp(y, power=True)
    try:
        return run(*args)
    finally:
        surrogate.TargetWarp = warp.TargetWarp


def run_optuna(problem, sd, seed, name, splits=N_FOLDS):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.GPSampler(seed=seed) if name == "optuna GP"
               else optuna.samplers.TPESampler(seed=seed))
    study = optuna.create_study(sampler=sampler)
    objective = Noisy(problem, sd, seed, splits)

    def f(trial):
        point = {}
        for p in problem.params:
            if p.kind == "cat":
                point[p.name] = trial.suggest_categorical(p.name, list(p.categories))
            elif p.kind == "int":
                point[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
            else:
                point[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        return objective(point)[0]

    study.optimize(f, n_trials=BUDGET)
    return study.best_trial.params


def run_botorch(problem, sd, seed, splits=N_FOLDS):
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    torch.manual_seed(seed)
    objective = Noisy(problem, sd, seed, splits)
    # the unit cube; a categorical of k values is k one-hot columns (argmax read)
    widths = [len(p.categories) if p.kind == "cat" else 1 for p in problem.params]
    dim = sum(widths)

    def decode(x):
        point, i = {}, 0
        for p, w in zip(problem.params, widths):
            if p.kind == "cat":
                point[p.name] = p.categories[int(np.argmax(x[i:i + w]))]
            else:
                point[p.name] = _param_from_unit(p, x[i])
            i += w
        return point

    X = qmc.Sobol(dim, scramble=True, seed=seed).random(10)
    Y = [objective(decode(x))[0] for x in X]
    while len(Y) < BUDGET:
        train_x = torch.tensor(X, dtype=torch.double)
        train_y = -torch.tensor(Y, dtype=torch.double).unsqueeze(-1)  # botorch maximises
        model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        with torch.no_grad():
            best = model.posterior(train_x).mean.max()
        acq = LogExpectedImprovement(model, best_f=best)
        bounds = torch.stack([torch.zeros(dim), torch.ones(dim)]).double()
        cand, _ = optimize_acqf(acq, bounds=bounds, q=1, num_restarts=5, raw_samples=256)
        x = cand.detach().numpy()[0]
        X = np.vstack([X, x])
        Y.append(objective(decode(x))[0])
    train_x = torch.tensor(X, dtype=torch.double)
    model = SingleTaskGP(train_x, -torch.tensor(Y, dtype=torch.double).unsqueeze(-1),
                         outcome_transform=Standardize(m=1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    with torch.no_grad():
        choice = int(model.posterior(train_x).mean.argmax())
    return decode(X[choice])


def one_run(args):
    problem_name, level, sd, method, seed, splits = args
    import torch

    torch.set_num_threads(1)
    problem = PROBLEMS[problem_name]
    tick = time.perf_counter()
    if method == "sktune":
        choice = run_sktune(problem, sd, seed, told=True, splits=splits)
    elif method in ("sktune before", "sktune best reading"):
        choice = run_sktune(problem, sd, seed, told=False, splits=splits)
    elif method == "sktune warped":
        choice = run_sktune(problem, sd, seed, told=True, warped=True, splits=splits)
    elif method in ABLATIONS:
        choice = _with_constants(ABLATIONS[method], run_sktune, problem, sd, seed, True, False,
                                 splits)
    elif method == "botorch":
        choice = run_botorch(problem, sd, seed, splits)
    else:
        choice = run_optuna(problem, sd, seed, method, splits)
    regret = problem.func(choice) - problem.f_min
    return problem_name, level, method, seed, float(regret), time.perf_counter() - tick


def part_rescore(args):
    """The multi-fidelity benchmark's re-scoring protocol: BayesSearchCV chooses on
    3 folds, its choice is re-scored on 3 x 3 new folds; before (means only,
    ``best_index_``) and after (fold noise told, ``refit=posterior_best``)."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    import bench_multifidelity as mf
    from sktune import BayesSearchCV
    from sktune.search import posterior_best

    for task in args.tasks:
        load, make_net, space = mf.TASKS[task]
        X, y = load()
        X = X.astype(np.float32)
        rows = []
        for seed in range(args.rescore_seeds):
            X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y,
                                                      random_state=seed)
            cv = StratifiedKFold(3, shuffle=True, random_state=seed)
            pipe = Pipeline([("scale", StandardScaler()), ("net", make_net())])
            pipe.set_params(net__epochs=args.max_epochs)
            for label, kwargs in (("before", {"fold_noise": False}),
                                  ("after", {"refit": posterior_best})):
                search = BayesSearchCV(clone(pipe), space(), n_iter=args.n_iter, n_points=2,
                                       cv=cv, n_jobs=args.jobs, random_state=seed, **kwargs)
                tick = time.perf_counter()
                search.fit(X_train, y_train)
                wall = time.perf_counter() - tick
                i = search.best_index_
                ns = argparse.Namespace(seed=seed, rescore_repeats=3, n_jobs=args.jobs)
                rescored, se = mf._rescore(search, X_train, y_train, ns)
                rows.append((seed, label, float(search.cv_results_["mean_test_score"][i]),
                             rescored, se, wall))
        print(f"## {task}: the choice of BayesSearchCV ({args.n_iter} candidates, "
              f"{args.max_epochs} epochs, 3-fold) re-scored on 3 x 3 new folds\n")
        print("| seed | before: CV | before: re-scored +- SE | after: CV | "
              "after: re-scored +- SE |")
        print("|---:|---:|---:|---:|---:|")
        for seed in range(args.rescore_seeds):
            b, a = [r for r in rows if r[0] == seed]
            print(f"| {seed} | {b[2]:.4f} | {b[3]:.4f} +- {b[4]:.4f} | {a[2]:.4f} | "
                  f"{a[3]:.4f} +- {a[4]:.4f} |")
        diffs = [a[3] - b[3] for b, a in zip(rows[::2], rows[1::2])]
        print(f"\nre-scored after - before: median {np.median(diffs):+.4f}, mean "
              f"{np.mean(diffs):+.4f} (SE {np.std(diffs, ddof=1) / math.sqrt(len(diffs)):.4f})"
              f"; wall {np.median([r[5] for r in rows]):.0f} s per search\n")


def _print_paired(results, problems, level, methods, seeds):
    """Each method against ``sktune``, seed by seed: mean log10 regret difference."""
    if "sktune" not in methods:
        return
    tiny = 1e-12  # a regret of exactly 0 (the optimum found) stays finite
    parts = []
    for m in methods:
        if m == "sktune":
            continue
        d = np.array([math.log10(results[(p, level, m, s)][0] + tiny)
                      - math.log10(results[(p, level, "sktune", s)][0] + tiny)
                      for p in problems for s in seeds])
        parts.append(f"{m} {d.mean():+.2f} (SE {d.std(ddof=1) / math.sqrt(len(d)):.2f})")
    print("mean log10 regret minus sktune's, over problems and seeds: " + ", ".join(parts)
          + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", type=float, default=[0.01, 0.05])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=ALL_METHODS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--save")
    parser.add_argument("--load", nargs="+")
    parser.add_argument("--splits", type=int, choices=[1, N_FOLDS], default=N_FOLDS,
                        help="1: one validation split, its noise untold")
    parser.add_argument("--tag", help="saved under method names with this suffix (e.g. "
                        "' before': the same methods run on an older checkout)")
    parser.add_argument("--part", choices=["problems", "rescore"], default="problems")
    parser.add_argument("--tasks", nargs="+", default=["mlp-digits", "mlp-generated"])
    parser.add_argument("--rescore-seeds", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--max-epochs", type=int, default=27)
    args = parser.parse_args()
    if args.part == "rescore":
        return part_rescore(args)
    ranges = _ranges()
    results = {}
    for path in args.load or []:
        with open(path) as fh:
            for key, value in json.load(fh).items():
                p, level, m, s, *splits = key.split("|")
                if int(splits[0] if splits else N_FOLDS) == args.splits:
                    results[(p, float(level), m, int(s))] = value
    tag = args.tag or ""
    runs = [(p, lv, lv * ranges[p], m, s, args.splits) for lv in args.levels
            for p in args.problems for s in range(args.first_seed, args.first_seed + args.seeds)
            for m in args.methods if (p, lv, m + tag, s) not in results]
    start = time.perf_counter()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(args.jobs) as pool:
        for p, lv, m, s, regret, wall in pool.map(one_run, runs):
            results[(p, lv, m + tag, s)] = (regret, wall)
    print(f"{len(runs)} runs in {time.perf_counter() - start:.0f} s ({args.jobs} processes)\n")
    if args.save:
        with open(args.save, "w") as fh:
            json.dump({"|".join(map(str, k + (args.splits,))): v
                       for k, v in results.items()}, fh)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    shown = [m + tag for m in args.methods]  # then what --load brought for the same runs
    shown += sorted({k[2] for k in results if k[2] not in shown and all(
        (p, lv, k[2], s) in results for p in args.problems for lv in args.levels
        for s in seeds)})
    for level in args.levels:
        print(f"## noise sd = {level:g} x range: median true regret of the final choice, "
              f"seeds {seeds[0]}-{seeds[-1]} (lower is better)\n")
        print("| problem (noise sd) | " + " | ".join(shown) + " |")
        print("|---|" + "---:|" * len(shown))
        wins = dict.fromkeys(shown, 0)
        for p in args.problems:
            med = {m: float(np.median([results[(p, level, m, s)][0] for s in seeds]))
                   for m in shown}
            best = min(med, key=med.get)
            wins[best] += 1
            print(f"| {p} ({level * ranges[p]:.3g}) | " + " | ".join(
                (f"**{med[m]:.3g}**" if m == best else f"{med[m]:.3g}") for m in shown)
                + " |")
        print("\nlowest median regret on: " + ", ".join(f"{m} {wins[m]}/{len(args.problems)}"
                                                      for m in shown) + "\n")
        _print_paired(results, args.problems, level, shown, seeds)
    print("median seconds per run (50 evaluations): " + ", ".join(
        f"{m} {np.median([v[1] for k, v in results.items() if k[2] == m]):.1f}"
        for m in shown))


if __name__ == "__main__":
    main()
