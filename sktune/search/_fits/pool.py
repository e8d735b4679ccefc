"""Where a search's fits run: single tasks on the active joblib backend.

sklearn's ``evaluate_candidates`` runs a whole batch through
``joblib.Parallel`` and returns when its slowest fit is done. The scheduler
(:mod:`.scheduler`) needs one fit at a time, started the moment a worker is
free, so it submits to the executor behind the joblib backend the user
chose (``n_jobs``, ``joblib.parallel_config``):

=====================  ==========================================================
joblib backend          pool
=====================  ==========================================================
one job, sequential     :class:`InlinePool`: each task runs in the calling thread
``threading``           :class:`ThreadPool`: a ``ThreadPoolExecutor``
``loky`` (default)      :class:`LokyPool`: joblib's reusable loky executor, with
                        its memory-mapping of large arrays (into a folder of
                        the search's own) and its worker environment (threads
                        per worker), shared with sklearn's own ``Parallel``
                        calls, so workers stay warm across searches
``dask``                :class:`DaskPool`: the backend's ``distributed.Client``;
                        the data are scattered once
``ray``                 :class:`RayPool`: Ray tasks; the data put in Ray's object
                        store once, pretrained modules once, fetched once
                        per worker
anything else           :class:`JoblibPool`: batches through ``joblib.Parallel``
                        (works everywhere, with a barrier per batch)
=====================  ==========================================================

A loky worker killed mid-task breaks the whole executor (every task in
flight fails with ``TerminatedWorkerError``); :meth:`LokyPool.recover` opens
a new one and the scheduler submits the lost tasks again. Dask reschedules
the tasks of a lost worker itself, and so does Ray.
"""

import concurrent.futures as cf
import pickle
import uuid

from joblib import Parallel, delayed
from joblib.parallel import get_active_backend

from ...nets._sent_modules import ModuleFiles, RayModules, SentOnce, pickler_module

#: Exceptions of a task that mean its worker died, not that its fit failed
#: (sklearn's _fit_and_score catches the fit's own errors).
try:
    from joblib.externals.loky.process_executor import BrokenProcessPool
except ImportError:  # pragma: no cover - joblib always vendors loky
    from concurrent.futures.process import BrokenProcessPool


class _DoneFuture:
    """A finished task's outcome (value or exception), read like a Future."""

    def __init__(self, fn, args):
        try:
            self._value, self._error = fn(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._value, self._error = None, exc

    def done(self):
        return True

    def cancel(self):
        return False

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


class _LazyFuture:
    """A task the :class:`InlinePool` runs when it is waited for."""

    def __init__(self, fn, args):
        self._task = (fn, args)
        self._done = None

    def run(self):
        if self._done is None:
            self._done = _DoneFuture(*self._task)
            self._task = None

    def done(self):
        return self._done is not None

    def cancel(self):
        if self._done is None:
            self._task = None
            self._done = _DoneFuture(_raise_cancelled, ())
            return True
        return False

    def result(self):
        self.run()
        return self._done.result()


def _raise_cancelled():
    raise cf.CancelledError()


class _Pool:
    """What every pool does unless it says otherwise (the scheduler's interface)."""

    #: True when this process should run fits too (one of the ``n_jobs``),
    #: in a thread of the scheduler, because the pool's processes are starting.
    local_lane = False
    #: Whether a dead worker loses every task on the pool (a broken executor).
    loses_all = False

    #: Whether tasks leave this process (pickled to another one).
    sends_tasks = False

    def put(self, value):
        """What tasks carry for ``value`` (sent once where a pool can)."""
        return value

    def put_context(self, ctx):
        """What a task carries for its scikit-learn callback context: the context
        itself in this process; elsewhere :class:`PickledContext`, pickled now."""
        return PickledContext(ctx) if self.sends_tasks else ctx

    def lost(self, exc):
        """Whether a task's exception means its worker died (the task runs again)."""
        return False

    def unsent(self, exc):
        """Whether a task's exception says it could not be sent to a worker (it
        is sent again, :data:`~.scheduler.MAX_UNSENT` times at most)."""
        return False

    def give_up(self, exc):
        """Whether such a task is a failed fit at once instead of running again."""
        return False

    def abandon(self, futures):
        """Tasks whose results are no longer needed."""

    def recover(self):
        """A working pool again after a worker died."""

    def close(self):
        """The search is over."""


class PickledContext:
    """A scikit-learn callback context pickled in the search's thread.

    A context points to its parent, and through it to the search's whole task
    tree, whose ``_children_map`` dicts the search's thread grows with every
    task it starts. Pickled in the pool's own thread (loky's feeder) as the
    search starts the next task, such a dict changed size during iteration
    (2 Hyperband races of 10 died of it); pickled here, nothing changes under
    the pickler. ``run_fit`` loads it in the worker (:meth:`load`).
    """

    __slots__ = ("data",)

    def __init__(self, ctx):
        self.data = pickler_module().dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self):
        return pickle.loads(self.data)


