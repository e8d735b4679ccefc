"""The scheduler: no round or rung barriers, the same results for any n_jobs,
backend and timing, cold starts, lost workers."""

import concurrent.futures as cf
import math
import os
import pickle
import warnings

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib.externals.loky import get_reusable_executor
from numpy.testing import assert_array_equal
from sklearn.utils import check_random_state

from sktune import BayesSearchCV, HyperbandSearchCV
from sktune.search import Optimizer, parse_search_spaces
from sktune.search._hyperband.brackets import hyperband_brackets
from sktune.search._fits import rounds
from sktune.search._fits.pool import ThreadPool, _loky_workers_alive
from sktune.search._fits.scheduler import MAX_UNSENT
from sktune.search._hyperband.rungs import RungPlan

from _scheduler_toys import Quadratic, toy_cv, toy_data

SPACE = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}


def _bayes(**kwargs):
    kwargs = {"n_iter": 12, "cv": toy_cv(), "random_state": 0,
              "optimizer_kwargs": {"n_initial_points": 4}, **kwargs}
    return BayesSearchCV(kwargs.pop("estimator", Quadratic()), SPACE, **kwargs)


def _hyperband(**kwargs):
    kwargs = {"max_epochs": 9, "cv": toy_cv(), "random_state": 0, **kwargs}
    return HyperbandSearchCV(kwargs.pop("estimator", Quadratic()), SPACE, **kwargs)


def _assert_same(a, b):
    ra, rb = a.cv_results_, b.cv_results_
    assert len(set(ra["mean_test_score"])) > 1  # a comparison that can fail
    assert ra["params"] == rb["params"]
    for key in ra:
        if "time" not in key and key != "params":
            assert_array_equal(ra[key], rb[key], err_msg=key)
    assert a.best_params_ == b.best_params_


def _fit(search, backend=None):
    X, y = toy_data()
    if backend is None:
        return search.fit(X, y)
    with parallel_config(backend=backend):
        return search.fit(X, y)


@pytest.mark.parametrize("n_points", [1, 3])
def test_bayes_gives_the_same_results_for_any_n_jobs_backend_and_timing(n_points):
    reference = _fit(_bayes(n_points=n_points, n_jobs=1))
    threads = _fit(_bayes(n_points=n_points, n_jobs=4, estimator=Quadratic(jitter=0.02)),
                   "threading")
    processes = _fit(_bayes(n_points=n_points, n_jobs=2, estimator=Quadratic(jitter=0.02)),
                     "loky")
    _assert_same(reference, threads)
    _assert_same(reference, processes)


def test_candidate_k_knows_exactly_the_results_of_candidates_before_the_window():
    search = _fit(_bayes(n_points=2, n_jobs=3, estimator=Quadratic(jitter=0.01)), "threading")
    params = search.cv_results_["params"]
    values = [-s for s in search.cv_results_["mean_test_score"]]
    folds = np.column_stack([search.cv_results_[f"split{i}_test_score"] for i in range(3)])
    noise = folds.var(axis=1, ddof=1) / 3  # what BayesSearchCV tells of each mean
    # replay by hand: candidate k is asked after telling exactly 0..k-3
    space = parse_search_spaces(SPACE)[0][0]
    seed = check_random_state(0).randint(np.iinfo(np.int32).max, size=1)[0]
    optimizer = Optimizer(space, random_state=seed, n_initial_points=4)
    told = 0
    for k in range(len(params)):
        while told < k - 2:
            optimizer.tell(params[told], values[told], noise=noise[told])
            told += 1
        assert optimizer.ask() == params[k], k


def test_asynchronous_search_uses_whatever_has_finished():
    search = _fit(_bayes(asynchronous=True, n_jobs=3, n_iter=14,
                         estimator=Quadratic(jitter=0.02)), "threading")
    params = search.cv_results_["params"]
    assert len(params) == 14 and len({(p["x"], p["y"]) for p in params}) == 14
    assert search.best_score_ > -0.55  # the optimum is -0.25 (one epoch)
    assert len(search.optimizers_[0].yi) == 14  # every result told in the end


def test_asynchronous_search_refuses_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="asynchronous=False"):
        _fit(_bayes(asynchronous=True, checkpoint=tmp_path / "c.sqlite"))


def _spans(log):
    """{x: [(begin, end), ...]} of the fits a Quadratic logged."""
    spans = {}
    for line in open(log):
        x, epochs, begin, end, _ = line.split()
        spans.setdefault(float(x), []).append((int(epochs), float(begin), float(end)))
    return spans


