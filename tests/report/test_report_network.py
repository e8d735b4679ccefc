"""Reports of sktune network searches: the refitted model's learning curve."""

from sklearn.model_selection import GridSearchCV

from sktune import NeuralNetRegressor
from sktune.report import cv_report


def test_learning_curve_of_the_refitted_network(iris, net_search):
    _, _, X_test, y_test = iris
    report = cv_report(net_search, X_test, y_test)
    results = report._results
    history = net_search.best_estimator_.history_
    assert results.history_owner == "NeuralNetClassifier"
    assert len(results.history) == len(history) == 6
    assert results.history[-1]["train_loss"] == history[-1]["train_loss"]
    assert "valid_acc" in results.history[0]
    html = report.to_html()
    assert "Learning curve of the refitted best model" in html
    assert "Training curves of every candidate" not in html  # GridSearchCV keeps none
    assert html.count("<img ") == 8  # with the pairs' partial dependence
    markdown = report.to_markdown()
    assert "## Learning curve of the refitted best model" in markdown
    assert "trained for 6 epochs" in markdown


def test_network_regressor_without_validation_split(regression_data):
    X, y, _, _ = regression_data
    net = NeuralNetRegressor(hidden_layer_sizes=(), epochs=4, lr=0.05, random_state=0)
    search = GridSearchCV(net, {"batch_size": [16, 64]}, cv=2).fit(X, y / 100)
    report = cv_report(search)
    assert [set(r) >= {"train_loss"} for r in report._results.history] == [True] * 4
    assert "valid_loss" not in report._results.history[0]
    html = report.to_html()
    assert "Learning curve" in html and html.count("<img ") == 5  # no importance: 2 candidates


def test_no_learning_curve_without_refit(iris):
    X, y, _, _ = iris
    from sktune import NeuralNetClassifier

    search = GridSearchCV(NeuralNetClassifier(epochs=2, random_state=0), {"lr": [1e-3, 1e-2]},
                          cv=2, refit=False).fit(X, y)
    report = cv_report(search)
    assert report._results.history is None
    assert "Learning curve" not in report.to_html()
