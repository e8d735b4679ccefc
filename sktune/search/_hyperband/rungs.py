"""Hyperband's rungs without barriers: promote as soon as the decision is certain.

Synchronous successive halving waits for every candidate of a rung, keeps
the best ``n`` and only then trains them further; the workers idle while the
rung's slowest fits finish. Asynchronous successive halving (ASHA, Li et
al., 2020) promotes whatever looks good among the candidates finished so
far, which keeps workers busy but makes the promoted set depend on timing.

:class:`RungPlan` does neither: a candidate is promoted the moment it is
*certain* to be among the best ``n`` of its rung, i.e. when at least
``size - n`` finished candidates of the rung rank below it (a failed one, a
lower score, or an equal score and a later id). The promoted set is the
synchronous one, for any timing, and most promotions start long before the
rung is complete (the best candidates are certain early).

Between brackets, bracket ``b`` is proposed from the scores of every rung of
the earlier brackets except the last rung of bracket ``b - 1``, so it can
start while that rung's few candidates train (the barrier that idled most
workers). Every set a decision depends on is fixed, so ``cv_results_`` does
not depend on ``n_jobs`` or timing.

A search of several Hyperband iterations runs the same brackets again, one
iteration after the other; brackets are numbered across iterations, so a
later iteration's brackets learn from every earlier one by the same rule.
"""

import math


def _ranks_below(d, score_d, c, score_c):
    """Whether candidate ``d`` ranks below ``c`` (``c`` has a finite score)."""
    if not math.isfinite(score_d):
        return True
    return score_d < score_c or (score_d == score_c and d > c)


class Rung:
    """The state of one rung of one bracket during a search."""

    def __init__(self, b, i, n_planned, epochs, previous_epochs):
        self.b, self.i = b, i
        self.n_planned, self.epochs, self.previous_epochs = n_planned, epochs, previous_epochs
        self.members = []  # candidate ids, in the order of their cv_results_ rows
        self.closed = False  # members final
        self.started = {}  # id -> the models it continues (per split; None: from scratch)
        self.outcomes, self.scores, self.models = {}, {}, {}
        self.noise = {}  # candidate -> the noise variance of its mean score (folds)
        self.promoted = set()  # ids started at the next rung
        self.replayed = set()  # ids answered from a checkpoint
        self.contexts = {}  # id -> sklearn callback context
        self.sklearn_stop = False
        self.told = False
        self.emitted = False

    def complete(self):
        return self.closed and all(c in self.scores for c in self.members)

    def size(self):
        """The rung's size if known, else its planned size (an upper bound)."""
        return len(self.members) if self.closed else self.n_planned


