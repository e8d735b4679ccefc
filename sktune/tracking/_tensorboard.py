"""TensorBoard logs of a search: a run per fit, an HParams session per candidate.

:class:`TensorBoardLogger` is a scikit-learn callback (``sklearn.callback``,
scikit-learn >= 1.9): set on a search with ``search.set_callbacks(...)``, it is
propagated by scikit-learn to every fit of every candidate and fold, in
whichever process runs it. It holds a folder name and counts, never a live
writer, so it survives ``clone``, pickling, ``n_jobs`` and Dask. Each sktune
network it reaches asks it (``fit_callback``) for a skorch callback that
writes the fit's per-epoch scalars; when the search ends, the logger writes
one HParams session per candidate from ``cv_results_``.
"""

import math
import os
import time

from skorch.callbacks import Callback

__all__ = ["TensorBoardLogger"]

_EVALUATION = "candidate-split-evaluation"
_REFIT = "refit-with-best-params"
#: history_ columns written per epoch, and their TensorBoard tags.
_SCALARS = {"train_loss": "loss/train", "valid_loss": "loss/valid", "valid_acc": "score/valid",
            "valid_r2": "score/valid", "lr": "lr", "dur": "time/epoch_seconds"}


def _summary_writer(path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # tensorboard is not installed
        raise ImportError(
            "TensorBoardLogger writes with tensorboard, which is not installed; install it "
            "with pip install \"sktune[tensorboard]\"."
        ) from exc
    return SummaryWriter(log_dir=path)


def _context_path(context):
    """``[(task name, task id), ...]`` from the root task down to ``context``.

    A sub-estimator's root task merged into its meta-estimator's task keeps the
    meta-estimator's name as ``source_task_name``.
    """
    path = []
    while context is not None:
        name = getattr(context, "source_task_name", None) or context.task_name
        path.append((name, context.task_id))
        context = context.parent
    return path[::-1]


def _hparam_value(value):
    """A value TensorBoard's HParams plugin shows: numbers and strings as they are."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return repr(value) if not isinstance(value, str) else value


class _EpochScalars(Callback):
    """skorch callback: the scalars of each epoch of one fit into one run folder.

    The run holds one event file. Training that starts again on the same
    network (``partial_fit``, Hyperband's next rung, possibly in another
    process) replaces it with one that rewrites the epochs so far from the
    network's history and goes on from there: TensorBoard reads a run's files
    in name order, which need not be the order they were written in. A fit
    re-run after an interruption replaces what the cut-short fit had written.
    """

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, **kwargs):
        if os.path.isdir(self.path):
            for name in os.listdir(self.path):
                if name.startswith("events.out.tfevents"):
                    os.remove(os.path.join(self.path, name))
        self.writer_ = _summary_writer(self.path)
        for row in net.history:  # the epochs trained before this call
            self._write(row)

    def _write(self, row):
        step = int(row["epoch"])
        for key, tag in _SCALARS.items():
            value = row.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer_.add_scalar(tag, value, global_step=step)

    def on_epoch_end(self, net, **kwargs):
        self._write(net.history[-1])

    def on_train_end(self, net, **kwargs):
        self.writer_.close()
        del self.writer_


class TensorBoardLogger:
    """Log a search (or a fit) to TensorBoard: scalars per fit, HParams per candidate.

    A scikit-learn callback: give it to any search over sktune networks
    (``BayesSearchCV``, ``GridSearchCV``, ``RandomizedSearchCV``, pipelines
    included) with ``search.set_callbacks(TensorBoardLogger("runs"))``, or to
    one network with ``net.set_callbacks(...)``. Each search writes into a
    folder of its own under ``log_dir``::

        runs/BayesSearchCV-20261201-101500-4242/
            candidate-000/          HParams session: parameters, mean and per-fold
                                    CV scores of every metric
            candidate-000/fold-0/   the fit: loss/train, loss/valid, score/valid,
                                    lr, time/epoch_seconds per epoch
            refit/                  the refit of the best candidate

    Then ``tensorboard --logdir runs``: the Scalars tab shows every fit, the
    HParams tab compares candidates (table, parallel coordinates).

    Parameters
    ----------
    log_dir : str or path-like
        The root folder (created if needed).
    name : str or None, default=None
        The search's folder under ``log_dir``; None is
        ``<Search>-<date>-<time>-<process id>`` (a number is added if taken).
        Give a fixed name to continue a resumed (``checkpoint=``) search in
        the same folder: fits re-run after an interruption replace their
        runs, replayed rounds write nothing.

    Attributes
    ----------
    run_dir_ : str
        The folder of the last search (or fit) logged.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sktune import NeuralNetClassifier
    >>> from sktune.tracking import TensorBoardLogger
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(NeuralNetClassifier(epochs=2, random_state=0),
    ...                       {"lr": [1e-3, 1e-2]}, cv=2)
    >>> logger = TensorBoardLogger(tempfile.mkdtemp(), name="iris")
    >>> _ = search.set_callbacks(logger).fit(X, y)
    >>> sorted(os.listdir(logger.run_dir_))
    ['candidate-000', 'candidate-001', 'refit']
    """

    max_propagation_depth = None  # reach the network inside pipelines

    def __init__(self, log_dir, name=None):
        self.log_dir = log_dir
        self.name = name

    def __repr__(self):
        return f"TensorBoardLogger(log_dir={os.fspath(self.log_dir)!r}, name={self.name!r})"

    # -- scikit-learn's callback hooks (the search's process) ---------------------------
    def setup(self, estimator, context):
        """Choose and create this search's folder (scikit-learn calls it once per fit)."""
        base = self.name or "{}-{}-{}".format(type(estimator).__name__,
                                              time.strftime("%Y%m%d-%H%M%S"), os.getpid())
        path = os.path.join(os.fspath(self.log_dir), base)
        if self.name is None:
            k = 2
            while os.path.exists(path):
                path = os.path.join(os.fspath(self.log_dir), f"{base}-{k}")
                k += 1
        os.makedirs(path, exist_ok=True)
        self.run_dir_ = path
        self._n_splits = None
        self._rounds = {}  # round task id -> its candidates' ids (sktune's searches)
        self._fits = 0

    def on_fit_task_begin(self, estimator, context, **kwargs):
        """Note the number of folds when the search starts its candidates, and the
        candidates of each round of sktune's round-based searches."""
        if context.task_name == "search":  # n_splits_ is known from here on
            self._n_splits = getattr(estimator, "n_splits_", None)
        ids = getattr(estimator, "_round_candidate_ids", None)
        if ids is not None and context.parent is not None \
                and context.parent.task_name == "search":
            self._rounds[context.task_id] = list(ids)

    def on_fit_task_end(self, estimator, context, **kwargs):
        """When a search's fit has succeeded: one HParams session per candidate of
        ``cv_results_`` (a failed fit, whose ``cv_results_`` may be a previous fit's,
        writes none). Never stops anything."""
        results = getattr(estimator, "cv_results_", None)
        if context.parent is None and results is not None:
            self._write_sessions(results)
        return False

    def teardown(self, estimator, context):
        """Nothing to close: every fit closes its own writer."""

    # -- what a network asks (in the process of its fit) --------------------------------
    def run_name(self, context):
        """The run folder (relative to ``run_dir_``) of the fit at ``context``."""
        path = _context_path(context)
        names = [name for name, _ in path]
        if _REFIT in names:
            return "refit"
        if _EVALUATION in names and self._n_splits:
            i = names.index(_EVALUATION)
            task = path[i][1]
            position, fold = task // self._n_splits, task % self._n_splits
            ids = self._rounds.get(path[i - 1][1]) if names[i - 2:i - 1] == ["search"] else None
            candidate = position if ids is None else ids[position]
            return os.path.join(f"candidate-{candidate:03d}", f"fold-{fold}")
        self._fits += 1
        return "fit" if self._fits == 1 else f"fit-{self._fits}"

    def fit_callback(self, context):
        """A skorch callback that writes the fit's epochs to its run (sktune's networks
        call this when they start training)."""
        return _EpochScalars(os.path.join(self.run_dir_, self.run_name(context)))

    # -- HParams -----------------------------------------------------------------------
    def _write_sessions(self, results):
        from torch.utils.tensorboard.summary import hparams

        metrics = sorted(k for k in results
                         if k.startswith("mean_test_") or
                         (k.startswith("split") and "_test_" in k))
        # Hyperband has a row per (candidate, rung): one session per candidate, its
        # scores at each rung as steps (the epochs), its last rung's as its values
        ids = results.get("candidate", range(len(results["params"])))
        steps = results.get("n_resources", [0] * len(results["params"]))
        rows = {}
        for row, candidate in enumerate(ids):
            rows.setdefault(int(candidate), []).append(row)
        for candidate, its_rows in rows.items():
            last = its_rows[-1]
            hp = {k: _hparam_value(v) for k, v in results["params"][last].items()}
            values = {f"cv/{k}": float(results[k][last]) for k in metrics}
            exp, ssi, sei = hparams(hp, values)
            writer = _summary_writer(os.path.join(self.run_dir_,
                                                  f"candidate-{candidate:03d}"))
            for summary in (exp, ssi, sei):
                writer.file_writer.add_summary(summary)
            for row in its_rows:
                for k in metrics:
                    writer.add_scalar(f"cv/{k}", float(results[k][row]),
                                      global_step=int(steps[row]))
            writer.close()
