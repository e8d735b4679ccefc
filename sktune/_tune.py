"""The work of ``sktune tune``: from parsed options to a fitted search and its outputs.

:func:`run_tune` loads the table (:mod:`sktune.tabular`), builds the pipeline
``preprocess -> net`` and the search the options ask for (the space from
:mod:`sktune.search.space_file`), fits it with progress on stderr
(:mod:`sktune._progress`), and writes the summary, report and model file.
The options themselves are declared in :mod:`sktune.cli`.
"""

import json
import math
import re
import sys
import time
import warnings

from .cli import CLIError, _output_path, _user_errors, _write_report

_MODELS = ("mlp", "resmlp", "cnn")
_SEARCHES = ("bayes", "random", "grid", "hyperband")
_TASKS = ("classification", "regression")
#: Epochs of each model's network (a space file may search or fix them).
_EPOCHS = {"mlp": 20, "resmlp": 20, "cnn": 15}
_NET = "net"  # the network's step in the tuned pipeline; its parameters are net__<name>
_DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}


def _choice(value, choices, option):
    if value not in choices:
        raise CLIError(f"unknown {option} {value!r}; choose one of {', '.join(choices)}.")
    return value


def _check_scoring(scoring, task):
    """One line for an unknown scorer, or one that does not fit the task."""
    from sklearn.metrics import get_scorer

    if scoring is None:
        return
    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise CLIError(f"unknown --scoring {scoring!r}; use a scikit-learn scorer name such as "
                       "accuracy, balanced_accuracy, f1_macro, roc_auc (classification) or r2, "
                       "neg_mean_absolute_error, neg_root_mean_squared_error (regression); "
                       "sklearn.metrics.get_scorer_names() lists them all.") from None
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    kind = ("classification" if module.endswith(("_classification", "_ranking"))
            else "regression" if module.endswith("_regression") else None)
    if kind is not None and kind != task:
        raise CLIError(f"--scoring {scoring!r} is a {kind} metric, but the task is {task}.")


def _make_net(task, model, random_state, verbose=False):
    from .nets import NeuralNetClassifier, NeuralNetRegressor
    from .nets._callbacks import EpochLog
    from .nets.modules import ConvNet, ResidualMLP

    cls = NeuralNetClassifier if task == "classification" else NeuralNetRegressor
    module = {"mlp": None, "resmlp": ResidualMLP, "cnn": ConvNet}[model]
    return cls(module=module, epochs=_EPOCHS[model], random_state=random_state,
               callbacks=[EpochLog()] if verbose else None)


def _read_space(args, net):
    from .search.space_file import default_space, parse_space, read_space_file, space_parameters

    with _user_errors():
        if args.space is None:
            return parse_space(default_space(args.model), space_parameters(net),
                               source=f"the default {args.model} space")
        content = read_space_file(args.space)
        return parse_space(content, space_parameters(net), source=f"space file {args.space!r}")


def _check_image_features(args, spec, preprocessor, X):
    """``--model cnn`` needs a square image (unless the space fixes module__input_shape)."""
    from sklearn.base import clone

    if args.model != "cnn" or "module__input_shape" in spec.dimensions:
        return
    n = clone(preprocessor).fit_transform(X.iloc[:50]).shape[1]
    if math.isqrt(n) ** 2 != n:
        raise CLIError(f"--model cnn needs square single-channel images, but the data has {n} "
                       "features after preprocessing; use --model mlp, or set "
                       "module__input_shape in a --space file.")


def _make_search(args, pipe, spec, progress):
    """``(search, total fits or None)`` for ``--search``."""
    from joblib import effective_n_jobs
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from .search import BayesSearchCV, HyperbandSearchCV

    prefix = f"{_NET}__"
    common = {"scoring": args.scoring, "n_jobs": args.n_jobs, "cv": args.cv}
    n_iter = args.n_iter or 50
    if args.search == "bayes":
        n_points = max(1, min(effective_n_jobs(args.n_jobs), n_iter))
        search = BayesSearchCV(pipe, spec.bayes(prefix), n_iter=n_iter, n_points=n_points,
                               random_state=args.random_state, checkpoint=args.checkpoint,
                               callbacks=[progress.on_round], **common)
        return search, n_iter * args.cv
    if args.search == "random":
        search = RandomizedSearchCV(pipe, spec.distributions(prefix), n_iter=n_iter,
                                    random_state=args.random_state, **common)
        space_size = math.prod(d.n_values for d in spec.dimensions.values())
        return search, min(n_iter, space_size) * args.cv
    if args.search == "grid":
        return GridSearchCV(pipe, spec.grid_values(prefix), **common), \
            spec.n_grid_points() * args.cv
    rest, epochs = spec.without("epochs")
    if not rest.dimensions:
        raise CLIError("--search hyperband searches epochs itself: the space needs other "
                       "parameters than epochs.")
    min_epochs, max_epochs = 1, pipe.named_steps[_NET].epochs
    if epochs is not None:  # the space's epochs range: the first and the last rung's
        values = epochs.categories if hasattr(epochs, "categories") else (epochs.low,
                                                                          epochs.high)
        max_epochs = int(max(values))
        if len(set(values)) > 1:  # a fixed value leaves the first cut at 1 epoch
            min_epochs = int(min(values))
    search = HyperbandSearchCV(pipe, rest.bayes(prefix), max_epochs=max_epochs,
                               min_epochs=min_epochs,
                               factor=3, proposals="bayes", random_state=args.random_state,
                               checkpoint=args.checkpoint, callbacks=[progress.on_round],
                               **common)
    return search, _hyperband_fits(search)


