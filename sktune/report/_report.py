"""``cv_report`` and the ``CVReport`` it returns."""

from ._importance import parameter_importance
from ._results import pareto_frame, read_search, results_frame
from ._test_metrics import compute_test_metrics


class CVReport:
    """Cross-validation report of a fitted hyperparameter search.

    Made by :func:`cv_report`; it holds a snapshot of the search's results
    (changing or refitting the search afterwards does not change it).

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per candidate, best first: ``rank``, ``mean_test_<metric>``
        and ``std_test_<metric>`` for every metric, ``mean_train_<metric>``
        with train scores, ``mean_fit_time``, ``mean_score_time``,
        ``pareto_optimal`` for a search with several objectives, ``iter``
        and ``n_resources`` for successive halving (and ``bracket``,
        ``hyperband_candidate``, ``final`` for ``HyperbandSearchCV``), and one
        column per hyperparameter. Indexed by ``candidate``, the row of
        ``cv_results_``.
    importance : pandas.Series
        Share of the ranked score's variance each varied hyperparameter
        explains (see ``docs/reports.md``); empty when it cannot be estimated.
    test_metrics : dict or None
        Held-out metrics of the refitted best model when test data was given:
        ``{'task', 'n_samples', 'summary', 'search_scores', 'per_class',
        'confusion'}``.
    pareto_front : pandas.DataFrame or None
        For a search with several objectives (``BayesSearchCV(objectives=...)``),
        one row per candidate of its Pareto front (``cv_results_['pareto_optimal']``),
        sorted by the first objective, best first: the mean and std of each
        objective under its ``cv_results_`` name (``mean_test_<metric>``,
        ``std_test_<metric>``, ``mean_fit_time``, ``std_fit_time``...), then one
        column per hyperparameter. Indexed by ``candidate``, the row of
        ``cv_results_``. None for a single-objective search.
    pareto_axes : tuple of str or None
        The two objectives the Pareto front's plot shows (x, y); None for a
        single-objective search.
    """

    def __init__(self, results, importance, test=None, pareto_axes=None):
        self._results = results
        self._importance = importance
        self._test = test
        self._pareto_axes = check_pareto_axes(results, pareto_axes)
        self._frame = None
        self._figures = None

    # -- data ------------------------------------------------------------------------------
    @property
    def frame(self):
        if self._frame is None:
            self._frame = results_frame(self._results)
        return self._frame.copy()

    @property
    def importance(self):
        from ._deps import require

        pd = require("pandas")
        imp = self._importance
        return pd.Series(imp.shares, index=pd.Index(imp.names, name="hyperparameter"),
                         name="share_of_variance", dtype=float)

    @property
    def pareto_front(self):
        return pareto_frame(self._results)

    @property
    def pareto_axes(self):
        return self._pareto_axes

    @property
    def test_metrics(self):
        test = self._test
        if test is None:
            return None
        return {
            "task": test.task,
            "n_samples": test.n_samples,
            "summary": dict(test.summary),
            "search_scores": dict(test.search_scores),
            "per_class": [dict(r) for r in test.per_class],
            "confusion": None if test.confusion is None else test.confusion.copy(),
        }

    # -- outputs ---------------------------------------------------------------------------
    def to_html(self, path=None):
        """The report as one self-contained HTML page.

        Plots are inline SVG images and the CSS is embedded: the file needs no
        network and no other file.

        Parameters
        ----------
        path : str or path-like, default=None
            Where to write the page (UTF-8); the page is returned either way.

        Returns
        -------
        html : str
            The whole page.
        """
        from ._html import render_html

        html = render_html(self, document=True)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(html)
        return html

    def to_markdown(self, top=10):
        """The report as markdown text (tables, no images).

        Parameters
        ----------
        top : int, default=10
            Rows of the leaderboard.

        Returns
        -------
        markdown : str
            The report's text.
        """
        from ._markdown import render_markdown

        return render_markdown(self, top=top)

    def _repr_html_(self):
        from ._html import render_html

        return render_html(self, document=False)

    def __repr__(self):
        r = self._results
        m, b = r.primary, r.best
        return (f"<CVReport: {r.search_name} of {r.estimator_name}, {r.n_candidates} "
                f"candidates, best mean CV {r.labels[m]} {r.mean[m][b]:.4f}>")


