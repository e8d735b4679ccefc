"""Keeping every worker busy: candidates' fits run the moment a worker is free.

A search hands :class:`Evaluations` candidates (their parameters and a
priority); each becomes one task per CV split on a worker pool
(:mod:`.pool`). :meth:`Evaluations.wait` returns as soon as some candidate
has all its splits done, so the search can decide what to run next (propose
a new candidate, promote one to the next rung) while the other workers keep
fitting. Nothing here decides *what* runs; the searches do, and they make
their decisions depend only on results in a fixed order, so the schedule
(which worker, when) never changes ``cv_results_``. A raced search
(``sktune.search._racing``) starts a candidate with some splits only, adds the others
one by one (:meth:`Evaluations.run_split`) and completes it itself
(:meth:`Evaluations.finish`, or :meth:`Evaluations.stop` without the rest).

What the scheduler does on its own:

- **Feeding**: at most ``n_workers`` plus a few tasks are on the pool at a
  time (the rest wait here, lowest priority value first), so a search's
  later decisions can overtake work it queued earlier.
- **Cold start**: when the loky workers are not running yet (each new one
  spends seconds importing torch and scikit-learn), this process is one of
  the ``n_jobs``: it runs fits in a thread of its own from the first second,
  beside ``n_jobs - 1`` new workers (:func:`.pool.open_pool`), which are
  started only when its first fit shows that the work left is worth their
  start (:data:`WORKER_START_SECONDS`).
- **Lost workers**: a task whose worker died (the whole loky executor
  breaks) runs again on a new executor, with the other tasks that were on
  it; a task that kills its worker :data:`MAX_LOSSES` times becomes a failed
  fit (``error_score``, with the reason), never a failed search. A broken
  loky executor does not say which of its tasks killed it: when several were
  lost at once, each runs again alone, and only a death alone counts.
- **Deadline** (a time budget): once :attr:`Evaluations.deadline` has passed
  (and some candidate is complete), no fit starts; what is queued or started
  later is dropped, the fits running finish, and :meth:`Evaluations.wait`
  returns when none is left.
"""

import concurrent.futures as cf
import heapq
import itertools
import time
import warnings
from contextlib import nullcontext

from sklearn.base import clone

from ...nets._devices import release_fit_memory
from .checkpoint import candidate_key
from .histories import HISTORY_KEY, read_history
from .pool import InlinePool, PickledContext
from .task_hook import KnownResults, _fit_and_score

#: Times a task may take its worker down before it counts as a failed fit.
MAX_LOSSES = 3

#: Times a task that could not be pickled to its worker is sent again (a
#: transient failure; one that repeats is raised).
MAX_UNSENT = 2

#: What starting a loky worker costs, in seconds of one core (imports of torch
#: and scikit-learn ~3.5-5 s, torch._dynamo on the first optimiser step ~1.3-2 s,
#: on the 2-core benchmark machine). On a cold start the new workers are started
#: only if the work left (measured by this process's first fit) exceeds it:
#: a search shorter than that is done sooner by this process alone.
WORKER_START_SECONDS = 8.0


def run_fit(shared, task):
    """One (candidate, split) fit in a worker: sklearn's ``_fit_and_score``.

    ``shared`` is ``(estimator, X, y, kwargs)``, the same for every task;
    ``task`` is ``(train, test, parameters, split_progress,
    candidate_progress, callback_ctx, failure)``. ``failure``, when not
    None, is a message the fit raises instead of fitting (a task that kept
    killing its worker), so sklearn records it as any failed fit. The fitted
    network's per-epoch curves come back in the result under
    :data:`~.histories.HISTORY_KEY` (the model itself stays here).
    """
    base_estimator, X, y, kwargs = shared
    train, test, parameters, split_progress, candidate_progress, callback_ctx, failure = task
    if isinstance(callback_ctx, PickledContext):
        callback_ctx = callback_ctx.load()
    estimator = clone(base_estimator)
    if failure is not None:
        estimator.fit = _raiser(failure)
    kwargs = dict(kwargs)
    if callback_ctx is None:
        kwargs.pop("caller", None)
    states = kwargs.pop("fit_states", None)
    saving = (nullcontext() if states is None or isinstance(parameters, KnownResults) else
              states.fit(f"{candidate_key(dict(parameters))} split {split_progress[0]}"))
    try:
        with saving:  # a fit killed with its worker (or its search) resumes from its state
            result = _fit_and_score(estimator, X, y, train=train, test=test,
                                    parameters=parameters, split_progress=split_progress,
                                    candidate_progress=candidate_progress,
                                    callback_ctx=callback_ctx, return_estimator=True,
                                    **kwargs)
        fitted = result.pop("estimator", None)  # a replayed result has none
        if fitted is not None:
            history = read_history(fitted)
            if history is not None:
                result[HISTORY_KEY] = history
        del fitted
        return result
    finally:
        del estimator  # the fitted network: the next fit on this GPU gets its memory
        release_fit_memory()


