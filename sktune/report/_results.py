"""Read a fitted search into the facts a report shows.

:func:`read_search` copies what it needs out of the search (``cv_results_``,
``best_index_``, ``refit_time_``, the refitted model's training history) into a
:class:`SearchResults`; it never calls ``fit`` or changes the search. Every
other part of the report works from that snapshot.
"""

import math
import numbers
import re
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection._search import BaseSearchCV

from ..nets._steps import final_step
from ..search._objectives import TIMES as _TIMES  # what objectives may name besides metrics
from ._format import _NOT_SET, full_repr, is_missing


# A numeric hyperparameter whose values span this ratio (over a decade) or more,
# all positive, is drawn on a log axis unless its search space says otherwise.
_LOG_RATIO = 20.0


@dataclass
class Param:
    """One hyperparameter of the search, as every candidate set it.

    Attributes
    ----------
    name : str
        The parameter name (``'svc__C'`` inside a pipeline).
    values : list
        The value of every candidate (``cv_results_`` row order); a candidate
        of another sub-space that does not set it holds a "not set" sentinel.
    kind : {'numeric', 'categorical'}
        Numeric when every set value is a real number (bools excluded).
    log : bool
        Whether the parameter is best shown on a log scale.
    """

    name: str
    values: list
    kind: str
    log: bool

    @property
    def n_distinct(self):
        return len({_value_key(v) for v in self.values})

    def numeric_values(self):
        """Values as floats, NaN where not set (numeric parameters only)."""
        return np.array([np.nan if is_missing(v) else float(v) for v in self.values])

    def categories(self):
        """Distinct values, sorted (None, bools, numbers, tuples, strings, others,
        "not set"), and each candidate's code (index into them)."""
        distinct = {}
        for v in self.values:
            distinct.setdefault(_value_key(v), v)
        cats = sorted(distinct.values(), key=_category_order)
        index = {_value_key(v): k for k, v in enumerate(cats)}
        codes = [index[_value_key(v)] for v in self.values]
        return cats, np.array(codes, dtype=int)


@dataclass
class Objective:
    """One objective of a multi-objective search, as ``cv_results_`` had it.

    Attributes
    ----------
    name : str
        The objective as the search names it (``'accuracy'``, ``'fit_time'``).
    key : str
        The metric key of the snapshot (``'score'`` for a single metric), or
        ``'fit_time'`` / ``'score_time'``.
    maximised : bool
        True for score metrics (larger is better), False for times.
    mean, std : ndarray of shape (n_candidates,)
        ``mean_test_<key>`` and ``std_test_<key>`` (``mean_<time>``,
        ``std_<time>``); ``std`` is all NaN where ``cv_results_`` has none.
    """

    name: str
    key: str
    maximised: bool
    mean: np.ndarray
    std: np.ndarray

    @property
    def is_time(self):
        return self.key in _TIMES

    @property
    def column(self):
        """The ``cv_results_`` (and ``frame``) column of its mean."""
        return f"mean_{self.key}" if self.is_time else f"mean_test_{self.key}"

    @property
    def std_column(self):
        return f"std_{self.key}" if self.is_time else f"std_test_{self.key}"

    def to_minimise(self):
        """The mean values with larger-is-better ones negated."""
        return -self.mean if self.maximised else self.mean.copy()


