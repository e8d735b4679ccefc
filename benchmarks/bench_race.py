"""A race of hyperparameter-search tools, each given the same wall-clock budget.

For each task, budget and seed the data is split 70/30 (stratified, with the
seed). Every tool searches on the 70 % for ``budget`` seconds of wall time on
``--n-jobs`` cores (2), over the same MLP space, with at most 30 epochs per
model; then the configuration it chose is refitted on the whole 70 % (with the
epochs it was scored at) and scored on the held-out 30 % (accuracy).

The space (every tool): learning rate log-uniform [1e-4, 3e-2], width (hidden
units of every layer) int log-uniform [16, 256], depth 1-3 hidden layers,
dropout [0, 0.5] after every hidden layer, L2 penalty / coupled weight decay
log-uniform [1e-6, 1e-2], batch size in {32, 64, 128, 256}; Adam, ReLU,
standardised inputs (the scaler fitted on the training part of each split).

Tools (``--tools``):

- ``bayes``: sktune ``BayesSearchCV``, 3-fold CV, ``n_jobs=2`` (loky
  processes, one torch thread per fit), every candidate trained 30 epochs,
  ``n_iter=10_000`` and ``callbacks=[TimeBudgetStopper(budget)]``.
- ``hyperband``: sktune ``HyperbandSearchCV(max_epochs=30, factor=3)``, 3-fold
  CV, ``n_jobs=2``, the same stopper and ``hyperband_iterations=None`` (new
  Hyperband iterations until the budget is spent; where the installed sktune
  does not have that parameter yet, one iteration, and the note column says so).
- ``random``: sktune ``BayesSearchCV`` with only space-filling proposals
  (``optimizer_kwargs={"n_initial_points": 10**6}``: scrambled Sobol points,
  never a model), otherwise as ``bayes``.
- ``optuna``: Optuna TPE (seeded) with ``MedianPruner()`` (its defaults) on a
  hand-written PyTorch loop (the same network, Adam with coupled weight decay
  as sktune's ``alpha``, shuffled mini-batches), one 80/20 stratified
  validation split of the 70 %, validation accuracy reported after every
  epoch. Parallelism: two worker processes (the same loky pool sktune uses),
  each running ``study.optimize(timeout=...)`` on one shared journal storage,
  one torch thread each. Not ``n_jobs=2`` threads: a small MLP's training loop
  is bound by Python, and two threads under the GIL measured no faster than
  one here (0.8-0.95x), which would halve Optuna's budget; processes give it
  the same two cores as sktune. Each worker's TPE has its own seed
  (``seed * 100 + worker``), or both would propose the same startup points.
- ``keras``: Keras Tuner ``Hyperband(max_epochs=30, factor=3,
  hyperband_iterations=None)`` with Keras 3 on the torch backend, objective
  ``val_accuracy`` on the same 80/20 split as Optuna. The same network (Dense
  layers, ``L2(alpha / 2)`` on weights and biases: the gradient of sktune's
  coupled weight decay), Adam. Keras Tuner has no time limit: the oracle is
  told to stop (it answers ``STOPPED`` for a new trial) once the budget has
  passed, so the trial running then finishes, as with the other tools (a
  search callback or round finishes before a budget stops it). Keras Tuner
  runs one trial at a time (parallel trials need its gRPC chief/worker set-up),
  so it can use the second core only as a second torch thread of its one
  training loop; that measured 7-10x slower per epoch at batch size 32 here
  (thread synchronisation around tiny matrix products), so by default it
  trains with one torch thread (``--keras-threads``): one core, a property of
  the tool. Skipped, with a note, where ``keras`` / ``keras_tuner`` do not
  import.

Every tool's choice is refitted by that tool's own trainer (sktune's network;
the Optuna loop; Keras), seeded by the seed, which is what its user gets.

Recorded per (task, budget, seed, tool): held-out accuracy; search wall seconds
(``time.perf_counter`` around the search alone, the refit excluded; the loky
workers are started before the clock starts, for every tool); the share of the
budget used (wall / budget: above 100 % is overrun, the fit or trial running
when the budget ran out); candidates evaluated (distinct configurations,
pruned / stopped early ones included); the tool's own best validation score
(3-fold CV mean for sktune, one 20 % split for Optuna and Keras Tuner: the
maximum of many noisy estimates, so optimistic, more so on one split; compare
it with the held-out accuracy); plus in the JSON rows the epochs trained, the
chosen parameters, ``stopped_by_`` / ``search_time_`` where the search has
them, and the error of a tool that crashed (a crash is a row, never the end of
the race).

Tasks (``--tasks``):

- ``digits``: scikit-learn's digits (1,797 x 64, 10 classes); every tool ends
  near 97-98 %, differences of a few test samples.
- ``hard``: ``make_classification(3000, 40, n_informative=6, n_redundant=10,
  n_classes=6, n_clusters_per_class=2, class_sep=1.0, flip_y=0.05,
  random_state=0)``: few informative features among redundant and noise ones,
  overlapping classes in two clusters each, 5 % of labels flipped; 2,100
  training and 900 test rows. Held-out accuracy stays far from 100 % (0.45-0.61
  in 10-15 s smoke runs; 0.40-0.55 with ``class_sep=0.7``, also tried) and the
  tools differ by 10-150 test rows, where on digits the sktune and Optuna
  choices differ by a few. Digits cut to 430 rows (300 to train) was tried and
  rejected: every tool chose a model scoring the same 0.9147 on its 129 test
  rows (too few to tell tools apart).

Usage::

    python benchmarks/bench_race.py [--tasks digits hard] [--budgets 75 300]
        [--seeds 0 1 2 3 4] [--tools bayes hyperband random optuna keras]
        [--n-jobs 2] [--keras-threads 1] [--out race.json]
    python benchmarks/bench_race.py --quick     # 10 s budget, seed 0: a smoke test

A full run takes about (tools x tasks x seeds) x (budget + ~10 s of refit and
overrun) per budget: 5 x 2 x 5 x 85 s ~ 70 min at 75 s, ~ 4.3 h at 300 s.
Run it on an otherwise idle machine: every tool assumes it owns the cores.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier
from sktune.search.callbacks import TimeBudgetStopper
from sktune.space import Categorical, Integer, Real

MAX_EPOCHS = 30
LR = (1e-4, 3e-2)
WIDTH = (16, 256)
DEPTH = (1, 3)
DROPOUT = (0.0, 0.5)
ALPHA = (1e-6, 1e-2)
BATCH = [32, 64, 128, 256]
NET = "net__"
#: torch threads of Keras Tuner's one training loop (--keras-threads)
KERAS_THREADS = 1


# -- tasks ----------------------------------------------------------------------------

def _digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def _hard():
    X, y = make_classification(3000, 40, n_informative=6, n_redundant=10, n_classes=6,
                               n_clusters_per_class=2, class_sep=1.0, flip_y=0.05,
                               random_state=0)
    return X.astype(np.float32), y


TASKS = {"digits": _digits, "hard": _hard}


# -- the network (one definition for sktune and the Optuna loop) ----------------------

class RaceMLP(nn.Module):
    """``depth`` x (Linear(width) -> ReLU -> Dropout), then Linear to the classes."""

    def __init__(self, n_features, n_outputs, width=64, depth=1, dropout=0.0):
        super().__init__()
        layers, size = [], n_features
        for _ in range(int(depth)):
            layers += [nn.Linear(size, int(width)), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            size = int(width)
        layers.append(nn.Linear(size, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


def _sktune_pipeline(seed):
    net = NeuralNetClassifier(module=RaceMLP, optimizer="adam", epochs=MAX_EPOCHS,
                              random_state=seed)
    return Pipeline([("scale", StandardScaler()), ("net", net)])


def _sktune_space():
    return {f"{NET}lr": Real(*LR, prior="log-uniform"),
            f"{NET}module__width": Integer(*WIDTH, prior="log-uniform"),
            f"{NET}module__depth": Integer(*DEPTH),
            f"{NET}dropout": Real(*DROPOUT),
            f"{NET}alpha": Real(*ALPHA, prior="log-uniform"),
            f"{NET}batch_size": Categorical(BATCH)}


# -- sktune tools ---------------------------------------------------------------------

def _run_sktune(search, data, note=None):
    start = time.perf_counter()
    search.fit(data["X_fit"], data["y_fit"])
    wall = time.perf_counter() - start
    results = search.cv_results_
    if "candidate" in results:  # Hyperband: one row per (candidate, rung)
        n_candidates = len(np.unique(results["candidate"]))
    else:
        n_candidates = len(results["params"])
    epochs = getattr(search, "epochs_trained_", None)
    if epochs is None:
        evaluated = results.get("n_splits_evaluated",
                                np.full(len(results["params"]), search.n_splits_))
        epochs = int(np.sum(evaluated)) * MAX_EPOCHS
    best = dict(search.best_params_)
    tick = time.perf_counter()
    model = clone(search.estimator).set_params(**best).fit(data["X_fit"], data["y_fit"])
    refit = time.perf_counter() - tick
    return {"test": float(model.score(data["X_test"], data["y_test"])), "wall": wall,
            "n_candidates": int(n_candidates), "best_val": float(search.best_score_),
            "epochs": int(epochs), "best_params": best, "refit_s": refit,
            "stopped_by": getattr(search, "stopped_by_", None),
            "search_time": getattr(search, "search_time_", None), "note": note}


def _cv(seed):
    return StratifiedKFold(3, shuffle=True, random_state=seed)


def tool_bayes(data, seed, budget, n_jobs):
    search = BayesSearchCV(_sktune_pipeline(seed), _sktune_space(), n_iter=10_000, cv=_cv(seed),
                           n_jobs=n_jobs, random_state=seed, refit=False,
                           callbacks=[TimeBudgetStopper(budget)])
    return _run_sktune(search, data)


def tool_random(data, seed, budget, n_jobs):
    search = BayesSearchCV(_sktune_pipeline(seed), _sktune_space(), n_iter=10_000, cv=_cv(seed),
                           n_jobs=n_jobs, random_state=seed, refit=False,
                           optimizer_kwargs={"n_initial_points": 10**6},
                           callbacks=[TimeBudgetStopper(budget)])
    return _run_sktune(search, data)


def _has_param(cls, name):
    try:
        return name in cls(_sktune_pipeline(0), {}).get_params(deep=False)
    except Exception:  # noqa: BLE001 - an unusual constructor: assume not
        return False


def tool_hyperband(data, seed, budget, n_jobs):
    kwargs, note = {}, None
    if _has_param(HyperbandSearchCV, "hyperband_iterations"):
        kwargs["hyperband_iterations"] = None
    else:
        note = "no hyperband_iterations: one iteration"
    search = HyperbandSearchCV(_sktune_pipeline(seed), _sktune_space(), max_epochs=MAX_EPOCHS,
                               factor=3, cv=_cv(seed), n_jobs=n_jobs, random_state=seed,
                               refit=False, callbacks=[TimeBudgetStopper(budget)], **kwargs)
    return _run_sktune(search, data, note)


# -- the hand-written torch loop (Optuna) ---------------------------------------------

def _train_torch(params, X, y, n_classes, epochs, seed, X_val=None, y_val=None, report=None):
    """Train ``RaceMLP`` with Adam (coupled weight decay = alpha), shuffled
    mini-batches; after each epoch score ``X_val`` and call ``report(epoch,
    accuracy)`` (which may raise to stop). Returns the model."""
    torch.manual_seed(seed)
    X, y = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.long)
    model = RaceMLP(X.shape[1], n_classes, params["width"], params["depth"], params["dropout"])
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"], weight_decay=params["alpha"])
    loss_fn = nn.CrossEntropyLoss()
    batch = int(params["batch_size"])
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        for i in range(0, len(X), batch):
            rows = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X[rows]), y[rows]).backward()
            opt.step()
        if report is not None:
            report(epoch, _accuracy(model, X_val, y_val))
    return model


def _accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        predicted = model(torch.as_tensor(X)).argmax(1).numpy()
    return float(np.mean(predicted == np.asarray(y)))


def _optuna_params(trial):
    return {"lr": trial.suggest_float("lr", *LR, log=True),
            "width": trial.suggest_int("width", *WIDTH, log=True),
            "depth": trial.suggest_int("depth", *DEPTH),
            "dropout": trial.suggest_float("dropout", *DROPOUT),
            "alpha": trial.suggest_float("alpha", *ALPHA, log=True),
            "batch_size": trial.suggest_categorical("batch_size", BATCH)}


def _optuna_worker(journal, study_name, split, n_classes, seed, worker, deadline):
    """One Optuna worker process: optimise until ``deadline`` (time.time())."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    X_tr, X_val, y_tr, y_val = split

    def objective(trial):
        params = _optuna_params(trial)
        last = []

        def report(epoch, accuracy):
            last.append(accuracy)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        _train_torch(params, X_tr, y_tr, n_classes, MAX_EPOCHS, seed * 1000 + trial.number,
                     X_val, y_val, report)
        return last[-1]

    study = optuna.load_study(study_name=study_name,
                              storage=JournalStorage(JournalFileBackend(journal)),
                              sampler=optuna.samplers.TPESampler(seed=seed * 100 + worker),
                              pruner=optuna.pruners.MedianPruner())
    remaining = deadline - time.time()
    if remaining > 0:
        study.optimize(objective, timeout=remaining)


