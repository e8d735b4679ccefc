"""Rules for ``refit=`` that read more than sklearn's rank of mean scores."""

import numpy as np

__all__ = ["posterior_best"]


def posterior_best(cv_results):
    """``refit`` rule: the candidate the optimiser's model believes best.

    The highest ``posterior_mean_test_<metric>`` of ``cv_results_`` among the
    candidates that did not fail (written by
    :class:`~sktune.search.BayesSearchCV` for the metric it optimises): the
    model's estimate of each candidate's noise-free score, which shrinks a
    lucky mean of noisy folds towards what its neighbours say. sklearn's
    ``best_index_`` (the best mean CV score) is flattered when many noisy
    candidates are compared; this one is not (docs/bayes-search.md).

    Parameters
    ----------
    cv_results : dict
        A fitted search's ``cv_results_``.

    Returns
    -------
    int
        Index of the chosen candidate.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from sktune import BayesSearchCV
    >>> from sktune.search import posterior_best
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=8, cv=3,
    ...                        random_state=0, refit=posterior_best).fit(X, y)
    >>> search.best_index_ == search.posterior_best_index_
    True
    """
    keys = [k for k in cv_results if k.startswith("posterior_mean_test_")]
    if len(keys) != 1:
        raise ValueError(
            "refit=posterior_best needs the posterior means of a BayesSearchCV with one "
            f"objective (cv_results_['posterior_mean_test_<metric>']); found {keys or 'none'}."
        )
    best = believed_best(cv_results)
    if best is None:
        raise ValueError("refit=posterior_best: no candidate has a posterior mean (fewer than "
                         "two candidates succeeded).")
    return best


def believed_best(cv_results):
    """Index of the highest ``posterior_mean_test_<metric>`` among the candidates
    whose ``mean_test_<metric>`` is finite and whose folds all ran (a failed or
    raced-out candidate is never the believed best), or None."""
    key = next(k for k in cv_results if k.startswith("posterior_mean_test_"))
    mean = np.asarray(cv_results[key], dtype=float)
    scored = np.asarray(cv_results["mean_test_" + key[len("posterior_mean_test_"):]],
                        dtype=float)
    usable = np.isfinite(mean) & np.isfinite(scored)
    if "n_splits_evaluated" in cv_results:  # a raced search: candidates raced out never
        counts = np.asarray(cv_results["n_splits_evaluated"])
        usable &= counts == counts.max()
    if not usable.any():
        return None
    return int(np.argmax(np.where(usable, mean, -np.inf)))
