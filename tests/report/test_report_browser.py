"""The HTML report in a real headless browser (Debian's chromium, see conftest.py).

Every image must decode, the console must stay clean, nothing may be fetched
but the page itself, and the page must fit a 1366 px laptop screen without
horizontal scrolling, long parameter values included.
"""

import struct
import warnings

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV

from sktune.report import cv_report

pytestmark = pytest.mark.slow


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _check_page(chromium, path, screenshot):
    page = chromium.load(path.as_uri(), screenshot=screenshot)
    assert page["images"] > 0
    assert page["loaded"] == page["images"], f"images that did not load: {page['broken']}"
    assert page["console_errors"] == []
    fetched = [url for url in page["requests"] if not url.startswith("data:")]
    assert fetched == [path.as_uri()], "the report fetched something besides itself"
    assert page["width"] <= chromium.width, "the page scrolls sideways at laptop width"
    width, height = _png_size(screenshot)
    assert width == chromium.width and height == page["height"] > 1000
    return page


def test_classification_report_with_network_renders(tmp_path, chromium, iris, net_search):
    _, _, X_test, y_test = iris
    path = tmp_path / "network.html"
    cv_report(net_search, X_test, y_test).to_html(path)
    page = _check_page(chromium, path, tmp_path / "network.png")
    assert page["images"] == 8
    assert page["title"].startswith("GridSearchCV of NeuralNetClassifier")


def test_the_panels_that_explain_a_search_render(tmp_path, chromium, iris, bayes_net_search):
    """Partial dependence (1-D over the candidates, 2-D heatmaps), importance with
    intervals, every candidate's curves, what to change next."""
    _, _, X_test, y_test = iris
    path = tmp_path / "explain.html"
    report = cv_report(bayes_net_search, X_test, y_test)
    report.to_html(path)
    html = path.read_text()
    for section in ("Partial dependence of pairs", "Training curves of every candidate",
                    "Hyperparameter importance", "Score against each hyperparameter"):
        assert f">{section}</h2>" in html
    page = _check_page(chromium, path, tmp_path / "explain.png")
    assert page["images"] == 9  # 7 of the network report, pairs and curves


def test_regression_report_renders(tmp_path, chromium, regression_data, regression_search):
    _, _, X_test, y_test = regression_data
    path = tmp_path / "regression.html"
    cv_report(regression_search, X_test, y_test).to_html(path)
    _check_page(chromium, path, tmp_path / "regression.png")


def test_long_values_and_failures_do_not_break_the_layout(tmp_path, chromium, iris):
    X, y, _, _ = iris
    grid = {"constant": ["z" * 200, DummyClassifier(strategy="most_frequent"), 1, 2],
            "strategy": ["constant", "prior", "a-strategy-that-does-not-exist-" * 3],
            "random_state": [0, 1, 2]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(DummyClassifier(), grid, cv=3).fit(X, y)
    path = tmp_path / "long.html"
    report = cv_report(search)
    assert report._results.n_failed_fits > 0
    report.to_html(path)
    _check_page(chromium, path, tmp_path / "long.png")


def test_the_browser_sees_what_the_checks_look_for(tmp_path, chromium):
    """The checks above can fail: a page with a broken image, console errors, an
    uncaught exception, a fetch and a too-wide block is reported as such."""
    path = tmp_path / "bad.html"
    path.write_text(
        "<!doctype html><html><head><title>bad</title></head><body>"
        "<img alt='gone' src='missing.png'>"
        "<img alt='fine' src='data:image/gif;base64,"
        "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'>"
        "<div style='width:3000px;height:1500px'>wide</div>"
        "<script>console.error('broken on purpose'); console.log('fine');"
        "setTimeout(() => { throw new Error('uncaught on purpose'); }, 0);</script>"
        "</body></html>", encoding="utf-8")
    page = chromium.load(path.as_uri(), screenshot=tmp_path / "bad.png")
    assert (page["images"], page["loaded"], page["broken"]) == (2, 1, ["gone"])
    assert "broken on purpose" in page["console_errors"]
    assert any("uncaught on purpose" in e for e in page["console_errors"])
    assert not any("fine" == e for e in page["console_errors"])
    fetched = [url for url in page["requests"] if not url.startswith("data:")]
    assert fetched == [path.as_uri(), (tmp_path / "missing.png").as_uri()]
    assert page["width"] >= 3000 > chromium.width
    assert page["title"] == "bad"