def _val_split(data, seed):
    """The 80/20 stratified validation split of the 70 % (Optuna, Keras Tuner),
    standardised with the 80 %'s scaler."""
    X_tr, X_val, y_tr, y_val = train_test_split(data["X_fit"], data["y_fit"], test_size=0.2,
                                                stratify=data["y_fit"], random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32), scaler.transform(X_val).astype(np.float32),
            y_tr, y_val)


def _scaled_fit_test(data):
    scaler = StandardScaler().fit(data["X_fit"])
    return (scaler.transform(data["X_fit"]).astype(np.float32),
            scaler.transform(data["X_test"]).astype(np.float32))


def tool_optuna(data, seed, budget, n_jobs):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    split = _val_split(data, seed)
    n_classes = int(np.max(data["y_fit"])) + 1
    with tempfile.TemporaryDirectory() as tmp:
        journal = os.path.join(tmp, "journal.log")
        storage = JournalStorage(JournalFileBackend(journal))
        study = optuna.create_study(study_name="race", storage=storage, direction="maximize")
        start = time.perf_counter()
        deadline = time.time() + budget
        Parallel(n_jobs=n_jobs)(delayed(_optuna_worker)(journal, "race", split, n_classes, seed,
                                                        worker, deadline)
                                for worker in range(n_jobs))
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name="race", storage=storage)
        trials = study.trials
        best = study.best_trial  # raises if no trial completed
        best_params, best_val = dict(best.params), float(best.value)
    states = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    tick = time.perf_counter()
    X_fit, X_test = _scaled_fit_test(data)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the search (and as sktune's refit)
    try:
        model = _train_torch(best_params, X_fit, data["y_fit"], n_classes, MAX_EPOCHS, seed)
    finally:
        torch.set_num_threads(torch_threads)
    refit = time.perf_counter() - tick
    return {"test": _accuracy(model, X_test, data["y_test"]), "wall": wall,
            "n_candidates": len(trials), "best_val": best_val,
            "epochs": int(sum(len(t.intermediate_values) for t in trials)),
            "best_params": best_params, "refit_s": refit, "stopped_by": None,
            "search_time": None, "note": " ".join(f"{k.lower()} {v}" for k, v in
                                                  sorted(states.items()))}


# -- Keras Tuner ----------------------------------------------------------------------

def _keras_available():
    try:
        import keras  # noqa: F401
        import keras_tuner  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure skips the tool
        return f"{type(exc).__name__}: {exc}"
    if keras.backend.backend() != "torch":
        return f"keras backend is {keras.backend.backend()!r}, not 'torch'"
    return None


def _keras_hypermodel(n_features, n_classes):
    import keras
    import keras_tuner as kt

    class RaceHyperModel(kt.HyperModel):
        def build(self, hp):
            width = hp.Int("width", *WIDTH, sampling="log")
            depth = hp.Int("depth", *DEPTH)
            dropout = hp.Float("dropout", *DROPOUT)
            lr = hp.Float("lr", *LR, sampling="log")
            alpha = hp.Float("alpha", *ALPHA, sampling="log")
            reg = keras.regularizers.L2(alpha / 2)  # gradient alpha * w: coupled decay
            layers = [keras.Input((n_features,))]
            for _ in range(depth):
                layers.append(keras.layers.Dense(width, activation="relu",
                                                 kernel_regularizer=reg, bias_regularizer=reg))
                if dropout > 0:
                    layers.append(keras.layers.Dropout(dropout))
            layers.append(keras.layers.Dense(n_classes, kernel_regularizer=reg,
                                             bias_regularizer=reg))
            model = keras.Sequential(layers)
            model.compile(optimizer=keras.optimizers.Adam(lr),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", BATCH), shuffle=True,
                             **kwargs)

    return RaceHyperModel()


def tool_keras(data, seed, budget, n_jobs):
    import keras
    import keras_tuner as kt

    X_tr, X_val, y_tr, y_val = _val_split(data, seed)
    n_classes = int(np.max(data["y_fit"])) + 1
    hypermodel = _keras_hypermodel(X_tr.shape[1], n_classes)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(KERAS_THREADS)  # one trial at a time (see the module text)
    try:
        keras.utils.set_random_seed(seed)
        with tempfile.TemporaryDirectory() as tmp:
            tuner = kt.Hyperband(hypermodel, objective="val_accuracy", max_epochs=MAX_EPOCHS,
                                 factor=3, hyperband_iterations=None, seed=seed, directory=tmp,
                                 project_name="race", overwrite=True)
            oracle = tuner.oracle
            populate = oracle.populate_space
            deadline = [math.inf]

            def populate_until_deadline(trial_id):
                if time.perf_counter() >= deadline[0]:
                    return {"status": "STOPPED", "values": None}
                return populate(trial_id)

            oracle.populate_space = populate_until_deadline
            start = time.perf_counter()
            deadline[0] = start + budget
            tuner.search(X_tr, y_tr, validation_data=(X_val, y_val), verbose=0)
            wall = time.perf_counter() - start
            trials = list(oracle.trials.values())
            best = oracle.get_best_trials(1)[0]
            values = dict(best.hyperparameters.values)
            best_val = float(best.score)
        configs = [t for t in trials if "tuner/trial_id" not in t.hyperparameters.values]
        epochs = sum(int(t.hyperparameters.values.get("tuner/epochs", 0))
                     - int(t.hyperparameters.values.get("tuner/initial_epoch", 0))
                     for t in trials if t.status == "COMPLETED")
        tick = time.perf_counter()
        X_fit, X_test = _scaled_fit_test(data)
        keras.utils.set_random_seed(seed)
        hp = kt.HyperParameters()
        hp.values = values
        model = hypermodel.build(hp)
        fit_epochs = int(values.get("tuner/epochs", MAX_EPOCHS))
        model.fit(X_fit, data["y_fit"], batch_size=int(values["batch_size"]), epochs=fit_epochs,
                  shuffle=True, verbose=0)
        logits = model.predict(X_test, verbose=0)
        refit = time.perf_counter() - tick
    finally:
        torch.set_num_threads(torch_threads)
    return {"test": float(np.mean(np.argmax(logits, 1) == data["y_test"])), "wall": wall,
            "n_candidates": len(configs), "best_val": best_val, "epochs": int(epochs),
            "best_params": values, "refit_s": refit, "stopped_by": None, "search_time": None,
            "note": f"{len(trials)} trials, {KERAS_THREADS} torch thread(s)"}


TOOLS = {"bayes": ("BayesSearchCV (sktune)", tool_bayes),
         "hyperband": ("HyperbandSearchCV (sktune)", tool_hyperband),
         "random": ("random (sktune, budget)", tool_random),
         "optuna": ("Optuna TPE + median pruning", tool_optuna),
         "keras": ("Keras Tuner Hyperband", tool_keras)}


# -- the race -------------------------------------------------------------------------

def _warm_up(n_jobs):
    """Start the loky workers (torch, sktune and optuna imported there) before a clock
    starts, so that no tool pays for starting them (they stop after idling a while)."""
    from sklearn.datasets import make_classification as make

    def ready():
        import optuna  # noqa: F401
        return os.getpid()

    X, y = make(60, 4, random_state=0)
    Parallel(n_jobs=n_jobs)(delayed(NeuralNetClassifier(epochs=1).fit)(X, y)
                            for _ in range(2 * n_jobs))
    Parallel(n_jobs=n_jobs)(delayed(ready)() for _ in range(2 * n_jobs))


def race_one(task, tool, budget, seed, n_jobs):
    X, y = TASKS[task]()
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=seed)
    data = {"X_fit": X_fit, "y_fit": y_fit, "X_test": X_test, "y_test": y_test}
    row = {"task": task, "tool": tool, "budget": budget, "seed": seed, "n_jobs": n_jobs}
    try:
        _warm_up(n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row.update(TOOLS[tool][1](data, seed, budget, n_jobs))
        row["used"] = row["wall"] / budget
    except Exception as exc:  # noqa: BLE001 - a crash is a row, never the end of the race
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=6)
    return row