def test_the_next_candidate_starts_while_a_slow_fold_runs(tmp_path):
    log = tmp_path / "fits.log"
    search = _fit(_bayes(n_points=1, n_jobs=3, n_iter=6,
                         estimator=Quadratic(slow_first_fold=0.3, log=str(log))), "threading")
    spans = _spans(log)
    xs = [p["x"] for p in search.cv_results_["params"]]
    overlapping = 0
    for k in range(len(xs) - 1):
        slowest_end = max(end for _, _, end in spans[xs[k]])
        next_start = min(begin for _, begin, _ in spans[xs[k + 1]])
        overlapping += next_start < slowest_end
    # Rounds would start candidate k+1 only after candidate k's slow fold (0
    # overlaps); with n_points=1, k+1 waits for k-1 only, so at least every other
    # pair overlaps.
    assert overlapping >= (len(xs) - 1) // 2


def test_too_few_candidates_in_flight_for_the_workers_warns():
    with pytest.warns(UserWarning, match="n_points >= 2"):
        _fit(_bayes(n_points=1, n_jobs=8, n_iter=4), "threading")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit(_bayes(asynchronous=True, n_jobs=8, n_iter=4), "threading")
        _fit(_bayes(n_points=2, n_jobs=8, n_iter=4), "threading")


def test_hyperband_gives_the_same_results_for_any_n_jobs_backend_and_timing():
    reference = _fit(_hyperband(n_jobs=1))
    threads = _fit(_hyperband(n_jobs=4, estimator=Quadratic(jitter=0.02)), "threading")
    processes = _fit(_hyperband(n_jobs=2, estimator=Quadratic(jitter=0.02)), "loky")
    _assert_same(reference, threads)
    _assert_same(reference, processes)
    assert reference.epochs_trained_ == threads.epochs_trained_ == processes.epochs_trained_


def test_hyperband_promotes_before_its_rung_is_complete(tmp_path):
    log = tmp_path / "fits.log"
    search = _fit(_hyperband(n_jobs=3, estimator=Quadratic(log=str(log), jitter=0.01),
                             proposals="random", max_epochs=27, n_brackets=1), "threading")
    results = search.cv_results_
    bracket, rung = np.asarray(results["bracket"]), np.asarray(results["iter"])
    first = [p["x"] for p, b, i in zip(results["params"], bracket, rung) if b == 0 and i == 0]
    promoted = [p["x"] for p, b, i in zip(results["params"], bracket, rung) if b == 0 and i == 1]
    spans = _spans(log)
    last_first_rung_end = max(end for x in first for e, _, end in spans[x] if e == 1)
    earliest_promotion = min(begin for x in promoted for e, begin, _ in spans[x] if e > 1)
    assert earliest_promotion < last_first_rung_end


@pytest.mark.parametrize("seed", range(20))
def test_rung_plan_promotes_the_synchronous_set_for_any_completion_order(seed):
    rng = np.random.default_rng(seed)
    brackets = hyperband_brackets(27, 1, 3)
    plan = RungPlan(brackets, n_splits=1)
    scores = {}
    running = []
    early = 0

    def start(rung, cid):
        running.append((rung.b, rung.i, cid))

    while not plan.all_emitted():
        while plan.next_bracket_ready():
            b = plan.next_bracket
            for cid in plan.open_bracket(b, [{}] * brackets[b][0].n_candidates):
                start(plan.rung(b, 0), cid)
        b, i, cid = running.pop(rng.integers(len(running)))
        rung = plan.rung(b, i)
        # ties and failures on purpose
        score = scores.setdefault((cid, i), rng.choice([np.nan, 0.1, 0.2, 0.2, 0.3])
                                  + 0.0 * rng.random())
        rung.scores[cid] = float(score)
        if plan.rung(b, i + 1) is not None:
            for c in plan.promotions(rung):
                early += not rung.complete()
                start(plan.rung(b, i + 1), c)
            if rung.complete():
                plan.close_next(rung)  # raises if the promotions differ from the best
                expected = sorted((c for c in rung.members if math.isfinite(rung.scores[c])),
                                  key=lambda c: (-rung.scores[c], c))
                assert plan.rung(b, i + 1).members == expected[:brackets[b][i + 1].n_candidates]
        list(plan.emittable())
    assert early > 0


