"""Files the subcommands read and write, with one-line errors.

Reading: :func:`load_joblib` (a search or test data saved with
``joblib.dump``) and :func:`load_saved` (a file of ``sktune.save``).
Writing: :func:`output_path` checks a path before any long work,
:func:`write_report` writes a report as HTML or markdown.
"""

import os

from ._errors import CLIError, user_errors

__all__ = ["load_joblib", "load_saved", "output_path", "write_report"]


def load_joblib(path, what):
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


def load_saved(path, what):
    """``sktune.load`` a file, with one-line errors."""
    from ..persistence import load

    if not os.path.isfile(path):
        raise CLIError(f"{what} {path!r} does not exist"
                       f"{' (it is a directory)' if os.path.isdir(path) else ''}.")
    with user_errors():
        return load(path)


def output_path(path, what, suffixes=None):
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


def write_report(report, output):
    """Write a :class:`~sktune.report.CVReport`: markdown for ``.md``, else HTML."""
    try:
        if output.lower().endswith((".md", ".markdown")):
            with open(output, "w", encoding="utf-8") as f:
                f.write(report.to_markdown())
        else:
            report.to_html(output)
    except OSError as exc:
        raise CLIError(f"cannot write {output!r}: {exc.strerror or exc}") from None
