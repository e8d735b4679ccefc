"""HTML, markdown and notebook outputs: self-contained, escaped, readable."""

import doctest
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.svm import SVC

import sktune.cli
import sktune.report._format
import sktune.report._report
from sktune.report import cv_report

_DATA_IMG = re.compile(r'<img alt="[^"]*" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+">')


def _assert_self_contained(html):
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    # Every source is inline; no http(s) reference anywhere outside the SVG payloads.
    assert len(re.findall(r"<img ", html)) == len(_DATA_IMG.findall(html))
    assert not re.search(r"(src|href)=\"(?!data:|#)", html)


def test_html_is_one_self_contained_page(tmp_path, iris, grid_search):
    _, _, X_test, y_test = iris
    path = tmp_path / "report.html"
    html = cv_report(grid_search, X_test, y_test).to_html(path)
    assert path.read_text(encoding="utf-8") == html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    _assert_self_contained(html)
    # fold spread, history, params, importance, cost, pairs, confusion matrix
    assert html.count("<img ") == 7
    for section in ("Best parameters", "Leaderboard", "Fold scores", "Search history",
                    "Score against each hyperparameter", "Hyperparameter importance",
                    "Partial dependence of pairs",
                    "Cost and quality", "Test data", "Confusion matrix"):
        assert f">{section}</h2>" in html
    assert "Learning curve" not in html  # not a network


def test_notebook_display_is_a_scoped_fragment(grid_search):
    fragment = cv_report(grid_search)._repr_html_()
    assert "<html" not in fragment and "<body" not in fragment
    assert fragment.startswith("<style>") and '<div class="skr">' in fragment
    css = fragment[len("<style>"):fragment.index("</style>")]
    selectors = [rule.split("{")[0] for rule in css.split("}") if "{" in rule]
    for selector in selectors:
        if not selector.strip().startswith("@media"):
            assert all(part.strip().startswith(".skr") for part in selector.split(",")), \
                selector


def test_long_parameter_values_are_cut_with_the_whole_value_on_hover(iris):
    X, y, _, _ = iris
    long = "q" * 200
    estimator = SVC(C=3.0, kernel="poly", degree=5, gamma=0.1, coef0=1.0, tol=1e-5)
    search = GridSearchCV(DummyClassifier(), {"strategy": ["prior", "most_frequent"],
                                              "constant": [long, estimator]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    report = cv_report(search)
    html = report.to_html()
    cut = "q" * 39 + "\N{HORIZONTAL ELLIPSIS}"
    assert f'title="{long}">{cut}</td>' in html
    assert "SVC(C=3.0, coef0=1.0, degree=5, gamma=0.1, kernel=&#x27;poly&#x27;, tol=1e-05)" \
        in html  # whole estimator in the title attribute, escaped
    markdown = report.to_markdown()
    assert long not in markdown and f"`{cut}`" in markdown
    for line in markdown.splitlines():
        assert len(line) < 400


def test_markdown_tables_are_well_formed(iris):
    X, y, _, _ = iris
    search = GridSearchCV(DummyClassifier(), {"strategy": ["prior", "most_frequent"],
                                              "constant": ["a|b", "c`d", "x\ny"]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    markdown = cv_report(search).to_markdown(top=6)
    assert markdown.startswith("# Cross-validation report: GridSearchCV of DummyClassifier")
    assert "a\\|b" in markdown and "``" in markdown and "x y" in markdown
    lines = markdown.splitlines()
    board = lines[lines.index("## Leaderboard") + 2:]
    board = board[:board.index("")]
    widths = {len(re.findall(r"(?<!\\)\|", line)) for line in board}
    assert len(widths) == 1  # every row has as many cells as the header
    assert len(board) == 2 + 6  # header, alignment, the 6 candidates
    assert len(cv_report(search).to_markdown(top=2).splitlines()) < len(lines)


def test_html_escapes_everything(iris):
    X, y, _, _ = iris
    search = GridSearchCV(DummyClassifier(), {"constant": ["<b>bold</b>", "&amp;"],
                                              "strategy": ["prior"]}, cv=3).fit(X, y)
    html = cv_report(search).to_html()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_large_search_shows_top_rows_and_the_rest_collapsed(iris):
    X, y, _, _ = iris
    search = RandomizedSearchCV(SVC(), {"C": np.logspace(-2, 2, 40)}, n_iter=30, cv=2,
                                random_state=0).fit(X, y)
    html = cv_report(search).to_html()
    assert "<details><summary>Show all 30 candidates" in html
    assert "Top 15 of 30 candidates" in html


def test_plotting_leaves_matplotlib_state_alone(grid_search):
    code = """
import matplotlib, pickle, sys
matplotlib.use("svg")
matplotlib.rcParams["font.size"] = 17
from sktune.report import cv_report
report = cv_report(pickle.load(sys.stdin.buffer))
report.to_html()
import matplotlib.pyplot  # only now, to read its state
print(matplotlib.get_backend(), matplotlib.rcParams["font.size"],
      len(matplotlib.pyplot.get_fignums()))
"""
    import pickle

    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(grid_search),
                         capture_output=True, check=True)
    assert out.stdout.decode().split() == ["svg", "17.0", "0"]


@pytest.mark.parametrize("module", [sktune.report._report, sktune.report._format, sktune.cli])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
