"""Errors of the command line: what the user can fix, printed as one line.

Every subcommand raises :class:`CLIError` for a problem with its input;
:func:`sktune.cli.main` prints it as ``sktune COMMAND: error: ...`` and
returns 1, without a traceback. :func:`user_errors` turns the errors of the
command line's data, space-file and persistence helpers into it.
"""

from contextlib import contextmanager

__all__ = ["CLIError", "user_errors", "first_line"]


class CLIError(Exception):
    """A problem with the command's input, reported as one line on stderr."""


@contextmanager
def user_errors():
    """Turn the errors of the data, space and file helpers into :class:`CLIError`."""
    from ..exceptions import PersistenceError
    from ._space_file import SpaceFileError
    from ._tables import DataError

    try:
        yield
    except (DataError, SpaceFileError, PersistenceError) as exc:
        raise CLIError(first_line(exc)) from None


def first_line(exc):
    """The first line of ``exc``'s message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
