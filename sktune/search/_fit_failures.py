"""Keep sequential searches alive when every fit of one round fails.

scikit-learn's ``BaseSearchCV.fit`` raises "All the N fits failed" whenever
all fits of *one* ``evaluate_candidates`` call fail. That is the right call
for ``GridSearchCV`` (one call for all candidates), but a sequential search
evaluates a few candidates per round, so one bad region (say a learning rate
that diverges) would kill the whole search. Inside :func:`collect_fit_failures`
such a round is recorded instead (its scores are ``error_score`` as usual),
and the per-round ``FitFailedWarning`` is replaced by one summary at the end.

Outside the context manager, scikit-learn behaves exactly as before: the hook
is installed once and delegates to sklearn's own function.
"""

import contextvars
import warnings
from collections import Counter
from contextlib import contextmanager

from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search

_collector = contextvars.ContextVar("sktune_fit_failures", default=None)
_original = _search._warn_or_raise_about_fit_failures


def _record_or_delegate(results, error_score):
    collected = _collector.get()
    if collected is None:
        return _original(results, error_score)
    collected["fits"] += len(results)
    collected["errors"].update(r["fit_error"] for r in results if r["fit_error"] is not None)
    return None


def _install():
    if _search._warn_or_raise_about_fit_failures is not _record_or_delegate:
        _search._warn_or_raise_about_fit_failures = _record_or_delegate


@contextmanager
def collect_fit_failures(error_score):
    """Record failed fits of every round; warn once at the end, raise if all failed."""
    _install()
    collected = {"fits": 0, "errors": Counter()}
    token = _collector.set(collected)
    try:
        yield collected
    finally:
        _collector.reset(token)
    n_failed = sum(collected["errors"].values())
    if not n_failed:
        return
    details = "\n".join(f"{'-' * 80}\n{n} fits failed with the following error:\n{err}"
                        for err, n in collected["errors"].most_common(3))
    if n_failed == collected["fits"]:
        raise ValueError(
            f"All the {n_failed} fits failed; the model is very likely misconfigured. "
            f"Set error_score='raise' to see the first error.\n{details}"
        )
    warnings.warn(
        f"{n_failed} of {collected['fits']} fits failed; their scores were set to "
        f"error_score={error_score!r} and the search went on. The most frequent "
        f"errors:\n{details}",
        FitFailedWarning,
    )
