"""The objectives of a multi-objective search: which ``cv_results_`` columns,
in which direction, and the Pareto front of the candidates on them.

Score metrics (names of ``scoring``) are maximised, like every sklearn
score; ``fit_time`` and ``score_time`` (seconds, from ``cv_results_``) are
minimised. Internally every objective is turned into a value to minimise
(scores negated), as the :class:`~sktune.search.Optimizer` wants.
"""

import numpy as np

from ._pareto import pareto_mask

TIMES = ("fit_time", "score_time")


class Objectives:
    """Objectives ``names`` checked against the search's scoring.

    Parameters
    ----------
    names : list of str
        The objectives as the user named them.
    metrics : list of str or None
        The score metrics of ``cv_results_`` (``["score"]`` for one metric);
        None for a callable ``scoring``, whose metrics are known from its first
        result on (:meth:`check_returned`).
    scoring : str, callable, list, tuple, dict or None
        The search's ``scoring`` (a single metric may be named by its string).
    """

    def __init__(self, names, metrics, scoring):
        if isinstance(names, str) or not hasattr(names, "__iter__"):
            raise ValueError(
                f"objectives must be a list of metric names; got {names!r}. Example: "
                "objectives=['accuracy', 'fit_time'] with scoring={'accuracy': 'accuracy'}."
            )
        names = list(names)
        single = metrics == ["score"]
        allowed = set(metrics or ()) | set(TIMES) | (
            {scoring} if single and isinstance(scoring, str) else set())
        for name in names:
            if not isinstance(name, str) or (metrics is not None and name not in allowed):
                raise ValueError(
                    f"Unknown objective {name!r}: objectives name metrics of scoring "
                    f"({', '.join(repr(m) for m in metrics)}), maximised, or "
                    f"{' / '.join(repr(t) for t in TIMES)}, minimised."
                )
        if len(set(names)) != len(names) or (single and "score" in names
                                             and scoring in names):
            raise ValueError(f"objectives names a metric twice: {names!r}.")
        if not names:
            raise ValueError("objectives must name at least one metric of scoring.")
        #: The ``cv_results_`` metric of each objective (``score`` for the single
        #: metric), or the time column.
        self.keys = ["score" if single and n not in TIMES else n for n in names]
        self.names = names
        self.maximised = [k not in TIMES for k in self.keys]
        if not any(self.maximised):
            raise ValueError(
                f"objectives {names!r} name only times; add a metric of scoring (the "
                "fastest model is one that learns nothing)."
            )

    def __len__(self):
        return len(self.keys)

    def check_returned(self, metrics):
        """Raise unless the score objectives are among ``metrics``, the names a
        callable scorer returned (``["score"]`` for a number)."""
        for key, up in zip(self.keys, self.maximised):
            if up and key not in metrics:
                raise ValueError(
                    f"Unknown objective {key!r}: the scorer returned the metrics "
                    f"{', '.join(repr(m) for m in metrics)}; objectives name those, "
                    f"maximised, or {' / '.join(repr(t) for t in TIMES)}, minimised."
                )

    @property
    def first_metric(self):
        """The first score metric among the objectives (what rounds report)."""
        return next(k for k, up in zip(self.keys, self.maximised) if up)

    def to_minimise(self, outcomes):
        """One candidate's objective values to minimise, from its per-split
        results (all ``nan`` if a fold failed: a failure is bad in every objective)."""
        values = []
        for key, up in zip(self.keys, self.maximised):
            if up:
                per_split = [o["test_scores"][key] if isinstance(o["test_scores"], dict)
                             else o["test_scores"] for o in outcomes]
                values.append(-float(np.mean(per_split)))
            else:
                values.append(float(np.mean([o[key] for o in outcomes])))
        if not np.all(np.isfinite(values)):
            return [np.nan] * len(values)
        return values

    def matrix(self, results):
        """``cv_results_`` as an array (n_candidates, n_objectives) to minimise."""
        columns = []
        for key, up in zip(self.keys, self.maximised):
            if up:
                columns.append(-np.asarray(results[f"mean_test_{key}"], dtype=float))
            else:
                columns.append(np.asarray(results[f"mean_{key}"], dtype=float))
        return np.column_stack(columns)

    def front(self, results):
        """Indices into ``cv_results_`` of the non-dominated candidates (failed
        ones never), in order."""
        return np.flatnonzero(pareto_mask(self.matrix(results)))