def _hyperband_fits(search):
    """Fits of a Hyperband search: every (candidate, rung) x folds."""
    from .search._brackets import hyperband_brackets

    brackets = hyperband_brackets(search.max_epochs, search.min_epochs, search.factor,
                                  search.n_brackets)
    return search.cv * sum(rung.n_candidates for rungs in brackets for rung in rungs)


def _check_tune_args(args):
    _choice(args.model, _MODELS, "--model")
    _choice(args.search, _SEARCHES, "--search")
    if args.task is not None:
        _choice(args.task, _TASKS, "--task")
    if args.checkpoint is not None:
        if args.search not in ("bayes", "hyperband"):
            raise CLIError(f"--checkpoint works with --search bayes or hyperband, not "
                           f"{args.search}.")
        _output_path(args.checkpoint, "checkpoint")
    if args.report is not None:
        _output_path(args.report, "report", (".html", ".htm", ".md", ".markdown"))
    if args.save is not None:
        _output_path(args.save, "model file")


class _Printer:
    """Where ``tune`` writes: results on stdout, notes and warnings on stderr."""

    def __init__(self, args):
        self.args = args

    def out(self, text=""):
        if not (self.args.quiet or self.args.json):
            print(text, flush=True)

    def note(self, text):
        if not self.args.quiet:
            print(f"sktune {self.args.command}: {text}", file=sys.stderr, flush=True)

    def warnings(self, caught):
        seen = set()
        for w in caught:
            text = str(w.message).strip()
            text = text if self.args.verbose else text.splitlines()[0] if text else ""
            if text and text not in seen:
                seen.add(text)
                self.note(f"warning: {text}")


def _fit_search(args, search, data, progress, printer):
    from .exceptions import CheckpointMismatchError

    with warnings.catch_warnings(record=True) as caught, progress:
        try:
            fit_params = ({} if data.w_train is None
                          else {f"{_NET}__sample_weight": data.w_train})
            search.fit(data.X_train, data.y_train, **fit_params)
        except CheckpointMismatchError as exc:
            raise CLIError(str(exc).strip().splitlines()[0]) from None
        except (ValueError, TypeError) as exc:
            if args.verbose:
                raise
            raise CLIError(_failure_message(exc)) from None
    printer.warnings(caught)


def _failure_message(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception):", line)]
    if lines and "fits failed" in lines[0] and errors:
        return (f"{lines[0].split(';')[0].rstrip('.')}; the most frequent error: {errors[0]} "
                "(--verbose shows the traceback)")
    return (f"the search failed: {type(exc).__name__}: "
            f"{lines[0] if lines else ''} (--verbose shows the traceback)")


