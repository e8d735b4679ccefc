"""``cv_report`` and the ``CVReport`` it returns."""

import numpy as np

from ._advice import advice
from ._curves import read_curves, rung_correlations
from ._dependence import dependence_frame, partial_dependence
from ._importance import parameter_importance
from ._results import pareto_frame, read_search, results_frame
from ._surrogate import fit_score_model
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
    importance : pandas.DataFrame
        Share of the ranked score's variance each varied hyperparameter
        explains alone (``share``) with its 5-95 % interval (``lower``,
        ``upper``), most important first (see ``docs/reports.md``); empty when
        it cannot be estimated. The same numbers on every call.
    interactions : pandas.DataFrame
        The interaction share of pairs of the most important hyperparameters
        (``share``, ``lower``, ``upper``; a ``(first, second)`` index), largest
        first; empty when there are none.
    histories : list of list of dict, or None
        Every fit's per-epoch curves as the search kept them
        (``fit_histories_`` of sktune's searches), None otherwise.
    rung_correlations : pandas.DataFrame or None
        For ``HyperbandSearchCV``: per amount of resource below the largest,
        the candidates trained further (``n``) and the Spearman correlation of
        their score there with their final score (``rho``).
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

    def __init__(self, results, test=None, pareto_axes=None):
        self._results = results
        self._model, self._model_reason = _fitted_model(results)
        self._importance = parameter_importance(results, self._model, self._model_reason)
        self._curves = read_curves(results)
        self._test = test
        self._pareto_axes = check_pareto_axes(results, pareto_axes)
        self._frame = None
        self._figures = None
        self._dependence = {}
        self._advice = None

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
        return pd.DataFrame({"share": imp.shares, "lower": imp.lower, "upper": imp.upper},
                            index=pd.Index(imp.names, name="hyperparameter"), dtype=float)

    @property
    def interactions(self):
        from ._deps import require

        pd = require("pandas")
        pairs = self._importance.pairs
        index = pd.MultiIndex.from_arrays([[a for a, *_ in pairs], [b for _, b, *_ in pairs]],
                                          names=["first", "second"])
        return pd.DataFrame([row[2:] for row in pairs], columns=["share", "lower", "upper"],
                            index=index, dtype=float)

    @property
    def histories(self):
        histories = self._results.histories
        if histories is None:
            return None
        return [[None if h is None else {k: v.copy() for k, v in h.items()} for h in splits]
                for splits in histories]

    @property
    def rung_correlations(self):
        rows = rung_correlations(self._results)
        if not rows:
            return None
        from ._deps import require

        pd = require("pandas")
        return pd.DataFrame(rows, columns=[self._results.resource, "n", "rho"])

    def partial_dependence(self, name, other=None):
        """The score the report's model predicts as one or two hyperparameters
        change, the others averaged over the range searched.

        The model is a Gaussian process of the mean CV score (the Bayesian
        optimiser's kernel) fitted to every candidate; see ``docs/reports.md``.

        Parameters
        ----------
        name : str
            A hyperparameter the search varied.
        other : str, default=None
            A second one: the joint dependence on a grid of both.

        Returns
        -------
        dependence : pandas.DataFrame
            One row per value of ``name`` (low to high, on its own scale:
            evenly spaced on a log scale for log-scaled ones, every category),
            its column then ``mean`` (the predicted score) and ``std`` (the
            model's posterior standard deviation averaged over the settings);
            with ``other``, one row per pair of values and ``mean``.

        Raises
        ------
        ValueError
            If no model could be fitted (the reason is given), or a name is not
            a hyperparameter the model has.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.linear_model import Ridge
        >>> from sklearn.model_selection import RandomizedSearchCV
        >>> from scipy.stats import loguniform
        >>> from sktune.report import cv_report
        >>> X, y = load_diabetes(return_X_y=True)
        >>> search = RandomizedSearchCV(Ridge(), {"alpha": loguniform(1e-3, 1e3)}, n_iter=12,
        ...                             cv=3, random_state=0).fit(X, y)
        >>> pd_alpha = cv_report(search).partial_dependence("alpha")
        >>> list(pd_alpha.columns)
        ['alpha', 'mean', 'std']
        >>> bool(pd_alpha["mean"].iloc[0] > pd_alpha["mean"].iloc[-1])  # small alpha is better
        True
        """
        if self._model is None:
            raise ValueError(f"No model of the score for partial dependence: "
                             f"{self._model_reason}")
        return dependence_frame(self._dependence_of(name, other))

    def _dependence_of(self, name, other=None):
        key = (name, other)
        if key not in self._dependence:
            self._dependence[key] = partial_dependence(self._model, name, other)
        return self._dependence[key]

    def _main_dependences(self):
        """``{name: Dependence}`` of every modelled hyperparameter (empty
        without a model)."""
        if self._model is None:
            return {}
        return {name: self._dependence_of(name) for name in self._model.names}

    def _pair_dependences(self, top=3):
        """The joint dependences of the ``top`` pairs with the largest
        interaction shares."""
        if self._model is None:
            return []
        return [self._dependence_of(a, b) for a, b, *_ in self._importance.pairs[:top]]

    def advice(self):
        """What to change next: short findings computed from this search.

        Best candidates at the edge of a numeric hyperparameter's range, a
        hyperparameter that explains nothing, a search that stopped improving by
        more than the folds' noise, the best candidate's curves still falling
        (more epochs) or its validation loss rising (overfitting), many
        diverged fits above a learning rate. Each finding is printed only when
        its test holds (``docs/reports.md`` gives the tests).

        Returns
        -------
        findings : list of str
            Possibly empty.
        """
        if self._advice is None:
            self._advice = advice(self._results, self._model, self._importance, self._curves,
                                  lambda name: self._dependence_of(name))
        return list(self._advice)

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
    return CVReport(results, test, axes)


def _fitted_model(results):
    """The report's model of the score and why there is none; a failure to fit
    one is a reason too (the rest of the report stands without it)."""
    try:
        return fit_score_model(results)
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        return None, f"The model of the score could not be fitted ({exc})."


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