@pytest.fixture
def warm_loky_workers():
    """Two live loky workers, as after an earlier search."""
    Parallel(n_jobs=2, backend="loky")(delayed(os.getpid)() for _ in range(4))


def test_a_short_cold_search_runs_in_this_process_alone():
    get_reusable_executor().shutdown(wait=True)
    reference = _fit(_bayes(n_jobs=1))
    cold = _fit(_bayes(n_jobs=2), "loky")
    # 36 fits of ~0 s: less work than starting a worker, so none is started
    assert cold.n_local_fits_ == 12 * 3
    _assert_same(reference, cold)


@pytest.mark.slow
def test_a_long_cold_search_starts_the_workers_beside_this_process(monkeypatch):
    from sktune.search._fits import scheduler as _scheduler

    monkeypatch.setattr(_scheduler, "WORKER_START_SECONDS", 0.0)  # any work is worth it
    get_reusable_executor().shutdown(wait=True)
    estimator = Quadratic(sleep=0.3)  # 24 fits of 0.3 s: longer than a worker's start
    reference = _fit(_bayes(n_jobs=1, n_iter=8, estimator=estimator))
    cold = _fit(_bayes(n_jobs=2, n_iter=8, estimator=estimator), "loky")
    # the worker was started beside this process, which fitted from the start (how
    # many fits the worker takes depends on how long its start takes on this machine:
    # on a loaded one, this process may have done them all before it answers)
    assert _loky_workers_alive() == 1
    assert 0 < cold.n_local_fits_ <= 8 * 3
    _assert_same(reference, cold)


def test_a_killed_worker_costs_its_fits_only(tmp_path, warm_loky_workers):
    reference = _fit(_bayes(n_jobs=1))
    estimator = Quadratic(die_once_in=str(tmp_path), main_pid=os.getpid(), sleep=0.01)
    survivor = _fit(_bayes(n_jobs=2, estimator=estimator), "loky")
    assert (tmp_path / "died").exists()  # a worker was killed mid-search
    assert survivor.n_lost_fits_ >= 1
    _assert_same(reference, survivor)

    reference = _fit(_hyperband(n_jobs=1))
    (tmp_path / "died").unlink()
    survivor = _fit(_hyperband(n_jobs=2, estimator=estimator), "loky")
    assert (tmp_path / "died").exists() and survivor.n_lost_fits_ >= 1
    _assert_same(reference, survivor)


@pytest.mark.slow
def test_a_fit_that_always_kills_its_worker_is_a_failed_fit(warm_loky_workers):
    # the fits last long enough that others are in flight when one kills its
    # worker: they are lost with it, but never charged for it
    estimator = Quadratic(always_die_above=0.5, main_pid=os.getpid(), sleep=0.2)
    search = BayesSearchCV(estimator, {"x": [0.0, 0.9, 0.3, 0.45]}, n_iter=4, cv=toy_cv(),
                           n_jobs=2, random_state=0)
    with pytest.warns(RuntimeWarning, match="killed its worker 3 times") as record:
        _fit(search, "loky")
    assert sum("killed its worker" in str(w.message) for w in record) == 1
    results = search.cv_results_
    failed = [p["x"] for p, s in zip(results["params"], results["mean_test_score"])
              if not np.isfinite(s)]
    assert failed == [0.9]
    assert np.isfinite(results["split1_test_score"]).all()  # only fold 0 died
    assert search.n_lost_fits_ >= 3
    # the other candidates' scores are those of an undisturbed run
    reference = BayesSearchCV(Quadratic(), {"x": [0.0, 0.9, 0.3, 0.45]}, n_iter=4, cv=toy_cv(),
                              n_jobs=1, random_state=0).fit(*toy_data())
    ok = np.isfinite(results["mean_test_score"])
    assert results["params"] == reference.cv_results_["params"]
    assert_array_equal(results["mean_test_score"][ok], reference.cv_results_["mean_test_score"][ok])
    assert search.best_params_ == reference.best_params_


def test_other_joblib_backends_run_in_batches_with_the_same_results():
    reference = _fit(_bayes(n_jobs=1, n_iter=8))
    batched = _fit(_bayes(n_jobs=2, n_iter=8), "multiprocessing")
    _assert_same(reference, batched)