@dataclass
class SearchResults:
    """Snapshot of a fitted search: scores, parameters and metadata.

    Arrays are indexed by candidate, in ``cv_results_`` order (the evaluation
    order for sequential searches).
    """

    search_name: str
    estimator_name: str
    metrics: list            # metric keys of cv_results_, the ranked one first
    labels: dict             # metric key -> display name
    scorer_names: dict       # metric key -> sklearn scoring name ('r2', ...) if known
    mean: dict               # metric -> (n_candidates,)
    std: dict
    folds: dict              # metric -> (n_candidates, n_splits)
    train_mean: dict         # metric -> (n_candidates,), with return_train_score
    fit_time: np.ndarray
    score_time: np.ndarray
    params: list             # list of Param
    param_dicts: list        # the ``params`` entry of cv_results_
    n_splits: int
    best_index: object       # int or None (refit=False with several metrics)
    refit_time: object       # float or None
    iterations: object       # (n_candidates,) for successive halving, else None
    n_resources: object
    task: str                # 'classification', 'regression' or 'unknown'
    ranked_note: str = ""
    history: object = None   # per-epoch records of the refitted network, or None
    history_owner: str = ""
    resource: str = "samples"  # what n_resources counts ('samples', 'epochs', ...)
    candidate_ids: object = None  # HyperbandSearchCV: the candidate of each row, else None
    brackets: object = None  # HyperbandSearchCV: the bracket of each row, else None
    objectives: object = None  # several objectives: list of Objective, else None
    pareto_optimal: object = None  # several objectives: (n_candidates,) bool, else None
    splits_evaluated: object = None  # a raced search: (n_candidates,) folds run, else None
    search_time: object = None  # seconds the search took (sktune's searches), else None
    stopped_by: object = None  # what stopped the search before its end (str), else None
    hyperband_iterations: object = None  # HyperbandSearchCV: each row's iteration, else None
    declared: dict = None     # name -> the Dimension its search space declares
    histories: object = None  # per row, per split: per-epoch curves (fit_histories_), or None

    @property
    def multi_objective(self):
        """Whether the search optimised several objectives (it has a Pareto front)."""
        return self.objectives is not None and self.pareto_optimal is not None

    @property
    def pareto_front(self):
        """Indices of the front's candidates, sorted by the first objective (best
        first), then the others; None for a single-objective search."""
        if not self.multi_objective:
            return None
        front = np.flatnonzero(self.pareto_optimal)
        keys = [obj.to_minimise()[front] for obj in self.objectives]
        # lexsort sorts by its last key first: candidate index breaks ties
        return front[np.lexsort([front] + keys[::-1])]

    @property
    def primary(self):
        """The metric that ranks the candidates (the refit metric)."""
        return self.metrics[0]

    @property
    def n_candidates(self):
        return len(self.fit_time)

    @property
    def evaluated(self):
        """Which folds each candidate ran, ``(n_candidates, n_splits)``: all of
        them, but for candidates a raced search stopped (they run in order)."""
        if self.splits_evaluated is None:
            return np.ones((self.n_candidates, self.n_splits), dtype=bool)
        return np.arange(self.n_splits)[None, :] < self.splits_evaluated[:, None]

    @property
    def raced_out(self):
        """Candidates a raced search stopped before their last fold."""
        return self.evaluated.sum(axis=1) < self.n_splits

    @property
    def failed(self):
        """Candidates with at least one failed fit (a NaN score on a fold they ran)."""
        return (np.isnan(self.folds[self.primary]) & self.evaluated).any(axis=1)

    @property
    def n_failed_fits(self):
        return int((np.isnan(self.folds[self.primary]) & self.evaluated).sum())

    @property
    def n_fits(self):
        """Fits run (a raced-out candidate's folds not run are none)."""
        return int(self.evaluated.sum())

    @property
    def final(self):
        """For HyperbandSearchCV, whether each row is its candidate's last rung
        (its final score); None for other searches."""
        if self.candidate_ids is None:
            return None
        from ..search._hyperband.brackets import last_rows

        final = np.zeros(self.n_candidates, dtype=bool)
        final[last_rows(self.candidate_ids.tolist())] = True
        return final

    @property
    def n_distinct_candidates(self):
        """Candidates, counting a HyperbandSearchCV candidate's rungs once."""
        if self.candidate_ids is None:
            return self.n_candidates
        return len(set(self.candidate_ids.tolist()))

    @property
    def _stage(self):
        """Rows of a later stage rank first: the halving iteration, or (Hyperband)
        whether a row is a candidate's final score; zeros for other searches."""
        if self.candidate_ids is not None:
            return self.final.astype(int)
        if self.iterations is not None:
            return self.iterations
        # a raced search: every fully evaluated candidate first (as its ranks)
        return (~self.raced_out).astype(int)

    @property
    def order(self):
        """Candidate indices, best first: by stage (the last halving iteration, or
        Hyperband's final scores, first), then mean score; failed candidates last,
        ties by evaluation order."""
        score = self.mean[self.primary]
        key_score = np.where(np.isnan(score), -np.inf, score)
        return np.lexsort([np.arange(self.n_candidates), -key_score, -self._stage])

    @property
    def rank(self):
        """Rank of each candidate (1 is best; equal scores share a rank)."""
        order = self.order
        score = self.mean[self.primary]
        it = self._stage
        rank = np.empty(len(order), dtype=int)
        previous, current = None, 0
        for position, i in enumerate(order, start=1):
            key = (it[i], None if np.isnan(score[i]) else score[i])
            if key != previous:
                current, previous = position, key
            rank[i] = current
        return rank

    @property
    def best(self):
        """Index of the best candidate: the search's ``best_index_`` or rank 1."""
        return self.best_index if self.best_index is not None else int(self.order[0])


