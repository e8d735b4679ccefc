"""What every round-based search of sktune shares (``BayesSearchCV``, ``HyperbandSearchCV``).

A round-based search calls sklearn's ``evaluate_candidates`` many times from
``_run_search`` (once per round or rung) instead of once. That needs:

- folds drawn once and reused (:class:`_FrozenSplits`), so scores of
  different rounds are comparable;
- fit failures collected over the rounds rather than sklearn's "All the N fits
  failed" after one bad round (:mod:`.failures`);
- an optional checkpoint that records every round (:mod:`.checkpoint`);
- sklearn's non-finite-score warning once at the end instead of every round;
- stopping callbacks after each round, and a time budget watched between
  fits (:mod:`..callbacks`): ``stopped_by_`` says what stopped the search,
  ``search_time_`` how long it took.
"""

import math
import os
import time
import warnings

from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_method_params, indexable

from ...data._inputs import as_inputs, is_inputs
from ...data._view import as_view, is_dataset
from .._racing import NOT_RUN, is_not_run, mark_partial
from .._ranks import rank_scores
from .checkpoint import checkpoint_session
from .failures import collect_fit_failures, raise_if_all_failed
from .histories import by_candidate, take_histories
from .pool import open_pool
from .scheduler import Evaluations
from .task_hook import KnownResults
from ..callbacks import SearchState, TimeBudgetStopper, describe, time_budget


class _FrozenSplits:
    """A CV splitter that splits once and then replays the same folds.

    A shuffling splitter without an integer seed (``KFold(shuffle=True)``)
    gives new folds at every ``split`` call; a sequential search calls it once
    per round, and scores of different rounds would not be comparable.
    """

    def __init__(self, cv, on_split=None):
        self.cv = cv
        self.on_split = on_split  # called once with (X, y, splits), e.g. by a checkpoint
        self._splits = None

    def get_n_splits(self, X=None, y=None, groups=None, **params):
        return self.cv.get_n_splits(X, y, groups, **params)

    def split(self, X, y=None, groups=None, **params):
        if self._splits is None:
            self._splits = list(self.cv.split(X, y, groups, **params))
            if self.on_split is not None:
                self.on_split(X, y, self._splits)
        return iter(self._splits)