class InlinePool(_Pool):
    """One worker: the calling thread, one task per :meth:`wait`."""

    kind = "inline"
    n_workers = 1

    def submit(self, fn, *args):
        return _LazyFuture(fn, args)

    def wait(self, futures):
        done = [f for f in futures if f.done()]
        if not done and futures:
            futures[0].run()
            done = [futures[0]]
        return done


class _ExecutorPool(_Pool):
    """A ``concurrent.futures`` executor behind the pool."""

    def submit(self, fn, *args):
        return self._executor.submit(fn, *args)

    def wait(self, futures):
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def abandon(self, futures):
        """Tasks whose results are not needed: cancelled if not started, else waited
        for (threads of this process would compete with what comes next)."""
        for f in futures:
            f.cancel()
        cf.wait(futures)


class ThreadPool(_ExecutorPool):
    """Threads of this process (joblib's ``threading`` backend)."""

    kind = "threading"

    def __init__(self, n_workers):
        self.n_workers = n_workers
        self._executor = cf.ThreadPoolExecutor(n_workers, thread_name_prefix="sktune-fit")

    def close(self):
        self._executor.shutdown(wait=True, cancel_futures=True)


class LokyPool(_ExecutorPool):
    """joblib's reusable loky executor (the processes sklearn's searches use)."""

    kind = "loky"
    sends_tasks = True
    loses_all = True

    def __init__(self, n_workers, n_jobs, local_lane=False):
        self.n_workers = n_workers
        self.local_lane = local_lane
        self._n_jobs = n_jobs  # the processes sharing the cores (this one included)
        self._context = f"sktune-{uuid.uuid4().hex}"
        self._executor = None
        self._module_files = ModuleFiles()
        if not local_lane:  # a cold pool starts when the scheduler first submits to it
            self._open()

    def put(self, value):
        """The scheduler's ``(estimator, X, y, kwargs)`` with the pretrained module
        instances sent to each worker once per search (:func:`_sent_once`); the
        arrays, and the fit and score parameters, still go through joblib's
        memory-mapping."""
        return _sent_once(value, self._module_files)

    def submit(self, fn, *args):
        if self._executor is None:
            self._open()
        # Large arrays are memory-mapped into the folder of the manager's
        # *current* context, which the last joblib.Parallel on this (shared)
        # executor set to its own and then deleted: point it at this search's
        # folder as the task is pickled, as Parallel does for its batches.
        task = _InContext(fn, self._executor._temp_folder_manager, self._context)
        return self._executor.submit(task, *args)

    def _open(self):
        """The executor with the arguments ``joblib.Parallel(n_jobs)`` would give it
        (loky reuses running workers only for equal arguments), ``n_workers`` big."""
        from joblib.executor import get_memmapping_executor

        parallel = Parallel(n_jobs=self._n_jobs)  # the active configuration; not started
        backend = parallel._backend
        kwargs = {**getattr(backend, "backend_kwargs", {}), **parallel._backend_kwargs}
        for name in ("prefer", "require"):
            kwargs.pop(name, None)
        timeout = kwargs.pop("idle_worker_timeout", 300)
        self._executor = get_memmapping_executor(
            self.n_workers, timeout=timeout, env=backend._prepare_worker_env(n_jobs=self._n_jobs),
            context_id=self._context, **kwargs)

    def lost(self, exc):
        return isinstance(exc, BrokenProcessPool)

    def unsent(self, exc):
        # loky pickles tasks in a feeder thread; on its error the task's future
        # gets "Could not pickle the task...". Seen with Hyperband's many short
        # fits ("dictionary changed size during iteration": the callback
        # context's task tree, now pickled in the search's thread or not sent,
        # PickledContext); kept for any other transient failure. A task that
        # cannot be pickled at all fails again and is raised.
        return isinstance(exc, pickle.PicklingError)

    def abandon(self, futures):
        """Cancelled if not started; running ones finish in their worker, unread
        (a starting worker's import is not waited for)."""
        for f in futures:
            f.cancel()

    def recover(self):
        """A new executor after a worker died (loky replaces a broken one)."""
        self._open()

    def close(self):
        self._module_files.close()
        manager = getattr(self._executor, "_temp_folder_manager", None)
        if manager is not None:
            try:  # the temporary files of this search's memory-mapped arrays
                manager._clean_temporary_resources(context_id=self._context, force=False)
            except Exception:  # noqa: BLE001 - cleaning up only, never fatal
                pass


