"""``sktune tune --data DATA ...``: tune a network on a table, with a held-out test split.

:func:`add_parser` declares the options; :func:`run` loads the table
(:mod:`sktune.cli._tables`), builds the pipeline ``preprocess -> net`` and the
search the options ask for (:mod:`sktune.cli._build`), fits it with progress
on stderr (:mod:`sktune.cli._progress`), and writes the summary, the report
and the model file.
"""

import argparse
import json
import math
import re
import sys
import time
import warnings

from ._build import (DEFAULT_METRIC, EPOCHS, MODELS, NET, SEARCHES, TASKS, TEXT_MODELS,
                     check_image_features, check_scoring, make_net, make_search, read_space)
from ._errors import CLIError, first_line, user_errors
from ._files import output_path, write_report
from ._images import is_image_folder, parse_image_size, prepare_images
from ._objectives import check_objectives, front_rows, parse_objectives

__all__ = ["add_parser", "run"]


def _choice(value, choices, option):
    if value not in choices:
        raise CLIError(f"unknown {option} {value!r}; choose one of {', '.join(choices)}.")
    return value


# -- arguments ----------------------------------------------------------------------------
def _number(text, cast, expected):
    """``cast(text)``, or argparse's error saying what was ``expected``."""
    try:
        return cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _positive_int(text):
    value = _number(text, int, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def _image_size(text):
    try:
        return parse_image_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _folds(text):
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds, got {text}")
    return value


def _n_jobs(text):
    value = _number(text, int, "an integer")
    if value == 0:
        raise argparse.ArgumentTypeError("0 workers: use 1, more, or -1 for every core")
    return value


def _duration(text):
    from ..search.callbacks import parse_duration

    try:
        seconds = parse_duration(text)
        if seconds > 0:
            return seconds
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected a time such as 90 (seconds), 90s, 10m or 1h, got {text!r}")


def _share(text):
    value = _number(text, float, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def add_parser(subparsers):
    """Declare ``tune`` and its arguments."""
    parser = subparsers.add_parser(
        "tune", help="tune a network on a table (CSV, Parquet or a bundled dataset) or an "
        "image folder",
        description="Tune an sktune network on a table: the columns are preprocessed "
        "(numeric: median imputation and scaling; text/bool: most-frequent imputation and "
        "one-hot encoding) in a pipeline with the network, a test split is held out, and "
        "the pipeline's hyperparameters are searched with cross-validation on the rest. "
        "Progress goes to stderr; results to stdout. See docs/cli.md.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="DATA",
                      help="a .csv/.tsv/.parquet file, a dataset bundled with "
                      "scikit-learn (digits, iris, wine, breast_cancer, diabetes), or a folder "
                      "of images in class folders, DATA/<class>/<file> (with --model cnn)")
    data.add_argument("--target", metavar="COL",
                      help="the target column (default for bundled datasets: 'target')")
    data.add_argument("--sample-weight", metavar="COL",
                      help="a column of non-negative row weights: not a feature; each training "
                      "row's loss counts that many times (CV and test scores stay unweighted)")
    data.add_argument("--task", metavar="TASK",
                      help="classification or regression; default: inferred from the target "
                      "(regression for numbers with fractions or more than 20 distinct values)")
    data.add_argument("--image-size", type=_image_size, default=None, metavar="HxW",
                      help="image folders: resize every image to this size, e.g. 32 or 32x48 "
                      "(default: the files' own size, which must then be the same for all)")
    data.add_argument("--num-workers", type=_non_negative_int, default=0, metavar="N",
                      help="image folders: processes that read images while the network "
                      "trains (the estimators' num_workers; default: %(default)s)")
    data.add_argument("--text-column", metavar="COL",
                      help="a column of raw text to classify or regress on with --model "
                      "transformer or rnn: a word tokenizer learns its vocabulary on each "
                      "training fold (the table's other feature columns are not used)")
    data.add_argument("--max-length", type=_positive_int, default=128, metavar="N",
                      help="text: tokens kept per text (default: %(default)s)")
    data.add_argument("--vocab-size", type=_positive_int, default=10000, metavar="N",
                      help="text: words in the vocabulary, padding and unknown included "
                      "(default: %(default)s)")
    data.add_argument("--test-size", type=_share, default=0.2, metavar="F",
                      help="share of rows held out for test metrics, stratified for "
                      "classification; 0 for none (default: %(default)s)")
    search = parser.add_argument_group("search")
    search.add_argument("--model", default=None, metavar="MODEL",
                        help="mlp (default), resmlp (residual MLP), cnn (ConvNet, for "
                        "square single-channel images such as digits), or transformer "
                        "(default with --text-column) or rnn for text")
    search.add_argument("--search", default="bayes", metavar="SEARCH",
                        help="bayes (default; BayesSearchCV), random (RandomizedSearchCV), "
                        "grid (GridSearchCV over the space's grid values) or hyperband "
                        "(HyperbandSearchCV over epochs)")
    search.add_argument("--space", metavar="SPACE",
                        help="search space file (.yaml/.yml/.json) of network parameters; "
                        "default: the model's space (see --print-space)")
    search.add_argument("--n-iter", type=_positive_int, default=None, metavar="N",
                        help="candidates to evaluate with bayes and random (default: 50, "
                        "or as many as --time-budget allows); does not apply to grid (the "
                        "grid decides) or hyperband (its brackets decide)")
    search.add_argument("--time-budget", type=_duration, default=None, metavar="T",
                        help="stop the search once this much time has passed: 90 (seconds), "
                        "90s, 10m or 1h; the fits running then finish, the refit follows. "
                        "bayes: as many candidates as fit (or --n-iter at most); hyperband: "
                        "Hyperband iterations one after the other until the budget is spent; "
                        "random: quasi-random candidates on sktune's scheduler, which can "
                        "stop (RandomizedSearchCV cannot)")
    search.add_argument("--cv", type=_folds, default=3, metavar="K",
                        help="cross-validation folds (default: %(default)s)")
    search.add_argument("--scoring", metavar="METRIC",
                        help="a scikit-learn scorer name (default: accuracy for "
                        "classification, r2 for regression)")
    search.add_argument("--objectives", type=parse_objectives, default=None, metavar="M1,M2",
                        help="search several objectives at once (bayes): scikit-learn scorer "
                        "names (maximised), neg_n_parameters (the network's size) or "
                        "fit_time / score_time (minimised), e.g. accuracy,neg_n_parameters; "
                        "the first score ranks the candidates and picks the refitted model, "
                        "the summary lists the Pareto front")
    search.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="J",
                        help="parallel fits, -1 for every core (default: %(default)s)")
    search.add_argument("--random-state", type=int, default=0, metavar="S",
                        help="seed of the split, the search and the networks "
                        "(default: %(default)s)")
    search.add_argument("--checkpoint", metavar="PATH",
                        help="resumable search (bayes, hyperband): finished rounds are "
                        "stored in this file; rerun the same command to resume")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--report", metavar="OUT",
                         help="write a cross-validation report with test metrics "
                         "(.html, or .md for markdown)")
    outputs.add_argument("--save", metavar="MODEL",
                         help="save the search and its refitted best pipeline with "
                         "sktune.save (no pickle), for 'sktune predict' and 'sktune report'")
    outputs.add_argument("--tensorboard", metavar="DIR",
                         help="log every fit (per-epoch losses, scores, lr) and every "
                         "candidate (an HParams session with its CV scores) to TensorBoard "
                         "under DIR; then run: tensorboard --logdir DIR")
    outputs.add_argument("--json", action="store_true",
                         help="print one JSON summary on stdout, and nothing else there")
    chatter = outputs.add_mutually_exclusive_group()
    chatter.add_argument("-q", "--quiet", action="store_true",
                         help="print nothing but errors (and the --json summary if asked)")
    chatter.add_argument("-v", "--verbose", action="store_true",
                         help="progress lines even when stderr is not a terminal, full "
                         "warnings, and tracebacks of failures")
    outputs.add_argument("--print-space", action="store_true",
                         help="print the model's default search space as YAML and exit "
                         "(with --data DIR, the space for that image folder)")
    parser.set_defaults(run=run, usage_error=parser.error)


