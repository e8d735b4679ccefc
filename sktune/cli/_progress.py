"""Progress of a hyperparameter search on stderr, for the command line.

:class:`SearchProgress` counts the cross-validation fits as they finish and
shows them as a rich progress bar (``mode='bar'``), as plain lines at every
10 % (``mode='lines'``, for logs), or not at all (``mode='off'``).

Fits are counted where scikit-learn's searches run them: every search
(``GridSearchCV``, ``RandomizedSearchCV``, ``BayesSearchCV``, ...) hands its
fits to ``sklearn.utils.parallel.Parallel``, whose ``print_progress`` joblib
calls in the main process each time a fit (or a batch of fits) is done,
whatever ``n_jobs``. While the progress is open, that method also advances
the count for the outermost ``Parallel`` call running ``_fit_and_score``
tasks (the search's; one made inside a fit or by the refit, such as a
``ColumnTransformer``'s, is not counted); both methods are restored on
exit. ``BayesSearchCV`` and ``HyperbandSearchCV`` add the best score so far
through their ``callbacks`` (:meth:`SearchProgress.on_round`).

scikit-learn's own ``sklearn.callback.ProgressBar`` (1.9+) is not used: it
draws nested bars per task on stdout's console (the command line keeps
stdout for results and ``--json``), and needs scikit-learn 1.9.
"""

import itertools
import math
import sys
import threading
import time

__all__ = ["SearchProgress", "progress_mode"]


def progress_mode(*, quiet, verbose, stream=None):
    """``'off'``, ``'bar'`` or ``'lines'`` for the command line's options.

    ``--quiet``: off. Otherwise a bar when ``stream`` (stderr) is a
    terminal; when it is not, lines with ``--verbose`` and nothing without.
    """
    stream = sys.stderr if stream is None else stream
    if quiet:
        return "off"
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if is_tty:
        return "bar"
    return "lines" if verbose else "off"


class SearchProgress:
    """Count a search's fits and show the count on stderr.

    Use as a context manager around ``search.fit``.

    Parameters
    ----------
    total : int or None
        Fits expected (candidates x folds); None when unknown.
    mode : {'bar', 'lines', 'off'}, default='bar'
    stream : file-like, default=None
        Where to draw (None: ``sys.stderr`` at the time of drawing).
    description : str, default='tuning'
        Label of the bar and of the lines.

    Attributes
    ----------
    done : int
        Fits finished so far.
    best_score : float or None
        Best mean CV score so far, when the search reports it.
    """

    def __init__(self, total, *, mode="bar", stream=None, description="tuning"):
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"mode must be 'bar', 'lines' or 'off'; got {mode!r}.")
        self.total = total
        self.mode = mode
        self.stream = stream
        self.description = description
        self.done = 0
        self.best_score = None
        self._lock = threading.Lock()
        self._start = None
        self._bar = None
        self._task = None
        self._last_tenth = 0
        self._patched = None
        self._running = None

    # -- context --------------------------------------------------------------------------
    def __enter__(self):
        self._start = time.perf_counter()
        if self.mode == "off":
            return self
        if self.mode == "bar":
            self._open_bar()
        self._patch_parallel()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._unpatch_parallel()
        if self._bar is not None:
            if exc_type is None:
                best = f" (best {self.best_score:.4f})" if self.best_score is not None else ""
                self._bar.update(self._task, description=f"{self.description}: done{best}")
            self._bar.stop()
            self._bar = None
        return False

    @property
    def elapsed(self):
        """Seconds since the progress was opened."""
        return 0.0 if self._start is None else time.perf_counter() - self._start

    # -- events ---------------------------------------------------------------------------
    def advance(self, n=1):
        """``n`` more fits are done."""
        if n <= 0:
            return
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(self._task, advance=n, description=self._label())
            elif self.mode == "lines":
                self._maybe_line()

    def on_round(self, state):
        """``BayesSearchCV`` callback: note the best score; never stops the search."""
        if math.isfinite(state.best_score):
            with self._lock:
                self.best_score = state.best_score
                if self._bar is not None:
                    self._bar.update(self._task, description=self._label())
        return False

    # -- display --------------------------------------------------------------------------
    def _label(self):
        label = self.description
        if self.total is not None and self.done >= self.total:
            label += ": refitting the best model"
        elif self.best_score is not None:
            label += f" (best {self.best_score:.4f})"
        return label

    def _open_bar(self):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        console = Console(file=self.stream or sys.stderr)
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("fits"), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=console, transient=False)
        self._task = self._bar.add_task(self._label(), total=self.total)
        self._bar.start()

    def _maybe_line(self):
        if self.total:
            tenth = min(10, self.done * 10 // self.total)
            if tenth <= self._last_tenth:
                return
            self._last_tenth = tenth
            count = f"{self.done}/{self.total} fits ({self.done * 100 // self.total}%)"
        else:
            count = f"{self.done} fits"
        best = f", best CV score {self.best_score:.4f}" if self.best_score is not None else ""
        stream = self.stream or sys.stderr
        print(f"{self.description}: {count} in {self.elapsed:.0f} s{best}", file=stream,
              flush=True)

    # -- counting fits --------------------------------------------------------------------
    def _patch_parallel(self):
        from sklearn.utils.parallel import Parallel

        saved = {name: vars(Parallel).get(name) for name in ("__call__", "print_progress")}
        call, print_progress = Parallel.__call__, Parallel.print_progress
        progress = self

        def counted_call(parallel, iterable):
            # Only the search's cross-validation fits count: the outermost call
            # whose tasks are _fit_and_score. A Parallel called inside a fit or
            # by the refit (a ColumnTransformer's, with n_jobs=1) is not.
            if progress._running is not None:
                return call(parallel, iterable)
            tasks = iter(iterable)
            first = next(tasks, None)
            if first is None:
                return call(parallel, [])
            tasks = itertools.chain([first], tasks)
            if "fit_and_score" not in getattr(first[0], "__name__", ""):
                return call(parallel, tasks)
            progress._running = parallel
            try:
                return call(parallel, tasks)
            finally:
                progress._running = None

        def counted_progress(parallel):
            if parallel is progress._running:
                # n_completed_tasks restarts at every call of the Parallel object
                # (sequential searches call it once per round).
                run = getattr(parallel, "_start_time", None)
                previous_run, seen = getattr(parallel, "_sktune_seen", (None, 0))
                completed = parallel.n_completed_tasks
                parallel._sktune_seen = (run, completed)
                progress.advance(completed - (seen if run == previous_run else 0))
            return print_progress(parallel)

        Parallel.__call__ = counted_call
        Parallel.print_progress = counted_progress
        self._patched = (Parallel, saved)

    def _unpatch_parallel(self):
        if self._patched is None:
            return
        cls, saved = self._patched
        for name, original in saved.items():
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        self._patched = None