def check_search(search):
    """Raise a clear error unless ``search`` is a fitted hyperparameter search."""
    if hasattr(search, "cv_results_"):
        return
    if isinstance(search, BaseSearchCV) or hasattr(type(search), "_run_search"):
        raise NotFittedError(
            f"This {type(search).__name__} is not fitted yet: call fit first, then "
            "cv_report(search)."
        )
    raise TypeError(
        "cv_report needs a fitted hyperparameter search such as GridSearchCV, "
        "RandomizedSearchCV, HalvingGridSearchCV or sktune.BayesSearchCV; got "
        f"{type(search).__name__}."
    )


def read_search(search):
    """Copy the facts a report needs out of a fitted search.

    Parameters
    ----------
    search : fitted BaseSearchCV (or anything with a compatible ``cv_results_``)

    Returns
    -------
    results : SearchResults
    """
    check_search(search)
    cv = search.cv_results_
    metrics = [k[len("mean_test_"):] for k in cv if k.startswith("mean_test_")]
    if not metrics or "params" not in cv:
        raise ValueError(
            f"{type(search).__name__}.cv_results_ has no 'mean_test_*' scores or no "
            "'params'; cv_report reads the cv_results_ of scikit-learn searches."
        )
    primary, ranked_note = _primary_metric(search, metrics)
    metrics = [primary] + [m for m in metrics if m != primary]
    n_splits = _n_splits(cv, primary)
    folds = {m: np.column_stack([_floats(cv[f"split{k}_test_{m}"]) for k in range(n_splits)])
             for m in metrics}
    n = len(cv["params"])
    best_index = getattr(search, "best_index_", None)
    refit_time = getattr(search, "refit_time_", None)
    history, owner = _refit_history(search)
    estimator = getattr(search, "estimator", None)
    objectives = _read_objectives(search, cv, metrics)
    declared = _declared_dimensions(search)
    return SearchResults(
        search_name=_search_name(search),
        estimator_name=describe_estimator(estimator),
        metrics=metrics,
        labels={m: _metric_label(search, m) for m in metrics},
        scorer_names=_scorer_names(search, metrics),
        mean={m: _floats(cv[f"mean_test_{m}"]) for m in metrics},
        std={m: _floats(cv[f"std_test_{m}"]) for m in metrics},
        folds=folds,
        train_mean={m: _floats(cv[f"mean_train_{m}"]) for m in metrics
                    if f"mean_train_{m}" in cv},
        fit_time=_floats(cv.get("mean_fit_time", np.full(n, np.nan))),
        score_time=_floats(cv.get("mean_score_time", np.full(n, np.nan))),
        params=_read_params(cv["params"], declared),
        declared=declared,
        param_dicts=[dict(p) for p in cv["params"]],
        n_splits=n_splits,
        best_index=None if best_index is None else int(best_index),
        refit_time=None if refit_time is None else float(refit_time),
        iterations=np.asarray(cv["iter"], dtype=int).copy() if "iter" in cv else None,
        n_resources=np.asarray(cv["n_resources"]).copy() if "n_resources" in cv else None,
        task=_task(estimator),
        ranked_note=ranked_note,
        history=history,
        history_owner=owner,
        resource=_resource_name(cv),
        candidate_ids=np.asarray(cv["candidate"]).copy() if "candidate" in cv else None,
        brackets=np.asarray(cv["bracket"], dtype=int).copy() if "bracket" in cv else None,
        objectives=objectives,
        pareto_optimal=(None if objectives is None
                        else np.asarray(cv["pareto_optimal"], dtype=bool).copy()),
        splits_evaluated=(np.asarray(cv["n_splits_evaluated"], dtype=int).copy()
                          if "n_splits_evaluated" in cv else None),
        search_time=_float_or_none(getattr(search, "search_time_", None)),
        stopped_by=getattr(search, "stopped_by_", None),
        hyperband_iterations=(np.asarray(cv["hyperband_iteration"], dtype=int).copy()
                              if "hyperband_iteration" in cv else None),
        histories=_read_histories(search, n),
    )