# -- the run ----------------------------------------------------------------------------
#: Candidates of the Pareto front listed in the summary (the JSON has them all).
_FRONT_LINES = 8


def _check_tune_args(args):
    if args.model is None:
        args.model = "transformer" if args.text_column is not None else "mlp"
    _choice(args.model, MODELS, "--model")
    if args.text_column is not None and args.model not in TEXT_MODELS:
        raise CLIError(f"--text-column reads text: tune it with --model transformer or rnn "
                       f"(not {args.model}).")
    if args.text_column is None and args.model in TEXT_MODELS and not args.print_space:
        raise CLIError(f"--model {args.model} reads text: name the column with "
                       "--text-column COL.")
    if args.text_column is not None and args.vocab_size < 3:
        raise CLIError("--vocab-size must be at least 3 (padding, unknown and one word).")
    _choice(args.search, SEARCHES, "--search")
    if args.task is not None:
        _choice(args.task, TASKS, "--task")
    if args.time_budget is not None and args.search == "grid":
        raise CLIError("--time-budget works with --search bayes, random or hyperband; a grid "
                       "search evaluates its whole grid (use --search random to sample it "
                       "within a budget).")
    if args.checkpoint is not None:
        if args.search not in ("bayes", "hyperband"):
            raise CLIError(f"--checkpoint works with --search bayes or hyperband, not "
                           f"{args.search}.")
        output_path(args.checkpoint, "checkpoint")
    if args.report is not None:
        output_path(args.report, "report", (".html", ".htm", ".md", ".markdown"))
    if args.save is not None:
        output_path(args.save, "model file")
    if args.tensorboard is not None:
        try:
            import tensorboard  # noqa: F401  (torch writes; tensorboard's protobufs needed)
        except ImportError:
            raise CLIError("--tensorboard needs tensorboard: pip install "
                           "\"sktune[tensorboard]\".") from None


