"""Turn values into short, safe text: parameter values, scores, durations.

Every part of a report (tables, plot labels, markdown) formats through these
helpers, so a 200-character string or an estimator object as a parameter
value is shortened the same way everywhere.
"""

import math
import numbers
import re

import numpy as np

#: Longest parameter value shown in a table cell or plot label.
MAX_VALUE_CHARS = 40
_ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
_WHITESPACE = re.compile(r"\s+")


def is_missing(value):
    """Whether ``value`` marks a parameter a candidate does not set."""
    return value is _NOT_SET


class _NotSet:
    """Sentinel of a parameter absent from a candidate (another sub-grid's)."""

    def __repr__(self):
        return "(not set)"

    def __reduce__(self):
        return (_not_set, ())


def _not_set():
    return _NOT_SET


_NOT_SET = _NotSet()


def full_repr(value):
    """One-line text of a parameter value (whitespace collapsed, floats short)."""
    if is_missing(value):
        return "(not set)"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return format_number(float(value))
    if isinstance(value, str):
        return _WHITESPACE.sub(" ", value)
    if isinstance(value, type):
        return value.__name__
    if callable(value) and hasattr(value, "__name__") and not hasattr(value, "get_params"):
        return value.__name__
    return _WHITESPACE.sub(" ", repr(value)).strip()


def short_repr(value, max_chars=MAX_VALUE_CHARS):
    """Text of a parameter value, cut to ``max_chars`` with an ellipsis.

    Parameters
    ----------
    value : object
        Any parameter value: number, string, tuple, None, estimator, class.
    max_chars : int, default=40
        Longest result.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from sktune.report._format import short_repr
    >>> short_repr(0.00123456)
    '0.001235'
    >>> short_repr("x" * 200, max_chars=10)
    'xxxxxxxxx…'
    """
    return truncate(full_repr(value), max_chars)


def truncate(text, max_chars):
    """Cut ``text`` to ``max_chars`` characters, ending with an ellipsis if cut."""
    text = str(text)
    if len(text) <= max_chars:
        return text
    return text[: max(max_chars - 1, 0)] + _ELLIPSIS


def format_number(x, digits=4):
    """A float with ``digits`` significant digits (``'nan'`` for NaN)."""
    if x is None:
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def format_score(mean, std=None):
    """``'0.9533 ± 0.0125'``, or ``'failed'`` for a NaN mean."""
    if mean is None or not math.isfinite(mean):
        return "failed"
    text = f"{mean:.4f}"
    if std is not None and math.isfinite(std):
        text += f" \N{PLUS-MINUS SIGN} {std:.4f}"
    return text


def format_seconds(seconds):
    """A duration: ``'35 ms'``, ``'2.41 s'``, ``'3 min 5 s'``, ``'n/a'``."""
    if seconds is None or not isinstance(seconds, numbers.Real) or not math.isfinite(seconds):
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
