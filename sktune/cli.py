"""The ``sktune`` command line: ``sktune SUBCOMMAND ...`` or ``python -m sktune ...``.

Subcommands:

- ``tune --data DATA ...``: tune a network (in a pipeline with the
  preprocessing) on a table, with a held-out test split; optionally write a
  report and save the tuned model.
- ``predict MODEL DATA [-o OUT]``: predictions of a model saved by
  ``tune --save``.
- ``report SEARCH_FILE [-o OUT] [--test-data FILE]``: a cross-validation
  report (HTML, or markdown for a ``.md`` output) of a fitted search saved by
  ``tune --save`` (or ``sktune.save``) or with ``joblib.dump``.

Each subcommand is one ``_add_<name>`` function (its arguments) and one
``_run_<name>`` function (its work); errors the user can fix are raised as
:class:`CLIError` and printed as one line, without a traceback. See
``docs/cli.md``.
"""

import argparse
import os
import sys
import zipfile
from contextlib import contextmanager

__all__ = ["main"]


class CLIError(Exception):
    """A problem with the command's input, reported as one line on stderr."""


@contextmanager
def _user_errors():
    """Turn the errors of sktune's data, space and file helpers into :class:`CLIError`."""
    from .exceptions import PersistenceError
    from .search.space_file import SpaceFileError
    from .tabular import DataError

    try:
        yield
    except (DataError, SpaceFileError, PersistenceError) as exc:
        raise CLIError(str(exc).strip().splitlines()[0]) from None


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load(path, what):
    """``joblib.load`` a file, with one-line errors."""
    import joblib

    if not os.path.exists(path):
        raise CLIError(f"{what} {path!r} does not exist.")
    if os.path.isdir(path):
        raise CLIError(f"{what} {path!r} is a directory, not a file saved with joblib.dump.")
    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; name the file and cause
        detail = str(exc).splitlines()[0] if str(exc) else ""
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        raise CLIError(f"could not load {what} {path!r} with joblib.load ({reason}); "
                       "save it with joblib.dump(obj, path).") from None


def _load_saved(path, what):
    """``sktune.load`` a file, with one-line errors."""
    from .persistence import load

    if not os.path.isfile(path):
        raise CLIError(f"{what} {path!r} does not exist"
                       f"{' (it is a directory)' if os.path.isdir(path) else ''}.")
    with _user_errors():
        return load(path)


def _test_data(obj, path):
    if isinstance(obj, dict) and {"X", "y"} <= set(obj):
        return obj["X"], obj["y"]
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return obj[0], obj[1]
    raise CLIError(
        f"test data {path!r} must hold (X_test, y_test) or {{'X': ..., 'y': ...}}, "
        f"saved with joblib.dump; it holds a {type(obj).__name__}."
    )


def _output_path(path, what, suffixes=None):
    """Check (and create the folder of) a file to write, before any long work."""
    if suffixes and not path.lower().endswith(suffixes):
        raise CLIError(f"{what} {path!r} must end in {' or '.join(suffixes)}.")
    if os.path.isdir(path):
        raise CLIError(f"cannot write {what} {path!r}: it is a directory.")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the folder {folder!r} for {path!r}: "
                       f"{exc.strerror or exc}") from None


def _write_report(report, output):
    try:
        if output.lower().endswith((".md", ".markdown")):
            with open(output, "w", encoding="utf-8") as f:
                f.write(report.to_markdown())
        else:
            report.to_html(output)
    except OSError as exc:
        raise CLIError(f"cannot write {output!r}: {exc.strerror or exc}") from None


# -- report -------------------------------------------------------------------------------
def _add_report(subparsers):
    parser = subparsers.add_parser(
        "report", help="cross-validation report of a fitted search",
        description="Write a cross-validation report of a fitted hyperparameter search: a "
        "file written by 'sktune tune --save' or sktune.save (read without pickle), or a "
        "search saved with joblib.dump (GridSearchCV, RandomizedSearchCV, halving searches, "
        "BayesSearchCV; loading unpickles it: only load files you trust).",
    )
    parser.add_argument("search_file", metavar="SEARCH_FILE",
                        help="fitted search saved by 'sktune tune --save', sktune.save or "
                        "joblib.dump")
    parser.add_argument("-o", "--output", default=None, metavar="OUT",
                        help="where to write the report: .html (default) or .md for "
                        "markdown; default: SEARCH_FILE with the extension .html")
    parser.add_argument("--test-data", default=None, metavar="FILE",
                        help="held-out (X_test, y_test) saved with joblib.dump, to add "
                        "test metrics of the refitted best model")
    parser.set_defaults(run=_run_report)