#: Arguments of sklearn's _fit_and_score that may hold the estimator.
_HOLD_ESTIMATORS = ("scorer", "caller")


def _sent_once(value, store):
    """The scheduler's ``(estimator, X, y, kwargs)`` with the pretrained module
    instances in ``store`` (:mod:`sktune.nets._sent_modules`), not pickled into
    every task: those of the estimator, and of the scorer and the search
    (``caller``) that hold it (scikit-learn's default scorer keeps the
    estimator)."""
    estimator, X, y, kwargs = value
    kwargs = {k: SentOnce(v, store).packed() if k in _HOLD_ESTIMATORS and v is not None
              else v for k, v in kwargs.items()}
    return SentOnce(estimator, store).packed(), X, y, kwargs


class _InContext:
    """``fn``, pickled for a loky worker with the memory-mapping context set.

    joblib's memmapping reducers write large arrays into
    ``manager.resolve_temp_folder_name()``, the folder of the context last
    made current; loky pickles a task's function before its arguments, in
    one feeder thread, so making this search's context current in the
    function's ``__reduce__`` sends its arrays to this search's folder
    (``joblib.Parallel`` does the same in its batches' reducer). The worker
    receives ``fn`` itself.
    """

    __slots__ = ("fn", "manager", "context")

    def __init__(self, fn, manager, context):
        self.fn, self.manager, self.context = fn, manager, context

    def __reduce__(self):
        self.manager.set_current_context(self.context)
        return _identity, (self.fn,)


def _identity(value):
    return value


class DaskPool(_Pool):
    """The workers of joblib's ``dask`` backend (its ``distributed.Client``); a lost
    worker loses its own tasks only (loky: all of the executor's)."""

    kind = "dask"
    sends_tasks = True

    def __init__(self, n_workers, client):
        self.n_workers = n_workers
        self._client = client

    def put(self, value):
        """Send the data to the cluster once (to every worker, so that losing one
        loses no data); tasks then carry its handle."""
        return self._client.scatter(value, hash=False, broadcast=True)

    def submit(self, fn, *args):
        return self._client.submit(fn, *args, pure=False)

    def wait(self, futures):
        from distributed import wait

        try:
            done, _ = wait(futures, return_when="FIRST_COMPLETED")
        except Exception as exc:  # noqa: BLE001 - only a lost worker's cancellations
            if type(exc).__name__ not in _DASK_LOST:
                raise
            # distributed's wait raises when a future it waited for was cancelled
            # (its data went with a lost worker): those are done, and their result()
            # says so (the task runs again, see lost)
            done = [f for f in futures if f.status != "pending"]
        return list(done)

    def lost(self, exc):
        """distributed reschedules a lost worker's tasks itself; a task whose data
        went with it is cancelled instead, and one that killed several workers
        raises KilledWorker: both run again (KilledWorker as a failed fit)."""
        return type(exc).__name__ in _DASK_LOST

    def give_up(self, exc):
        return type(exc).__name__ == "KilledWorker"

    def abandon(self, futures):
        if futures:
            self._client.cancel(futures)


_DASK_LOST = {"KilledWorker", "FutureCancelledError", "FuturesCancelledError",
              "CancelledError"}


