"""Cross-validation reports of fitted hyperparameter searches.

``cv_report(search, X_test=None, y_test=None)`` reads a fitted search
(``GridSearchCV``, ``RandomizedSearchCV``, the halving searches,
``sktune.BayesSearchCV``) and returns a :class:`CVReport`: a ranked DataFrame
(``.frame``), a self-contained HTML page (``.to_html(path)``), markdown
(``.to_markdown()``) and a notebook display.

Modules: ``_results`` (cv_results_ -> snapshot and frame), ``_importance``
(fANOVA-style importance), ``_test_metrics`` (held-out metrics), ``_tables``
(text content), ``_plots`` (matplotlib figures as SVG), ``_html`` and
``_markdown`` (writers), ``_format`` (shortening values), ``_deps`` (optional
dependencies, imported on first use).
"""

from ._report import CVReport, cv_report

__all__ = ["cv_report", "CVReport"]
