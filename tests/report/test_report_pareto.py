"""The Pareto front section of the report of a multi-objective search."""

import base64
import re
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

from sktune import BayesSearchCV
from sktune.report import _plots, cv_report
from sktune.report._deps import figure_class
from sktune.report._results import read_search
from sktune.search._pareto import pareto_mask

_SVG = "{http://www.w3.org/2000/svg}"


def neg_leaves(est, X, y):
    """Scorer: minus the number of leaves of a fitted tree (smaller is better)."""
    return -float(est.get_n_leaves())


def _tree_search(objectives, n_iter=12, refit="accuracy"):
    X, y = load_digits(return_X_y=True)
    return BayesSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": (1, 20), "min_samples_leaf": (1, 50)},
        n_iter=n_iter, cv=3, random_state=0,
        scoring={"accuracy": "accuracy", "size": neg_leaves},
        objectives=objectives, refit=refit).fit(X, y)


@pytest.fixture(scope="module")
def two_objectives():
    return _tree_search(["accuracy", "size"])


@pytest.fixture(scope="module")
def three_objectives():
    return _tree_search(["accuracy", "size", "fit_time"], n_iter=10)


def _points(svg, gid):
    """How many markers the SVG draws in the group ``gid``."""
    groups = [e for e in ET.fromstring(svg).iter() if e.get("id") == gid]
    return sum(len(list(g.iter(_SVG + "use"))) for g in groups)


def _section(html, anchor):
    start = html.index(f'<section id="skr-{anchor}">')
    return html[start:html.index("</section>", start)]


def _svg_images(fragment):
    return [base64.b64decode(data).decode("utf-8")
            for data in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"',
                                   fragment)]


def _table_candidates(fragment):
    """The first column (cand.) of the first table in an HTML fragment."""
    body = fragment[fragment.index("<tbody>"):fragment.index("</tbody>")]
    return [int(m) for m in re.findall(r"<tr[^>]*><td[^>]*>(\d+)</td>", body)]


# -- data ---------------------------------------------------------------------------------
def test_pareto_front_frame_rows_are_the_front(two_objectives):
    search = two_objectives
    cv = search.cv_results_
    front = cv_report(search).pareto_front
    assert sorted(front.index) == sorted(search.pareto_front_.tolist())
    assert front.index.name == "candidate"
    assert list(front.columns) == ["mean_test_accuracy", "std_test_accuracy", "mean_test_size",
                                   "std_test_size", "max_depth", "min_samples_leaf"]
    # sorted by the first objective, best first (ties by the second)
    keys = list(zip(-front["mean_test_accuracy"], -front["mean_test_size"]))
    assert keys == sorted(keys)
    for name in ("mean_test_accuracy", "std_test_accuracy", "mean_test_size"):
        np.testing.assert_array_equal(front[name], np.asarray(cv[name])[front.index])
    assert list(front["max_depth"]) == [cv["params"][i]["max_depth"] for i in front.index]


def test_frame_marks_the_front(two_objectives):
    frame = cv_report(two_objectives).frame
    assert frame["pareto_optimal"].dtype == bool
    assert sorted(frame.index[frame["pareto_optimal"]]) == \
        sorted(two_objectives.pareto_front_.tolist())


def test_time_objectives_keep_their_direction(three_objectives):
    search = three_objectives
    report = cv_report(search)
    front = report.pareto_front
    assert sorted(front.index) == sorted(search.pareto_front_.tolist())
    assert {"mean_fit_time", "std_fit_time"} <= set(front.columns)
    np.testing.assert_array_equal(front["mean_fit_time"],
                                  search.cv_results_["mean_fit_time"][front.index])
    results = report._results
    assert [(o.name, o.maximised) for o in results.objectives] == \
        [("accuracy", True), ("size", True), ("fit_time", False)]


def test_report_is_a_snapshot_of_the_front():
    search = _tree_search(["accuracy", "size"], n_iter=6)
    report = cv_report(search)
    front = list(report.pareto_front.index)
    search.cv_results_["pareto_optimal"][:] = False
    search.objectives = None
    assert list(report.pareto_front.index) == front
    assert "Pareto front</h2>" in report.to_html()


# -- HTML and markdown ------------------------------------------------------------------------
def test_html_section_shows_the_front(two_objectives):
    search = two_objectives
    report = cv_report(search)
    html = report.to_html()
    assert ">Pareto front</h2>" in html and 'href="#skr-pareto"' in html
    section = _section(html, "pareto")
    assert _table_candidates(section) == list(report.pareto_front.index)
    assert f"{len(search.pareto_front_)} of {len(search.cv_results_['params'])}" in section
    # the refit choice (on the front) is highlighted in the table
    assert '<tr class="best"><td class="num">' + str(search.best_index_) + "</td>" in section
    (svg,) = _svg_images(section)
    n = len(search.cv_results_["params"])
    assert _points(svg, "pareto-front") == len(search.pareto_front_)
    assert _points(svg, "pareto-candidates") == n - len(search.pareto_front_)
    # matplotlib keeps each text as a comment next to its paths
    assert "mean CV accuracy (higher is better)" in svg
    assert "mean CV size (higher is better)" in svg


def test_markdown_has_the_front(two_objectives):
    report = cv_report(two_objectives)
    md = report.to_markdown()
    assert "## Pareto front" in md
    part = md[md.index("## Pareto front"):]
    part = part[:part.index("\n## ", 1)]
    rows = [line for line in part.splitlines() if line.startswith("| ")][2:]  # no header
    cands = [int(row.split("|")[1].strip().strip("*")) for row in rows]
    assert cands == list(report.pareto_front.index)
    assert "CV accuracy \N{UPWARDS ARROW}" in part and "CV size \N{UPWARDS ARROW}" in part