def _plain(value):
    """JSON-able ``value``: tuples as lists, numpy scalars as numbers, nan as null."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def run_tune(args):
    """Run ``sktune tune`` with parsed ``args``; 0 on success, :class:`CLIError` otherwise."""
    from sklearn.pipeline import Pipeline

    from ._progress import SearchProgress, progress_mode
    from .tabular import make_preprocessor, prepare

    started = time.perf_counter()
    printer = _Printer(args)
    _check_tune_args(args)
    if args.data is None and not args.print_space:
        args.usage_error("the following arguments are required: --data")
    if args.print_space:
        return _print_space(args.model)
    if args.n_iter is not None and args.search in ("grid", "hyperband"):
        printer.note(f"--n-iter does not apply to --search {args.search}; ignored.")
    with _user_errors():
        data = prepare(args.data, target=args.target, task=args.task,
                       test_size=args.test_size, cv=args.cv, random_state=args.random_state,
                       sample_weight=args.sample_weight)
    _check_scoring(args.scoring, data.task)
    preprocessor = make_preprocessor(data.X_train)
    net = _make_net(data.task, args.model, args.random_state, verbose=args.verbose)
    spec = _read_space(args, net)
    _check_image_features(args, spec, preprocessor, data.X_train)
    pipe = Pipeline([("preprocess", preprocessor), (_NET, net)])
    mode = progress_mode(quiet=args.quiet, verbose=args.verbose)
    progress = SearchProgress(None, mode=mode, description=f"{args.search} search")
    search, progress.total = _make_search(args, pipe, spec, progress)
    _describe_run(args, data, spec, progress.total, printer)
    loaded = time.perf_counter()
    _fit_search(args, search, data, progress, printer)
    searched = time.perf_counter()
    summary = _tune_results(args, search, data, printer)
    summary["timings"] = {"load_s": round(loaded - started, 3),
                          "search_s": round(searched - loaded, 3)}
    _tune_outputs(args, search, data, summary, printer)
    summary["timings"]["total_s"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(_plain(summary)))
    printer.out(f"done in {summary['timings']['total_s']:.1f} s")
    return 0


def _print_space(model):
    import yaml

    from .search.space_file import default_space

    print(f"# default search space of --model {model}; epochs is fixed at {_EPOCHS[model]} "
          "unless a space file gives it")
    for name, spec in default_space(model).items():
        flow = yaml.safe_dump(spec, default_flow_style=True, sort_keys=False, width=10**6)
        print(f"{name}: {flow.strip()}")
    return 0


def _describe_run(args, data, spec, total, printer):
    """The lines before the search: data, task (and why), search."""
    n_test = 0 if data.X_test is None else len(data.X_test)
    printer.out(f"data: {args.data}: {data.n_rows} rows, {len(data.features)} features, "
                f"target {data.target!r}; {n_test} rows held out for testing")
    if data.n_dropped:
        printer.note(f"dropped {data.n_dropped} rows without a target.")
    if data.sample_weight is not None:
        printer.out(f"training rows weighted by the column {data.sample_weight!r} (scores are "
                    "unweighted)")
    why = f" (inferred: {data.task_reason}; --task to override)" if data.task_reason else ""
    printer.out(f"task: {data.task}{why}")
    hyperband = args.search == "hyperband"
    n_params = len((spec.without("epochs")[0] if hyperband else spec).dimensions)
    fits = f"{total} fits" if total else "fits decided by its brackets"
    printer.out(f"search: {args.search} over {n_params} parameter{'s' * (n_params != 1)}"
                f"{' (and epochs, by Hyperband)' if hyperband else ''} of the {args.model} "
                f"network, {args.cv}-fold CV, {fits}, n_jobs={args.n_jobs}")


def _tune_results(args, search, data, printer):
    metric = args.scoring or _DEFAULT_METRIC[data.task]
    best = {k.split("__", 1)[1] if k.startswith(f"{_NET}__") else k: v
            for k, v in search.best_params_.items()}
    test_score = None
    if data.X_test is not None:
        test_score = float(search.score(data.X_test, data.y_test))
    results = search.cv_results_
    # Hyperband has a row per (candidate, rung), with the candidate's id
    n_candidates = len(set(results["candidate"]) if "candidate" in results
                       else results["params"])
    summary = {
        "command": "tune", "data": args.data, "target": data.target,
        "sample_weight": data.sample_weight, "task": data.task,
        "task_inferred": data.task_reason is not None, "n_rows": data.n_rows,
        "n_train": len(data.X_train), "n_test": 0 if data.X_test is None else len(data.X_test),
        "n_features": len(data.features), "model": args.model, "search": args.search,
        "scoring": metric, "cv": args.cv, "n_candidates": n_candidates,
        "best_params": best, "best_cv_score": float(search.best_score_),
        "test_score": test_score, "random_state": args.random_state,
        "refit_s": round(float(getattr(search, "refit_time_", 0.0)), 3),
        "paths": {"report": args.report, "model": args.save, "checkpoint": args.checkpoint},
    }
    printer.out(f"best CV {metric}: {search.best_score_:.4f} ({n_candidates} candidates)")
    if test_score is not None:
        printer.out(f"test {metric}:    {test_score:.4f} ({summary['n_test']} held-out rows)")
    printer.out("best parameters:")
    for name, value in best.items():
        printer.out(f"  {name} = {value.item() if hasattr(value, 'item') else value!r}")
    return summary


def _tune_outputs(args, search, data, summary, printer):
    from .persistence import save
    from .report import cv_report

    if args.report is not None:
        tick = time.perf_counter()
        _write_report(cv_report(search, data.X_test, data.y_test), args.report)
        summary["timings"]["report_s"] = round(time.perf_counter() - tick, 3)
        printer.out(f"wrote {args.report}")
    if args.save is not None:
        tick = time.perf_counter()
        if args.verbose:  # the epoch lines were for this run: the saved model trains quietly
            search.best_estimator_.named_steps[_NET].set_params(callbacks=None)
        metadata = {k: summary[k] for k in ("data", "target", "sample_weight", "task", "model",
                                            "search", "scoring", "test_score")}
        metadata["features"] = data.features
        with _user_errors():
            try:
                save(search, args.save, metadata=_plain(metadata))
            except OSError as exc:
                raise CLIError(f"cannot write {args.save!r}: {exc.strerror or exc}") from None
        summary["timings"]["save_s"] = round(time.perf_counter() - tick, 3)
        printer.out(f"wrote {args.save}")