class RayPool(_ExecutorPool):
    """Ray tasks, on the cluster ``ray.init`` connected to (joblib's ``ray``
    backend, ``ray.util.joblib.register_ray()``).

    The data go to Ray's object store once per search (:meth:`put`; arrays are
    read there without a copy), a pretrained module once too, fetched by each
    worker once (:class:`~sktune.nets._sent_modules.RayModules`). Each fit is a
    task of one CPU. Ray runs a task whose worker or node died again by itself
    (``max_retries``); one that still fails is a failed fit.
    """

    kind = "ray"
    sends_tasks = True

    def __init__(self, n_workers):
        import ray

        self.n_workers = n_workers
        self._modules = RayModules()
        self._remote = ray.remote(num_cpus=1)(_call)
        self._refs = {}  # future -> ObjectRef

    def put(self, value):
        import ray

        return ray.put(_sent_once(value, self._modules))

    def submit(self, fn, *args):
        ref = self._remote.remote(fn, *args)
        future = ref.future()
        self._refs[future] = ref
        return future

    def lost(self, exc):
        return type(exc).__name__ in _RAY_LOST

    def give_up(self, exc):
        return True  # Ray has run it again already (max_retries)

    def abandon(self, futures):
        import ray

        for future in futures:
            ref = self._refs.get(future)
            if ref is not None and not future.done():
                ray.cancel(ref)

    def close(self):
        self._refs.clear()
        self._modules.close()


def _call(fn, *args):
    return fn(*args)


_RAY_LOST = {"WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError"}


class JoblibPool(_Pool):
    """Any other joblib backend: what is submitted runs as one ``Parallel`` batch.

    Nothing starts until :meth:`wait`, which runs every task submitted since
    (as sklearn's rounds do): correct on any backend, with a barrier per batch.
    """

    kind = "joblib"
    sends_tasks = True

    def __init__(self, n_workers):
        self.n_workers = n_workers

    def submit(self, fn, *args):
        return _LazyFuture(fn, args)

    def wait(self, futures):
        todo = [f for f in futures if not f.done()]
        if len(todo) == len(futures) and todo:
            outcomes = Parallel(n_jobs=self.n_workers)(
                delayed(_outcome)(*f._task) for f in todo)
            for future, outcome in zip(todo, outcomes):
                future._task = None
                future._done = outcome
        return [f for f in futures if f.done()]


def _outcome(fn, args):
    return _DoneFuture(fn, args)


def _loky_workers_alive():
    """How many worker processes joblib's reusable loky executor has running."""
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:  # pragma: no cover
        return 0
    executor = reusable_executor._executor
    if executor is None or getattr(getattr(executor, "_flags", None), "broken", None):
        return 0
    processes = getattr(executor, "_processes", None) or {}
    return sum(p.is_alive() for p in list(processes.values()))


def open_pool(n_jobs):
    """The pool for ``n_jobs`` on the active joblib backend (``parallel_config``)."""
    backend, config_n_jobs = get_active_backend()
    if n_jobs is None:
        n_jobs = config_n_jobs
    if type(backend).__name__ == "RayBackend":
        # As with Dask, the cluster runs the fits: all its CPUs unless n_jobs says
        # fewer (the backend counts them for -1).
        return RayPool(max(1, int(backend.effective_n_jobs(-1 if n_jobs is None else n_jobs))))
    if n_jobs is None:
        n_jobs = 1
    n_workers = max(1, int(backend.effective_n_jobs(n_jobs)))
    name = type(backend).__name__
    if name == "SequentialBackend":
        return InlinePool()
    if name == "DaskDistributedBackend" and getattr(backend, "client", None) is not None:
        # As joblib's dask backend: the cluster runs the fits, whatever n_jobs;
        # also when it counts one worker thread (one left while a killed
        # worker's nanny restarts it), never this client's process.
        return DaskPool(n_workers, backend.client)
    if n_workers == 1:
        return InlinePool()
    if name == "ThreadingBackend":
        return ThreadPool(n_workers)
    if name == "LokyBackend":
        if _loky_workers_alive() < n_workers:
            # Cold start: new workers spend seconds importing torch and
            # scikit-learn before their first fit. This process, which has
            # imported them, is one of the n_jobs: it fits from the first
            # second, and one process fewer pays the imports. (Also when an
            # earlier search of this process left n_jobs - 1 workers this way.)
            return LokyPool(n_workers - 1, n_workers, local_lane=True)
        return LokyPool(n_workers, n_workers)
    return JoblibPool(n_workers)