def _fmt(values, spec):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return format(float(np.median(values)), spec) if values else "-"


def print_table(task, budget, rows, tools):
    print(f"\n== {task}, budget {budget:g} s: medians over seeds "
          f"{sorted({r['seed'] for r in rows})}")
    print(f"{'tool':<30} {'held-out acc median [min-max]':>30} {'wall s':>7} {'used':>6} "
          f"{'cand.':>6} {'best val':>8} {'errors':>6}  note")
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        ok = [r for r in mine if "error" not in r]
        errors = len(mine) - len(ok)
        if not ok:
            first = mine[0].get("error", "") if mine else ""
            print(f"{TOOLS[tool][0]:<30} {'-':>30} {'-':>7} {'-':>6} {'-':>6} {'-':>8} "
                  f"{errors:>6}  {first[:80]}")
            continue
        test = [r["test"] for r in ok]
        acc = f"{np.median(test):.4f} [{min(test):.4f}-{max(test):.4f}]"
        used = _fmt([100 * r["used"] for r in ok], ".0f") + "%"
        notes = sorted({r["note"] for r in ok if r.get("note")})
        note = notes[0] if len(notes) == 1 else (f"{len(notes)} notes" if notes else "")
        print(f"{TOOLS[tool][0]:<30} {acc:>30} {_fmt([r['wall'] for r in ok], '.1f'):>7} "
              f"{used:>6} {_fmt([r['n_candidates'] for r in ok], '.0f'):>6} "
              f"{_fmt([r['best_val'] for r in ok], '.4f'):>8} {errors:>6}  {note}")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--budgets", nargs="+", type=float, default=[75, 300],
                        help="seconds of wall time per search")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--tools", nargs="+", default=None, choices=list(TOOLS),
                        help="default: all available (keras only where it imports)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--keras-threads", type=int, default=1,
                        help="torch threads of Keras Tuner's one training loop")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: a 10 s budget and seed 0")
    parser.add_argument("--out", help="write every row (JSON) to this file, after each race; "
                        "rows already in it are kept and not run again, but for crashes (a "
                        "long race resumes)")
    parser.add_argument("--summarize", nargs="+", metavar="JSON",
                        help="print the tables of rows written by --out, run nothing")
    args = parser.parse_args(argv)
    if args.summarize:
        rows = [r for path in args.summarize for r in json.load(open(path))]
        summarize(rows)
        return
    if args.quick:
        args.budgets, args.seeds = [10.0], [0]
    global KERAS_THREADS
    KERAS_THREADS = args.keras_threads
    tools = args.tools or list(TOOLS)
    missing = _keras_available() if "keras" in tools else None
    if missing is not None:
        print(f"note: Keras Tuner skipped ({missing})")
        tools = [t for t in tools if t != "keras"]
    torch.set_num_threads(1)
    print(f"race: tasks {args.tasks}, budgets {args.budgets} s, seeds {args.seeds}, "
          f"n_jobs={args.n_jobs}, tools {tools}; torch {torch.__version__}", flush=True)
    rows = []
    if args.out and os.path.exists(args.out):
        with open(args.out) as f:
            rows = [r for r in json.load(f) if "error" not in r]  # a crash runs again
        print(f"{len(rows)} rows already in {args.out}: not run again", flush=True)
    done = {(r["task"], r["budget"], r["seed"], r["tool"]) for r in rows}
    for task in args.tasks:
        for budget in args.budgets:
            for seed in args.seeds:
                for tool in tools:
                    if (task, budget, seed, tool) in done:
                        continue
                    row = race_one(task, tool, budget, seed, args.n_jobs)
                    rows.append(row)
                    _print_row(row)
                    if args.out:  # after every race: a long run keeps what it has
                        with open(args.out, "w") as f:
                            json.dump(rows, f, indent=1, default=_json_default)
    summarize([r for r in rows if r["task"] in args.tasks and r["budget"] in args.budgets
               and r["seed"] in args.seeds and r["tool"] in tools])


