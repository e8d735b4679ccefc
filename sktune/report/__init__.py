"""Cross-validation reports of fitted hyperparameter searches.

``cv_report(search, X_test=None, y_test=None)`` reads a fitted search
(``GridSearchCV``, ``RandomizedSearchCV``, the halving searches,
``sktune.BayesSearchCV``) and returns a :class:`CVReport`: a ranked DataFrame
(``.frame``), a self-contained HTML page (``.to_html(path)``), markdown
(``.to_markdown()``) and a notebook display; it explains the search
(``.partial_dependence(name)``, ``.importance``, ``.interactions``, every
candidate's curves, ``.advice()``).

Modules: ``_results`` (cv_results_ -> snapshot and frame), ``_surrogate`` (the
model of the score), ``_dependence`` (partial dependence), ``_importance``
(fANOVA-style importance with intervals), ``_curves`` (training curves),
``_advice`` (what to change next), ``_test_metrics`` (held-out metrics), ``_tables``
(text content), ``_plots`` (matplotlib figures as SVG), ``_html`` and
``_markdown`` (writers), ``_format`` (shortening values), ``_deps`` (optional
dependencies, imported on first use).
"""

from ._report import CVReport, cv_report

__all__ = ["cv_report", "CVReport"]
