"""Metrics of the refitted best model on held-out data.

The search's ``best_estimator_`` predicts ``X_test`` (it is never refitted);
classification reports accuracy, precision, recall and F1 per class with their
macro and weighted averages and the confusion matrix; regression reports R^2,
MAE and RMSE and keeps predictions for a residual plot. The search's own
scorers are also evaluated on the test data, to compare with their CV means.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..data._view import as_view, is_dataset

# Residual plots show at most this many points (an even subsample).
_MAX_POINTS = 2000


@dataclass
class TestMetrics:
    """Held-out performance of the refitted best model.

    Attributes
    ----------
    task : {'classification', 'regression'}
    n_samples : int
    search_scores : dict
        ``{metric: test value}`` for each scorer of the search (NaN if the
        scorer failed on this data).
    summary : dict
        Headline metrics: accuracy, macro precision/recall/F1 (classification)
        or R2, MAE, RMSE (regression).
    per_class : list of dict
        Classification: ``label``, ``precision``, ``recall``, ``f1``,
        ``support`` for every class, then the macro and weighted averages
        (marked ``average=True``).
    classes : list
        Classification: the labels in confusion-matrix order.
    confusion : ndarray or None
        Classification: counts, true labels as rows.
    y_true, y_pred : ndarray or None
        Regression: targets and predictions (flattened, at most 2000 points).
    """

    task: str
    n_samples: int
    search_scores: dict
    summary: dict
    per_class: list = field(default_factory=list)
    classes: list = field(default_factory=list)
    confusion: object = None
    y_true: object = None
    y_pred: object = None


def compute_test_metrics(search, results, X_test, y_test):
    """Evaluate the refitted best model of ``search`` on ``(X_test, y_test)``.

    Parameters
    ----------
    search : fitted BaseSearchCV with ``best_estimator_``
    results : SearchResults
        Its snapshot (for the task and metric names).
    X_test, y_test : array-like
        Held-out data the search never saw.

    Returns
    -------
    metrics : TestMetrics
    """
    if X_test is not None and is_dataset(X_test):
        X_test = as_view(X_test)
        if y_test is None:
            y_test = X_test.targets
    if (X_test is None) != (y_test is None):
        raise ValueError(
            "Pass both X_test and y_test to evaluate the best model on held-out data, "
            "or neither."
        )
    model = getattr(search, "best_estimator_", None)
    if model is None:
        raise ValueError(
            f"Test metrics need the refitted best model, but this {type(search).__name__} "
            "has no best_estimator_ (it was fitted with refit=False). Fit it with refit=True "
            "(or the metric to refit, with several metrics), or leave X_test and y_test out."
        )
    check_consistent_length(X_test, y_test)
    y_true = np.asarray(y_test)
    y_pred = np.asarray(model.predict(X_test))
    search_scores = _search_scores(search, results, model, X_test, y_test)
    task = results.task
    if task == "unknown":
        task = "regression" if type_of_target(y_true).startswith("continuous") else \
            "classification"
    if task == "classification":
        return _classification(y_true, y_pred, search_scores)
    return _regression(y_true, y_pred, search_scores)


def _search_scores(search, results, model, X_test, y_test):
    scorers = getattr(search, "scorer_", None)
    if scorers is None:
        return {}
    if not isinstance(scorers, dict):
        scorers = {"score": scorers}
    scores = {}
    for metric in results.metrics:
        scorer = scorers.get(metric)
        if scorer is None:
            continue
        try:
            scores[metric] = float(scorer(model, X_test, y_test))
        except Exception:  # a scorer that cannot score this data (e.g. one class)
            scores[metric] = float("nan")
    return scores


def _classification(y_true, y_pred, search_scores):
    labels = unique_labels(y_true, y_pred)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    rows = [
        {"label": label, "precision": float(p), "recall": float(r), "f1": float(f),
         "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    ]
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0)
        rows.append({"label": f"{average} avg", "average": True, "precision": float(p),
                     "recall": float(r), "f1": float(f), "support": int(support.sum())})
    macro = rows[-2]
    return TestMetrics(
        task="classification",
        n_samples=len(y_true),
        search_scores=search_scores,
        summary={
            "accuracy": float(skm.accuracy_score(y_true, y_pred)),
            "precision (macro)": macro["precision"],
            "recall (macro)": macro["recall"],
            "F1 (macro)": macro["f1"],
        },
        per_class=rows,
        classes=list(labels),
        confusion=skm.confusion_matrix(y_true, y_pred, labels=labels),
    )


def _regression(y_true, y_pred, search_scores):
    y_true = y_true.astype(float)
    y_pred = y_pred.astype(float).reshape(y_true.shape)
    summary = {
        "R\N{SUPERSCRIPT TWO}": float(skm.r2_score(y_true, y_pred)),
        "MAE": float(skm.mean_absolute_error(y_true, y_pred)),
        "RMSE": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
    }
    flat_true, flat_pred = y_true.ravel(), y_pred.ravel()
    step = max(1, int(np.ceil(len(flat_true) / _MAX_POINTS)))
    return TestMetrics(
        task="regression",
        n_samples=len(y_true),
        search_scores=search_scores,
        summary=summary,
        y_true=flat_true[::step].copy(),
        y_pred=flat_pred[::step].copy(),
    )