def _read_histories(search, n_candidates):
    """``fit_histories_`` (one list of per-split curves per row), copied; None
    when the search kept none or they do not match its ``cv_results_``."""
    histories = getattr(search, "fit_histories_", None)
    if not isinstance(histories, (list, tuple)) or len(histories) != n_candidates:
        return None
    return [[None if h is None else {k: np.asarray(v, dtype=float).copy() for k, v in h.items()}
             for h in splits] for splits in histories]


def _float_or_none(value):
    return None if value is None else float(value)


def _read_objectives(search, cv, metrics):
    """The :class:`Objective` list of a search with two objectives or more (its
    ``objectives`` parameter and ``cv_results_['pareto_optimal']``), else None.

    A name is a metric of ``cv_results_``, ``'fit_time'`` / ``'score_time'``, or
    with a single metric (``score``) the ``scoring`` string that names it.
    """
    names = getattr(search, "objectives", None)
    if not isinstance(names, (list, tuple)) or len(names) < 2 or "pareto_optimal" not in cv:
        return None
    n = len(cv["params"])
    objectives = []
    for name in names:
        if name in _TIMES or name in metrics:
            key = name
        elif metrics == ["score"] and isinstance(name, str):
            key = "score"
        else:  # cv_results_ does not hold it: no front to show
            return None
        objective = Objective(str(name), key, key not in _TIMES, None, None)
        if objective.column not in cv:
            return None
        objective.mean = _floats(cv[objective.column])
        objective.std = (_floats(cv[objective.std_column]) if objective.std_column in cv
                         else np.full(n, np.nan))
        objectives.append(objective)
    return objectives


def _resource_name(cv):
    """What ``n_resources`` counts: the short name of the parameter that equals it
    in every row (``'epochs'`` for ``net__epochs``), else scikit-learn's default,
    samples."""
    if "n_resources" not in cv:
        return "samples"
    resources = list(cv["n_resources"])
    for name in cv["params"][0] if len(cv["params"]) else ():
        if all(p.get(name) == r for p, r in zip(cv["params"], resources)):
            return name.rsplit("__", 1)[-1]
    return "samples"


def _search_name(search):
    """The search's class name; for a search loaded with ``sktune.load``, the
    class it was saved from (``search_class``, ``'module:qualname'``)."""
    saved = getattr(search, "search_class", None)
    return saved.rpartition(":")[2] if isinstance(saved, str) else type(search).__name__


def describe_estimator(estimator):
    """``'SVC'``, ``'Pipeline(StandardScaler → SVC)'``, ... for the report header."""
    if estimator is None:
        return "unknown estimator"
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        inner = " \N{RIGHTWARDS ARROW} ".join(
            type(step).__name__ if step not in (None, "passthrough") else "passthrough"
            for _, step in steps
        )
        return f"{type(estimator).__name__}({inner})"
    return type(estimator).__name__


# -- helpers -----------------------------------------------------------------------
def _floats(values):
    return np.array(np.ma.filled(np.ma.asarray(values, dtype=float), np.nan), dtype=float)


def _n_splits(cv, metric):
    pattern = re.compile(rf"split(\d+)_test_{re.escape(metric)}$")
    found = [int(m.group(1)) for k in cv if (m := pattern.match(k))]
    return max(found) + 1 if found else 0


def _primary_metric(search, metrics):
    if "score" in metrics:
        return "score", ""
    refit = getattr(search, "refit", None)
    if isinstance(refit, str) and refit in metrics:
        return refit, ""
    return metrics[0], (
        f"No refit metric was named (refit={refit!r}), so candidates are ranked by the "
        f"first metric, {metrics[0]!r}."
    )