def _check_data_args(args, images):
    """Options that only tables, or only image folders, take."""
    if images and args.text_column is not None:
        raise CLIError("--text-column applies to a table given as --data, not to an image "
                       "folder.")
    if images:
        if args.model != "cnn":
            raise CLIError(f"{args.data!r} is a folder of images: tune it with --model cnn "
                           f"(not {args.model}).")
        given = [f"--{name.replace('_', '-')}" for name in ("target", "sample_weight")
                 if getattr(args, name) is not None]
        if args.task not in (None, "classification"):
            given.append("--task regression")
        if given:
            verb = "does" if len(given) == 1 else "do"
            raise CLIError(f"{' and '.join(given)} {verb} not apply to an image folder (the "
                           "labels are its class folders' names).")
    elif args.image_size is not None:
        raise CLIError("--image-size applies to an image folder given as --data, not to a "
                       "table.")


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
    from ..exceptions import CheckpointMismatchError

    with warnings.catch_warnings(record=True) as caught, progress:
        try:
            fit_params = ({} if data.w_train is None
                          else {f"{NET}__sample_weight": data.w_train})
            search.fit(data.X_train, data.y_train, **fit_params)
        except CheckpointMismatchError as exc:
            raise CLIError(first_line(exc)) from None
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


def run(args):
    """Run ``sktune tune`` with parsed ``args``; 0 on success, :class:`CLIError` otherwise."""
    from sklearn.pipeline import Pipeline

    from ._progress import SearchProgress, progress_mode
    from ._tables import make_preprocessor, prepare, text_only

    started = time.perf_counter()
    printer = _Printer(args)
    _check_tune_args(args)
    if args.data is None and not args.print_space:
        args.usage_error("the following arguments are required: --data")
    if args.print_space:
        return _print_space(args.model, images=args.data is not None
                            and is_image_folder(args.data))
    if args.n_iter is not None and args.search in ("grid", "hyperband"):
        printer.note(f"--n-iter does not apply to --search {args.search}; ignored.")
    images = is_image_folder(args.data)
    _check_data_args(args, images)
    with user_errors():
        if images:
            data = prepare_images(args.data, test_size=args.test_size, cv=args.cv,
                                  random_state=args.random_state, size=args.image_size)
        else:
            data = prepare(args.data, target=args.target, task=args.task,
                           test_size=args.test_size, cv=args.cv, random_state=args.random_state,
                           sample_weight=args.sample_weight)
        if args.text_column is not None:
            data, others = text_only(data, args.text_column)
            if others:
                printer.note(f"--text-column: the other feature column(s) {others} are not "
                             "used.")
    check_scoring(args.scoring, data.task)
    if args.objectives is not None:
        args.scoring = check_objectives(args, data.task)  # the first score objective ranks
    net = make_net(data.task, args.model, args.random_state, verbose=args.verbose,
                   images=images, num_workers=args.num_workers, vocab_size=args.vocab_size)
    spec = read_space(args, net, images=images)
    if images:  # the network reads the images as they are: no preprocessing step
        pipe = Pipeline([(NET, net)])
    elif args.text_column is not None:  # words -> ids, the vocabulary learnt per fold
        from ..text import Tokenizer

        pipe = Pipeline([("tokenizer", Tokenizer(vocab_size=args.vocab_size,
                                                 max_length=args.max_length)), (NET, net)])
    else:
        preprocessor = make_preprocessor(data.X_train)
        check_image_features(args, spec, preprocessor, data.X_train)
        pipe = Pipeline([("preprocess", preprocessor), (NET, net)])
    mode = progress_mode(quiet=args.quiet, verbose=args.verbose)
    progress = SearchProgress(None, mode=mode, description=f"{args.search} search")
    search, progress.total = make_search(args, pipe, spec, progress)
    if args.tensorboard is not None:
        from ..tracking import TensorBoardLogger

        logger = TensorBoardLogger(args.tensorboard)
        search.set_callbacks(logger)
    _describe_run(args, data, spec, progress.total, printer)
    loaded = time.perf_counter()
    _fit_search(args, search, data, progress, printer)
    searched = time.perf_counter()
    summary = _tune_results(args, search, data, searched - loaded, printer)
    summary["timings"] = {"load_s": round(loaded - started, 3),
                          "search_s": round(searched - loaded, 3)}
    report = _advice(args, search, data, printer, summary)
    _tune_outputs(args, search, data, summary, printer, report)
    if args.tensorboard is not None:
        summary["paths"]["tensorboard_run"] = logger.run_dir_
        printer.out(f"TensorBoard logs in {logger.run_dir_}; watch them with: "
                    f"tensorboard --logdir {args.tensorboard}")
    summary["timings"]["total_s"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(_plain(summary)))
    printer.out(f"done in {summary['timings']['total_s']:.1f} s")
    return 0


