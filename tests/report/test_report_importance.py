"""Hyperparameter importance and partial dependence from the report's Gaussian-process
model of the score: shapes of known functions recovered, intervals, interactions,
the same numbers on every call."""

import numpy as np
import pytest
from scipy.stats import loguniform, uniform

from sktune.report import cv_report
from sktune.report._importance import METHOD


class FinishedSearch:
    """Just the attributes a report reads from a fitted search."""

    def __init__(self, params, scores, n_splits=3, seed=0, fold_noise=0.01, spaces=None):
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
        if spaces is not None:
            self.param_distributions = spaces


def _random_search(n, score_fn, seed=0, fold_noise=0.01):
    rng = np.random.default_rng(seed)
    params = [{"lr": float(10 ** rng.uniform(-4, -1)), "noise": float(rng.uniform()),
               "act": str(rng.choice(["relu", "tanh"]))} for _ in range(n)]
    spaces = {"lr": loguniform(1e-4, 1e-1), "noise": uniform(0, 1), "act": ["relu", "tanh"]}
    return FinishedSearch(params, [score_fn(p) for p in params], seed=seed,
                          fold_noise=fold_noise, spaces=spaces)


def test_the_parameter_that_drives_the_score_explains_most_of_it():
    search = _random_search(40, lambda p: -(np.log10(p["lr"]) + 2.5) ** 2)
    importance = cv_report(search).importance
    assert list(importance.columns) == ["share", "lower", "upper"]
    assert importance.index[0] == "lr"
    assert importance.loc["lr", "share"] > 0.8
    assert importance.loc["noise", "share"] < 0.05 and importance.loc["act", "share"] < 0.05
    assert importance["share"].sum() <= 1.0 + 1e-9
    assert (importance["lower"] <= importance["share"]).all()
    assert (importance["share"] <= importance["upper"]).all()


def test_a_dimension_that_does_nothing_ranks_last_identically_on_every_call():
    def score(p):
        return -(np.log10(p["lr"]) + 2.5) ** 2 + (0.3 if p["act"] == "relu" else 0.0)

    search = _random_search(40, score)
    first = cv_report(search).importance
    assert first.index[-1] == "noise"
    assert first.loc["noise", "upper"] < 0.02
    assert cv_report(search).importance.equals(first)
    report = cv_report(search)
    assert report.interactions.equals(cv_report(search).interactions)


def test_a_categorical_parameter_can_be_the_important_one():
    search = _random_search(30, lambda p: 1.0 if p["act"] == "relu" else 0.0)
    importance = cv_report(search).importance
    assert importance.index[0] == "act" and importance.loc["act", "share"] > 0.8


def test_interactions_are_what_main_effects_leave():
    # the score is the product of two centred parameters: no main effect, all interaction
    rng = np.random.default_rng(1)
    params = [{"a": float(rng.uniform(-1, 1)), "b": float(rng.uniform(-1, 1)),
               "c": float(rng.uniform(-1, 1))} for _ in range(50)]
    search = FinishedSearch(params, [p["a"] * p["b"] for p in params], fold_noise=0.001)
    report = cv_report(search)
    assert report.importance["share"].max() < 0.15
    assert report._importance.interactions > 0.6
    pairs = report.interactions
    assert pairs.index[0] == ("a", "b")
    assert pairs["share"].iloc[0] > 0.6
    assert (pairs["share"].iloc[1:] < 0.1).all()


def test_partial_dependence_recovers_a_quadratic_and_a_flat_dimension():
    rng = np.random.default_rng(2)
    params = [{"x": float(rng.uniform(-1, 1)), "z": float(rng.uniform(0, 1))} for _ in range(30)]
    search = FinishedSearch(params, [-(p["x"] - 0.3) ** 2 for p in params], fold_noise=0.001,
                            spaces={"x": uniform(-1, 2), "z": uniform(0, 1)})
    report = cv_report(search)
    x = report.partial_dependence("x")
    assert list(x.columns) == ["x", "mean", "std"]
    assert x["x"].is_monotonic_increasing
    assert x["x"].iloc[0] == pytest.approx(-1, abs=1e-6)
    assert x["x"].iloc[-1] == pytest.approx(1, abs=1e-6)
    peak = x["x"].iloc[int(np.argmax(x["mean"]))]
    assert abs(peak - 0.3) < 0.1
    truth = -(x["x"] - 0.3) ** 2
    assert np.corrcoef(truth, x["mean"])[0, 1] > 0.99
    z = report.partial_dependence("z")
    assert np.ptp(z["mean"]) < 0.05 * np.ptp(x["mean"])
    both = report.partial_dependence("x", "z")
    assert list(both.columns) == ["x", "z", "mean"] and len(both) == 20 * 20
    assert (x["std"] >= 0).all()