def _metric_label(search, metric):
    if metric != "score":
        return metric
    scoring = getattr(search, "scoring", None)
    if isinstance(scoring, str):
        return scoring
    if scoring is None:
        estimator = getattr(search, "estimator", None)
        if estimator is not None and is_classifier(estimator):
            return "accuracy"
        if estimator is not None and is_regressor(estimator):
            return "R\N{SUPERSCRIPT TWO}"
        return "score"
    name = getattr(scoring, "__name__", None) or getattr(
        getattr(scoring, "_score_func", None), "__name__", None)
    return f"score ({name})" if name else "score"


def _scorer_names(search, metrics):
    """``{metric: sklearn scoring string}`` where the search names one."""
    scoring = getattr(search, "scoring", None)
    names = {}
    if metrics == ["score"]:
        if isinstance(scoring, str):
            names["score"] = scoring
        elif scoring is None:
            task = _task(getattr(search, "estimator", None))
            names["score"] = {"classification": "accuracy", "regression": "r2"}.get(task)
    elif isinstance(scoring, dict):
        names = {m: v for m, v in scoring.items() if isinstance(v, str)}
    elif isinstance(scoring, (list, tuple, set)):
        names = {m: m for m in scoring if isinstance(m, str)}
    return {m: names.get(m) for m in metrics}


def _task(estimator):
    if estimator is None:
        return "unknown"
    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    return "unknown"


def _value_key(value):
    """A hashable identity for any parameter value (estimators, lists, dicts...)."""
    if is_missing(value):
        return ("__sktune_not_set__",)
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, full_repr(value))
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value) if isinstance(value, (bool, np.bool_)) else value


def _category_order(value):
    """Sort key putting like with like: (group, numbers, text)."""
    if is_missing(value):
        return (6, (), "")
    if value is None:
        return (0, (), "")
    if isinstance(value, (bool, np.bool_)):
        return (1, (float(value),), "")
    if _is_real(value):
        return (2, (float(value),), "")
    if isinstance(value, tuple) and all(_is_real(v) for v in value):
        return (3, tuple(float(v) for v in value), "")
    if isinstance(value, str):
        return (4, (), value)
    return (5, (), full_repr(value))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _read_params(param_dicts, declared):
    names = []
    for params in param_dicts:
        names += [name for name in params if name not in names]
    result = []
    for name in names:
        values = [params.get(name, _NOT_SET) for params in param_dicts]
        present = [v for v in values if not is_missing(v)]
        numeric = bool(present) and all(_is_real(v) and math.isfinite(v) for v in present)
        if numeric:
            dim = declared.get(name)
            if dim is not None and dim.kind != "categorical":
                log = dim.is_log
            else:
                low, high = min(present), max(present)
                log = low > 0 and high / low >= _LOG_RATIO
            result.append(Param(name, values, "numeric", bool(log)))
        else:
            result.append(Param(name, values, "categorical", False))
    return result


def _declared_dimensions(search):
    """``{name: Dimension}`` of the parameters whose search space declares them.

    Read from ``search_spaces`` (BayesSearchCV) or ``param_distributions``
    (randomized searches): ``Real(..., prior='log-uniform')``,
    ``(low, high, 'log-uniform')``, ``scipy.stats.loguniform``, lists (as
    categories). Grids (``param_grid``) declare nothing: their values are the
    range. A name declared differently by two sub-spaces is left out.
    """
    from ..search.space import parse_search_spaces

    spaces = getattr(search, "search_spaces", None)
    if spaces is None:
        spaces = getattr(search, "param_distributions", None)
    if spaces is None:
        return {}
    dims, clashes = {}, set()
    entries = spaces if isinstance(spaces, (list, tuple)) else [spaces]
    for entry in entries:
        try:
            parsed = parse_search_spaces(entry)
        except Exception:  # a space this parser does not read: the values decide
            continue
        for space, _ in parsed:
            for dim in space.dimensions:
                if dim.name in dims and dims[dim.name] != dim:
                    clashes.add(dim.name)
                dims.setdefault(dim.name, dim)
    return {name: dim for name, dim in dims.items() if name not in clashes}


