"""Racing candidates fold by fold: stop one once it is unlikely to beat the incumbent.

With ``BayesSearchCV(racing=...)`` a candidate's folds run one after another.
After each fold the search asks :meth:`Reference.chance`: the probability
that the candidate's mean over *all* folds would beat the incumbent's mean
(the best fully evaluated candidate known when the candidate was proposed),
given the folds it has run. Below the ``racing`` level the candidate stops:
its other folds never run.

The model behind the probability is a two-way layout of the fully evaluated
candidates' fold scores, ``score[c, f] = mu[c] + phi[f] + noise``: folds
differ in difficulty (``phi``, shared by every candidate: the same rows are
held out) and each score has its own noise, of variance ``sigma2``. Both are
estimated from the best half of the reference candidates (those whose noise
matters: near the incumbent). A candidate that has run ``j`` of ``K`` folds
has ``mu`` estimated by its fold-adjusted mean (variance ``sigma2 / j``); its
remaining folds add ``phi`` and their own noise. The full mean is then
Student-t distributed with the residuals' degrees of freedom.

Nothing here runs fits or reads the clock: a decision depends on the
candidate's fold scores and on a fixed set of earlier candidates only, so a
raced search is as reproducible as any other.
"""

import math

import numpy as np
from scipy.stats import t as student_t

from ._ranks import rank_scores

__all__ = ["NOT_RUN", "DEFAULT_LEVEL", "Race", "Reference", "is_not_run", "mark_partial",
           "not_run", "raced_out"]

#: Key of a per-split result dict that stands for a fold never run (the
#: candidate was raced out before it). Taken out before sklearn formats results.
NOT_RUN = "_sktune_not_run"

#: Fully evaluated candidates needed before any is raced (they estimate the
#: folds' effects and noise).
MIN_REFERENCE = 3

#: The smallest noise variance the model assumes (scores equal to the last digit).
_MIN_SIGMA2 = 1e-12


def not_run(template):
    """The result dict of a fold never run, shaped as ``template`` (a result of
    one of the candidate's folds that did run): scores and times ``nan``."""
    out = {}
    for key, value in template.items():
        if key in ("test_scores", "train_scores"):
            value = ({m: math.nan for m in value} if isinstance(value, dict) else math.nan)
        elif key in ("fit_time", "score_time"):
            value = math.nan
        elif key == "fit_error":
            value = None
        out[key] = value
    out[NOT_RUN] = True
    return out


def is_not_run(outcome):
    return bool(outcome.get(NOT_RUN, False))


