"""``BayesSearchCV``: Bayesian hyperparameter search as a scikit-learn ``BaseSearchCV``."""

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import OptimizeResult
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._fits.checkpoint import fingerprint
from ._objectives import Objectives
from ._racing import DEFAULT_LEVEL, Race, raced_out
from ._fits.rounds import RoundBasedSearchCV
from ._skopt_names import optimizer_arguments
from .refit import believed_best
from ._fits.task_hook import KnownResults, install
from .optimizer import Optimizer
from .space import Space, parse_search_spaces

__all__ = ["BayesSearchCV"]


class BayesSearchCV(RoundBasedSearchCV):
    """Bayesian optimisation over hyperparameters, with cross-validation.

    A drop-in for scikit-optimize's ``BayesSearchCV`` built on scikit-learn's
    ``BaseSearchCV``: ``cv_results_``, ``best_*``, ``refit``, multi-metric
    scoring, pipelines, nested CV and sklearn's callbacks work as with
    ``RandomizedSearchCV``. The :class:`~sktune.search.Optimizer` (a Gaussian
    process with log expected improvement) proposes one candidate at a time,
    its folds are cross-validated in parallel, and it is told their mean score.
    There are no round barriers: a new fit starts as soon as a worker is free
    (docs/scheduling.md).

    Parameters
    ----------
    estimator : estimator object
        The estimator (or pipeline) to tune.
    search_spaces : dict, list of dict or list of (dict, int)
        ``{param_name: dimension}``. A dimension is a
        :class:`~sktune.search.space.Real`, ``Integer`` or ``Categorical``
        (categories may be any objects: tuples, None, estimators), or a
        shorthand: ``(low, high)``, ``(low, high, 'log-uniform')``, a list of
        choices, or a frozen ``scipy.stats`` distribution. A list of dicts
        searches alternative sub-spaces one after the other (each for
        ``n_iter`` candidates, or its own count when given as ``(dict, n_iter)``).
    optimizer_kwargs : dict, default=None
        Arguments of :class:`~sktune.search.Optimizer`, e.g.
        ``{"n_initial_points": 10, "acq_optimizer_kwargs": {...}}``.
        ``n_initial_points`` defaults to ``min(10, n_iter)``. The keys of
        scikit-optimize's ``Optimizer`` are read too (``base_estimator="GP"``,
        ``acq_func="EI"`` or ``"gp_hedge"``, ``n_random_starts``,
        ``acq_optimizer``, ...); those sktune cannot honour (a tree surrogate,
        PI/LCB acquisitions) raise at ``fit`` saying what to use instead. See
        docs/migrating.md.
    n_iter : int, default=50
        Candidates per sub-space (unless given in ``search_spaces``). A
        finite sub-space of at most ``n_iter`` points (lists, small integer
        ranges) is evaluated whole, each point once, in ``GridSearchCV``'s
        order (with a warning when ``n_iter`` is larger, as
        ``RandomizedSearchCV``'s).
    scoring : str, callable, list, tuple or dict, default=None
        As in ``GridSearchCV``. With several metrics, the one named by
        ``refit`` is optimised; with ``refit=False`` or a callable, the first
        of ``scoring``.
    n_jobs : int, default=None
        Parallel fits, on the active joblib backend (loky processes by
        default, threads or Dask under ``joblib.parallel_config``). At most
        ``(n_points + 1) * n_splits`` fits run at once (a warning says when
        ``n_jobs`` is larger), unless ``asynchronous=True``.
    n_points : int, default=1
        The window of pending candidates: candidate ``k`` is proposed knowing
        exactly the results of candidates ``0 .. k - n_points - 1``, with the
        ``n_points`` before it pending (placed away from them), so the same
        ``random_state`` gives the same candidates for any ``n_jobs``,
        backend and timing. Larger values feed more workers; each proposal
        knows a little less. Also the size of a round: callbacks, ``verbose``,
        ``n_rounds_`` and the checkpoint see ``n_points`` candidates at a time,
        as in scikit-optimize.
    refit : bool, str or callable, default=True
        As in ``GridSearchCV`` (with multi-metric scoring: a metric's name,
        a callable or False).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV``. The folds are drawn once and reused by every
        round, even for a shuffling splitter without a seed.
    verbose : int, default=0
        > 0 prints one line per round (candidates, scores, best so far);
        higher values are passed to sklearn's per-fit messages.
    pre_dispatch : int or str, default='2*n_jobs'
        Accepted as in ``GridSearchCV``, unused: the scheduler hands the
        workers at most ``n_jobs + max(1, n_jobs // 4)`` fits at a time.
    random_state : int, RandomState instance or None, default=None
        Seeds the optimiser: equal seeds give equal candidates (and equal
        ``cv_results_`` if the estimator is itself seeded), for any ``n_jobs``.
    error_score : 'raise' or float, default=np.nan
        Score of a failed fit. Failed candidates are recorded in
        ``cv_results_`` and steer the optimiser away; a round where every
        fit fails does not stop the search (one warning summarises failures).
    return_train_score : bool, default=False
        As in ``GridSearchCV``.
    callbacks : callable or list of callables, default=None
        Called after each round with a
        :class:`~sktune.search.callbacks.SearchState`; returning True stops
        the search. See :mod:`sktune.search.callbacks` for stoppers on no
        improvement, a time budget or a target score. A ``TimeBudgetStopper``
        is watched between fits: once its time is spent no fit starts, the
        running ones finish, and the candidates whose folds are all done are
        kept, so the search ends within one fit's duration of its budget
        (give a large ``n_iter``: the budget ends the search).
    checkpoint : str, path-like or None, default=None
        An SQLite file where every finished round is committed durably. If
        ``fit`` is interrupted (crash, ``kill -9``, Ctrl-C), calling it again
        with the same checkpoint replays the finished rounds without
        refitting them and continues; the final ``cv_results_`` equal those
        of an uninterrupted run (timings of replayed rounds included). A
        checkpoint of a different estimator, space, data or CV raises
        :class:`~sktune.exceptions.CheckpointMismatchError`. See
        ``docs/reliability.md``.
    checkpoint_every : float or None, default=300.0
        With ``checkpoint``: every running (candidate, split) fit of a sktune
        network saves its training state (weights that train, optimiser,
        schedule, random generators, history, early stopping) at the end of
        an epoch once this many seconds have passed since its last save, in
        the folder ``<checkpoint>.fits``; a resumed search continues each
        interrupted fit from its last state instead of from scratch (its
        ``cv_results_`` equal an uninterrupted run's). A state is removed
        when its fit ends, the folder when the search does; at most one
        state per running fit is on disk. None: fits are not saved (an
        interrupted fit starts again). See ``docs/reliability.md``.
    asynchronous : bool, default=False
        Propose each candidate from every result finished at that moment,
        with all running candidates pending: workers never wait for the
        window, but the proposals depend on timing (not reproducible, and not
        with ``checkpoint``).
    objectives : list of str, default=None
        Several objectives at once (docs/multi-objective.md): names of
        ``scoring`` metrics (maximised; ``'score'`` or the scoring string for
        a single metric) and ``'fit_time'`` / ``'score_time'`` (mean seconds,
        minimised). Each gets its own Gaussian process and candidates are
        chosen by the expected hypervolume improvement over the Pareto front;
        ``pareto_front_`` and ``cv_results_['pareto_optimal']`` give the
        non-dominated candidates. ``refit`` may name a metric (the candidate of
        the front best on it; ``True`` for a single scoring metric) or be a
        callable of ``cv_results_``. Rounds, callbacks and ``verbose`` report
        the first score metric of the list. With one objective (or None) the
        search optimises that metric alone. Time objectives make the
        candidates depend on measured times (not reproducible).
    fold_noise : bool, default=True
        Tell the optimiser how noisy each candidate's mean score is: the
        variance of its fold scores / the number of folds (the model scales
        it, since folds are correlated). Its model then trusts a lucky mean
        no more than its folds allow, and expected improvement is measured
        against the best posterior mean, not the best noisy score
        (docs/bayes-search.md, "Noisy scores"). False: the mean only, as
        before sktune 0.2. With one split (a held-out set) there is nothing
        to tell: the model learns the noise level from the scores, and when
        it is material models them as it models told noise
        (docs/bayes-search.md, "One validation split").
    racing : bool or float, default=False
        Race candidates fold by fold (docs/bayes-search.md, "Racing folds"):
        a candidate's folds run one after another, and it stops as soon as
        the chance that its mean over all folds beats the incumbent's score
        falls below this level (True: 0.05; a float in (0, 0.5), lower is
        more cautious). The incumbent and any candidate that could still be
        best run every fold. Raced-out candidates stay in ``cv_results_``
        (``n_splits_evaluated``; ``nan`` for the folds they did not run;
        means over those they ran; ranked after every fully evaluated
        candidate, never ``best_index_``) and the optimiser is told their
        fold-adjusted partial mean with its larger noise. Decisions depend on
        the fold scores only: reproducible for any ``n_jobs``. Needs one
        objective.
    fit_params : None, default=None
        scikit-optimize's old constructor argument, kept so that its code
        runs until ``fit``, which asks to pass fit parameters to ``fit``.
    iid : 'deprecated', default='deprecated'
        scikit-optimize's ignored argument; any other value raises at ``fit``.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_
        As in ``GridSearchCV``.
    optimizers_ : list of Optimizer
        The fitted optimiser of each sub-space (told every evaluated point).
    optimizer_results_ : list of scipy.optimize.OptimizeResult
        scikit-optimize's view of ``optimizers_``: ``x_iters``, ``func_vals``
        (negated scores), ``x``, ``fun``, ``space``, ``models``.
    optimizer_kwargs_ : dict
        The :class:`~sktune.search.Optimizer` arguments ``optimizer_kwargs``
        was read as.
    total_iterations : int
        Candidates planned over all sub-spaces (available before ``fit``).
    n_rounds_ : int
        Rounds run (fewer than planned if a callback stopped the search).
    optimizer_time_ : float
        Seconds the optimiser itself spent proposing and updating (it runs
        while the workers fit).
    n_local_fits_ : int
        Fits this process ran itself because the loky workers were starting
        (cold start; docs/scheduling.md).
    n_lost_fits_ : int
        Fits run again because their worker process died.
    n_discarded_fits_ : int
        With ``racing``: fits an idle worker ran ahead of their candidate's
        decision, discarded because the candidate was then stopped.
    stopped_by_ : str or None
        The callback or budget that stopped the search before ``n_iter``
        candidates (its repr, e.g. ``'TimeBudgetStopper(seconds=600)'``);
        None when it ran its course.
    search_time_ : float
        Seconds the search took (the refit not included).
    fit_histories_ : list of list of dict, or None
        Every fit's training curves: one list per ``cv_results_`` row, one
        entry per split, each a dict of per-epoch float32 arrays
        (``train_loss``, and where the network computed them ``valid_loss``
        and its validation scores such as ``valid_acc``) or None (a fold a
        race did not run, an estimator without per-epoch history). A failed
        fit has the epochs it ran. None when no fit kept a history (estimators
        other than networks). Saved by :func:`sktune.persistence.save`; drawn by
        :func:`sktune.report.cv_report`.
    posterior_best_index_, posterior_best_score_, posterior_best_score_std_ : int, float, float
        The candidate the model believes best: the highest posterior mean of
        the optimised score among the evaluated candidates, that mean and its
        standard deviation (single objective). ``best_index_`` keeps
        scikit-learn's meaning (the best mean CV score); ``refit`` uses the
        posterior only when asked: ``refit=sktune.search.posterior_best``.
        ``cv_results_`` holds ``posterior_mean_test_<metric>`` and
        ``posterior_std_test_<metric>`` for every candidate.
    pareto_front_ : ndarray of int
        With several ``objectives``: indices into ``cv_results_`` of the
        candidates no other candidate beats on every objective (failed ones
        never), in order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from sktune import BayesSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(
    ...     SVC(), {"C": (1e-3, 1e3, "log-uniform"), "kernel": ["linear", "rbf"]},
    ...     n_iter=12, cv=3, random_state=0)
    >>> bool(search.fit(X, y).best_score_ > 0.95)
    True
    >>> len(search.cv_results_["params"])
    12
    """

    _parameter_constraints = {
        **RoundBasedSearchCV._parameter_constraints,
        "search_spaces": [dict, list, tuple, Space],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "n_points": [Interval(Integral, 1, None, closed="left")],
        "fit_params": [None, dict],
        "iid": [StrOptions({"deprecated"}), "boolean"],
        "asynchronous": ["boolean"],
        "objectives": [None, list, tuple],
        "fold_noise": ["boolean"],
        "racing": ["boolean", Interval(Real, 0, 0.5, closed="neither")],
    }

    def __init__(self, estimator, search_spaces, optimizer_kwargs=None, *, n_iter=50,
                 scoring=None, n_jobs=None, n_points=1, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", random_state=None, error_score=np.nan,
                 return_train_score=False, callbacks=None, checkpoint=None,
                 checkpoint_every=300.0, asynchronous=False, objectives=None, fold_noise=True,
                 racing=False, fit_params=None, iid="deprecated"):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.search_spaces = search_spaces
        self.n_iter = n_iter
        self.n_points = n_points
        self.random_state = random_state
        self.optimizer_kwargs = optimizer_kwargs
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.asynchronous = asynchronous
        self.objectives = objectives
        self.fold_noise = fold_noise
        self.racing = racing
        self.fit_params = fit_params
        self.iid = iid

    _not_sent_to_workers = ("optimizers_", "_race")
    _scheduled = True

    def _checkpoint_settings(self):
        # schedule 2: one candidate per checkpoint round, candidate k knowing the
        # results of 0..k-n_points-1 (earlier checkpoints held rounds of n_points)
        settings = {"n_points": int(self.n_points), "schedule": 2,
                    "optimizer_kwargs": fingerprint(self.optimizer_kwargs)}
        # the proposals depend on it (and checkpoints of searches before it was told
        # hold other candidates: they are refused with the mismatch message)
        settings["fold_noise"] = bool(self.fold_noise)
        if self.objectives is not None:
            settings["objectives"] = list(self.objectives)
        if self._racing_level() is not None:
            settings["racing"] = self._racing_level()
        return settings

    def _racing_level(self):
        """The chance below which a raced candidate stops, or None (no racing)."""
        if isinstance(self.racing, (bool, np.bool_)):
            return DEFAULT_LEVEL if self.racing else None
        return float(self.racing)

    def _marks_evaluated_splits(self):
        return self._racing_level() is not None

    def _check_skopt_arguments(self):
        """scikit-optimize's constructor arguments that sktune reads differently."""
        if self.fit_params is not None:
            raise ValueError(
                "BayesSearchCV(fit_params=...) is scikit-optimize's old way (which it ignored); "
                "pass fit parameters to fit: search.fit(X, y, **fit_params)."
            )
        if self.iid != "deprecated":
            raise ValueError("iid was removed from scikit-learn (0.24) and scikit-optimize "
                             "ignored it; remove it.")

    def _make_optimizer(self, space, n_iter, seed):
        kwargs = {"n_initial_points": min(10, n_iter), **self.optimizer_kwargs_}
        if self._multi_objective():
            kwargs["n_objectives"] = len(self._objectives)
        return Optimizer(space, random_state=seed, **kwargs)

    # -- objectives ----------------------------------------------------------------
    def _check_objectives(self):
        """The :class:`~._objectives.Objectives` of ``objectives`` (None if unset)."""
        if self.objectives is None:
            return None
        scorers, _ = self._get_scorers()
        if callable(self.scoring):  # its metrics are known from its first result
            metrics = None
        else:
            metrics = sorted(scorers._scorers) if hasattr(scorers, "_scorers") else ["score"]
        return Objectives(self.objectives, metrics, self.scoring)

    def _multi_objective(self):
        return getattr(self, "_objectives", None) is not None and len(self._objectives) > 1

    def _optimised_metric(self, results):
        # with objectives: the first score metric among them (the one optimised
        # alone, or the one rounds and callbacks report with several)
        if getattr(self, "_objectives", None) is not None:
            return f"mean_test_{self._objectives.first_metric}"
        return super()._optimised_metric(results)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        if getattr(self, "_objectives", None) is not None:
            # a callable scorer's metric names are known from its first results on
            self._objectives.check_returned(
                [k[len("mean_test_"):] for k in results if k.startswith("mean_test_")])
        if self._multi_objective():
            mask = np.zeros(len(results["params"]), dtype=bool)
            mask[self._objectives.front(results)] = True
            results["pareto_optimal"] = mask
        return results

    def _select_best_index(self, refit, refit_metric, results):
        """sklearn's choice, except with several objectives and a metric name (or
        ``refit=True``): the candidate of the front best on that metric."""
        if not self._multi_objective() or callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        front = np.flatnonzero(results["pareto_optimal"])  # as _format_results found it
        if not len(front):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        scores = np.asarray(results[f"mean_test_{refit_metric}"], dtype=float)[front]
        return int(front[int(np.argmax(scores))])

    @property
    def total_iterations(self):
        """Candidates the search will evaluate over all sub-spaces (scikit-optimize's name).

        Fewer are evaluated if a callback stops the search.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # fit says it
            plan, _ = self._plan(parse_search_spaces(self.search_spaces))
        return sum(n for _, n in plan)

    def _plan(self, spaces):
        """``[(space, n_candidates)]`` and each sub-space's grid: a finite
        sub-space of at most ``n_iter`` points is evaluated whole, once per
        point, in ``ParameterGrid`` order (what ``GridSearchCV`` does); its grid
        is None otherwise (the optimiser proposes)."""
        plan, grids = [], []
        for space, n_iter in spaces:
            n_iter = n_iter or self.n_iter
            grid = space.grid() if space.n_points <= n_iter else None
            if grid is not None and len(grid) < n_iter:
                warnings.warn(  # scikit-learn's RandomizedSearchCV says the same
                    f"The total space of parameters {len(grid)} is smaller than "
                    f"n_iter={n_iter}. Running {len(grid)} iterations. For exhaustive "
                    "searches, use GridSearchCV. (BayesSearchCV evaluates each point once, "
                    "in GridSearchCV's order.)", UserWarning, stacklevel=6)
            plan.append((space, n_iter if grid is None else len(grid)))
            grids.append(grid)
        return plan, grids

    @property
    def optimizer_results_(self):
        """One ``scipy.optimize.OptimizeResult`` per sub-space, as scikit-optimize's.

        ``x_iters`` (the candidates as lists of values, parameters sorted by
        name, as in scikit-optimize), ``func_vals`` (their negated mean CV
        scores: minimised), ``x`` and ``fun`` (the best of them), ``space``
        (the sub-space), ``models`` (the current Gaussian process, if one was
        fitted) and ``specs``.
        """
        check_is_fitted(self, "optimizers_")
        return [_optimize_result(opt) for opt in self.optimizers_]

    # -- the search --------------------------------------------------------------
    def _run_search(self, evaluate_candidates, callback_ctx=None):
        self._check_skopt_arguments()
        self.optimizer_kwargs_ = optimizer_arguments(self.optimizer_kwargs)
        self._objectives = self._check_objectives()
        spaces = parse_search_spaces(self.search_spaces)
        stoppers = self._callback_list()
        rng = check_random_state(self.random_state)
        seeds = self._seeds(rng.randint(np.iinfo(np.int32).max, size=len(spaces)))
        plan, grids = self._plan(spaces)
        session = getattr(self, "_checkpoint_session", None)
        if self.asynchronous and session is not None:
            raise ValueError(
                "checkpoint= needs the deterministic schedule (asynchronous=False): an "
                "asynchronous search's proposals depend on the order fits finish in, so a "
                "resumed one could not replay them."
            )
        level = self._racing_level()
        if level is not None and self._multi_objective():
            raise ValueError(
                "racing= races candidates against one incumbent; with several objectives "
                "there is a Pareto front instead. Use racing=False with objectives, or "
                "race on one objective.")
        install()
        evaluate_candidates, cv = self._rounds(evaluate_candidates)
        self.optimizers_ = [self._make_optimizer(s, n, seed) for (s, n), seed in zip(plan, seeds)]
        # candidate k (over all sub-spaces, in order) comes from optimizers_[owner[k]]
        owner = [i for i, (_, n) in enumerate(plan) for _ in range(n)]
        n_total = len(owner)

        first = [sum(n for _, n in plan[:i]) for i in range(len(plan))]
        # Rounds (what callbacks, the checkpoint and verbose see): n_points
        # candidates of a sub-space, as in scikit-optimize. They are no barrier:
        # candidates are proposed one by one as workers free up.
        rounds = [list(range(f + i, f + min(i + self.n_points, n)))
                  for f, (_, n) in zip(first, plan) for i in range(0, n, self.n_points)]
        search_ctx = None
        if callback_ctx is not None:
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None if stoppers else len(rounds),
            ).call_on_fit_task_begin(estimator=self)

        start = time.perf_counter()
        self._start_rounds()
        self.optimizer_time_ = 0.0
        evaluations = self._open_evaluations(cv, n_candidates=n_total)
        race = self._race = None if level is None else Race(
            level, self._fold_scores, None if self.asynchronous else self.n_points,
            evaluations.n_splits)
        self._warn_idle(evaluations.n_workers, evaluations.n_splits)
        # a sub-space evaluated whole depends on no result: all its points are design
        n_design = [opt.n_initial_points if grid is None else len(grid)
                    for opt, grid in zip(self.optimizers_, grids)]
        round_of = {k: (r, pos) for r, ks in enumerate(rounds) for pos, k in enumerate(ks)}
        proposed, contexts, told = [], {}, set()
        prefix, emitted_rounds, n_emitted, stop, results = 0, 0, 0, False, None
        try:
            while emitted_rounds < len(rounds) and not stop:
                spent = self._budget_spent(evaluations)  # then nothing new starts
                # Propose when the workers will soon need work (the optimiser works
                # while they fit). Deterministic: what a proposal knows is fixed by
                # the window, not by when it is made. Asynchronous: everything
                # finished by then (so it knows the most).
                while not spent and len(proposed) < n_total and evaluations.wants_work():
                    k = len(proposed)
                    s = owner[k]
                    if not (self.asynchronous or k - self.n_points <= prefix
                            or k - first[s] < n_design[s]):
                        break  # the results it must know are not all in
                    tick = time.perf_counter()
                    if self.asynchronous:  # everything finished, in the order it finished
                        self._tell([j for j in evaluations.completed_order if j not in told],
                                   owner, proposed, evaluations, told)
                    elif k - self.n_points <= prefix:  # exactly candidates 0..k-n_points-1
                        self._tell(range(k - self.n_points), owner, proposed, evaluations, told)
                    # (else k is a design point, which depends on no result)
                    point = (self.optimizers_[s].ask() if grids[s] is None
                             else grids[s][k - first[s]])
                    self.optimizer_time_ += time.perf_counter() - tick
                    proposed.append(point)
                    r, pos = round_of[k]
                    if pos == 0 and search_ctx is not None:
                        contexts[r] = self._round_context(search_ctx, "bayes-round", rounds[r])
                    split_ctxs = None
                    if r in contexts:
                        split_ctxs = [contexts[r].subcontext(
                            task_name="candidate-split-evaluation",
                            task_id=pos * evaluations.n_splits + i)
                            for i in range(evaluations.n_splits)]
                    known = None if session is None else session.known_candidate(r, pos, point)
                    splits = None  # all at once, or the first alone when raced
                    if race is not None and known is None:
                        splits = race.first_splits(k)
                    evaluations.start(k, known if known is not None else point, priority=k,
                                      n_candidates=n_total, callback_ctxs=split_ctxs,
                                      splits=splits)
                if race is not None and not spent:  # idle workers run folds ahead
                    race.run_ahead(evaluations)
                evaluations.wait()
                while True:
                    while prefix < len(proposed) and evaluations.is_complete(prefix):
                        prefix += 1
                    # raced: take the decisions due (a stop may complete the prefix)
                    if race is None or not race.step(evaluations):
                        break
                # Whole rounds enter cv_results_ and reach the callbacks, in order.
                while (emitted_rounds < len(rounds) and not stop
                       and rounds[emitted_rounds][-1] < prefix):
                    ks = rounds[emitted_rounds]
                    candidates = [KnownResults(proposed[k], evaluations.outcomes(k)) for k in ks]
                    results = self._format_known(evaluate_candidates, candidates, cv)
                    ctx = contexts.pop(emitted_rounds, None)
                    emitted_rounds += 1
                    n_emitted = ks[-1] + 1
                    sklearn_stop = ctx is not None and bool(ctx.call_on_fit_task_end(estimator=self))
                    stop = self._round_done(ks, results, evaluations, proposed, start, stoppers,
                                            len(rounds), sklearn_stop)
                if (not stop and emitted_rounds < len(rounds)
                        and self._budget_spent(evaluations) and not evaluations.busy()):
                    # The time budget is spent and the fits running then have ended:
                    # the round's candidates whose folds are all done are kept (not
                    # recorded in a checkpoint: a resumed search evaluates it whole).
                    ks = [k for k in rounds[emitted_rounds] if k < prefix]
                    if ks:
                        candidates = [KnownResults(proposed[k], evaluations.outcomes(k))
                                      for k in ks]
                        results = self._format_known(self._unrecorded_evaluate, candidates, cv)
                        n_emitted = ks[-1] + 1
                        self._round_done(ks, results, evaluations, proposed, start, stoppers,
                                         len(rounds))
                    stop = True
        finally:
            self.n_local_fits_ = evaluations.n_local_fits
            self.n_lost_fits_ = evaluations.n_lost
            self.n_discarded_fits_ = evaluations.n_discarded
            evaluations.close()
        # In the end the optimisers know every result in cv_results_ (optimizer_results_).
        tick = time.perf_counter()
        self._tell(range(n_emitted), owner, proposed, evaluations, told)
        self.optimizer_time_ += time.perf_counter() - tick
        del self._race
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)
        self._finish(results)
        if self._multi_objective():
            self.pareto_front_ = np.flatnonzero(results["pareto_optimal"])
        elif results is not None:
            self._add_posterior(results, owner, proposed[:n_emitted])

    def _round_done(self, ks, results, evaluations, proposed, start, stoppers, n_rounds,
                    sklearn_stop=False):
        """Candidates ``ks`` are in ``results``: callbacks and the log; True to stop."""
        new = [float(v) for v in results[self._optimised_metric(results)][-len(ks):]]
        # a candidate raced out has no mean over all folds: no score to compare
        new = [math.nan if raced_out(evaluations.outcomes(k)) else v for k, v in zip(ks, new)]
        stop = self._after_round(new, results, start, stoppers, sklearn_stop)
        if self.verbose > 0:
            self._log_round([proposed[k] for k in ks], new, self._best_scores[-1], n_rounds)
        return stop

    def _add_posterior(self, results, owner, candidates):
        """What the optimisers' models believe of each candidate's score:
        ``cv_results_['posterior_mean_test_<metric>']`` and ``posterior_std_...``
        (the optimised metric), and the candidate of best posterior mean."""
        mean = np.full(len(candidates), np.nan)
        std = np.full(len(candidates), np.nan)
        for i, opt in enumerate(self.optimizers_):
            ks = [k for k in range(len(candidates)) if owner[k] == i]
            if ks:
                m, sd = opt.predict([candidates[k] for k in ks])
                mean[ks], std[ks] = -m, sd  # the optimisers minimise -score
        metric = self._optimised_metric(results)[len("mean_test_"):]
        results[f"posterior_mean_test_{metric}"] = mean
        results[f"posterior_std_test_{metric}"] = std
        best = believed_best(results)
        if best is not None:
            self.posterior_best_index_ = best
            self.posterior_best_score_ = float(mean[best])
            self.posterior_best_score_std_ = float(std[best])

    def _tell(self, candidates, owner, proposed, evaluations, told):
        """Tell each optimiser the mean scores of its ``candidates`` not told yet, in order."""
        for k in candidates:
            if k in told:
                continue
            told.add(k)
            if self._multi_objective():
                self.optimizers_[owner[k]].tell(
                    proposed[k], self._objectives.to_minimise(evaluations.outcomes(k)))
                continue
            outcomes = evaluations.outcomes(k)
            if raced_out(outcomes):  # its fold-adjusted partial mean, with its larger noise
                score, noise = self._race.told(k, outcomes, evaluations)
            else:
                score, noise = self._candidate_score(outcomes), self._score_noise(outcomes)
            noise = noise if self.fold_noise else None
            # The optimiser minimises; failed candidates (nan) stay nan and it
            # handles them (kept out of the model's fit, region avoided).
            self.optimizers_[owner[k]].tell(proposed[k], -score if math.isfinite(score)
                                            else math.nan, noise=noise)

    def _warn_idle(self, n_workers, n_splits):
        """Say so when the window cannot keep the workers busy."""
        per_candidate = 1 if self._racing_level() is not None else n_splits
        reach = (self.n_points + 1) * per_candidate
        if not self.asynchronous and n_workers > reach:
            folds = ("1 fold at a time (racing)" if per_candidate == 1
                     else f"{n_splits} folds")
            warnings.warn(
                f"BayesSearchCV has {n_workers} workers but n_points={self.n_points} lets at "
                f"most {self.n_points + 1} candidates x {folds} = {reach} fits run at "
                f"once: set n_points >= {math.ceil(n_workers / per_candidate) - 1} (proposals "
                "then know fewer results) or asynchronous=True (not reproducible).",
                UserWarning, stacklevel=4)

    def _log_round(self, candidates, scores, best, n_rounds):
        shown = ", ".join(f"{s:.4f}" for s in scores)
        print(f"[BayesSearchCV] round {self.n_rounds_}/{n_rounds}: "
              f"{len(candidates)} candidate(s), score {shown}; best {best:.4f}", flush=True)
        if self.verbose > 1:
            for params, score in zip(candidates, scores):
                print(f"    {score:.4f}  {params}", flush=True)


def _optimize_result(optimizer):
    """scikit-optimize's result of one sub-space from sktune's fitted ``optimizer``."""
    names = sorted(optimizer.space.names)  # skopt's order of a point's values

    def as_list(point):
        return [point[n] for n in names]

    func_vals = np.asarray(optimizer.yi, dtype=float)
    finite = np.isfinite(func_vals)
    best = None
    if func_vals.ndim == 1 and finite.any():  # several objectives: no single best
        best = int(np.nanargmin(np.where(finite, func_vals, np.nan)))
    gp = getattr(optimizer, "_gp", None)
    return OptimizeResult(
        x=None if best is None else as_list(optimizer.Xi[best]),
        fun=None if best is None else float(func_vals[best]),
        x_iters=[as_list(p) for p in optimizer.Xi],
        func_vals=func_vals,
        space=optimizer.space,
        models=[] if gp is None else [gp],
        specs={"function": "BayesSearchCV", "args": {"n_initial_points":
                                                      optimizer.n_initial_points,
                                                      "acq_func": optimizer.acq_func}},
        random_state=optimizer.random_state,
    )
