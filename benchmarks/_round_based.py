"""The round-based searches sktune had before its scheduler, for side-by-side benchmarks.

``RoundsBayesSearchCV`` and ``RoundsHyperbandSearchCV`` are sktune's
``BayesSearchCV`` and ``HyperbandSearchCV`` with the search loop they had
until the scheduler replaced it (commit db18593): synchronous rounds of
``n_points`` candidates through sklearn's ``evaluate_candidates`` (all fits
of a round, then tell), and one ``evaluate_candidates`` per Hyperband rung.
Only ``benchmarks/bench_scheduling.py`` uses them, to measure "before" and
"after" in one run; they are not part of the library.
"""

import math
import shutil
import tempfile
import time

import numpy as np
from sklearn.utils import check_random_state

from sktune.search import BayesSearchCV, HyperbandSearchCV
from sktune.search._hyperband.proposer import FidelityProposer
from sktune.search._skopt_names import optimizer_arguments
from sktune.search._fits.task_hook import MODEL_KEY, Continuation, install
from sktune.search.hyperband import _discard
from sktune.search.space import parse_search_spaces


class RoundsBayesSearchCV(BayesSearchCV):
    """``BayesSearchCV`` in synchronous rounds (sktune before its scheduler)."""

    _scheduled = False

    def _run_search(self, evaluate_candidates, callback_ctx=None):
        self._check_skopt_arguments()
        self.optimizer_kwargs_ = optimizer_arguments(self.optimizer_kwargs)
        spaces = parse_search_spaces(self.search_spaces)
        stoppers = self._callback_list()
        rng = check_random_state(self.random_state)
        seeds = self._seeds(rng.randint(np.iinfo(np.int32).max, size=len(spaces)))
        plan = [(space, n_iter or self.n_iter) for space, n_iter in spaces]
        evaluate_candidates, cv = self._rounds(evaluate_candidates)
        self.optimizers_ = [self._make_optimizer(s, n, seed) for (s, n), seed in zip(plan, seeds)]
        n_rounds = sum(math.ceil(n / self.n_points) for _, n in plan)

        search_ctx = None
        if callback_ctx is not None:
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None if stoppers else n_rounds,
            ).call_on_fit_task_begin(estimator=self)

        start = time.perf_counter()
        self._start_rounds()
        self.optimizer_time_ = 0.0
        stop = False
        for optimizer, (_, n_iter) in zip(self.optimizers_, plan):
            done = 0
            while done < n_iter and not stop:
                k = min(self.n_points, n_iter - done)
                tick = time.perf_counter()
                candidates = optimizer.ask(n_points=k)
                self.optimizer_time_ += time.perf_counter() - tick
                round_ctx = None
                if search_ctx is not None:
                    first = len(self._round_scores)  # candidates evaluated before
                    round_ctx = self._round_context(search_ctx, "bayes-round",
                                                    range(first, first + k))
                # sklearn prints "Fitting k folds for each of n candidates" when
                # self.verbose > 0: every round here, so only from verbose >= 2.
                verbose, self.verbose = self.verbose, max(self.verbose - 1, 0)
                try:
                    results = evaluate_candidates(candidates, cv=cv, callback_ctx=round_ctx)
                finally:
                    self.verbose = verbose
                # An sklearn callback may ask to stop after this round.
                sklearn_stop = (round_ctx is not None
                                and bool(round_ctx.call_on_fit_task_end(estimator=self)))
                new = [float(s) for s in results[self._optimised_metric(results)][-k:]]
                # The optimiser minimises; failed candidates (nan) stay nan and it
                # handles them (kept out of the model's fit, region avoided).
                tick = time.perf_counter()
                optimizer.tell(candidates, [-s if math.isfinite(s) else math.nan for s in new])
                self.optimizer_time_ += time.perf_counter() - tick
                done += k
                stop = self._after_round(new, results, start, stoppers) or sklearn_stop
                if self.verbose > 0:
                    self._log_round(candidates, new, self._best_scores[-1], n_rounds)
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)
        self._finish(results)



