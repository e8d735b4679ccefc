"""``python -m sktune``: the command line (see :mod:`sktune.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