def _refit_history(search):
    """Per-epoch records of the refitted best model when it is a network.

    Returns ``(records, owner)``: a list of dicts (``epoch``, ``train_loss``,
    ``valid_loss``, ``valid_acc``/``valid_r2``, ...) and the estimator's class
    name; ``(None, '')`` without a refitted network.
    """
    best = getattr(search, "best_estimator_", None)
    if best is None:
        return None, ""
    net = final_step(best)
    history = getattr(net, "history_", None)
    if history is None:
        history = getattr(net, "history", None)
    if history is None or not hasattr(history, "__len__") or len(history) == 0:
        return None, ""
    records = []
    for entry in history:
        if not hasattr(entry, "items"):
            return None, ""
        records.append({k: v for k, v in entry.items()
                        if k != "batches" and isinstance(v, (numbers.Real, np.number))})
    if not any("train_loss" in r for r in records):
        return None, ""
    return records, type(net).__name__


def results_frame(results):
    """The ranked pandas DataFrame of a report: one row per candidate.

    Columns: ``rank``; ``mean_test_<metric>`` and ``std_test_<metric>`` for
    every metric (the ranked one first), ``mean_train_<metric>`` when train
    scores were kept; ``mean_fit_time`` and ``mean_score_time`` (seconds);
    ``pareto_optimal`` for a search with several objectives; ``iter`` and
    ``n_resources`` for successive halving, and for HyperbandSearchCV also
    ``bracket``, ``hyperband_candidate`` (the id shared by the rows of one
    candidate) and ``final`` (the candidate's last rung); then one column per
    hyperparameter (``param_<name>`` if a name clashes with the columns
    before). The index, ``candidate``, is the row of ``cv_results_``.
    Parameters a candidate does not set (other sub-grid) are ``<NA>``.
    """
    from ._deps import require

    pd = require("pandas")
    data = {"rank": results.rank}
    for m in results.metrics:
        data[f"mean_test_{m}"] = results.mean[m]
        data[f"std_test_{m}"] = results.std[m]
        if m in results.train_mean:
            data[f"mean_train_{m}"] = results.train_mean[m]
    data["mean_fit_time"] = results.fit_time
    data["mean_score_time"] = results.score_time
    if results.multi_objective:
        data["pareto_optimal"] = results.pareto_optimal
    if results.iterations is not None:
        data["iter"] = results.iterations
        data["n_resources"] = results.n_resources
    if results.candidate_ids is not None:
        data["bracket"] = results.brackets
        data["hyperband_candidate"] = results.candidate_ids
        data["final"] = results.final
    for param in results.params:
        column = param.name if param.name not in data else f"param_{param.name}"
        data[column] = _param_column(pd, param)
    index = pd.RangeIndex(results.n_candidates, name="candidate")
    return pd.DataFrame(data, index=index).iloc[results.order]


def _param_column(pd, param):
    missing = [is_missing(v) for v in param.values]
    if param.kind == "numeric":
        present = [v for v in param.values if not is_missing(v)]
        if all(isinstance(v, numbers.Integral) for v in present):
            if any(missing):
                return pd.array([pd.NA if m else int(v) for v, m in zip(param.values, missing)],
                                dtype="Int64")
            return np.array(param.values, dtype=np.int64)
        return param.numeric_values()
    column = np.empty(len(param.values), dtype=object)
    for i, (v, m) in enumerate(zip(param.values, missing)):
        column[i] = pd.NA if m else v
    return column


def pareto_frame(results):
    """The Pareto front as a pandas DataFrame: one row per front candidate.

    Columns: the mean and std of each objective under its ``cv_results_``
    name (``mean_test_<metric>``, ``std_test_<metric>``; ``mean_fit_time``,
    ``std_fit_time``), then one column per hyperparameter as in
    :func:`results_frame`. Rows are sorted by the first objective, best
    first; the index, ``candidate``, is the row of ``cv_results_``. None
    for a search without several objectives.
    """
    if not results.multi_objective:
        return None
    from ._deps import require

    pd = require("pandas")
    data = {}
    for objective in results.objectives:
        data[objective.column] = objective.mean
        data[objective.std_column] = objective.std
    for param in results.params:
        column = param.name if param.name not in data else f"param_{param.name}"
        data[column] = _param_column(pd, param)
    index = pd.RangeIndex(results.n_candidates, name="candidate")
    return pd.DataFrame(data, index=index).iloc[results.pareto_front]
