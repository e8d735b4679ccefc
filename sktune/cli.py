"""The ``sktune`` command line: ``python -m sktune SUBCOMMAND ...``.

Subcommands:

- ``report SEARCH_FILE [-o OUT] [--test-data FILE]``: a cross-validation
  report (HTML, or markdown for a ``.md`` output) of a fitted search saved
  with ``joblib.dump``.

Each subcommand is one ``_add_<name>`` function (its arguments) and one
``_run_<name>`` function (its work); errors the user can fix are raised as
:class:`CLIError` and printed as one line, without a traceback.
"""

import argparse
import os
import sys

__all__ = ["main"]


class CLIError(Exception):
    """A problem with the command's input, reported as one line on stderr."""


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


def _test_data(obj, path):
    if isinstance(obj, dict) and {"X", "y"} <= set(obj):
        return obj["X"], obj["y"]
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return obj[0], obj[1]
    raise CLIError(
        f"test data {path!r} must hold (X_test, y_test) or {{'X': ..., 'y': ...}}, "
        f"saved with joblib.dump; it holds a {type(obj).__name__}."
    )


# -- report -------------------------------------------------------------------------------
def _add_report(subparsers):
    parser = subparsers.add_parser(
        "report", help="cross-validation report of a fitted search",
        description="Write a cross-validation report of a fitted hyperparameter search "
        "saved with joblib.dump (GridSearchCV, RandomizedSearchCV, halving searches, "
        "BayesSearchCV). Loading unpickles the file: only load files you trust.",
    )
    parser.add_argument("search_file", metavar="SEARCH_FILE",
                        help="fitted search saved with joblib.dump")
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
    search = _load(args.search_file, "search file")
    X_test = y_test = None
    if args.test_data is not None:
        X_test, y_test = _test_data(_load(args.test_data, "test data"), args.test_data)
    try:
        report = cv_report(search, X_test, y_test)
    except (TypeError, ValueError, NotFittedError, ImportError) as exc:
        raise CLIError(f"{args.search_file}: {str(exc).splitlines()[0]}") from None
    try:
        if output.lower().endswith((".md", ".markdown")):
            with open(output, "w", encoding="utf-8") as f:
                f.write(report.to_markdown())
        else:
            report.to_html(output)
    except OSError as exc:
        raise CLIError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    print(f"wrote {output}")
    return 0


# -- entry point --------------------------------------------------------------------------
def _parser():
    parser = argparse.ArgumentParser(
        prog="sktune", description="sktune command line tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
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
        invalid arguments (argparse's usage message).

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
