"""Hyperparameter importance: fANOVA-style main effects of a random-forest surrogate."""

import numpy as np
import pytest

from sktune.report import cv_report
from sktune.report._importance import METHOD


class FinishedSearch:
    """Just the attributes a report reads from a fitted search."""

    def __init__(self, params, scores, n_splits=3, seed=0, fold_noise=0.01):
        rng = np.random.default_rng(seed)
        scores = np.asarray(scores, dtype=float)
        folds = scores[:, None] + rng.normal(0, fold_noise, (len(scores), n_splits))
        folds[~np.isfinite(scores)] = np.nan
        self.cv_results_ = {
            "params": params,
            "mean_fit_time": rng.uniform(0.01, 0.1, len(scores)),
            "mean_score_time": np.full(len(scores), 0.001),
            **{f"split{k}_test_score": folds[:, k] for k in range(n_splits)},
            "mean_test_score": folds.mean(axis=1),
            "std_test_score": folds.std(axis=1),
        }
        finite = np.where(np.isfinite(scores), scores, -np.inf)
        self.best_index_ = int(np.argmax(finite))


def _random_search(n, score_fn, seed=0):
    rng = np.random.default_rng(seed)
    params = [{"lr": float(10 ** rng.uniform(-4, -1)), "noise": float(rng.uniform()),
               "act": str(rng.choice(["relu", "tanh"]))} for _ in range(n)]
    return FinishedSearch(params, [score_fn(p) for p in params], seed=seed)


def test_the_parameter_that_drives_the_score_explains_most_of_it():
    search = _random_search(60, lambda p: -(np.log10(p["lr"]) + 2.5) ** 2)
    importance = cv_report(search).importance
    assert importance.index[0] == "lr"
    assert importance["lr"] > 0.8
    assert importance["noise"] < 0.1 and importance["act"] < 0.1
    assert importance.sum() <= 1.0 + 1e-9


def test_a_categorical_parameter_can_be_the_important_one():
    search = _random_search(40, lambda p: 1.0 if p["act"] == "relu" else 0.0)
    importance = cv_report(search).importance
    assert importance.index[0] == "act" and importance["act"] > 0.8


def test_interactions_are_what_main_effects_leave():
    # XOR-like: the score depends only on the pair, not on either alone.
    grid = [{"a": a, "b": b} for a in (0, 1) for b in (0, 1)] * 3
    search = FinishedSearch(grid, [float(p["a"] != p["b"]) for p in grid])
    report = cv_report(search)
    assert report.importance.max() < 0.2
    assert report._importance.interactions > 0.6


def test_failed_candidates_are_left_out():
    search = _random_search(30, lambda p: np.nan if p["noise"] > 0.8 else -p["lr"])
    report = cv_report(search)
    n_failed = int(np.isnan(search.cv_results_["mean_test_score"]).sum())
    assert n_failed > 0
    assert report._importance.n_candidates == 30 - n_failed
    assert report.importance.index[0] == "lr"


@pytest.mark.parametrize("params, scores, reason", [
    ([{"a": 1}, {"a": 2}, {"a": 3}], [0.1, 0.2, 0.3], "at least 5 candidates"),
    ([{"a": i} for i in range(6)], [0.5] * 6, "scored the same"),
    ([{"a": 1}] * 6, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "more than one value"),
])
def test_no_estimate_says_why(params, scores, reason):
    report = cv_report(FinishedSearch(params, scores, fold_noise=0.0))
    assert report.importance.empty
    assert reason in report._importance.reason
    assert reason in report.to_markdown()


def test_the_method_is_stated_in_both_outputs():
    report = cv_report(_random_search(20, lambda p: p["noise"]))
    assert "random-forest surrogate" in METHOD
    assert METHOD in report.to_markdown()
    assert "fANOVA-style main effects" in report.to_html()
    assert "out-of-bag R\N{SUPERSCRIPT TWO}" in report.to_markdown()


def test_estimate_is_deterministic():
    search = _random_search(25, lambda p: p["noise"] - p["lr"])
    first = cv_report(search).importance
    assert cv_report(search).importance.equals(first)
