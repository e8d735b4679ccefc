"""``HyperbandSearchCV``: multi-fidelity search over epochs that continues training."""

import math
import os
import shutil
import tempfile
import time
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._hyperband.brackets import hyperband_brackets, last_rows
from ._fits.checkpoint import fingerprint
from ._hyperband.continuation import check_continuable, resolve_resource
from ._hyperband.proposer import FidelityProposer
from ._hyperband.rungs import RungPlan
from ._fits.rounds import RoundBasedSearchCV
from ._fits.task_hook import MODEL_KEY, Continuation, KnownResults, Spilled, install
from .callbacks import NoImprovementStopper, TargetScoreStopper, TimeBudgetStopper
from .space import Space, parse_search_spaces

__all__ = ["HyperbandSearchCV"]


class HyperbandSearchCV(RoundBasedSearchCV):
    """Hyperband over epochs with K-fold CV, continuing training between rungs.

    Successive halving spends few epochs on many candidates and more on the
    best: every candidate of a bracket is cross-validated after a few epochs,
    the best ``1 / factor`` are trained ``factor`` times longer, and so on up
    to ``max_epochs``. Unlike scikit-learn's ``HalvingRandomSearchCV`` with
    ``resource='epochs'``, a promoted (candidate, fold) model is **not
    retrained from scratch**: the model trained at the previous rung is
    trained for the missing epochs only (sktune networks continue exactly
    where they stopped, so the scores equal those of a fit with the rung's
    epochs). Several brackets, from aggressive to plain evaluation at
    ``max_epochs``, hedge against early scores that mislead (Hyperband).
    Candidates come from a Bayesian model fitted to the scores at the
    largest number of epochs with enough of them (BOHB-style), or are
    quasi-random.

    There are no rung barriers: a candidate is promoted the moment it is
    certain to be among its rung's best (the same set as synchronous
    halving, for any timing), and a bracket starts while the last rung of the
    one before trains (docs/scheduling.md). Each complete rung is reported as
    one round (callbacks, checkpoint): ``cv_results_`` has a
    row per (candidate, rung) with ``bracket``, ``iter`` (the rung within its
    bracket), ``n_resources`` (epochs) and ``candidate`` (an id shared by the
    rows of one candidate), and the parameters include the epochs. A
    candidate's final score is the one of its last rung; ``best_index_`` is
    the best final score, so ``refit`` trains the best candidate with the
    epochs it was scored at.

    With a budget (a stopper of :mod:`sktune.search.callbacks` in
    ``callbacks``, such as ``TimeBudgetStopper(3600)``), the search runs
    Hyperband iterations one after the other, each proposed from everything
    seen before (BOHB-style), until the budget stops it; ``stopped_by_``
    says which. ``hyperband_iterations`` caps (or fixes) their number.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or pipeline) to tune. Its last step must be able to
        train further: ``partial_fit(X, y, epochs=k)`` (sktune networks, one
        call) or ``partial_fit(X, y)`` (one epoch per call).
    search_spaces : dict
        ``{param_name: dimension}``, as for :class:`~sktune.BayesSearchCV`;
        it must not include the resource (epochs).
    max_epochs : int, default=None
        Epochs of the candidates that reach the last rung. None: the
        estimator's own value of the resource (e.g. its ``epochs``).
    min_epochs : int, default=1
        Epochs of the first rung of the most aggressive bracket.
    factor : float, default=3
        Survivors per rung are ``1 / factor`` of the rung before, trained
        ``factor`` times more epochs.
    n_brackets : int, default=None
        Run only the first (most aggressive) brackets; None runs all
        ``floor(log(max_epochs / min_epochs) / log(factor)) + 1``.
    hyperband_iterations : int or None, default=None
        Times the whole set of brackets runs (Keras Tuner's name), each
        iteration proposed from all results before it; a callback may stop
        the search sooner. None: one iteration, unless ``callbacks`` holds
        one of sktune's stoppers (``TimeBudgetStopper``,
        ``NoImprovementStopper``, ``TargetScoreStopper``): then iterations
        go on until a stopper stops the search (a ``TargetScoreStopper``
        alone runs until the target is reached: add a time budget).
    proposals : {'bayes', 'random'}, default='bayes'
        'bayes': BOHB-style model-based candidates (a third stay
        quasi-random); 'random': scrambled Sobol points.
    resource : str, default='epochs'
        The parameter counting training passes. In a pipeline, ``'epochs'``
        finds ``'<step>__epochs'`` of the last step.
    scoring : str, callable, list, tuple or dict, default=None
        As in ``GridSearchCV``; with several metrics ``refit`` names the one
        that ranks candidates (with ``refit=False`` or a callable: the first
        of ``scoring``).
    n_jobs : int, default=None
        Parallel fits, on the active joblib backend (loky, threads, Dask),
        each started as soon as a worker is free.
    refit : bool, str or callable, default=True
        As in ``GridSearchCV``.
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV``; folds are drawn once for all rungs.
    verbose : int, default=0
        > 0 prints one line per rung.
    pre_dispatch : int or str, default='2*n_jobs'
        Accepted as in ``GridSearchCV``, unused: the scheduler hands the
        workers at most ``n_jobs + max(1, n_jobs // 4)`` fits at a time.
    random_state : int, RandomState instance or None, default=None
        Seeds the proposals.
    error_score : 'raise' or float, default=np.nan
        Score of a failed fit; failed candidates are never promoted.
    return_train_score : bool, default=False
        As in ``GridSearchCV``.
    optimizer_kwargs : dict, default=None
        Arguments of :class:`~sktune.search.Optimizer` for 'bayes' proposals;
        ``n_initial_points`` (default ``max(5, n_dims + 2)``) is also the
        number of scores a rung needs before its model proposes.
    model_dir : str or path-like, default=None
        Folder for kept models larger than 1 MiB between rungs (smaller ones
        stay in memory); None uses a temporary folder removed after ``fit``.
        On a multi-machine Dask cluster, give a folder every worker can read.
    callbacks : callable or list of callables, default=None
        Called after each rung with a
        :class:`~sktune.search.callbacks.SearchState`; True stops the search.
        A ``TimeBudgetStopper`` is watched between fits: once its time is
        spent no fit starts, the running ones finish, and the candidates
        whose folds are all done are kept (the rungs they were evaluated at,
        complete or not).
    checkpoint : str, path-like or None, default=None
        SQLite file recording every finished rung; a new ``fit`` with the same
        checkpoint replays them and continues. Models are not stored: the
        survivors of an interrupted bracket are retrained from scratch up to
        their rung's epochs (same scores for seeded sktune networks).
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

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, \
scorer_, n_splits_, refit_time_, multimetric_
        As in ``GridSearchCV``.
    brackets_ : list of list of Rung
        The planned rungs of each bracket started (``cv_results_['bracket']``
        indexes it; brackets are numbered over the iterations).
    n_iterations_ : int
        Hyperband iterations started (``cv_results_['hyperband_iteration']``).
    n_rounds_ : int
        Rungs evaluated.
    stopped_by_ : str or None
        The callback or budget that stopped the search (its repr, e.g.
        ``'TimeBudgetStopper(seconds=3600)'``); None when it ran its course.
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
        A row's history is its candidate's whole training up to that rung (the
        epochs of earlier rungs first).
    epochs_trained_ : int
        Epochs trained by all cross-validation fits of this ``fit`` (a
        continued model counts its added epochs only; refit not counted).
    optimizer_time_ : float
        Seconds spent proposing candidates.
    n_local_fits_, n_lost_fits_ : int
        As in :class:`~sktune.BayesSearchCV`: fits this process ran during a
        cold start, fits run again after their worker died.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import HyperbandSearchCV, NeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     NeuralNetClassifier(hidden_layer_sizes=(16,), random_state=0),
    ...     {"lr": (1e-3, 1e-1, "log-uniform")}, max_epochs=9, cv=3, random_state=0)
    >>> search = search.fit(X, y)
    >>> sorted({int(e) for e in search.cv_results_["n_resources"]})
    [1, 3, 9]
    >>> search.best_params_["epochs"] in (1, 3, 9)
    True
    """

    _parameter_constraints = {
        **RoundBasedSearchCV._parameter_constraints,
        "search_spaces": [dict, Space],
        "max_epochs": [None, Interval(Integral, 1, None, closed="left")],
        "min_epochs": [Interval(Integral, 1, None, closed="left")],
        "factor": [Interval(Real, 1, None, closed="neither")],
        "n_brackets": [None, Interval(Integral, 1, None, closed="left")],
        "hyperband_iterations": [None, Interval(Integral, 1, None, closed="left")],
        "proposals": [StrOptions({"bayes", "random"})],
        "resource": [str],
        "model_dir": [None, str, os.PathLike],
    }

    def __init__(self, estimator, search_spaces, *, max_epochs=None, min_epochs=1, factor=3,
                 n_brackets=None, hyperband_iterations=None, proposals="bayes",
                 resource="epochs", scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", random_state=None, error_score=np.nan,
                 return_train_score=False, optimizer_kwargs=None, model_dir=None,
                 callbacks=None, checkpoint=None, checkpoint_every=300.0):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.search_spaces = search_spaces
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.factor = factor
        self.n_brackets = n_brackets
        self.hyperband_iterations = hyperband_iterations
        self.proposals = proposals
        self.resource = resource
        self.random_state = random_state
        self.optimizer_kwargs = optimizer_kwargs
        self.model_dir = model_dir
        self.callbacks = callbacks
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    _scheduled = True

    def _checkpoint_settings(self):
        return {"max_epochs": self.max_epochs, "min_epochs": int(self.min_epochs),
                "factor": float(self.factor), "n_brackets": self.n_brackets,
                "proposals": self.proposals, "resource": self.resource,
                "optimizer_kwargs": fingerprint(self.optimizer_kwargs),
                "fold_noise": True}  # proposals told the folds' noise (checkpoints before: refused)

    # -- set-up --------------------------------------------------------------------
    def _plan(self):
        """Check the settings against the estimator: (space, resource, brackets)."""
        (space, _), *others = parse_search_spaces(self.search_spaces)
        if others:
            raise ValueError("HyperbandSearchCV takes one search space (a dict).")
        resource = resolve_resource(self.estimator, self.resource)
        if resource in space.names:
            raise ValueError(
                f"{resource!r} is the resource HyperbandSearchCV allocates (from "
                f"min_epochs={self.min_epochs} up to max_epochs): remove it from "
                "search_spaces and set max_epochs instead."
            )
        check_continuable(self.estimator, resource)
        max_epochs = self.max_epochs
        if max_epochs is None:
            max_epochs = self.estimator.get_params()[resource]
            if not isinstance(max_epochs, Integral) or max_epochs < 1:
                raise ValueError(f"max_epochs=None takes the estimator's {resource}, which "
                                 f"is {max_epochs!r}; set max_epochs to a positive int.")
        if self.min_epochs > max_epochs:
            raise ValueError(f"min_epochs={self.min_epochs} exceeds max_epochs={max_epochs}.")
        brackets = hyperband_brackets(int(max_epochs), self.min_epochs, self.factor,
                                      self.n_brackets)
        return space, resource, brackets

    # -- the search ----------------------------------------------------------------
    def _n_iterations(self, stoppers):
        """Hyperband iterations to run (None: until a stopper stops the search)."""
        if self.hyperband_iterations is not None:
            return int(self.hyperband_iterations)
        budgets = (TimeBudgetStopper, NoImprovementStopper, TargetScoreStopper)
        return None if any(isinstance(cb, budgets) for cb in stoppers) else 1

    def _run_search(self, evaluate_candidates, callback_ctx=None):
        space, resource, iteration = self._plan()
        install()
        stoppers = self._callback_list()
        seed, = self._seeds([check_random_state(self.random_state).randint(2**31)])
        proposer = FidelityProposer(space, self.proposals, seed, self.optimizer_kwargs)
        evaluate_candidates, cv = self._rounds(evaluate_candidates)
        n_iterations = self._n_iterations(stoppers)
        n_rungs = (None if n_iterations is None
                   else n_iterations * sum(len(rungs) for rungs in iteration))
        model_dir = self.model_dir or tempfile.mkdtemp(prefix="sktune-hyperband-")
        search_ctx = None
        if callback_ctx is not None:  # one task per (rung, candidate): not known ahead
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None).call_on_fit_task_begin(estimator=self)
        start = time.perf_counter()
        self._start_rounds()
        self.optimizer_time_ = 0.0
        self.epochs_trained_ = 0
        per_iteration = sum(r.n_candidates for rungs in iteration for r in rungs)
        evaluations = self._open_evaluations(  # (candidate, rung) evaluations, if known
            cv, n_candidates=None if n_iterations is None else n_iterations * per_iteration)
        plan = RungPlan(iteration, evaluations.n_splits, n_iterations)
        session = getattr(self, "_checkpoint_session", None)
        results, stop = None, False

        def start_candidate(rung, cid):
            params, models = plan.points[cid], plan.models_for(rung, cid)
            candidate = Continuation({**params, resource: rung.epochs}, resource, models,
                                     model_dir)
            if session is not None:
                known = session.known_in_round(plan.round_index(rung), candidate)
                if known is not None:
                    rung.replayed.add(cid)
                    candidate = known
            split_ctxs = None
            if search_ctx is not None:
                ctx = rung.contexts[cid] = self._round_context(search_ctx, "hyperband-rung",
                                                               [cid])
                split_ctxs = [ctx.subcontext(task_name="candidate-split-evaluation", task_id=i)
                              for i in range(evaluations.n_splits)]
            rung.started[cid] = models
            evaluations.start((rung.b, rung.i, cid), candidate, priority=(rung.b, -rung.i, cid),
                              n_candidates=rung.n_planned, callback_ctxs=split_ctxs)

        try:
            while not plan.all_emitted() and not stop:
                spent = self._budget_spent(evaluations)  # then nothing new starts
                while not spent and evaluations.wants_work() and plan.next_bracket_ready():
                    b = plan.next_bracket
                    tick = time.perf_counter()
                    for rung in plan.rungs_to_tell(b):
                        proposer.tell([plan.points[c] for c in rung.members], rung.epochs,
                                      [rung.scores[c] for c in rung.members],
                                      [rung.noise.get(c, math.nan) for c in rung.members])
                    points = proposer.ask(plan.planned(b)[0].n_candidates)
                    self.optimizer_time_ += time.perf_counter() - tick
                    for cid in plan.open_bracket(b, points):
                        start_candidate(plan.rung(b, 0), cid)
                for b, i, cid in evaluations.wait():
                    rung = plan.rung(b, i)
                    outcomes = evaluations.outcomes((b, i, cid))
                    rung.models[cid] = [o.pop(MODEL_KEY, None) for o in outcomes]
                    rung.outcomes[cid] = outcomes
                    rung.scores[cid] = self._candidate_score(outcomes)
                    rung.noise[cid] = self._score_noise(outcomes)
                    if plan.rung(b, i + 1) is None:  # the last rung: nothing continues
                        _discard(rung.models.pop(cid))
                        continue
                    for promoted in plan.promotions(rung):
                        if not evaluations.expired:  # (its fits would not start)
                            start_candidate(plan.rung(b, i + 1), promoted)
                    if rung.complete():
                        for dropped in plan.close_next(rung):
                            _discard(rung.models.pop(dropped, None) or ())
                # Whole rungs enter cv_results_ and reach the callbacks, in order.
                for rung in plan.emittable():
                    results = self._emit_rung(evaluate_candidates, cv, plan, rung, resource)
                    stop = self._rung_done(rung, rung.members, results, start, stoppers,
                                           n_rungs, rung.sklearn_stop)
                    if stop:
                        break
                if not stop and self._budget_spent(evaluations) and not evaluations.busy():
                    # The time budget is spent and the fits running then have ended:
                    # the candidates done at rungs not complete are kept too (rows of
                    # their rungs; not recorded in a checkpoint).
                    for rung, done in plan.leftovers():
                        results = self._emit_rung(self._unrecorded_evaluate, cv, plan, rung,
                                                  resource, done)
                        self._rung_done(rung, done, results, start, stoppers, n_rungs)
                    stop = True
        finally:
            self.n_local_fits_ = evaluations.n_local_fits
            self.n_lost_fits_ = evaluations.n_lost
            evaluations.close()
            for rung in plan.all_rungs():
                for models in rung.models.values():
                    _discard(models or ())
            if self.model_dir is None:
                shutil.rmtree(model_dir, ignore_errors=True)
            self.brackets_ = plan.brackets
            self.n_iterations_ = (plan.iteration_of(plan.next_bracket - 1) + 1
                                  if plan.next_bracket else 0)
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)
        self._finish(results)

    def _emit_rung(self, evaluate_candidates, cv, plan, rung, resource, members=None):
        """Add a complete rung's rows to ``cv_results_`` (one round); ``members``:
        only these candidates (a rung the time budget cut short)."""
        members = rung.members if members is None else members
        candidates = [KnownResults({**plan.points[c], resource: rung.epochs},
                                   rung.outcomes[c]) for c in members]
        more = {"bracket": [rung.b] * len(members), "iter": [rung.i] * len(members),
                "n_resources": [rung.epochs] * len(members), "candidate": list(members),
                "hyperband_iteration": [plan.iteration_of(rung.b)] * len(members)}
        results = self._format_known(evaluate_candidates, candidates, cv, more_results=more)
        for c in members:
            if c in rung.replayed:
                continue  # replayed from a checkpoint: nothing trained
            for stored in rung.started[c]:
                self.epochs_trained_ += rung.epochs - (rung.previous_epochs
                                                       if stored is not None else 0)
        for c in members:
            ctx = rung.contexts.pop(c, None)
            if ctx is not None and ctx.call_on_fit_task_end(estimator=self):
                rung.sklearn_stop = True
        return results

    def _rung_done(self, rung, members, results, start, stoppers, n_rungs, sklearn_stop=False):
        """The rung's ``members`` are in ``results``: callbacks and the log; True to stop."""
        scores = [rung.scores[c] for c in members]
        stop = self._after_round(scores, results, start, stoppers, sklearn_stop)
        if self.verbose > 0:
            finite = [s for s in scores if math.isfinite(s)]
            shown = f"best {max(finite):.4f}" if finite else "all failed"
            of = "" if n_rungs is None else f"/{n_rungs}"
            print(f"[HyperbandSearchCV] rung {self.n_rounds_}{of} (bracket {rung.b + 1}, "
                  f"rung {rung.i + 1}): {len(members)} candidate(s) x {rung.epochs} epochs, "
                  f"{shown}; best so far {self._best_scores[-1]:.4f}", flush=True)
        return stop

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """The best *final* score: each candidate's last rung only."""
        if callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        final = np.array(last_rows(results["candidate"]))
        scores = np.asarray(results[f"mean_test_{refit_metric}"], dtype=float)[final]
        if not np.isfinite(scores).any():
            return int(final[0])
        return int(final[np.nanargmax(np.where(np.isfinite(scores), scores, np.nan))])


def _discard(models):
    """Remove the files of spilled models that will not be trained further."""
    for stored in models:
        if isinstance(stored, Spilled):
            try:
                os.remove(stored.path)
            except FileNotFoundError:
                pass
