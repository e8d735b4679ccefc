"""The version of sktune, for saved files and reports (pyproject.toml states it too)."""

__version__ = "0.1.0.dev0"