def test_markdown_marks_times_lower_is_better(three_objectives):
    md = cv_report(three_objectives).to_markdown()
    part = md[md.index("## Pareto front"):]
    assert "fit time \N{DOWNWARDS ARROW}" in part.splitlines()[4]
    assert "fit time (lower is better)" in part


def test_pareto_axes_choose_the_plotted_objectives(three_objectives):
    default = cv_report(three_objectives)
    assert default.pareto_axes == ("accuracy", "size")
    report = cv_report(three_objectives, pareto_axes=("fit_time", "accuracy"))
    assert report.pareto_axes == ("fit_time", "accuracy")
    (svg,) = _svg_images(_section(report.to_html(), "pareto"))
    assert "mean fit time per fold (s) (lower is better)" in svg
    assert "mean CV size" not in svg
    # every candidate of the (three-objective) front is highlighted
    assert _points(svg, "pareto-front") == len(three_objectives.pareto_front_)
    # the table is the same whatever is plotted
    assert list(report.pareto_front.index) == list(default.pareto_front.index)


def test_without_refit_nothing_is_marked_as_the_refit_choice():
    search = _tree_search(["accuracy", "size"], n_iter=6, refit=False)
    report = cv_report(search)
    section = _section(report.to_html(), "pareto")
    assert _table_candidates(section) == list(report.pareto_front.index)
    assert 'class="best"' not in section and "refit choice, candidate" not in section
    (svg,) = _svg_images(section)
    assert "refit choice" not in svg


@pytest.mark.parametrize("axes, message", [
    (("accuracy", "nope"), "not an objective"),
    (("size", "size"), "twice"),
    (("accuracy",), "two objective names"),
    ("accuracy", "two objective names"),
])
def test_bad_pareto_axes(two_objectives, axes, message):
    with pytest.raises(ValueError, match=message):
        cv_report(two_objectives, pareto_axes=axes)


# -- single objective: nothing changes ----------------------------------------------------------
@pytest.mark.parametrize("objectives", [None, ["accuracy"]])
def test_single_objective_search_has_no_front_section(objectives):
    search = _tree_search(objectives, n_iter=4)
    report = cv_report(search)
    assert report.pareto_front is None and report.pareto_axes is None
    assert "pareto_optimal" not in report.frame.columns
    assert "Pareto" not in report.to_html()
    assert "Pareto" not in report.to_markdown()
    with pytest.raises(ValueError, match="several objectives"):
        cv_report(search, pareto_axes=("accuracy", "size"))


# -- the plot's step line -----------------------------------------------------------------------
def _fake_search(columns, maximised):
    """A fitted-search stand-in with hand-made cv_results_: objective ``a`` (a score)
    and ``b`` (a score, or fit_time when not maximised)."""
    a, b = (np.asarray(c, dtype=float) for c in columns)
    n = len(a)
    cv = {"params": [{"p": i} for i in range(n)], "mean_score_time": np.full(n, 0.01),
          "std_score_time": np.zeros(n)}
    names = ["a", "b" if maximised[1] else "fit_time"]
    metrics = {"a": a, "b": b} if maximised[1] else {"a": a}
    cv["mean_fit_time"] = np.ones(n) if maximised[1] else b
    cv["std_fit_time"] = np.zeros(n)
    for m, values in metrics.items():
        cv[f"split0_test_{m}"] = values
        cv[f"mean_test_{m}"] = values
        cv[f"std_test_{m}"] = np.zeros(n)
    cv["pareto_optimal"] = pareto_mask(np.column_stack([-a, -b if maximised[1] else b]))
    return types.SimpleNamespace(cv_results_=cv, objectives=names, refit="a",
                                 best_index_=int(np.nanargmax(a)))


def _draw(search, axes):
    results = read_search(search)
    by_name = {o.name: o for o in results.objectives}
    fig = figure_class()()
    _plots._draw_pareto(fig, results, by_name[axes[0]], by_name[axes[1]])
    (line,) = fig.axes[0].lines
    return results, line


def test_step_line_for_two_scores():
    # a and b both larger-is-better: the front runs from top left to bottom right
    search = _fake_search([[0.1, 0.5, 0.9, 0.4, np.nan], [0.9, 0.6, 0.2, 0.3, 0.95]],
                          (True, True))
    results, line = _draw(search, ("a", "b"))
    assert list(np.flatnonzero(results.pareto_optimal)) == [0, 1, 2]  # NaN never
    np.testing.assert_array_equal(line.get_xdata(), [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(line.get_ydata(), [0.9, 0.6, 0.2])
    # larger x is better: between two front points the line has the next one's y
    assert line.get_drawstyle() == "steps-pre"


def test_step_line_for_a_score_against_a_time():
    # a larger-is-better, fit_time smaller-is-better
    search = _fake_search([[0.2, 0.5, 0.9, 0.4], [1.0, 2.0, 5.0, 3.0]], (True, False))
    results, line = _draw(search, ("fit_time", "a"))
    assert [o.maximised for o in results.objectives] == [True, False]
    assert list(np.flatnonzero(results.pareto_optimal)) == [0, 1, 2]
    np.testing.assert_array_equal(line.get_xdata(), [1.0, 2.0, 5.0])
    np.testing.assert_array_equal(line.get_ydata(), [0.2, 0.5, 0.9])
    # smaller x is better: the line keeps a point's y until the next one
    assert line.get_drawstyle() == "steps-post"
    results, line = _draw(search, ("a", "fit_time"))
    np.testing.assert_array_equal(line.get_xdata(), [0.2, 0.5, 0.9])
    assert line.get_drawstyle() == "steps-pre"
    report = cv_report(search)
    assert list(report.pareto_front.index) == [2, 1, 0]  # by a, best first