def _print_space(model, images=False):
    import yaml

    from ._space_file import default_space

    what = " on an image folder" if images else ""
    print(f"# default search space of --model {model}{what}; epochs is fixed at "
          f"{EPOCHS[model]} unless a space file gives it")
    for name, spec in default_space(model, images=images).items():
        flow = yaml.safe_dump(spec, default_flow_style=True, sort_keys=False, width=10**6)
        print(f"{name}: {flow.strip()}")
    return 0


def _describe_run(args, data, spec, total, printer):
    """The lines before the search: data, task (and why), search."""
    n_test = 0 if data.X_test is None else len(data.X_test)
    printer.out(f"data: {args.data}: {data.describe()}; {n_test} held out for testing")
    if data.n_dropped:
        printer.note(f"dropped {data.n_dropped} rows without a target.")
    if data.sample_weight is not None:
        printer.out(f"training rows weighted by the column {data.sample_weight!r} (scores are "
                    "unweighted)")
    why = f" (inferred: {data.task_reason}; --task to override)" if data.task_reason else ""
    printer.out(f"task: {data.task}{why}")
    hyperband = args.search == "hyperband"
    n_params = len((spec.without("epochs")[0] if hyperband else spec).dimensions)
    if args.time_budget is not None:
        from ..report._format import format_seconds

        fits = (f"as many fits as {format_seconds(args.time_budget)} allow"
                + (f" (at most {total})" if total else ""))
    else:
        fits = f"{total} fits" if total else "fits decided by its brackets"
    printer.out(f"search: {args.search} over {n_params} parameter{'s' * (n_params != 1)}"
                f"{' (and epochs, by Hyperband)' if hyperband else ''} of the {args.model} "
                f"network, {args.cv}-fold CV, {fits}, n_jobs={args.n_jobs}")


def _failed_fits(results):
    """``(failed, total)`` fits of a search: NaN test scores over every row and split."""
    import numpy as np

    scores = np.array([v for k, v in results.items()
                       if re.fullmatch(r"split\d+_test_score", k)], dtype=float)
    return int(np.isnan(scores).sum()), int(scores.size)