class RungPlan:
    """Which rungs exist, who is promoted, what may start and be reported.

    Parameters
    ----------
    brackets : list of list of :class:`~.brackets.Rung`
        The planned rungs of each bracket of one Hyperband iteration.
    n_splits : int
        Folds (models per candidate).
    n_iterations : int or None, default=1
        Hyperband iterations; None: no end (the search stops it).
    """

    def __init__(self, brackets, n_splits, n_iterations=1):
        self.iteration = brackets
        self.n_iterations = n_iterations
        self.n_splits = n_splits
        self.points = {}  # candidate id -> parameters (without the epochs)
        self.next_bracket = 0
        self._rungs = {}
        self._next_id = 0
        self._emit = (0, 0)

    # -- the plan ----------------------------------------------------------------------
    def planned(self, b):
        """The planned rungs of bracket ``b`` (counted over iterations); None past
        the last iteration."""
        if self.n_iterations is not None and b >= len(self.iteration) * self.n_iterations:
            return None
        return self.iteration[b % len(self.iteration)]

    def iteration_of(self, b):
        """The Hyperband iteration bracket ``b`` belongs to."""
        return b // len(self.iteration)

    @property
    def brackets(self):
        """The planned rungs of every bracket started."""
        return [self.planned(b) for b in range(self.next_bracket)]

    # -- rungs -------------------------------------------------------------------------
    def rung(self, b, i):
        """The rung, created on first use; None past the bracket's last rung."""
        planned = self.planned(b)
        if i >= len(planned):
            return None
        if (b, i) not in self._rungs:
            previous = planned[i - 1].epochs if i else 0
            planned = planned[i]
            self._rungs[(b, i)] = Rung(b, i, planned.n_candidates, planned.epochs, previous)
        return self._rungs[(b, i)]

    def all_rungs(self):
        return list(self._rungs.values())

    def _bracket_rungs(self, b):
        """The bracket's rungs up to the first empty one (where it ended)."""
        for i in range(len(self.planned(b))):
            rung = self.rung(b, i)
            yield rung
            if rung.closed and not rung.members:
                return

    def _bracket_done(self, b):
        return all(r.complete() for r in self._bracket_rungs(b))

    # -- brackets ----------------------------------------------------------------------
    def _needed(self, b):
        """The rungs bracket ``b``'s proposals learn from, in order."""
        for earlier in range(b):
            rungs = list(self._bracket_rungs(earlier))
            if earlier == b - 1 and len(rungs) == len(self.planned(earlier)):
                rungs = rungs[:-1]  # all but the last rung of the bracket before
            yield from rungs

    def next_bracket_ready(self):
        """Whether the next bracket may be proposed now."""
        b = self.next_bracket
        if self.planned(b) is None:
            return False
        return all(r.complete() for r in self._needed(b))

    def rungs_to_tell(self, b):
        """The rungs bracket ``b`` learns from that the proposer was not told yet."""
        todo = [r for r in self._needed(b) if not r.told and r.members]
        for r in todo:
            r.told = True
        return todo

    def open_bracket(self, b, points):
        """Bracket ``b`` starts with ``points``: their new candidate ids."""
        ids = list(range(self._next_id, self._next_id + len(points)))
        self._next_id += len(points)
        self.points.update(zip(ids, points))
        first = self.rung(b, 0)
        first.members, first.closed = list(ids), True
        self.next_bracket = b + 1
        return ids

    def models_for(self, rung, cid):
        """The models candidate ``cid`` continues at ``rung`` (taken from the rung below)."""
        if rung.i == 0:
            return [None] * self.n_splits
        below = self.rung(rung.b, rung.i - 1)
        return below.models.pop(cid, None) or [None] * self.n_splits

    # -- promotion ---------------------------------------------------------------------
    def promotions(self, rung):
        """Candidates of ``rung`` now certain to be promoted (each returned once)."""
        keep = self.rung(rung.b, rung.i + 1).n_planned
        need = rung.size() - keep  # finished candidates that must rank below
        new = []
        for c, score in rung.scores.items():
            if c in rung.promoted or not math.isfinite(score):
                continue
            below = sum(_ranks_below(d, s, c, score) for d, s in rung.scores.items() if d != c)
            if below >= need:
                new.append(c)
        new.sort()
        rung.promoted.update(new)
        return new

    def close_next(self, rung):
        """``rung`` is complete: fix the next rung's members (best first); the ids
        not promoted (whose models can go)."""
        nxt = self.rung(rung.b, rung.i + 1)
        finite = [c for c in rung.members if math.isfinite(rung.scores[c])]
        kept = sorted(finite, key=lambda c: (-rung.scores[c], c))[:nxt.n_planned]
        if set(kept) != rung.promoted:  # pragma: no cover - the rule above guarantees it
            raise RuntimeError(f"promotions {sorted(rung.promoted)} != best {sorted(kept)}")
        nxt.members, nxt.closed = kept, True
        return [c for c in rung.members if c not in rung.promoted]

    # -- reporting ---------------------------------------------------------------------
    def emittable(self):
        """Complete rungs to report, in bracket and rung order (lazily: a caller that
        stops early leaves the rest unreported)."""
        while self.planned(self._emit[0]) is not None:
            b, i = self._emit
            if b >= self.next_bracket:
                return
            rung = self.rung(b, i)
            if rung is None or (rung.closed and not rung.members):
                self._emit = (b + 1, 0)
                continue
            if not rung.complete():
                return
            self._emit = (b, i + 1)
            rung.emitted = True
            yield rung

    def all_emitted(self):
        return self.planned(self._emit[0]) is None

    def leftovers(self):
        """After the last complete rung reported, in bracket and rung order: each
        started rung with finished candidates, as ``(rung, their ids)`` (a
        search stopped by its time budget keeps them)."""
        for b in range(self._emit[0], self.next_bracket):
            for i in range(self._emit[1] if b == self._emit[0] else 0, len(self.planned(b))):
                rung = self._rungs.get((b, i))
                done = [] if rung is None else [c for c in rung.started if c in rung.scores]
                if done:
                    order = rung.members if rung.closed else sorted(done)
                    yield rung, [c for c in order if c in rung.scores]

    def round_index(self, rung):
        """The rung's number among the reported rungs (its checkpoint round)."""
        count = 0
        for b in range(rung.b):
            for r in self._bracket_rungs(b):
                if not r.closed:  # pragma: no cover - brackets start after these close
                    raise RuntimeError(f"rung ({b}, {r.i}) is not closed")
                count += bool(r.members)
        return count + rung.i