class _UnsentPool(ThreadPool):
    """Threads where the fit of candidate 0 on split 0 fails ``n_fail`` times as
    loky's do when it cannot pickle a task for its worker."""

    def __init__(self, n_workers, n_fail):
        super().__init__(n_workers)
        self.n_fail, self.failed = n_fail, 0

    def submit(self, fn, *args):
        _, (_, _, _, (split, _), (candidate, _), _, _) = args
        if (split, candidate) == (0, 0) and self.failed < self.n_fail:
            self.failed += 1
            future = cf.Future()
            future.set_exception(pickle.PicklingError(
                "Could not pickle the task to send it to the workers."))
            return future
        return super().submit(fn, *args)

    def unsent(self, exc):
        return isinstance(exc, pickle.PicklingError)


def test_a_task_that_could_not_be_sent_is_sent_again(monkeypatch):
    X, y = toy_data()
    kwargs = dict(n_iter=4, cv=toy_cv(), random_state=0, refit=False)
    plain = BayesSearchCV(Quadratic(), SPACE, **kwargs).fit(X, y)
    pools = []

    def flaky(n_jobs):
        pools.append(_UnsentPool(2, n_fail))
        return pools[-1]

    monkeypatch.setattr(rounds, "open_pool", flaky)
    n_fail = MAX_UNSENT  # the first task fails that many times, then is sent
    again = BayesSearchCV(Quadratic(), SPACE, n_jobs=2, **kwargs).fit(X, y)
    assert pools[-1].failed == MAX_UNSENT
    for key in ("params", "mean_test_score"):
        assert_array_equal(np.asarray(again.cv_results_[key]), np.asarray(plain.cv_results_[key]))
    n_fail = MAX_UNSENT + 1  # a task that never pickles is an error, not a loop
    with pytest.raises(pickle.PicklingError, match="Could not pickle"):
        BayesSearchCV(Quadratic(), SPACE, n_jobs=2, **kwargs).fit(X, y)


class _RecordingPool(ThreadPool):
    """Threads that record the callback context each task carries; ``sends``: as
    a pool whose tasks leave the process (loky, Dask, Ray)."""

    def __init__(self, n_workers, sends):
        super().__init__(n_workers)
        self.sends_tasks = sends
        self.contexts = []

    def submit(self, fn, *args):
        _, (_, _, _, _, _, ctx, _) = args
        self.contexts.append(ctx)
        return super().submit(fn, *args)


@pytest.mark.parametrize("search", ["bayes", "hyperband"])
def test_fits_carry_no_callback_context_without_scikit_learn_callbacks(monkeypatch, search):
    """A split's context points to the search's whole task tree (growing with every
    task): sent only where scikit-learn callbacks of the search run in the fits."""
    from sktune.search._fits.pool import PickledContext
    from test_hyperband import Toy, _toy_data

    pools = []

    def recording(n_jobs):
        pools.append(_RecordingPool(2, sends=True))
        return pools[-1]

    monkeypatch.setattr(rounds, "open_pool", recording)
    if search == "bayes":
        BayesSearchCV(Quadratic(), SPACE, n_iter=4, cv=toy_cv(), n_jobs=2, random_state=0,
                      refit=False).fit(*toy_data())
    else:
        HyperbandSearchCV(Toy(), {"x": (0.0, 0.9)}, max_epochs=9, cv=2, n_jobs=2,
                          random_state=0, refit=False).fit(*_toy_data())
    assert pools[-1].contexts and all(ctx is None for ctx in pools[-1].contexts)

    class Recorder:  # a scikit-learn callback of the search: the contexts go then
        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, **kwargs):
            pass

        def on_fit_task_end(self, estimator, context, **kwargs):
            pass

        def teardown(self, estimator, context):
            pass

    with_callback = BayesSearchCV(Quadratic(), SPACE, n_iter=4, cv=toy_cv(), n_jobs=2,
                                  random_state=0, refit=False)
    with_callback.set_callbacks(Recorder())
    with_callback.fit(*toy_data())
    contexts = pools[-1].contexts
    assert contexts and all(isinstance(ctx, PickledContext) for ctx in contexts)
    # pickled when the task was queued: the tree grown since is not in it
    first, last = contexts[0].load(), contexts[-1].load()
    assert first.task_name == last.task_name == "candidate-split-evaluation"
    assert _tree_size(first) < _tree_size(last)


def _tree_size(ctx):
    """Contexts in the whole task tree a context belongs to."""
    while ctx.parent is not None:
        ctx = ctx.parent

    def count(node):
        return 1 + sum(count(child) for child in node._children_map.values())

    return count(ctx)