def _tune_results(args, search, data, search_seconds, printer):
    from ..report._format import format_seconds, full_repr

    metric = args.scoring or DEFAULT_METRIC[data.task]
    best = {k.split("__", 1)[1] if k.startswith(f"{NET}__") else k: v
            for k, v in search.best_params_.items()}
    test_score = test_rmse = None
    if data.X_test is not None:
        test_score = float(search.score(data.X_test, data.y_test))
        if data.task == "regression":
            from sklearn.metrics import root_mean_squared_error

            test_rmse = float(root_mean_squared_error(data.y_test,
                                                      search.predict(data.X_test)))
    results = search.cv_results_
    # Hyperband has a row per (candidate, rung), with the candidate's id
    n_candidates = len(set(results["candidate"]) if "candidate" in results
                       else results["params"])
    failed, n_fits = _failed_fits(results)
    summary = {
        "command": "tune", "data": args.data, "target": data.target,
        "sample_weight": data.sample_weight, "task": data.task,
        "task_inferred": data.task_reason is not None, "n_rows": data.n_rows,
        "n_train": len(data.X_train), "n_test": 0 if data.X_test is None else len(data.X_test),
        "n_features": data.n_features, "model": args.model, "search": args.search,
        "scoring": metric, "cv": args.cv, "n_candidates": n_candidates,
        "n_fits": n_fits, "n_failed_fits": failed,
        "best_params": best, "best_cv_score": float(search.best_score_),
        "test_score": test_score, "test_rmse": test_rmse, "random_state": args.random_state,
        "refit_s": round(float(getattr(search, "refit_time_", 0.0)), 3),
        "time_budget_s": args.time_budget,
        "stopped_by": getattr(search, "stopped_by_", None),
        "paths": {"report": args.report, "model": args.save, "checkpoint": args.checkpoint,
                  "tensorboard": args.tensorboard},
    }
    printer.out(f"searched {n_candidates} candidates in {format_seconds(search_seconds)}: "
                f"{n_fits} fits, {failed} failed")
    if args.time_budget is not None:
        searched = getattr(search, "search_time_", search_seconds)
        why = ("stopped by the budget" if getattr(search, "stopped_by_", None)
               else "the search ended first")
        printer.out(f"time budget {format_seconds(args.time_budget)}: "
                    f"{format_seconds(searched)} used "
                    f"({100 * searched / args.time_budget:.0f} %), {why}")
    printer.out(f"best CV {metric}: {search.best_score_:.4f}")
    if test_score is not None:
        printer.out(f"test {metric}:    {test_score:.4f} ({summary['n_test']} held out)")
    if test_rmse is not None:
        printer.out(f"test RMSE:  {full_repr(test_rmse)} (in the units of {data.target!r})")
    printer.out("best parameters:")
    for name, value in best.items():
        printer.out(f"  {name} = {full_repr(value)}")
    if args.objectives is not None:
        summary["objectives"] = list(args.objectives)
        summary["pareto_front"] = front_rows(search)
        _print_front(summary["pareto_front"], args.objectives, printer)
    return summary


def _print_front(rows, objectives, printer):
    from ..report._format import format_number

    printer.out(f"Pareto front: {len(rows)} candidate{'s' * (len(rows) != 1)} (no other is "
                "better on every objective), by " + objectives[0] + ":")
    for row in rows[:_FRONT_LINES]:
        values = ", ".join(f"{name} {format_number(row[name])}" for name in objectives)
        printer.out(f"  candidate {row['candidate']}: {values}")
    if len(rows) > _FRONT_LINES:
        printer.out(f"  ... {len(rows) - _FRONT_LINES} more (--json or --report lists them all)")


def _advice(args, search, data, printer, summary):
    """What to change next (the report's findings), printed and in the summary; the
    report is returned for --report to reuse. Without the report extra: none."""
    tick = time.perf_counter()
    try:
        from ..report import cv_report

        # the held-out metrics only when the report is written
        test = (data.X_test, data.y_test) if args.report is not None else (None, None)
        report = cv_report(search, *test)
    except ImportError:
        summary["advice"] = None
        return None
    # the network's parameters without the pipeline's prefix, as best_params
    findings = [f.replace(f"{NET}__", "") for f in report.advice()]
    summary["advice"] = findings
    summary["timings"]["advice_s"] = round(time.perf_counter() - tick, 3)
    if findings:
        printer.out("what to change next:")
        for finding in findings:
            printer.out(f"  - {finding}")
    return report


def _tune_outputs(args, search, data, summary, printer, report=None):
    from ..persistence import save

    if args.report is not None:
        tick = time.perf_counter()
        if report is None:
            from ..report import cv_report

            report = cv_report(search, data.X_test, data.y_test)
        write_report(report, args.report)
        summary["timings"]["report_s"] = round(time.perf_counter() - tick, 3)
        printer.out(f"wrote {args.report}")
    if args.save is not None:
        tick = time.perf_counter()
        if args.verbose:  # the epoch lines were for this run: the saved model trains quietly
            search.best_estimator_.named_steps[NET].set_params(callbacks=None)
        metadata = {k: summary[k] for k in ("data", "target", "sample_weight", "task", "model",
                                            "search", "scoring", "test_score")}
        metadata.update(data.metadata())
        with user_errors():
            try:
                save(search, args.save, metadata=_plain(metadata))
            except OSError as exc:
                raise CLIError(f"cannot write {args.save!r}: {exc.strerror or exc}") from None
        summary["timings"]["save_s"] = round(time.perf_counter() - tick, 3)
        printer.out(f"wrote {args.save}")


