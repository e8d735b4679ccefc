"""``sktune report SEARCH_FILE [-o OUT] [--test-data FILE]``: a report of a saved search.

The search is a file of ``sktune tune --save`` or ``sktune.save`` (read
without pickle) or one saved with ``joblib.dump``; the report is HTML, or
markdown for a ``.md`` output.
"""

import os
import zipfile

from ._errors import CLIError, first_line, user_errors
from ._files import load_joblib, load_saved, write_report
from ._images import images_as_tuned, is_image_folder

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Declare ``report`` and its arguments."""
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
                        help="held-out (X_test, y_test) saved with joblib.dump, or, for a "
                        "search tuned on images, a folder of images in class folders, to add "
                        "test metrics of the refitted best model")
    parser.add_argument("--pareto-axes", type=_axes, default=None, metavar="X,Y",
                        help="for a search with several objectives: the two objectives the "
                        "Pareto front's plot shows, x then y (default: the first two)")
    parser.set_defaults(run=run)


def _axes(text):
    import argparse

    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names):
        raise argparse.ArgumentTypeError(f"expected two objectives as X,Y such as "
                                         f"neg_n_parameters,accuracy; got {text!r}")
    return tuple(names)


def _test_data(obj, path):
    if isinstance(obj, dict) and {"X", "y"} <= set(obj):
        return obj["X"], obj["y"]
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return obj[0], obj[1]
    raise CLIError(
        f"test data {path!r} must hold (X_test, y_test) or {{'X': ..., 'y': ...}}, "
        f"saved with joblib.dump; it holds a {type(obj).__name__}."
    )


def _test_images(folder, search_file):
    from ..persistence import load_metadata

    with user_errors():
        metadata = load_metadata(search_file) if zipfile.is_zipfile(search_file) else {}
        X, _, y = images_as_tuned(folder, metadata)
    return X, y


def run(args):
    """Run ``sktune report`` with parsed ``args``; 0 on success."""
    from sklearn.exceptions import NotFittedError

    from ..report import cv_report

    output = args.output or os.path.splitext(args.search_file)[0] + ".html"
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {output!r}: the folder {folder!r} does not exist.")
    if os.path.isfile(args.search_file) and zipfile.is_zipfile(args.search_file):
        search = load_saved(args.search_file, "search file")
    else:
        search = load_joblib(args.search_file, "search file")
    X_test = y_test = None
    if args.test_data is not None and is_image_folder(args.test_data):
        X_test, y_test = _test_images(args.test_data, args.search_file)
    elif args.test_data is not None:
        X_test, y_test = _test_data(load_joblib(args.test_data, "test data"), args.test_data)
    try:
        report = cv_report(search, X_test, y_test, pareto_axes=args.pareto_axes)
    except (TypeError, ValueError, NotFittedError, ImportError) as exc:
        raise CLIError(f"{args.search_file}: {first_line(exc)}") from None
    write_report(report, output)
    print(f"wrote {output}")
    return 0