def test_partial_dependence_is_on_the_dimension_scale_and_every_category():
    search = _random_search(30, lambda p: -(np.log10(p["lr"]) + 2.5) ** 2)
    report = cv_report(search)
    lr = report.partial_dependence("lr")
    steps = np.diff(np.log10(lr["lr"]))
    assert np.allclose(steps, steps[0])  # evenly spaced on the log scale
    assert lr["lr"].iloc[0] == pytest.approx(1e-4) and lr["lr"].iloc[-1] == pytest.approx(1e-1)
    act = report.partial_dependence("act")
    assert list(act["act"]) == ["relu", "tanh"]
    with pytest.raises(ValueError, match="not a hyperparameter of the model.*'act'"):
        report.partial_dependence("momentum")
    with pytest.raises(ValueError, match="two different"):
        report.partial_dependence("lr", "lr")


def test_failed_candidates_count_as_the_worst_score():
    search = _random_search(30, lambda p: np.nan if p["lr"] > 0.03 else -np.log10(p["lr"]))
    report = cv_report(search)
    n_failed = int(np.isnan(search.cv_results_["mean_test_score"]).sum())
    assert n_failed > 0
    assert report._importance.n_candidates == 30 - n_failed
    assert report.importance.index[0] == "lr"
    lr = report.partial_dependence("lr")
    assert lr["mean"].iloc[-1] < lr["mean"].iloc[0]  # the failing end predicted worst


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
    with pytest.raises(ValueError, match=reason):
        report.partial_dependence("a")


def test_the_method_is_stated_in_both_outputs():
    report = cv_report(_random_search(20, lambda p: p["noise"]))
    assert "Gaussian-process model" in METHOD
    assert METHOD in report.to_markdown()
    assert "fANOVA-style main effects" in report.to_html()
    assert "leave-one-out R\N{SUPERSCRIPT TWO}" in report.to_markdown()
    assert "5-95 %" in report.to_markdown()


@pytest.mark.parametrize("optimum, expected", [(-1.0, "upper"), (-5.0, "lower"), (-3.0, None)])
def test_an_edge_finding_appears_exactly_when_the_optimum_is_outside_the_range(
        optimum, expected):
    rng = np.random.default_rng(3)
    params = [{"lr": float(10 ** rng.uniform(-4, -2)), "width": int(rng.integers(16, 129))}
              for _ in range(30)]
    search = FinishedSearch(params, [-(np.log10(p["lr"]) - optimum) ** 2 for p in params],
                            fold_noise=0.001,
                            spaces={"lr": loguniform(1e-4, 1e-2), "width": list(range(16, 129))})
    findings = [f for f in cv_report(search).advice() if "widen" in f]
    if expected is None:
        assert findings == []
    else:
        assert len(findings) == 1
        assert findings[0].startswith("lr:") and f"widen the {expected} bound" in findings[0]
        assert "[0.0001, 0.01]" in findings[0]


def test_a_dimension_that_explains_nothing_is_named():
    search = _random_search(40, lambda p: -(np.log10(p["lr"]) + 2.5) ** 2)
    findings = cv_report(search).advice()
    assert any(f.startswith("noise explains under 2 %") for f in findings)
    assert not any(f.startswith("lr explains") for f in findings)


def test_a_stalled_search_is_told_by_the_folds_noise():
    rng = np.random.default_rng(4)
    params = [{"x": float(rng.uniform())} for _ in range(20)]
    # the best comes first; the rest never beat it by more than the folds' noise
    scores = [0.9] + [0.85 + 0.05 * p["x"] - 0.06 for p in params[1:]]
    search = FinishedSearch(params, scores, fold_noise=0.02)
    assert any("less than the folds' noise" in f for f in cv_report(search).advice())
    improving = FinishedSearch(params, list(np.linspace(0.5, 0.9, 20)), fold_noise=0.001)
    assert not any("folds' noise" in f for f in cv_report(improving).advice())