def _raiser(message):
    def fit(*args, **kwargs):
        raise RuntimeError(message) from None

    return fit


class _Task:
    __slots__ = ("key", "split", "args", "priority", "losses", "done", "suspect", "unsent")

    def __init__(self, key, split, args, priority):
        self.key, self.split, self.args, self.priority = key, split, args, priority
        self.losses = 0
        self.unsent = 0  # times it could not be pickled to a worker
        self.done = False
        # lost with others when a worker died: which one killed it is unknown, so
        # it runs alone until it has finished or died on its own
        self.suspect = False


class Evaluations:
    """Candidates' per-split fits on a pool; which candidates are complete.

    Parameters
    ----------
    pool : pool of :mod:`.pool`
        Where the fits run.
    shared : tuple
        ``(estimator, X, y, kwargs)`` of :func:`run_fit`.
    splits : list of (train, test)
        The CV folds.
    """

    def __init__(self, pool, shared, splits, expected_tasks=None):
        self.pool = pool
        self._local_shared = shared
        self._shared = pool.put(shared)
        # scikit-learn's callbacks of the search (its ``caller`` is sent then)
        self._sends_contexts = shared[3].get("caller") is not None
        self.splits = splits
        self.n_splits = len(splits)
        self._capacity = pool.n_workers + max(1, pool.n_workers // 4)
        if isinstance(pool, InlinePool) or pool.local_lane:
            # no task waits inside the pool: this process's lane takes the queue's
            self._capacity = max(1, pool.n_workers)
        #: Fits that can run at once (the pool's, and this process's lane).
        self.n_workers = pool.n_workers + bool(pool.local_lane)
        self._queue = []  # heap of (priority, order, task)
        self._order = itertools.count()
        self._running = {}  # future -> task
        self._outcomes = {}  # key -> [result per split]
        self._missing = {}  # key -> splits not done
        self._started = {}  # key -> splits queued, running or done (running candidates)
        self._progress = []  # running keys with new split results since take_progress
        self._partial = set()  # keys started with some splits only: their progress is told
        self._task_args = {}  # key -> (parameters, priority, n_candidates, callback_ctxs)
        #: Fits whose results were discarded: run ahead of a decision to stop their candidate.
        self.n_discarded = 0
        self._complete = []  # keys completed since the last wait
        self.completed_order = []  # every completed key, in the order they completed
        # cold start: this process fits beside the pool's processes
        self._local = (cf.ThreadPoolExecutor(1, thread_name_prefix="sktune-local")
                       if pool.local_lane else None)
        self._local_future = None
        self.n_local_fits = 0
        self.n_lost = 0
        # cold start: the pool waits until this process's first fit tells whether
        # the work left is worth starting new workers (None: no estimate, start)
        self._expected_tasks = expected_tasks
        self._pool_waits = bool(pool.local_lane) and expected_tasks is not None
        self._pool_answered = False  # a result has come back from the pool
        self._n_done = 0
        #: ``time.perf_counter()`` after which no fit starts (None: no deadline).
        self.deadline = None
        self._expired = False

    # -- what the search calls ------------------------------------------------------
    def start(self, key, parameters, priority, n_candidates=1, callback_ctxs=None, splits=None):
        """Queue the fits of candidate ``key``; ``parameters`` may be
        :class:`KnownResults` (answered without fitting). ``splits``: the splits
        to queue now (default all); the others wait for :meth:`run_split`.
        Such a candidate is complete only when the search says so (:meth:`finish`
        once all its splits are done, or :meth:`stop` without some of them);
        :meth:`take_progress` names those with new split results."""
        if key in self._missing or key in self._outcomes:
            raise ValueError(f"candidate {key!r} was started already")
        if isinstance(parameters, KnownResults):
            self._outcomes[key] = [dict(o) for o in parameters.outcomes]
            self._complete.append(key)
            self.completed_order.append(key)
            return
        self._outcomes[key] = [None] * self.n_splits
        self._missing[key] = self.n_splits
        self._started[key] = set()
        self._task_args[key] = (parameters, priority, n_candidates, callback_ctxs)
        if splits is not None:
            self._partial.add(key)
        for split in range(self.n_splits) if splits is None else splits:
            self.run_split(key, split)

    def run_split(self, key, split):
        """Queue a split of a started candidate (nothing if it is queued or ran)."""
        if split in self._started[key]:
            return
        self._started[key].add(split)
        parameters, priority, n_candidates, callback_ctxs = self._task_args[key]
        train, test = self.splits[split]
        # the callback context only where scikit-learn callbacks run in the fits:
        # it carries the search's whole task tree, which grows with every task
        ctx = None
        if callback_ctxs is not None and self._sends_contexts:
            ctx = self.pool.put_context(callback_ctxs[split])
        args = (train, test, parameters, (split, self.n_splits), (key_index(key), n_candidates),
                ctx, None)
        self._push(_Task(key, split, args, priority))

    def started_splits(self, key):
        """The splits of a running candidate queued, running or done."""
        return set(self._started[key])

    def stop(self, key, fill, keep):
        """End candidate ``key`` with its first ``keep`` splits done: ``fill(split)``
        gives the result of every later split, whether it ran or not (a split
        run ahead of the decision to stop is discarded; one still queued is
        dropped, one still running is discarded when it ends). The candidate is
        then complete."""
        outcomes = self._outcomes[key]
        if any(o is None for o in outcomes[:keep]):
            raise ValueError(f"candidate {key!r}: its first {keep} splits are not all done")
        self.n_discarded += sum(o is not None for o in outcomes[keep:])
        for split in range(keep, self.n_splits):
            outcomes[split] = fill(split)
        kept = [entry for entry in self._queue if entry[2].key != key]
        if len(kept) < len(self._queue):  # its splits still queued are dropped
            self._queue = kept
            heapq.heapify(self._queue)
        self._finish(key)

    def finish(self, key):
        """Complete a candidate started with some splits only, all its splits done."""
        if self._missing[key]:
            raise ValueError(f"candidate {key!r} has splits not done")
        self._finish(key)

    def take_progress(self):
        """Candidates started with some splits only, still running, with split
        results new since the last call (in the order the results came)."""
        progress, self._progress = self._progress, []
        return progress

    def results_so_far(self, key):
        """The per-split results of a started candidate (None: not done)."""
        return list(self._outcomes[key])

    def idle_slots(self):
        """Fits that could start now beside those running and queued (0 while
        a cold start has not started the pool)."""
        if self._pool_waits:
            return 0
        local = self._local is not None and self._local_future is None
        return max(0, self._capacity - len(self._running) + local - len(self._queue))

    def wants_work(self):
        """True while fewer tasks are waiting or running than the workers could
        start before a new candidate would be needed (one more round of work
        for each worker beyond what the pool holds)."""
        running = len(self._running) + (self._local_future is not None)
        return running + len(self._queue) < self._capacity + self.n_workers

    @property
    def expired(self):
        """Whether the deadline has passed (once True, stays True): nothing queued
        is started any more, nothing new is queued. Not before some candidate is
        complete: a search always has a result, however short its budget."""
        if not self._expired and self.deadline is not None and self.completed_order \
                and time.perf_counter() >= self.deadline:
            self._expired = True
            self._queue.clear()
        return self._expired

    def busy(self):
        """Tasks queued or running."""
        return len(self._queue) + len(self._running) + (self._local_future is not None)

    def outcomes(self, key):
        """The per-split results of a complete candidate."""
        return self._outcomes[key]

    def is_complete(self, key):
        return key in self._outcomes and key not in self._missing

    def wait(self):
        """Keys of candidates completed since the last call (blocks until one is,
        or a running one has a new split result, unless some already are or
        nothing is left to run)."""
        while not self._complete and not self._progress and self.busy():
            self._fill()
            self._collect(self._wait_some())
        complete, self._complete = self._complete, []
        return complete

    def close(self):
        """Drop what is queued and what runs on the pool (results unused)."""
        self._queue.clear()
        self.pool.abandon([f for f in self._running if not f.done()])
        self._running.clear()
        if self._local is not None:
            self._local.shutdown(wait=True)  # a fit of this process's lane
            self._local = None
        self._local_future = None
        self.pool.close()

    # -- the machinery ---------------------------------------------------------------
    def _push(self, task):
        if self.expired:  # the budget is spent: it never runs
            return
        heapq.heappush(self._queue, (task.priority, next(self._order), task))

    def _fill(self):
        if self.expired:
            return
        while self._queue and len(self._running) < self._capacity and not self._pool_waits:
            if any(t.suspect for t in self._running.values()):
                break  # a suspect runs alone
            if self.pool.local_lane and not self._pool_answered:
                # Starting workers take seconds to run anything: give them the least
                # urgent tasks, one each, and keep the urgent ones for this process.
                if len(self._running) >= self.pool.n_workers:
                    break
                entry = max(self._queue)
                self._queue.remove(entry)
                heapq.heapify(self._queue)
                task = entry[2]
            else:
                _, _, task = heapq.heappop(self._queue)
            if task.suspect and self._running:
                self._push(task)  # once the running ones are done
                break
            self._running[self.pool.submit(run_fit, self._shared, task.args)] = task
        if self._local is not None and self._local_future is None:
            task = None
            # never a suspect: it might kill this process
            if self._queue and not self._queue[0][2].suspect:
                _, _, task = heapq.heappop(self._queue)
            elif not self._queue and not self._pool_answered:
                # Nothing queued while the workers start: run a copy of the first
                # task waiting for them; whichever copy ends first counts (a fit is
                # seeded: both give the same result). Once they run, a copy would
                # only repeat a running fit: the lane waits for new work instead.
                waiting = [t for f, t in self._running.items()
                           if not f.done() and not t.done and not t.suspect]
                if waiting:
                    task = min(waiting, key=lambda t: (t.priority, t.key, t.split))
            if task is not None:
                self._local_future = self._local.submit(run_fit, self._local_shared, task.args)
                self._local_task = task

    def _wait_some(self):
        futures = list(self._running)
        if self._local_future is not None:
            done, _ = cf.wait(futures + [self._local_future], return_when=cf.FIRST_COMPLETED)
            return list(done)
        return self.pool.wait(futures)

    def _collect(self, done):
        lost = []  # (task, exception) of the tasks whose worker died
        for future in done:
            if future is self._local_future:
                task, self._local_future = self._local_task, None
                self.n_local_fits += 1
                result = future.result()
                self._record(task, result)
                if self._pool_waits:
                    seconds = (result.get("fit_time") or 0) + (result.get("score_time") or 0)
                    left = self._expected_tasks - self._n_done
                    if left * seconds > WORKER_START_SECONDS:
                        self._pool_waits = False
                for other, copy in self._running.items():
                    if copy is task:
                        other.cancel()  # if the pool has not started it
                continue
            task = self._running.pop(future)
            self._pool_answered = True
            if task.done:
                continue
            try:
                result = future.result()
            except Exception as exc:
                if self.pool.unsent(exc) and task.unsent < MAX_UNSENT:
                    task.unsent += 1  # it never reached a worker: send it again
                    self._push(task)
                    continue
                if not self.pool.lost(exc):
                    raise
                lost.append((task, exc))
                continue
            self._record(task, result)
        if lost:
            if self.pool.loses_all:  # a dead worker broke the executor: all is lost
                for future, task in list(self._running.items()):
                    if not future.done() or _lost(self.pool, future):
                        lost.append((task, None))
                    elif not task.done:
                        self._record(task, future.result())
                self._running.clear()
                lost = [(task, exc) for task, exc in lost if not task.done]
                if len(lost) > 1:  # which one killed it is unknown: none is charged
                    for task, _ in lost:
                        task.suspect = True
                    lost = [(task, None) for task, _ in lost]
            for task, exc in lost:
                self._lose(task, exc)
            self.pool.recover()
            self._shared = self.pool.put(self._local_shared)

    def _lose(self, task, exc):
        self.n_lost += 1
        if exc is not None:
            task.losses = MAX_LOSSES if self.pool.give_up(exc) else task.losses + 1
        if task.losses >= MAX_LOSSES:
            warnings.warn(f"A fit of candidate {task.key!r} (split {task.split}) killed its "
                          f"worker {task.losses} times; it counts as a failed fit.",
                          RuntimeWarning, stacklevel=3)
            args = task.args[:-1] + (f"the worker process died {task.losses} times running "
                                     "this fit (out of memory, a crash in native code?)",)
            self._record(task, run_fit(self._local_shared, args))
            return
        self._push(task)

    def _record(self, task, result):
        if task.done:  # the other copy of a task run twice ended first
            return
        task.done = True
        self._n_done += 1
        if task.key not in self._missing:  # its candidate was stopped meanwhile
            self.n_discarded += 1
            return
        self._outcomes[task.key][task.split] = result
        self._missing[task.key] -= 1
        if task.key in self._partial:  # it completes when its search says so
            self._progress.append(task.key)
        elif not self._missing[task.key]:
            self._finish(task.key)

    def _finish(self, key):
        del self._missing[key], self._started[key], self._task_args[key]
        self._partial.discard(key)
        self._complete.append(key)
        self.completed_order.append(key)


def _lost(pool, future):
    try:
        future.result()
    except Exception as exc:  # noqa: BLE001
        return pool.lost(exc)
    return False


def key_index(key):
    """The candidate number in a key (an int, or a tuple ending with it)."""
    return key[-1] if isinstance(key, tuple) else key