def _run_report(args):
    from sklearn.exceptions import NotFittedError

    from .report import cv_report

    output = args.output or os.path.splitext(args.search_file)[0] + ".html"
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {output!r}: the folder {folder!r} does not exist.")
    if os.path.isfile(args.search_file) and zipfile.is_zipfile(args.search_file):
        search = _load_saved(args.search_file, "search file")
    else:
        search = _load(args.search_file, "search file")
    X_test = y_test = None
    if args.test_data is not None:
        X_test, y_test = _test_data(_load(args.test_data, "test data"), args.test_data)
    try:
        report = cv_report(search, X_test, y_test)
    except (TypeError, ValueError, NotFittedError, ImportError) as exc:
        raise CLIError(f"{args.search_file}: {_first_line(exc)}") from None
    _write_report(report, output)
    print(f"wrote {output}")
    return 0


# -- tune ---------------------------------------------------------------------------------
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


def _share(text):
    value = _number(text, float, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _add_tune(subparsers):
    parser = subparsers.add_parser(
        "tune", help="tune a network on a table (CSV, Parquet or a bundled dataset)",
        description="Tune an sktune network on a table: the columns are preprocessed "
        "(numeric: median imputation and scaling; text/bool: most-frequent imputation and "
        "one-hot encoding) in a pipeline with the network, a test split is held out, and "
        "the pipeline's hyperparameters are searched with cross-validation on the rest. "
        "Progress goes to stderr; results to stdout. See docs/cli.md.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="DATA",
                      help="a .csv/.tsv/.parquet file, or a dataset bundled with "
                      "scikit-learn: digits, iris, wine, breast_cancer, diabetes")
    data.add_argument("--target", metavar="COL",
                      help="the target column (default for bundled datasets: 'target')")
    data.add_argument("--sample-weight", metavar="COL",
                      help="a column of non-negative row weights: not a feature; each training "
                      "row's loss counts that many times (CV and test scores stay unweighted)")
    data.add_argument("--task", metavar="TASK",
                      help="classification or regression; default: inferred from the target "
                      "(regression for numbers with fractions or more than 20 distinct values)")
    data.add_argument("--test-size", type=_share, default=0.2, metavar="F",
                      help="share of rows held out for test metrics, stratified for "
                      "classification; 0 for none (default: %(default)s)")
    search = parser.add_argument_group("search")
    search.add_argument("--model", default="mlp", metavar="MODEL",
                        help="mlp (default), resmlp (residual MLP) or cnn (ConvNet, for "
                        "square single-channel images such as digits)")
    search.add_argument("--search", default="bayes", metavar="SEARCH",
                        help="bayes (default; BayesSearchCV), random (RandomizedSearchCV), "
                        "grid (GridSearchCV over the space's grid values) or hyperband "
                        "(HyperbandSearchCV over epochs)")
    search.add_argument("--space", metavar="SPACE",
                        help="search space file (.yaml/.yml/.json) of network parameters; "
                        "default: the model's space (see --print-space)")
    search.add_argument("--n-iter", type=_positive_int, default=None, metavar="N",
                        help="candidates to evaluate with bayes and random (default: 50); "
                        "does not apply to grid (the grid decides) or hyperband (its "
                        "brackets decide)")
    search.add_argument("--cv", type=_folds, default=3, metavar="K",
                        help="cross-validation folds (default: %(default)s)")
    search.add_argument("--scoring", metavar="METRIC",
                        help="a scikit-learn scorer name (default: accuracy for "
                        "classification, r2 for regression)")
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
    outputs.add_argument("--json", action="store_true",
                         help="print one JSON summary on stdout, and nothing else there")
    chatter = outputs.add_mutually_exclusive_group()
    chatter.add_argument("-q", "--quiet", action="store_true",
                         help="print nothing but errors (and the --json summary if asked)")
    chatter.add_argument("-v", "--verbose", action="store_true",
                         help="progress lines even when stderr is not a terminal, full "
                         "warnings, and tracebacks of failures")
    outputs.add_argument("--print-space", action="store_true",
                         help="print the model's default search space as YAML and exit")
    parser.set_defaults(run=_run_tune, usage_error=parser.error)


def _run_tune(args):
    from ._tune import run_tune

    return run_tune(args)


# -- predict ------------------------------------------------------------------------------
def _add_predict(subparsers):
    parser = subparsers.add_parser(
        "predict", help="predictions of a model saved by 'sktune tune --save'",
        description="Predict with a model saved by 'sktune tune --save' (or sktune.save): "
        "read without pickle. DATA needs the columns the model was trained on; it may also "
        "hold the target column (then, with -o, the score on DATA is printed).")
    parser.add_argument("model", metavar="MODEL", help="file written by 'sktune tune --save'")
    parser.add_argument("data", metavar="DATA",
                        help="a .csv/.tsv/.parquet file or a bundled dataset's name")
    parser.add_argument("-o", "--output", default="-", metavar="OUT",
                        help="where to write the predictions: .csv or .parquet; - for "
                        "CSV on stdout (default)")
    parser.add_argument("--proba", action="store_true",
                        help="add each class's probability (classifiers), columns "
                        "proba_<class>")
    parser.add_argument("--target", metavar="COL",
                        help="the target column DATA may hold (default: the one the model "
                        "was tuned for)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=_run_predict)


def _model_and_features(path):
    from .persistence import load_metadata

    saved = _load_saved(path, "model file")
    model = getattr(saved, "best_estimator_", saved)
    if not hasattr(model, "predict") or hasattr(model, "cv_results_"):
        raise CLIError(f"{path!r} holds a search without a refitted model (refit=False).")
    with _user_errors():
        metadata = load_metadata(path)
    features = metadata.get("features")
    if features is None:
        first = model.steps[0][1] if hasattr(model, "steps") else model
        names = getattr(first, "feature_names_in_", None)
        features = None if names is None else [str(n) for n in names]
    return model, features, metadata


def _run_predict(args):
    import pandas as pd

    from ._tune import _DEFAULT_METRIC
    from .tabular import load_table, select_features

    output = args.output
    if output != "-":
        _output_path(output, "output", (".csv", ".parquet"))
    model, features, metadata = _model_and_features(args.model)
    target = args.target or metadata.get("target")
    is_classifier = hasattr(model, "classes_")
    if args.proba and not (is_classifier and hasattr(model, "predict_proba")):
        raise CLIError("--proba needs a classifier; this model is a regressor.")
    with _user_errors():
        frame, _ = load_table(args.data)
        if features is None:  # a model fitted on unnamed columns: all but the target
            features = [str(c) for c in frame.columns if str(c) != target]
        X = select_features(frame, features, target, metadata.get("sample_weight"))
    try:
        result = pd.DataFrame({"prediction": model.predict(X)})
        if args.proba:
            proba = model.predict_proba(X)
            for i, label in enumerate(model.classes_):
                result[f"proba_{label}"] = proba[:, i]
    except ValueError as exc:
        raise CLIError(f"the model cannot predict on {args.data!r}: {_first_line(exc)}") from None
    if output == "-":
        result.to_csv(sys.stdout, index=False)
        return 0
    try:
        if output.lower().endswith(".parquet"):
            result.to_parquet(output, index=False)
        else:
            result.to_csv(output, index=False)
    except (OSError, ImportError) as exc:
        raise CLIError(f"cannot write {output!r}: {_first_line(exc)}") from None
    if not args.quiet:
        print(f"wrote {len(result)} predictions to {output}")
        if target is not None and target in [str(c) for c in frame.columns]:
            y = frame.set_axis([str(c) for c in frame.columns], axis=1)[target]
            if y.notna().all():
                metric = _DEFAULT_METRIC["classification" if is_classifier else "regression"]
                print(f"{metric} on {args.data}: {model.score(X, y):.4f}")
    return 0


# -- entry point --------------------------------------------------------------------------
def _parser():
    parser = argparse.ArgumentParser(
        prog="sktune", description="sktune command line tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _add_tune(subparsers)
    _add_predict(subparsers)
    _add_report(subparsers)
    return parser


def main(argv=None):
    """Run the ``sktune`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 when the command failed (one line on stderr), 2 for
        invalid arguments (argparse's usage message), 130 when interrupted
        (Ctrl-C).

    Examples
    --------
    >>> from sktune.cli import main
    >>> main(["report", "no-such-file.joblib"])
    1
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except CLIError as exc:
        print(f"sktune {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        checkpoint = getattr(args, "checkpoint", None)
        hint = f"; resume with --checkpoint {checkpoint}" if checkpoint else ""
        print(f"sktune {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
