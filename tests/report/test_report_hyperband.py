"""Reports of multi-fidelity searches: rows per rung, ranked like the search, named resources."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import HalvingRandomSearchCV
from scipy.stats import loguniform

from sktune import HyperbandSearchCV
from sktune.report import cv_report
from sktune.report._results import read_search


@pytest.fixture(scope="module")
def hyperband():
    X, y = make_classification(200, 8, random_state=0)
    search = HyperbandSearchCV(SGDClassifier(random_state=0),
                               {"alpha": (1e-5, 1e-1, "log-uniform")}, resource="max_iter",
                               max_epochs=8, factor=2, cv=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SGD's ConvergenceWarning after few epochs
        return search.fit(X, y)


def test_hyperband_rows_rank_final_scores_first_like_the_search(hyperband):
    results = read_search(hyperband)
    r = hyperband.cv_results_
    assert results.resource == "max_iter"
    assert results.order[0] == hyperband.best_index_
    assert results.rank[hyperband.best_index_] == 1
    final = results.final
    # exactly one final row per candidate: its last rung
    ids = np.asarray(r["candidate"])
    assert sorted(ids[final].tolist()) == sorted(set(ids.tolist()))
    assert all(i == max(np.flatnonzero(ids == ids[i])) for i in np.flatnonzero(final))
    # final scores come before any earlier rung, best first
    n_final = int(final.sum())
    assert final[results.order[:n_final]].all()
    scores = results.mean[results.primary][results.order[:n_final]]
    assert (np.diff(scores) <= 0).all()


def test_hyperband_report_names_evaluations_brackets_and_epochs(hyperband):
    report = cv_report(hyperband)
    text = report.to_markdown()
    n_candidates = len(set(hyperband.cv_results_["candidate"]))
    n_rows = len(hyperband.cv_results_["params"])
    n_brackets = len(hyperband.brackets_)
    assert (f"{n_rows} evaluations of {n_candidates} candidates in {n_brackets} Hyperband "
            "brackets") in text
    assert "| iter | max_iter |" in text and "| samples |" not in text
    assert "Hyperband: one row per candidate and rung" in text
    assert "is not the top-ranked candidate" not in text
    frame = report.frame
    assert {"bracket", "hyperband_candidate", "final", "n_resources"} <= set(frame)
    assert frame.index[0] == hyperband.best_index_
    assert frame["final"].iloc[0]
    html = report.to_html()
    assert "coloured by the max_iter trained" in html


def test_sklearn_halving_over_a_parameter_names_it_not_samples():
    X, y = make_classification(200, 8, random_state=0)
    search = HalvingRandomSearchCV(SGDClassifier(random_state=0),
                                   {"alpha": loguniform(1e-5, 1e-1)}, resource="max_iter",
                                   min_resources=1, max_resources=8, factor=2, cv=3,
                                   random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    text = cv_report(search).to_markdown()
    assert "| iter | max_iter |" in text
    assert "trained on more max_iter" in text
    assert read_search(search).candidate_ids is None
