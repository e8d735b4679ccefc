"""Held-out metrics of the refitted best model: classification and regression."""

import numpy as np
import pytest
from sklearn import metrics
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from sktune.report import cv_report


def test_multiclass_metrics_match_sklearn(iris, grid_search):
    _, _, X_test, y_test = iris
    test = cv_report(grid_search, X_test, y_test).test_metrics
    y_pred = grid_search.predict(X_test)
    assert test["task"] == "classification" and test["n_samples"] == len(y_test)
    assert test["summary"]["accuracy"] == pytest.approx(metrics.accuracy_score(y_test, y_pred))
    assert test["summary"]["F1 (macro)"] == pytest.approx(
        metrics.f1_score(y_test, y_pred, average="macro"))
    per_class = {r["label"]: r for r in test["per_class"]}
    recall = metrics.recall_score(y_test, y_pred, average=None)
    for label, value in zip(np.unique(y_test), recall):
        assert per_class[label]["recall"] == pytest.approx(value)
    assert per_class["macro avg"]["average"] and per_class["weighted avg"]["average"]
    np.testing.assert_array_equal(test["confusion"], metrics.confusion_matrix(y_test, y_pred))
    assert test["search_scores"]["score"] == pytest.approx(grid_search.score(X_test, y_test))


def test_binary_classification(binary_data, binary_search):
    _, _, X_test, y_test = binary_data
    report = cv_report(binary_search, X_test, y_test)
    test = report.test_metrics
    assert test["confusion"].shape == (2, 2)
    assert test["summary"]["precision (macro)"] == pytest.approx(metrics.precision_score(
        y_test, binary_search.predict(X_test), average="macro"))
    markdown = report.to_markdown()
    assert "Confusion matrix (rows: true, columns: predicted)" in markdown
    assert "| accuracy | " in markdown


def test_regression_metrics_match_sklearn(regression_data, regression_search):
    _, _, X_test, y_test = regression_data
    report = cv_report(regression_search, X_test, y_test)
    test = report.test_metrics
    y_pred = regression_search.predict(X_test)
    assert test["task"] == "regression" and test["confusion"] is None
    assert test["summary"]["R\N{SUPERSCRIPT TWO}"] == pytest.approx(
        metrics.r2_score(y_test, y_pred))
    assert test["summary"]["MAE"] == pytest.approx(metrics.mean_absolute_error(y_test, y_pred))
    assert test["summary"]["RMSE"] == pytest.approx(
        metrics.root_mean_squared_error(y_test, y_pred))
    assert "Residuals (test)" not in report.to_markdown()  # plots are HTML only
    assert report.to_html().count("<img") == 6  # the residual figure included


def test_multi_output_regression(regression_data):
    X, y, X_test, y_test = regression_data
    Y, Y_test = np.column_stack([y, -y]), np.column_stack([y_test, -y_test])
    search = GridSearchCV(LinearRegression(), {"fit_intercept": [True, False]}, cv=3).fit(X, Y)
    test = cv_report(search, X_test, Y_test).test_metrics
    assert test["summary"]["R\N{SUPERSCRIPT TWO}"] == pytest.approx(
        metrics.r2_score(Y_test, search.predict(X_test)))


def test_string_labels_and_many_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    labels = np.array([f"class-{k}-{'x' * 30}" for k in range(15)])
    y = labels[rng.integers(15, size=300)]
    search = GridSearchCV(SVC(), {"C": [1.0, 10.0]}, cv=3).fit(X[:200], y[:200])
    report = cv_report(search, X[200:], y[200:])
    assert report.test_metrics["confusion"].shape == (15, 15)
    assert "Confusion matrix omitted (15 classes)" in report.to_markdown()
    assert report.to_html().count("<img") == 5


def test_x_test_without_y_test(iris, grid_search):
    _, _, X_test, _ = iris
    with pytest.raises(ValueError, match="Pass both X_test and y_test"):
        cv_report(grid_search, X_test)


def test_test_data_needs_a_refitted_model(iris):
    X, y, X_test, y_test = iris
    search = GridSearchCV(SVC(), {"C": [1, 10]}, cv=3, refit=False).fit(X, y)
    with pytest.raises(ValueError, match="refit=False"):
        cv_report(search, X_test, y_test)
    report = cv_report(search)  # without test data a report still works
    assert "no refit (refit=False)" in report.to_markdown()


def test_inconsistent_lengths(iris, grid_search):
    _, _, X_test, y_test = iris
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cv_report(grid_search, X_test, y_test[:-1])
