"""Import the optional report dependencies (pandas, matplotlib) on first use.

``import sktune`` must not import matplotlib, so the report modules call these
helpers inside functions; a missing extra raises an ImportError that says
what to install.
"""

import importlib

_INSTALL_HINT = 'pip install "sktune[report]"'


def require(module):
    """Import ``module`` (e.g. ``'pandas'``), or say how to install the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(
            f"sktune reports need {top}, which is not installed: {_INSTALL_HINT} "
            "installs the report extras (matplotlib and pandas)."
        ) from exc


def figure_class():
    """``matplotlib.figure.Figure``, without pyplot (the user's backend is untouched)."""
    require("matplotlib")
    return importlib.import_module("matplotlib.figure").Figure
