"""The ``sktune`` command line: ``sktune SUBCOMMAND ...`` or ``python -m sktune ...``.

Subcommands, one module each (an ``add_parser`` declaring its arguments and a
``run`` doing its work):

- ``tune --data DATA ...`` (``_tune``): tune a network (in a pipeline with
  the preprocessing) on a table, with a held-out test split; optionally
  write a report and save the tuned model.
- ``predict MODEL DATA [-o OUT]`` (``_predict``): predictions of a model
  saved by ``tune --save``.
- ``report SEARCH_FILE [-o OUT] [--test-data FILE]`` (``_report``): a
  cross-validation report (HTML, or markdown for a ``.md`` output) of a
  fitted search saved by ``tune --save`` (or ``sktune.save``) or with
  ``joblib.dump``.

The pieces they share: ``_tables`` (reading ``DATA``, the target, the
preprocessing), ``_space_file`` (search spaces as YAML/JSON files and each
model's default space), ``_build`` (the network, space and search that
``tune``'s options ask for), ``_progress`` (the progress of a search on
stderr), ``_files`` (files read and written) and ``_errors``: a problem
the user can fix is raised as ``CLIError`` and printed as one line, without
a traceback. The library never imports this package. See ``docs/cli.md``.
"""

import argparse
import sys

from . import _predict, _report, _tune
from ._errors import CLIError

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="sktune", description="sktune command line tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in (_tune, _predict, _report):
        command.add_parser(subparsers)
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
    except BrokenPipeError:
        # The reader of stdout left (`sktune predict ... | head`): not an error of
        # ours. Point stdout at nothing so that Python's exit flush stays quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