def _print_row(row):
    task, budget, seed, tool = row["task"], row["budget"], row["seed"], row["tool"]
    if "error" in row:
        print(f"  {task} {budget:g}s seed {seed} {tool}: ERROR {row['error']}", flush=True)
        return
    print(f"  {task} {budget:g}s seed {seed} {tool}: test {row['test']:.4f}, "
          f"wall {row['wall']:.1f} s ({row['used']:.0%}), "
          f"{row['n_candidates']} cand., best val {row['best_val']:.4f}, "
          f"{row['epochs']} epochs, refit {row['refit_s']:.1f} s"
          + (f", stopped_by {row['stopped_by']}" if row.get("stopped_by") else "")
          + (f" ({row['note']})" if row.get("note") else ""), flush=True)


def summarize(rows):
    """A table per (task, budget), then each sktune search against the best other
    tool seed by seed (held-out accuracy differences, mean and standard error)."""
    tools = [t for t in TOOLS if any(r["tool"] == t for r in rows)]
    for task in dict.fromkeys(r["task"] for r in rows):
        for budget in sorted({r["budget"] for r in rows if r["task"] == task}):
            these = [r for r in rows if r["task"] == task and r["budget"] == budget]
            print_table(task, budget, these, tools)
            _paired(these, tools)


def _paired(rows, tools):
    test = {(r["tool"], r["seed"]): r["test"] for r in rows if "error" not in r}
    ours = [t for t in ("bayes", "hyperband", "random") if t in tools]
    others = [t for t in tools if t not in ("bayes", "hyperband", "random")]
    for mine in ours:
        for other in others:
            seeds = sorted(s for (t, s) in test if t == mine and (other, s) in test)
            if len(seeds) < 2:
                continue
            diff = np.array([test[(mine, s)] - test[(other, s)] for s in seeds])
            se = diff.std(ddof=1) / np.sqrt(len(diff))
            wins = f"{(diff > 0).sum()}/{(diff == 0).sum()}/{(diff < 0).sum()}"
            print(f"   {mine} - {other}: {diff.mean():+.4f} (SE {se:.4f}), W/T/L {wins}, "
                  f"per seed {' '.join(f'{d:+.4f}' for d in diff)}")

if __name__ == "__main__":
    main()
