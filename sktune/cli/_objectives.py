"""``sktune tune --objectives accuracy,neg_n_parameters``: a multi-objective search.

Each objective is a scikit-learn scorer name (maximised), sktune's size scorer
``neg_n_parameters`` (``sktune.metrics``: smaller networks score higher), or ``fit_time`` /
``score_time`` (minimised). The search is ``BayesSearchCV(objectives=...)``
(docs/multi-objective.md) with one scorer per score objective; the first score
objective ranks the candidates and chooses the refitted model.
"""

from ._build import OBJECTIVE_SIZE as _SIZE
from ._build import OBJECTIVE_TIMES as _TIMES
from ._build import check_scoring
from ._errors import CLIError


def parse_objectives(text):
    """``'accuracy,fit_time'`` -> ``['accuracy', 'fit_time']`` (argparse type)."""
    import argparse

    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or not all(names):
        raise argparse.ArgumentTypeError(
            f"expected two objectives or more separated by commas, such as "
            f"accuracy,neg_n_parameters; got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"an objective is named twice in {text!r}")
    return names


def check_objectives(args, task):
    """One line for objectives that cannot be searched; the first score objective."""
    names = args.objectives
    if args.search != "bayes":
        raise CLIError(f"--objectives needs --search bayes (its Bayesian optimiser searches "
                       f"a Pareto front); not {args.search}.")
    scores = [n for n in names if n not in _TIMES]
    if not scores:
        raise CLIError("--objectives needs at least one score (a scikit-learn scorer name or "
                       "neg_n_parameters) beside fit_time / score_time.")
    for name in scores:
        if name not in _SIZE:
            try:
                check_scoring(name, task)
            except CLIError as exc:
                raise CLIError(str(exc).replace("--scoring", "--objectives", 1)) from None
    if args.scoring is not None and args.scoring != scores[0]:
        raise CLIError(f"--scoring {args.scoring!r} and --objectives disagree: with "
                       f"--objectives the first score ({scores[0]!r}) ranks the candidates; "
                       "leave --scoring out.")
    return scores[0]


def front_rows(search):
    """The Pareto front as plain rows: ``{'candidate', objective: mean, ...,
    'params'}``, sorted by the first objective (best first)."""
    import numpy as np

    results = search.cv_results_
    rows = []
    for i in search.pareto_front_:
        row = {"candidate": int(i)}
        for name in search.objectives:
            column = f"mean_{name}" if name in _TIMES else f"mean_test_{name}"
            row[name] = float(results[column][i])
        row["params"] = dict(results["params"][i])
        rows.append(row)
    first = search.objectives[0]
    sign = 1.0 if first in _TIMES else -1.0
    order = np.argsort([sign * r[first] for r in rows], kind="stable")
    return [rows[k] for k in order]