class Reference:
    """The incumbent and the folds' noise, from fully evaluated candidates.

    Parameters
    ----------
    scores : array of shape (n_candidates, n_splits)
        Fold scores (higher is better) of the fully evaluated candidates
        whose scores are all finite; at least two rows.
    """

    def __init__(self, scores):
        scores = np.asarray(scores, dtype=float)
        self.n_splits = scores.shape[1]
        means = scores.mean(axis=1)
        # the best half (at least MIN_REFERENCE): the candidates a decision is about
        top = scores[np.argsort(-means, kind="stable")[:max(MIN_REFERENCE, len(scores) // 2)]]
        self.n_rows = len(top)
        row = top.mean(axis=1, keepdims=True)
        #: fold effects (zero mean): how much easier than average each fold is
        self.fold_effects = top.mean(axis=0) - top.mean()
        residuals = top - row - self.fold_effects
        self.df = (len(top) - 1) * (self.n_splits - 1)
        self.sigma2 = max(float((residuals ** 2).sum()) / self.df, _MIN_SIGMA2)
        #: the fold scores' variance as the optimiser is told it for a complete
        #: candidate (fold effects included), averaged over the reference
        self.fold_variance = float(np.mean(np.var(top, axis=1, ddof=1)))
        #: the best observed mean over all folds
        self.incumbent_mean = float(means.max())
        # The best of many noisy means is flattered: what the incumbent would score
        # on new folds is its mean shrunk towards the best half's average by the
        # share of their spread that the folds' noise explains (the normal
        # model's posterior mean). Candidates race against that.
        row_means = top.mean(axis=1)
        noise = self.sigma2 / self.n_splits
        spread = max(float(np.var(row_means, ddof=1)) - noise, 0.0)
        weight = spread / (spread + noise)
        self.incumbent_score = float(row_means.mean()
                                     + weight * (self.incumbent_mean - row_means.mean()))

    @classmethod
    def of(cls, fold_scores):
        """A reference from ``fold_scores`` (one array per candidate; failed
        candidates included), or None when fewer than :data:`MIN_REFERENCE`
        are usable."""
        usable = [s for s in fold_scores if len(s) > 1 and np.all(np.isfinite(s))]
        return cls(np.vstack(usable)) if len(usable) >= MIN_REFERENCE else None

    def adjusted_mean(self, seen):
        """The estimate of a candidate's mean over all folds from the folds it
        ran (the first ``len(seen)``), corrected for their difficulty."""
        seen = np.asarray(seen, dtype=float)
        return float(np.mean(seen - self.fold_effects[:len(seen)]))

    def chance(self, seen):
        """Probability that the mean over all folds of a candidate whose first
        folds scored ``seen`` ends above the incumbent's."""
        seen = np.asarray(seen, dtype=float)
        j, k = len(seen), self.n_splits
        if j >= k:
            return float(np.mean(seen) > self.incumbent_score)
        # the full mean's estimate is the fold-adjusted mean of the folds seen; its
        # error: the candidate's own noise on the folds seen (its level) and to
        # come, and the fold effects' (estimated from n_rows candidates)
        expected = self.adjusted_mean(seen)
        variance = self.sigma2 * (((k - j) ** 2 / j + (k - j)) / k ** 2
                                  + (1 - j / k) / (j * self.n_rows))
        sd = math.sqrt(variance)
        return float(student_t.sf((self.incumbent_score - expected) / sd, self.df))


def mark_partial(results, evaluated, times):
    """``cv_results_`` of raced searches: ``n_splits_evaluated``; the means
    and standard deviations of candidates raced out over the folds they ran;
    ranks with every fully evaluated candidate first.

    ``results`` as sklearn's ``_format_results`` made it (the folds not run
    hold ``nan``); ``evaluated`` a boolean array (candidates x splits);
    ``times`` ``{"fit_time": per-(candidate, split) seconds, "score_time": ...}``
    in sklearn's order of results.
    """
    evaluated = np.asarray(evaluated, dtype=bool)
    n_splits = evaluated.shape[1]
    counts = evaluated.sum(axis=1)
    results["n_splits_evaluated"] = counts.astype(np.int32)
    partial = counts < n_splits
    for name, values in times.items():
        values = np.asarray(values, dtype=float).reshape(evaluated.shape)
        for c in np.flatnonzero(partial):
            ran = values[c, evaluated[c]]
            results[f"mean_{name}"][c] = ran.mean() if len(ran) else math.nan
            results[f"std_{name}"][c] = ran.std() if len(ran) else math.nan
    for key in [k for k in results if k.startswith(("mean_test_", "mean_train_"))]:
        name = key[len("mean_"):]
        splits = np.column_stack([np.asarray(results[f"split{i}_{name}"], dtype=float)
                                  for i in range(n_splits)])
        means = np.asarray(results[key], dtype=float).copy()
        stds = np.asarray(results[f"std_{name}"], dtype=float).copy()
        for c in np.flatnonzero(partial):
            ran = splits[c, evaluated[c]]
            means[c] = ran.mean() if len(ran) else math.nan
            stds[c] = ran.std() if len(ran) else math.nan
        results[key], results[f"std_{name}"] = means, stds
        if f"rank_{name}" in results:
            results[f"rank_{name}"] = _ranks(means, partial)
    return results


def _ranks(means, partial):
    """sklearn's ranks among the fully evaluated candidates, then among the
    raced-out ones after them."""
    ranks = np.empty(len(means), dtype=np.int32)
    complete = ~partial
    ranks[complete] = rank_scores(means[complete])
    ranks[partial] = complete.sum() + rank_scores(means[partial])
    return ranks


#: ``racing=True``: a candidate stops when its chance of beating the incumbent
#: falls below 5 %.
DEFAULT_LEVEL = 0.05

#: A candidate at least this likely to beat the incumbent could be the next
#: one: its remaining folds all run, at once (no fold-by-fold wait).
CONTENDER = 0.5

_UNKNOWN = object()  # a reference whose candidates are not all complete yet


class Race:
    """The racing state of one search: each candidate's reference, how many of
    its folds are decided to run, and which wait for a reference.

    Parameters
    ----------
    level : float
        A candidate stops once its chance of beating the incumbent is below it.
    fold_scores : callable
        Per-split results of a candidate -> its fold scores (higher is better).
    window : int or None
        Candidate ``k`` is raced against the fully evaluated candidates among
        ``0 .. k - window - 1`` (those its proposal knew), so decisions do not
        depend on timing; None: against every candidate complete when its first
        decision is due (an asynchronous search).
    n_splits : int
        The folds.

    Notes
    -----
    A fold runs either because it was decided (:meth:`step`: the folds before
    it gave a chance above ``level``) or *ahead* of that decision on a worker
    that would otherwise be idle (:meth:`run_ahead`). A decision reads the
    decided folds only, so what ran ahead never changes it; if the candidate
    stops, what ran ahead is discarded.
    """

    def __init__(self, level, fold_scores, window, n_splits):
        self.level = level
        self._fold_scores = fold_scores
        self.window = window
        self.n_splits = n_splits
        self._refs = {}
        self._decided = {}  # running raced key -> folds decided to run
        self._waiting = set()  # keys whose decision is due but whose reference is not known

    def first_splits(self, key):
        """The splits to start candidate ``key`` with (which is then raced): the
        first alone, or all of them (None) when no reference can exist for it."""
        if self.n_splits < 2 or (self.window is not None and key - self.window < MIN_REFERENCE):
            return None
        self._decided[key] = 1
        return [0]

    def step(self, evaluations):
        """Take every decision that is due: a raced candidate whose decided folds
        are done is stopped, given its next fold, or all of them (a contender).
        True if any candidate stopped."""
        stopped = False
        due = self._waiting | set(evaluations.take_progress())
        self._waiting = set()
        for key in sorted(due):
            while key in self._decided:
                decided = self._decided[key]
                results = evaluations.results_so_far(key)
                if any(r is None for r in results[:decided]):
                    break  # not due yet
                if decided == self.n_splits:  # decided to run all folds, all done
                    evaluations.finish(key)
                    del self._decided[key]
                    break
                ref = self._reference(key, evaluations)
                if ref is _UNKNOWN:
                    self._waiting.add(key)
                    break
                seen = self._fold_scores(results[:decided])
                finite = bool(np.all(np.isfinite(seen)))
                chance = ref.chance(seen) if ref is not None and finite else None
                if ref is not None and (chance is None or chance < self.level):
                    template = results[0]
                    evaluations.stop(key, lambda split: not_run(template), keep=decided)
                    del self._decided[key]
                    stopped = True
                    break
                # it would run every fold anyway (no reference, or it could be the
                # next incumbent): all of them, side by side; else the next one
                decided = (self.n_splits if ref is None or chance >= CONTENDER
                           else decided + 1)
                for split in range(decided):
                    evaluations.run_split(key, split)
                self._decided[key] = decided
        return stopped

    def run_ahead(self, evaluations):
        """Fill idle workers with the next folds of raced candidates (oldest first)
        before their decisions: used if the candidate goes on, else discarded."""
        slots = evaluations.idle_slots()
        while slots > 0:
            queued = False
            for key in sorted(k for k, n in self._decided.items() if n < self.n_splits):
                started = evaluations.started_splits(key)
                split = next((s for s in range(self.n_splits) if s not in started), None)
                if split is not None:
                    evaluations.run_split(key, split)
                    slots -= 1
                    queued = True
                    if not slots:
                        break
            if not queued:
                break

    def told(self, key, outcomes, evaluations):
        """``(score, noise variance)`` the optimiser is told for a candidate
        raced out: its fold-adjusted mean over the folds it ran, with the
        folds' variance / their number (nan, nan if a fold failed)."""
        seen = self._fold_scores([o for o in outcomes if not is_not_run(o)])
        ref = self._reference(key, evaluations)
        if not np.all(np.isfinite(seen)) or ref is _UNKNOWN or ref is None:
            return math.nan, math.nan
        return ref.adjusted_mean(seen), ref.fold_variance / len(seen)

    def _reference(self, key, evaluations):
        if key in self._refs:
            return self._refs[key]
        if self.window is None:
            keys = [k for k in evaluations.completed_order if k != key]
        else:
            keys = range(key - self.window)
            if not all(evaluations.is_complete(k) for k in keys):
                return _UNKNOWN
        ref = Reference.of([self._fold_scores(evaluations.outcomes(k)) for k in keys])
        self._refs[key] = ref
        return ref


def raced_out(outcomes):
    """True if some of these per-split results stand for folds never run."""
    return any(is_not_run(o) for o in outcomes)