class RoundsHyperbandSearchCV(HyperbandSearchCV):
    """``HyperbandSearchCV`` waiting at every rung (sktune before its scheduler)."""

    _scheduled = False
    _not_sent_to_workers = ("_new_models",)

    def _run_search(self, evaluate_candidates, callback_ctx=None):
        space, resource, self.brackets_ = self._plan()
        install()
        stoppers = self._callback_list()
        seed, = self._seeds([check_random_state(self.random_state).randint(2**31)])
        proposer = FidelityProposer(space, self.proposals, seed, self.optimizer_kwargs)
        evaluate_candidates, cv = self._rounds(evaluate_candidates)
        n_rungs = sum(len(rungs) for rungs in self.brackets_)
        model_dir = self.model_dir or tempfile.mkdtemp(prefix="sktune-hyperband-")
        search_ctx = None
        if callback_ctx is not None:
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None if stoppers else n_rungs,
            ).call_on_fit_task_begin(estimator=self)
        start = time.perf_counter()
        self._start_rounds()
        self.optimizer_time_ = 0.0
        self.epochs_trained_ = 0
        next_id = 0
        try:
            for b, rungs in enumerate(self.brackets_):
                tick = time.perf_counter()
                points = proposer.ask(rungs[0].n_candidates)
                self.optimizer_time_ += time.perf_counter() - tick
                alive = [(next_id + i, p, [None] * self.n_splits_) for i, p in enumerate(points)]
                next_id += len(points)
                previous, scores = 0, []
                for i, rung in enumerate(rungs):
                    if i > 0:
                        kept = _promote(alive, scores, rung.n_candidates)
                        _discard(m for a in alive if a not in kept for m in a[2])
                        alive = kept
                        if not alive:
                            break
                    candidates = [Continuation({**p, resource: rung.epochs}, resource, models,
                                               model_dir) for _, p, models in alive]
                    more = {"bracket": [b] * len(alive), "iter": [i] * len(alive),
                            "n_resources": [rung.epochs] * len(alive),
                            "candidate": [cid for cid, _, _ in alive]}
                    self._new_models = []
                    rung_ctx = (None if search_ctx is None else self._round_context(
                        search_ctx, "hyperband-rung", more["candidate"]))
                    try:
                        verbose, self.verbose = self.verbose, max(self.verbose - 1, 0)
                        results = evaluate_candidates(candidates, cv=cv, more_results=more,
                                                      callback_ctx=rung_ctx)
                    finally:
                        self.verbose = verbose
                        new_models, self._new_models = self._new_models, None
                    if rung_ctx is not None:
                        rung_ctx.call_on_fit_task_end(estimator=self)
                    self._count_epochs(alive, new_models, rung.epochs, previous)
                    alive = _with_models(alive, new_models, self.n_splits_)
                    for c in candidates:
                        c.models = None  # sklearn keeps the candidates: drop the models
                    scores = [float(s) for s in
                              results[self._optimised_metric(results)][-len(alive):]]
                    proposer.tell([p for _, p, _ in alive], rung.epochs, scores)
                    previous = rung.epochs
                    stop = self._after_round(scores, results, start, stoppers)
                    if self.verbose > 0:
                        self._log_rung(b, i, len(alive), rung.epochs, scores, n_rungs)
                    if stop:
                        break
                _discard(m for a in alive for m in a[2])
                if stop:
                    break
        finally:
            if self.model_dir is None:
                shutil.rmtree(model_dir, ignore_errors=True)
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)
        self._finish(results)

    def _count_epochs(self, alive, new_models, epochs, previous):
        if not new_models:  # replayed from a checkpoint: nothing trained
            return
        for (_, _, models) in alive:
            for stored in models:
                self.epochs_trained_ += epochs - previous if stored is not None else epochs

    def _plain_candidates(self, candidate_params, out):
        new_models = getattr(self, "_new_models", None)
        if new_models is not None:
            for result in out:  # only the latest rung's results still carry a model
                if MODEL_KEY in result:
                    new_models.append(result.pop(MODEL_KEY))
        return [dict(p) if isinstance(p, Continuation) else p for p in candidate_params]


def _promote(alive, scores, n):
    """The ``n`` best candidates with a finite score, best first (stable on ties)."""
    ranked = sorted((i for i, s in enumerate(scores) if math.isfinite(s)),
                    key=lambda i: -scores[i])
    return [alive[i] for i in ranked[:n]]


def _with_models(alive, new_models, n_splits):
    """Attach the models trained at this rung (None where a fit failed or was replayed)."""
    if not new_models:
        new_models = [None] * (len(alive) * n_splits)
    return [(cid, p, new_models[k * n_splits:(k + 1) * n_splits])
            for k, (cid, p, _) in enumerate(alive)]