def cv_report(search, X_test=None, y_test=None, *, pareto_axes=None):
    """Build a cross-validation report from a fitted hyperparameter search.

    Works with ``GridSearchCV``, ``RandomizedSearchCV``, the halving searches,
    :class:`sktune.BayesSearchCV` and any estimator, single- or multi-metric.
    The search is only read: nothing is refitted or changed.

    Parameters
    ----------
    search : fitted BaseSearchCV
        The search to report on.
    X_test, y_test : array-like, default=None
        Held-out data: the refitted ``best_estimator_`` is evaluated on it
        (classification: accuracy, precision, recall, F1 per class and macro,
        confusion matrix; regression: R2, MAE, RMSE, residual plot). Give both
        or neither; needs a search fitted with ``refit``.
    pareto_axes : tuple of two str, default=None
        For a search with several objectives: the two objectives (names of its
        ``objectives``) the Pareto front's plot shows, x then y. By default the
        first two.

    Returns
    -------
    report : CVReport
        ``report.frame`` (ranked DataFrame), ``report.to_html(path)``,
        ``report.to_markdown()``; it displays itself in notebooks.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the search has not been fitted.
    TypeError
        If ``search`` is not a hyperparameter search.
    ValueError
        If ``pareto_axes`` is given for a search without several objectives, or
        does not name two different objectives of the search.
    ImportError
        If pandas or matplotlib is missing (``pip install "sktune[report]"``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.svm import SVC
    >>> from sktune.report import cv_report
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(SVC(), {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]},
    ...                       cv=3).fit(X[::2], y[::2])
    >>> report = cv_report(search, X[1::2], y[1::2])
    >>> best = report.frame.iloc[0]
    >>> print(f"C={best['C']}, kernel={best['kernel']}, CV score {best['mean_test_score']:.3f}")
    C=10.0, kernel=rbf, CV score 0.973
    >>> html = report.to_html()          # or report.to_html("report.html")
    >>> print(report.to_markdown().splitlines()[0])
    # Cross-validation report: GridSearchCV of SVC
    """
    from ._deps import require

    require("pandas")
    require("matplotlib")
    results = read_search(search)
    axes = check_pareto_axes(results, pareto_axes)
    test = None
    if X_test is not None or y_test is not None:
        test = compute_test_metrics(search, results, X_test, y_test)
    return CVReport(results, parameter_importance(results), test, axes)


def check_pareto_axes(results, pareto_axes):
    """The two objective names the front's plot shows: ``pareto_axes`` checked
    against the search's objectives, by default the first two (None without a
    front)."""
    if not results.multi_objective:
        if pareto_axes is not None:
            raise ValueError(
                f"pareto_axes={pareto_axes!r} needs a search with several objectives "
                "(BayesSearchCV(objectives=[...]) with two or more); this search has no "
                "Pareto front."
            )
        return None
    names = [objective.name for objective in results.objectives]
    if pareto_axes is None:
        return tuple(names[:2])
    if (isinstance(pareto_axes, str) or not hasattr(pareto_axes, "__len__")
            or len(pareto_axes) != 2):
        raise ValueError(f"pareto_axes must be two objective names (x, y); got {pareto_axes!r}.")
    x, y = pareto_axes
    for name in (x, y):
        if name not in names:
            raise ValueError(f"pareto_axes names {name!r}, which is not an objective of the "
                             f"search; its objectives are {names!r}.")
    if x == y:
        raise ValueError(f"pareto_axes names {x!r} twice; give two different objectives.")
    return (x, y)
