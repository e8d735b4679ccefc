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
import sys
import warnings
from collections import Counter
from contextlib import contextmanager

from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search

from .._racing import is_not_run

_collector = contextvars.ContextVar("sktune_fit_failures", default=None)
_original = _search._warn_or_raise_about_fit_failures


def _record_or_delegate(results, error_score):
    collected = _collector.get()
    # Only the owning search's own evaluate_candidates is intercepted; a search
    # fitted inside it (its estimator, same thread) keeps sklearn's behaviour.
    if collected is None or sys._getframe(1).f_locals.get("self") is not collected["owner"]:
        return _original(results, error_score)
    collected["fits"] += sum(not is_not_run(r) for r in results)  # raced-out folds never ran
    collected["errors"].update(r["fit_error"] for r in results if r["fit_error"] is not None)
    _fill_multimetric_errors(collected, results, error_score)
    return None


def _fill_multimetric_errors(collected, results, error_score):
    """A callable scorer returning a dict: sklearn infers the metric names of a
    failed fit from a successful fit *of the same call*, which a round where
    every fit failed lacks. Give such failures a dict of error scores as soon
    as the names are known (the result dicts are the ones sklearn keeps)."""
    for r in results:
        if r["fit_error"] is None and isinstance(r["test_scores"], dict):
            collected["score_names"] = list(r["test_scores"])
            break
    collected["pending"] += [r for r in results
                             if r["fit_error"] is not None and not isinstance(r["test_scores"], dict)]
    if collected["score_names"] is not None:
        for r in collected["pending"]:
            for key in ("test_scores", "train_scores"):
                if key in r:
                    r[key] = dict.fromkeys(collected["score_names"], error_score)
        collected["pending"].clear()


def _install():
    if _search._warn_or_raise_about_fit_failures is not _record_or_delegate:
        _search._warn_or_raise_about_fit_failures = _record_or_delegate


@contextmanager
def collect_fit_failures(error_score, owner=None):
    """Record failed fits of every round; warn once at the end, raise if all failed."""
    _install()
    collected = {"fits": 0, "errors": Counter(), "owner": owner, "score_names": None,
                 "pending": [], "error_score": error_score}
    token = _collector.set(collected)
    try:
        yield collected
    finally:
        _collector.reset(token)
    raise_if_all_failed(collected)
    if sum(collected["errors"].values()):
        warnings.warn(_sklearn_text(collected, error_score, _WENT_ON), FitFailedWarning)


_WENT_ON = ("(sktune: the search went on; a round where every fit fails does not stop a "
            "sequential search, and a failed candidate steers its proposals away.)")


def _sklearn_text(collected, error_score, detail):
    """scikit-learn's own warning or error text for the fits recorded so far
    (code matches on it), with sktune's ``detail`` after its first sentence."""
    results = [{"fit_error": e} for e, n in collected["errors"].items() for _ in range(n)]
    results += [{"fit_error": None}] * (collected["fits"] - len(results))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _original(results, error_score)
        text = str(caught[-1].message)
    except ValueError as exc:
        text = str(exc)
    head, sep, rest = text.lstrip("\n").partition("\n")
    return f"\n{head}\n{detail}{sep}{rest}"


def raise_if_all_failed(collected=None):
    """Raise if every fit recorded so far failed; call it before the refit."""
    collected = _collector.get() if collected is None else collected
    n_failed = 0 if collected is None else sum(collected["errors"].values())
    if n_failed and n_failed == collected["fits"]:
        raise ValueError(_sklearn_text(collected, collected["error_score"],
                                       "(sktune: over all the rounds of the search.)"))
