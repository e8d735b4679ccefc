"""Racing candidates fold by fold (``BayesSearchCV(racing=...)``)."""

import math

import numpy as np
import pytest
from scipy.stats import t as student_t
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import PredefinedSplit

from sktune import BayesSearchCV, cv_report
from sktune.search import posterior_best
from sktune.search._racing import Reference, mark_partial, not_run, is_not_run
from sktune.space import Real

try:  # tests/search as a package, or (pytest's default) as a sys.path entry
    from ._bayes_search_toys import FoldScoreRegressor
except ImportError:
    from _bayes_search_toys import FoldScoreRegressor

K = 5


def _data(n_splits=K, per_fold=4):
    X = np.repeat(np.arange(n_splits, dtype=float), per_fold)[:, None] * np.ones((1, 2))
    return X, np.zeros(len(X)), PredefinedSplit(X[:, 0].astype(int))


def _search(n_iter=16, **kwargs):
    kwargs.setdefault("racing", True)
    kwargs.setdefault("random_state", 0)
    X, y, cv = _data()
    search = BayesSearchCV(FoldScoreRegressor(), {"x": Real(0.0, 1.0)}, n_iter=n_iter, cv=cv,
                           **kwargs)
    return search, X, y


# -- the decision ----------------------------------------------------------------------
def test_reference_estimates_fold_effects_and_noise():
    rng = np.random.default_rng(0)
    mu = np.array([0.9, 0.88, 0.85, 0.8, 0.7, 0.6])
    phi = np.array([0.02, -0.01, 0.0, 0.03, -0.04])
    scores = mu[:, None] + phi[None, :] + rng.normal(0, 0.005, (len(mu), K))
    ref = Reference(scores)
    assert ref.incumbent_mean == pytest.approx(scores.mean(axis=1).max())
    # well separated candidates: the best mean is hardly flattered
    assert ref.incumbent_mean - 0.003 < ref.incumbent_score <= ref.incumbent_mean
    np.testing.assert_allclose(ref.fold_effects, phi - phi.mean(), atol=0.006)
    assert 0.002 < math.sqrt(ref.sigma2) < 0.009
    assert ref.df == (3 - 1) * (K - 1)  # the best half: three candidates


def test_the_best_of_equal_candidates_is_raced_against_their_level():
    """Candidates equal but for the folds' noise: the best mean is luck, and the
    incumbent's score is shrunk to (about) their common level."""
    rng = np.random.default_rng(3)
    scores = 0.9 + rng.normal(0, 0.01, (12, K))
    ref = Reference(scores)
    top = np.sort(scores.mean(axis=1))[-6:]
    assert ref.incumbent_mean - ref.incumbent_score > 0.5 * (top[-1] - top.mean())
    assert ref.incumbent_score == pytest.approx(top.mean(), abs=0.004)


def test_chance_matches_its_model_by_simulation():
    """The probability equals the frequency, under the model it assumes, with which
    the candidate's mean over all folds ends above the incumbent's."""
    rng = np.random.default_rng(1)
    scores = 0.8 + np.array([0.02, -0.01, 0.0, 0.03, -0.04]) + rng.normal(0, 0.01, (8, K))
    ref = Reference(scores)
    seen = np.array([0.82, 0.79])
    # mu ~ its estimate + t noise; unseen folds add phi and their own noise
    n = 400_000
    j = len(seen)
    scale = math.sqrt(ref.sigma2)
    t_draws = student_t.rvs(ref.df, size=(n, 1 + K - j), random_state=rng)
    mu = ref.adjusted_mean(seen) + t_draws[:, :1] * scale / math.sqrt(j)
    unseen = mu + ref.fold_effects[j:] + t_draws[:, 1:] * scale
    final = (seen.sum() + unseen.sum(axis=1)) / K
    simulated = float(np.mean(final > ref.incumbent_score))
    # the closed form takes the sum as one t variable: close to the simulation
    assert ref.chance(seen) == pytest.approx(simulated, abs=0.03)
    assert 0.02 < ref.chance(seen) < 0.98  # a case where the answer is not trivial


def test_chance_falls_with_the_score_and_with_more_folds():
    scores = np.array([[0.9, 0.92, 0.91, 0.9, 0.89], [0.88, 0.9, 0.9, 0.87, 0.88],
                       [0.86, 0.88, 0.87, 0.86, 0.85]])
    ref = Reference(scores)
    good, bad = ref.chance([0.92]), ref.chance([0.80])
    assert bad < 0.01 < good
    # the same shortfall, seen on more folds, is more certain
    assert ref.chance([0.885, 0.905, 0.895]) < ref.chance([0.885])
    assert ref.chance(scores[2]) == 0.0  # all folds: the answer is known
    assert Reference.of([scores[0], [np.nan] * K]) is None  # one usable candidate