class RoundBasedSearchCV(BaseSearchCV):
    """Base of the searches that evaluate candidates in rounds (not public).

    Subclasses implement ``_run_search`` with :meth:`_rounds` (the
    ``evaluate_candidates`` to call, wrapped for the checkpoint, and the
    frozen folds), :meth:`_after_round` and :meth:`_finish`, and
    :meth:`_checkpoint_settings`.
    """

    #: The parameters every round-based search has, on top of ``BaseSearchCV``'s.
    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "random_state": ["random_state"],
        "optimizer_kwargs": [None, dict],
        "callbacks": [None, callable, list],
        "checkpoint": [None, str, os.PathLike],
        "checkpoint_every": [None, Interval(Real, 0, None, closed="left")],
    }

    #: Attributes left out when the search is pickled into a parallel task.
    _not_sent_to_workers = ()

    #: True for searches that run their fits on the scheduler
    #: (:meth:`_open_evaluations`) and use sklearn's ``evaluate_candidates``
    #: only to format known results: sklearn's own ``Parallel`` then runs
    #: with one job (nothing to fit), the scheduler with ``n_jobs``.
    _scheduled = False

    # -- fit ---------------------------------------------------------------------
    def fit(self, X, y=None, *, callback=None, **params):
        """Run the search, round after round, then refit the best candidate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), mapping or torch Dataset
            Training data. A map-style torch ``Dataset`` is split by index
            (as a :class:`~sktune.data.DatasetView`) and read batch by batch
            by the estimator; a mapping of arrays (named inputs, such as a
            tokenizer's output) is split by rows (as an
            :class:`~sktune.data.InputDict`).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets. None with a dataset ``X`` reads its labels
            (``DatasetView.targets``), so classifiers' folds are stratified
            and every scorer sees them.
        callback : callable or list of callables, default=None
            Extra stopping callbacks for this call only, as scikit-optimize's
            ``fit(callback=...)``; they run after those of ``callbacks``.
        **params : dict
            Passed to the estimator's ``fit``, the scorer and the CV splitter
            (``groups``), as in ``GridSearchCV``.

        Returns
        -------
        self : object
            The fitted search.
        """
        if is_dataset(X):
            X = as_view(X)
            if y is None:
                y = X.targets
        elif is_inputs(X):  # named inputs (a tokenizer's dict): split by rows, not keys
            X = as_inputs(X)
        self._fit_callbacks = callback
        self._searching = True
        self._fit_args = (X, y, params)
        n_jobs = self.n_jobs
        if self._scheduled:
            self._pool_n_jobs, self.n_jobs = n_jobs, 1
        try:
            with collect_fit_failures(self.error_score, owner=self), \
                    checkpoint_session(self, params) as self._checkpoint_session:
                super().fit(X, y, **params)
                if self._checkpoint_session is not None:
                    self._checkpoint_session.search_done()
            histories = self.__dict__.pop("_fit_histories", None) or []
            kept = any(h is not None for splits in histories for h in splits)
            self.fit_histories_ = histories if kept else None
            if self.return_train_score:
                _rank_train_scores(self.cv_results_)
            return self
        finally:
            self.n_jobs = n_jobs
            del self._fit_callbacks, self._searching, self._fit_args
            self.__dict__.pop("_checkpoint_session", None)
            for name in ("_pool_n_jobs", "_budget_stopper", "_unrecorded_evaluate",
                         "_search_start", "_fit_histories"):
                self.__dict__.pop(name, None)

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        if state.pop("_searching", False):
            # sklearn >= 1.9 ships the search to every parallel fit (``caller``
            # of _fit_and_score, for its callback hooks only): leave out the
            # user's callbacks, which need not be picklable, the search's
            # working state, which grows with every round, and its estimator,
            # which the task carries already (a pretrained module in it would
            # otherwise travel with every task).
            state.update(callbacks=None, _fit_callbacks=None, estimator=None)
            for name in ("_checkpoint_session", "_fit_args", "_unrecorded_evaluate",
                         "_budget_stopper", "_fit_histories", *self._not_sent_to_workers):
                state.pop(name, None)
        return state

    def _checkpoint_settings(self):
        """Settings (JSON values) that a resumed search must share with the original."""
        raise NotImplementedError

    # -- helpers for _run_search ---------------------------------------------------
    def _rounds(self, evaluate_candidates):
        """``(evaluate_candidates, cv)`` for the rounds: checkpointed, frozen folds."""
        session = getattr(self, "_checkpoint_session", None)
        # the last, incomplete round of a search stopped by its time budget is
        # not recorded in the checkpoint (a resumed search evaluates it whole)
        self._unrecorded_evaluate = evaluate_candidates
        if session is not None:  # finished rounds are replayed from the checkpoint
            evaluate_candidates = session.wrap(evaluate_candidates)
        cv = _FrozenSplits(self._checked_cv_orig,
                           on_split=session.check_data if session is not None else None)
        return evaluate_candidates, cv

    def _open_evaluations(self, cv, n_candidates=None):
        """The scheduler of this search's fits (:class:`~.scheduler.Evaluations`):
        the data, the folds of ``cv`` and sklearn's arguments of ``_fit_and_score``
        as ``BaseSearchCV.fit`` builds them, on the pool of ``n_jobs``;
        ``n_candidates`` (the most the search will evaluate) sizes a cold start."""
        X, y, params = self._fit_args
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        scorers, _ = self._get_scorers()
        splits = list(cv.split(X, y, **routed.splitter.split))
        _check_splits(splits, self.n_splits_)
        session = getattr(self, "_checkpoint_session", None)
        kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                      score_params=routed.scorer.score,
                      return_train_score=self.return_train_score, return_n_test_samples=True,
                      return_times=True, return_parameters=False,
                      error_score=self.error_score, verbose=self.verbose,
                      # what scikit-learn's callbacks see; without any, nothing to send
                      caller=self if getattr(self, "_skl_callbacks", None) else None)
        if session is not None and self.checkpoint_every is not None:
            # running fits save their training state beside the checkpoint
            kwargs["fit_states"] = session.fit_states(self.checkpoint_every)
        budget = time_budget(self._callback_list())  # checked before the workers start
        self._budget_stopper = budget
        pool = open_pool(getattr(self, "_pool_n_jobs", self.n_jobs))
        expected = None if n_candidates is None else n_candidates * len(splits)
        evaluations = Evaluations(pool, (clone(self.estimator), X, y, kwargs), splits,
                                  expected_tasks=expected)
        if budget is not None:
            evaluations.deadline = self._search_start + budget.budget()
        return evaluations

    def _budget_spent(self, evaluations):
        """True once the time budget is spent (no fit starts any more); the search
        then records the candidates complete when the running fits end and stops."""
        if not evaluations.expired:
            return False
        if self.stopped_by_ is None:
            self.stopped_by_ = describe(self._budget_stopper)
        return True

    def _format_known(self, evaluate_candidates, candidates, cv, **kwargs):
        """``cv_results_`` after adding ``candidates`` (:class:`KnownResults`):
        sklearn's own formatting, nothing fitted."""
        verbose, self.verbose = self.verbose, 0  # no "Fitting k folds" per candidate
        try:
            return evaluate_candidates(candidates, cv=cv, **kwargs)
        finally:
            self.verbose = verbose

    def _seeds(self, drawn):
        """Seeds of the original run when resuming, else ``drawn``."""
        session = getattr(self, "_checkpoint_session", None)
        return drawn if session is None else session.seeds(drawn)

    def _optimised_metric(self, results):
        """The ``cv_results_`` key of the score the search maximises: the only
        metric; with several, the one ``refit`` names, else (``refit=False`` or a
        callable) the first of ``scoring``."""
        if "mean_test_score" in results:
            return "mean_test_score"
        metrics = [k[len("mean_test_"):] for k in results if k.startswith("mean_test_")]
        if isinstance(self.refit, str) and self.refit in metrics:
            return f"mean_test_{self.refit}"
        # scikit-learn's error for a refit that names no metric (a callable scorer
        # returning a dict: its names are known from the first fit on)
        self._check_refit_for_multimetric(metrics)
        return f"mean_test_{metrics[0]}"

    def _callback_list(self):
        callbacks = []
        for given in (self.callbacks, getattr(self, "_fit_callbacks", None)):
            if given is not None:
                callbacks += given if isinstance(given, list) else [given]
        for cb in callbacks:
            if not callable(cb):
                raise ValueError(f"callbacks must be callables; got {cb!r}.")
        return callbacks

    def _start_rounds(self):
        """Reset the per-search bookkeeping of :meth:`_after_round`; the search's
        time (and its time budget) starts now."""
        self._round_scores, self._best_scores = [], []
        self.n_rounds_ = 0
        self.stopped_by_ = None
        self._search_start = time.perf_counter()

    def _round_context(self, search_ctx, task_name, candidate_ids):
        """The scikit-learn callback context of one round, begun.

        ``candidate_ids`` number the round's candidates within the whole search
        (in the order they are evaluated); callbacks read them as the search's
        ``_round_candidate_ids`` when the round begins (TensorBoard runs are
        named by them).
        """
        self._round_candidate_ids = [int(i) for i in candidate_ids]
        return search_ctx.subcontext(
            task_name=task_name, max_subtasks=len(self._round_candidate_ids) * self.n_splits_,
            sequential_subtasks=False,
        ).call_on_fit_task_begin(estimator=self)

    def _after_round(self, new_scores, results, start, stoppers, sklearn_stop=False):
        """Record a round's scores; True when a stopping callback asks to stop
        (``stopped_by_`` names it; ``sklearn_stop``: a scikit-learn callback did)."""
        self.n_rounds_ += 1
        self._round_scores += new_scores
        finite = [s for s in self._round_scores if math.isfinite(s)]
        self._best_scores.append(max(finite) if finite else -math.inf)
        state = SearchState(round=self.n_rounds_, scores=list(self._round_scores),
                            best_score=self._best_scores[-1],
                            best_scores=list(self._best_scores),
                            elapsed=time.perf_counter() - start, cv_results=results)
        watched = getattr(self, "_budget_stopper", None) is not None
        for cb in stoppers:
            if watched and isinstance(cb, TimeBudgetStopper):
                continue  # the search watches the time itself, between fits
            if cb(state):
                self.stopped_by_ = self.stopped_by_ or describe(cb)
                return True
        if sklearn_stop:
            self.stopped_by_ = self.stopped_by_ or "a scikit-learn callback"
        return bool(sklearn_stop)

    def _finish(self, results):
        """After the last round: raise if nothing succeeded, else warn once about
        non-finite scores (sklearn would have warned every round)."""
        del self._round_scores, self._best_scores
        self.search_time_ = time.perf_counter() - self._search_start
        raise_if_all_failed()  # before sklearn refits a failing estimator
        if results is None:  # pragma: no cover - a budget keeps the first candidate
            raise RuntimeError(f"{type(self).__name__} stopped ({self.stopped_by_}) before "
                               "any candidate was evaluated.")
        for key in (k for k in results if k.startswith(("mean_test_", "mean_train_"))):
            means = np.asarray(results[key], dtype=float)
            bad = ~np.isfinite(means)
            if bad.any():  # scikit-learn's sentence first (code matches on it), then ours
                kind = key.split("_")[1]
                warnings.warn(f"One or more of the {kind} scores are non-finite: {means} "
                              f"({int(bad.sum())} of {bad.size} candidates have a non-finite "
                              f"{key[len('mean_'):]}).", UserWarning)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        # sklearn warns about non-finite scores whenever results are formatted,
        # i.e. every round here; _finish warns once at the end instead.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="One or more of the .* scores are non-finite",
                                    category=UserWarning)
            candidate_params = self._plain_candidates(candidate_params, out)
            session = getattr(self, "_checkpoint_session", None)
            if session is not None:  # replayed candidates -> plain dicts
                candidate_params = session.plain(candidate_params, out)  # curves kept
            out, histories = take_histories(out)
            self._fit_histories = by_candidate(histories, n_splits)
            if not self._marks_evaluated_splits():
                return super()._format_results(candidate_params, n_splits, out, more_results)
            # a raced search: folds never run are marked in their result dicts
            evaluated = np.array([not is_not_run(o) for o in out]).reshape(-1, n_splits)
            out = [{k: v for k, v in o.items() if k != NOT_RUN} for o in out]
            results = super()._format_results(candidate_params, n_splits, out, more_results)
            times = {name: [o[name] for o in out] for name in ("fit_time", "score_time")}
            return mark_partial(results, evaluated, times)

    def _marks_evaluated_splits(self):
        """True for a search that may leave some of a candidate's folds unrun
        (``cv_results_['n_splits_evaluated']``)."""
        return False

    def _plain_candidates(self, candidate_params, out):
        """Candidates as they go into ``cv_results_['params']``: plain dicts."""
        return [dict(p) if isinstance(p, KnownResults) else p for p in candidate_params]

    def _candidate_score(self, outcomes):
        """A candidate's mean test score on the optimised metric, from its per-split
        results (``nan`` if a fold failed, as sklearn's ``mean_test_*``)."""
        return float(np.mean(self._fold_scores(outcomes)))

    def _score_noise(self, outcomes):
        """The noise variance of a candidate's mean score as its folds tell it:
        the fold scores' variance / their number (``nan`` with a failed fold or
        a single fold)."""
        scores = self._fold_scores(outcomes)
        if len(scores) < 2 or not np.all(np.isfinite(scores)):
            return math.nan
        return float(np.var(scores, ddof=1) / len(scores))

    def _fold_scores(self, outcomes):
        """A candidate's test score on the optimised metric in each split."""
        metric = None
        scores = next((o["test_scores"] for o in outcomes
                       if isinstance(o.get("test_scores"), dict)), None)
        if scores is not None:
            metric = self._optimised_metric({f"mean_test_{m}": None for m in scores})
            metric = metric[len("mean_test_"):]
        values = []
        for o in outcomes:
            score = o["test_scores"]
            if metric is not None and isinstance(score, dict):
                score = score[metric]
            if isinstance(score, dict):  # pragma: no cover - a multi-metric failure
                return np.full(len(outcomes), np.nan)
            values.append(float(score))
        return np.asarray(values, dtype=float)


def _check_splits(splits, n_splits):
    """scikit-learn's checks of the folds (``evaluate_candidates``), before any fit."""
    if len(splits) != n_splits:
        raise ValueError(f"cv.split and cv.get_n_splits return inconsistent results. "
                         f"Expected {n_splits} splits, got {len(splits)}")
    if not splits:
        raise ValueError("No fits were performed. Was the CV iterator empty? Were there no "
                         "candidates?")


def _rank_train_scores(results):
    """Add ``rank_train_<metric>`` beside each ``mean_train_<metric>`` (as
    scikit-optimize did; scikit-learn ranks test scores only), ranked the way
    scikit-learn ranks test scores: 1 is best, ties share the lowest rank,
    non-finite scores last."""
    for key in [k for k in results if k.startswith("mean_train_")]:
        means = np.asarray(results[key], dtype=float)
        ranks = rank_scores(np.where(np.isfinite(means), means, np.nan))
        results["rank_train_" + key[len("mean_train_"):]] = ranks
