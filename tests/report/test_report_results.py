"""cv_report reads every kind of search into a ranked frame, and only reads it."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (GridSearchCV, HalvingGridSearchCV,
                                     HalvingRandomSearchCV, RandomizedSearchCV)
from sklearn.svm import SVC

from sktune import BayesSearchCV
from sktune.report import CVReport, cv_report
from sktune.space import Real


class FailingClassifier(ClassifierMixin, BaseEstimator):
    """Fails to fit when ``fail`` is True; otherwise predicts the majority class."""

    def __init__(self, fail=False, label="x"):
        self.fail = fail
        self.label = label

    def fit(self, X, y):
        if self.fail:
            raise ValueError("asked to fail")
        self.model_ = DummyClassifier().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _searches(X, y):
    grid = {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]}
    return {
        "grid": GridSearchCV(SVC(), grid, cv=3),
        "random": RandomizedSearchCV(SVC(), {"C": loguniform(1e-2, 1e2),
                                             "kernel": ["linear", "rbf"]},
                                     n_iter=6, cv=3, random_state=0),
        "halving_grid": HalvingGridSearchCV(SVC(), grid, cv=3, min_resources=30,
                                            random_state=0),
        "halving_random": HalvingRandomSearchCV(
            SVC(), {"C": loguniform(1e-2, 1e2)}, n_candidates=6, cv=3, min_resources=30,
            random_state=0),
        "bayes": BayesSearchCV(SVC(), {"C": Real(1e-2, 1e2, prior="log-uniform"),
                                       "kernel": ["linear", "rbf"]},
                               n_iter=5, cv=3, random_state=0),
    }


@pytest.fixture(scope="module")
def fitted_searches(iris):
    X, y, _, _ = iris
    return {name: search.fit(X, y) for name, search in _searches(X, y).items()}


@pytest.mark.parametrize("name", ["grid", "random", "halving_grid", "halving_random", "bayes"])
def test_frame_of_every_search_type(fitted_searches, name):
    search = fitted_searches[name]
    report = cv_report(search)
    frame = report.frame
    n = len(search.cv_results_["params"])
    assert isinstance(report, CVReport)
    assert len(frame) == n and frame.index.name == "candidate"
    assert sorted(frame.index) == list(range(n))
    assert {"rank", "mean_test_score", "std_test_score", "mean_fit_time", "C"} <= set(frame)
    # The refit choice is ranked first, and its row holds its cv_results_ values.
    assert frame.index[0] == search.best_index_
    assert frame["rank"].iloc[0] == 1
    assert frame["mean_test_score"].iloc[0] == pytest.approx(search.best_score_)
    for param, value in search.best_params_.items():
        assert frame[param].iloc[0] == value
    assert frame["rank"].is_monotonic_increasing
    assert frame["C"].dtype.kind == "f"
    assert repr(report).startswith(f"<CVReport: {type(search).__name__} of SVC")


def test_halving_ranks_last_iteration_first(fitted_searches):
    search = fitted_searches["halving_grid"]
    frame = cv_report(search).frame
    assert {"iter", "n_resources"} <= set(frame)
    assert frame["iter"].is_monotonic_decreasing
    # sklearn's rank_test_score mixes iterations; the report's rank does not.
    last = frame[frame["iter"] == frame["iter"].max()]
    assert last["mean_test_score"].is_monotonic_decreasing


def test_log_scale_read_from_search_space_and_from_values(fitted_searches):
    from sktune.report._results import read_search

    bayes = {p.name: p for p in read_search(fitted_searches["bayes"]).params}
    assert bayes["C"].kind == "numeric" and bayes["C"].log
    assert bayes["kernel"].kind == "categorical"
    grid = {p.name: p for p in read_search(fitted_searches["grid"]).params}
    assert grid["C"].log  # 0.1 .. 10 spans two decades


def test_multi_metric_reports_every_metric(iris):
    X, y, _, _ = iris
    search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3,
                          scoring=["accuracy", "f1_macro", "balanced_accuracy"],
                          refit="f1_macro", return_train_score=True).fit(X, y)
    report = cv_report(search)
    frame = report.frame
    for metric in ("accuracy", "f1_macro", "balanced_accuracy"):
        assert f"mean_test_{metric}" in frame and f"std_test_{metric}" in frame
        assert f"mean_train_{metric}" in frame
    assert list(frame.columns[1:3]) == ["mean_test_f1_macro", "std_test_f1_macro"]
    assert frame.index[0] == search.best_index_
    markdown = report.to_markdown()
    assert "## Every metric" in markdown and "balanced_accuracy" in markdown


def test_multi_metric_without_refit_ranks_by_first_metric(iris):
    X, y, _, _ = iris
    search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3,
                          scoring={"acc": "accuracy", "f1": "f1_macro"}, refit=False).fit(X, y)
    report = cv_report(search)
    assert report.frame["mean_test_acc"].is_monotonic_decreasing
    assert "ranked by the first metric" in report.to_markdown()


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_failed_fits_are_counted_and_ranked_last(iris):
    X, y, _, _ = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        search = GridSearchCV(FailingClassifier(), {"fail": [False, True],
                                                    "label": ["a", "b"]}, cv=3).fit(X, y)
    report = cv_report(search)
    frame = report.frame
    assert frame["mean_test_score"].isna().sum() == 2
    assert frame["mean_test_score"].iloc[-2:].isna().all()
    assert (frame["fail"].iloc[-2:] == True).all()  # noqa: E712
    markdown = report.to_markdown()
    assert "| Failed fits | **6** |" in markdown
    assert "**failed**" in markdown


def test_single_candidate(iris):
    X, y, _, _ = iris
    search = GridSearchCV(SVC(), {"C": [1.0]}, cv=3).fit(X, y)
    report = cv_report(search)
    assert len(report.frame) == 1
    assert report.importance.empty
    html = report.to_html()
    assert "Not estimated" in html
    assert "Only one candidate, or no hyperparameter varied." in html


def test_sub_grids_leave_unset_parameters_missing(iris):
    X, y, _, _ = iris
    search = GridSearchCV(SVC(), [{"kernel": ["linear"], "C": [1, 10]},
                                  {"kernel": ["rbf"], "gamma": [0.1, 1.0]}], cv=3).fit(X, y)
    frame = cv_report(search).frame
    assert frame["gamma"].isna().sum() == 2 and frame["C"].isna().sum() == 2
    assert str(frame["C"].dtype) == "Int64"


def test_long_parameter_values_are_kept_whole_in_the_frame(iris):
    X, y, _, _ = iris
    long = "v" * 200
    search = GridSearchCV(FailingClassifier(), {"label": [long, "short"]}, cv=3).fit(X, y)
    report = cv_report(search)
    assert long in set(report.frame["label"])
    assert long not in report.to_markdown()  # shortened for display


def test_unfitted_search_says_call_fit_first():
    with pytest.raises(NotFittedError, match="call fit first"):
        cv_report(GridSearchCV(SVC(), {"C": [1]}))


def test_not_a_search_is_a_type_error(iris):
    X, y, _, _ = iris
    with pytest.raises(TypeError, match="needs a fitted hyperparameter search.*SVC"):
        cv_report(SVC().fit(X, y))


def test_report_only_reads_the_search(iris, grid_search):
    X, y, X_test, y_test = iris
    before = pickle.dumps(grid_search)
    report = cv_report(grid_search, X_test, y_test)
    report.to_html()
    report.to_markdown()
    assert pickle.dumps(grid_search) == before


def test_report_is_a_snapshot(iris):
    X, y, _, _ = iris
    search = GridSearchCV(SVC(), {"C": [0.1, 1]}, cv=3).fit(X, y)
    report = cv_report(search)
    first = report.frame
    search.fit(X[:60], y[:60])
    pd.testing.assert_frame_equal(report.frame, first)


def test_frame_is_a_copy(grid_search):
    report = cv_report(grid_search)
    frame = report.frame
    frame["rank"] = 0
    assert report.frame["rank"].iloc[0] == 1


def test_import_sktune_does_not_import_matplotlib():
    code = ("import sys, sktune, sktune.report; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_missing_extra_says_what_to_install(monkeypatch, grid_search):
    import importlib

    real = importlib.import_module

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", no_matplotlib)
    with pytest.raises(ImportError, match=r'pip install "sktune\[report\]"'):
        cv_report(grid_search)


def test_numbers_and_values_are_shortened():
    from sktune.report._format import format_seconds, short_repr

    assert short_repr(np.float64(0.000123456)) == "0.0001235"
    assert short_repr(np.int64(3)) == "3"
    assert short_repr("a\n  b") == "a b"
    assert len(short_repr(SVC(C=3.0, kernel="poly", degree=5, gamma=0.1, coef0=1.0))) == 40
    assert short_repr(SVC) == "SVC"
    assert format_seconds(0.0123) == "12 ms" and format_seconds(125) == "2 min 5 s"