# -- cv_results_ -----------------------------------------------------------------------
def test_mark_partial_means_over_the_folds_run_and_ranks_complete_first():
    results = {"split0_test_score": np.array([0.9, 0.95, 0.5]),
               "split1_test_score": np.array([0.8, np.nan, np.nan]),
               "mean_test_score": np.array([0.85, np.nan, np.nan]),
               "std_test_score": np.array([0.05, np.nan, np.nan]),
               "rank_test_score": np.array([1, 2, 2]),
               "mean_fit_time": np.array([1.0, np.nan, np.nan]),
               "std_fit_time": np.array([0.0, np.nan, np.nan])}
    evaluated = np.array([[True, True], [True, False], [True, False]])
    times = {"fit_time": [1.0, 1.0, 2.0, np.nan, 3.0, np.nan]}
    out = mark_partial(results, evaluated, times)
    np.testing.assert_array_equal(out["n_splits_evaluated"], [2, 1, 1])
    np.testing.assert_allclose(out["mean_test_score"], [0.85, 0.95, 0.5])
    np.testing.assert_allclose(out["std_test_score"], [0.05, 0.0, 0.0])
    # candidate 1's partial mean beats candidate 0's, yet it ranks after it
    np.testing.assert_array_equal(out["rank_test_score"], [1, 2, 3])
    np.testing.assert_allclose(out["mean_fit_time"], [1.0, 2.0, 3.0])


def test_a_fold_not_run_is_shaped_as_one_that_ran():
    ran = {"test_scores": {"a": 0.9, "b": 0.1}, "fit_time": 1.0, "score_time": 0.1,
           "fit_error": None, "n_test_samples": 10}
    skipped = not_run(ran)
    assert is_not_run(skipped) and not is_not_run(ran)
    assert set(skipped) - set(ran) == {"_sktune_not_run"}
    assert all(math.isnan(v) for v in skipped["test_scores"].values())
    assert skipped["n_test_samples"] == 10 and math.isnan(skipped["fit_time"])


# -- the search ------------------------------------------------------------------------
def test_racing_saves_fits_and_keeps_the_choice():
    plain, X, y = _search(racing=False)
    raced, _, _ = _search()
    plain.fit(X, y)
    raced.fit(X, y)
    evaluated = raced.cv_results_["n_splits_evaluated"]
    assert "n_splits_evaluated" not in plain.cv_results_
    assert evaluated.sum() < 0.75 * len(evaluated) * K
    assert evaluated.min() == 1  # some candidates stop after their first fold
    # the choice: fully evaluated, and at least as good as without racing
    assert evaluated[raced.best_index_] == K
    assert -(raced.best_params_["x"] - 0.7) ** 2 >= -(plain.best_params_["x"] - 0.7) ** 2 - 1e-3


def test_raced_out_candidates_in_cv_results():
    search, X, y = _search()
    search.fit(X, y)
    r = search.cv_results_
    evaluated = r["n_splits_evaluated"]
    split = np.column_stack([r[f"split{i}_test_score"] for i in range(K)])
    ran = np.arange(K)[None, :] < evaluated[:, None]  # folds run in order
    assert np.isfinite(split[ran]).all() and np.isnan(split[~ran]).all()
    np.testing.assert_allclose(r["mean_test_score"],
                               [row[m].mean() for row, m in zip(split, ran)])
    complete = evaluated == K
    # every fully evaluated candidate ranks before every raced-out one
    assert r["rank_test_score"][complete].max() < r["rank_test_score"][~complete].min()
    assert np.isfinite(r["mean_fit_time"]).all()
    # the incumbent is evaluated on every fold: so is each candidate that was best
    # so far when it finished
    best_so_far = -np.inf
    for i in range(len(evaluated)):
        if complete[i] and r["mean_test_score"][i] > best_so_far:
            best_so_far = r["mean_test_score"][i]
    assert r["mean_test_score"][search.best_index_] == best_so_far


def test_the_optimiser_is_told_partial_means_with_more_noise():
    search, X, y = _search()
    search.fit(X, y)
    opt = search.optimizers_[0]
    evaluated = search.cv_results_["n_splits_evaluated"]
    noise = np.asarray(opt._noise, dtype=float).ravel()
    told = -np.asarray(opt.yi, dtype=float)
    assert len(told) == len(evaluated) and np.isfinite(told).all()
    partial = evaluated < K
    # a raced-out candidate's noise is the folds' variance over fewer folds
    assert np.median(noise[partial]) > np.median(noise[~partial])
    # its told score is its fold-adjusted mean: corrected for the first fold's
    # difficulty (fold 0 is the hardest here: 0.02 below the folds' mean)
    x = np.array([p["x"] for p in search.cv_results_["params"]])
    truth = -((x - 0.7) ** 2) + 0.02
    raw = search.cv_results_["mean_test_score"]
    assert np.abs(told[partial] - truth[partial]).max() < np.abs(raw[partial] -
                                                                 truth[partial]).min()


def test_racing_is_reproducible_for_any_n_jobs():
    a, X, y = _search(n_jobs=1)
    b, _, _ = _search(n_jobs=2)
    a.fit(X, y)
    b.fit(X, y)
    for key in a.cv_results_:
        if "time" in key or key.startswith("param"):
            continue
        np.testing.assert_array_equal(np.asarray(a.cv_results_[key]),
                                      np.asarray(b.cv_results_[key]), err_msg=key)
    assert a.cv_results_["params"] == b.cv_results_["params"]


def test_folds_run_ahead_on_idle_workers_never_change_the_results():
    """Fits ending in any order, three threads: folds run ahead of decisions and
    some are discarded, the same cv_results_ as one process in order."""
    from joblib import parallel_config

    a, X, y = _search(n_jobs=1)
    a.fit(X, y)
    b, _, _ = _search(n_jobs=3)
    b.set_params(estimator__jitter=0.02)
    with parallel_config(backend="threading"):
        b.fit(X, y)
    for key in ("mean_test_score", "n_splits_evaluated", "rank_test_score"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key], err_msg=key)
    assert a.n_discarded_fits_ == 0  # one process: nothing runs ahead
    assert b.n_discarded_fits_ >= 0


def test_a_resumed_raced_search_replays_it(tmp_path):
    path = str(tmp_path / "race.db")
    first, X, y = _search(checkpoint=path)
    first.fit(X, y)
    again, _, _ = _search(checkpoint=path)
    again.fit(X, y)
    for key in first.cv_results_:
        if key.startswith("param"):
            continue
        np.testing.assert_array_equal(np.asarray(first.cv_results_[key]),
                                      np.asarray(again.cv_results_[key]), err_msg=key)
    # a checkpoint of the unraced search is another search
    other, _, _ = _search(checkpoint=path, racing=False)
    with pytest.raises(Exception, match="racing"):
        other.fit(X, y)


def test_a_failing_candidate_stops_after_its_first_fold():
    search, X, y = _search(n_iter=14)
    search.set_params(estimator__fail_above=0.9)
    with pytest.warns(FitFailedWarning, match=r"failed out of a total of") as caught:
        search.fit(X, y)
    total = [w for w in caught if "out of a total" in str(w.message)][0]
    ran = search.cv_results_["n_splits_evaluated"].sum()
    assert f"out of a total of {ran}." in str(total.message)  # the fits that ran
    r = search.cv_results_
    x = np.array([p["x"] for p in r["params"]])
    failed = x > 0.9
    assert failed.any()
    # those raced (a reference existed) stopped at their failed fold
    late = failed & (np.arange(len(x)) >= 3)
    assert (r["n_splits_evaluated"][late] == 1).all()
    assert np.isnan(r["mean_test_score"][failed]).all()


def test_posterior_best_and_callbacks_never_pick_a_raced_out_candidate():
    seen = []
    search, X, y = _search(refit=posterior_best, callbacks=lambda state: seen.append(state))
    search.fit(X, y)
    evaluated = search.cv_results_["n_splits_evaluated"]
    assert evaluated[search.posterior_best_index_] == K
    scores = np.array(seen[-1].scores)
    np.testing.assert_array_equal(np.isnan(scores), evaluated < K)
    complete = evaluated == K
    assert seen[-1].best_score == search.cv_results_["mean_test_score"][complete].max()


def test_the_report_reads_a_raced_search():
    search, X, y = _search()
    search.fit(X, y)
    html = cv_report(search).to_html()
    assert "<html" in html.lower()


@pytest.mark.parametrize("racing", [0.0, 0.7, "yes"])
def test_racing_levels_are_checked(racing):
    search, X, y = _search(racing=racing)
    with pytest.raises(ValueError, match="racing"):
        search.fit(X, y)


def test_racing_with_several_objectives_says_what_to_do():
    search, X, y = _search(objectives=["score", "fit_time"])
    with pytest.raises(ValueError, match="Pareto front"):
        search.fit(X, y)


def test_too_many_workers_for_one_fold_at_a_time_warn():
    search, X, y = _search(n_iter=4, n_jobs=4, n_points=1)
    with pytest.warns(UserWarning, match="1 fold at a time"):
        search.fit(X, y)


def test_the_report_counts_fits_run_and_tells_raced_out_from_failed():
    search, X, y = _search()
    search.fit(X, y)
    evaluated = search.cv_results_["n_splits_evaluated"]
    md = cv_report(search).to_markdown()
    n_raced = int((evaluated < K).sum())
    assert n_raced > 0
    assert f"= {evaluated.sum()} fits (racing stopped {n_raced} early)" in md
    assert f"Racing stopped {n_raced} candidates" in md
    assert "failed" not in md.split("## Best parameters")[0].replace("Failed fits", "")


def test_a_raced_search_of_a_network_saves_and_loads(tmp_path):
    from sklearn.datasets import load_iris

    from sktune import NeuralNetClassifier, load, save

    X, y = load_iris(return_X_y=True)
    search = BayesSearchCV(NeuralNetClassifier(epochs=3, random_state=0),
                           {"lr": (1e-5, 1.0, "log-uniform")}, n_iter=10, cv=K, racing=True,
                           random_state=0).fit(X.astype(np.float32), y)
    assert (search.cv_results_["n_splits_evaluated"] < K).any()
    save(search, tmp_path / "search")
    loaded = load(tmp_path / "search")
    for key, value in search.cv_results_.items():
        if not key.startswith("param"):
            np.testing.assert_array_equal(np.asarray(loaded.cv_results_[key]),
                                          np.asarray(value), err_msg=key)
