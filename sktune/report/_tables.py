"""The report's text content, independent of the output format.

Summary figures, the leaderboard, the per-metric table, importance rows and
test tables are built here once, as rows of :class:`Cell`; the HTML and
markdown writers only lay them out.
"""

from dataclasses import dataclass

import numpy as np

from ._format import (MAX_VALUE_CHARS, format_number, format_score, format_seconds,
                      full_repr, short_repr)


@dataclass(frozen=True)
class Cell:
    """One table cell.

    Attributes
    ----------
    text : str
        What is shown (parameter values already shortened).
    full : str
        The whole value when ``text`` was shortened, else ''.
    kind : str
        'num' (right-aligned number), 'text', 'name' (a parameter name),
        'param' (a parameter value) or 'fail' (a failed score).
    bar : float or None
        0..1 position of a score between the worst and best shown.
    """

    text: str
    full: str = ""
    kind: str = "text"
    bar: object = None


@dataclass(frozen=True)
class Table:
    header: list
    rows: list               # list of list of Cell
    highlight: object = None  # index of the row to highlight (the best)
    caption: str = ""


def value_cell(value, max_chars=MAX_VALUE_CHARS):
    whole = full_repr(value)
    text = short_repr(value, max_chars)
    return Cell(text, whole if text != whole else "", "param")


def _score_cell(mean, std=None, low=None, high=None):
    if not np.isfinite(mean):
        return Cell("failed", kind="fail")
    bar = None
    if low is not None and high is not None and high > low:
        bar = float((mean - low) / (high - low))
    return Cell(format_score(mean, std), kind="num", bar=bar)


def _signed(x):
    """``'+0.0123'`` / ``'\N{MINUS SIGN}0.0781'``."""
    if not np.isfinite(x):
        return "n/a"
    sign = "+" if x >= 0 else "\N{MINUS SIGN}"
    return f"{sign}{abs(x):.4f}"


# -- summary -----------------------------------------------------------------------------
def headline(results):
    """``'GridSearchCV of SVC'`` and the line under it."""
    title = f"{results.search_name} of {results.estimator_name}"
    fits = f"{results.n_candidates} candidate{'s' if results.n_candidates != 1 else ''}"
    if results.candidate_ids is not None:
        n_unique = results.n_distinct_candidates
        n_brackets = len(np.unique(results.brackets)) if results.brackets is not None else 1
        fits = (f"{results.n_candidates} evaluation{'s' if results.n_candidates != 1 else ''} "
                f"of {n_unique} candidate{'s' if n_unique != 1 else ''} in {n_brackets} "
                f"Hyperband bracket{'s' if n_brackets != 1 else ''}")
        if results.hyperband_iterations is not None:
            n_it = len(np.unique(results.hyperband_iterations))
            if n_it > 1:
                fits += f" ({n_it} iterations)"
    elif results.iterations is not None:
        n_iter = len(np.unique(results.iterations))
        fits += f" over {n_iter} halving iteration{'s' if n_iter != 1 else ''}"
    if results.splits_evaluated is not None:  # a raced search
        n_raced = int(results.raced_out.sum())
        fits += (f" \N{MULTIPLICATION SIGN} up to {results.n_splits} folds = {results.n_fits} "
                 f"fits (racing stopped {n_raced} early)")
    else:
        fits += f" \N{MULTIPLICATION SIGN} {results.n_splits} folds = {results.n_fits} fits"
    ranked = f"ranked by mean CV {results.labels[results.primary]}"
    return title, f"{fits} \N{MIDDLE DOT} {ranked}"


def summary_items(results, test=None):
    """The headline numbers: list of ``(label, value, detail)``."""
    m, b = results.primary, results.best
    label = results.labels[m]
    std = results.std[m][b]
    spread = f"\N{PLUS-MINUS SIGN} {std:.4f} over " if np.isfinite(std) else ""
    items = [(f"Best mean CV {label}", format_score(results.mean[m][b]),
              f"{spread}{results.n_splits} folds \N{MIDDLE DOT} candidate {b}")]
    if test is not None and m in test.search_scores:
        cv = results.mean[m][b]
        diff = test.search_scores[m] - cv
        items.append((f"Test {label}", format_score(test.search_scores[m]),
                      f"{_signed(diff)} vs CV "
                      f"\N{MIDDLE DOT} {test.n_samples} samples"))
    if results.candidate_ids is not None:
        items.append(("Candidates", str(results.n_distinct_candidates),
                      f"{results.n_candidates} evaluations \N{MIDDLE DOT} {results.n_fits} "
                      f"fits of {results.n_splits} folds"))
    else:
        items.append(("Candidates", str(results.n_candidates),
                      f"{results.n_fits} fits of {results.n_splits} folds"))
    failed = results.n_failed_fits
    n_cand = int(results.failed.sum())
    items.append(("Failed fits", str(failed),
                  f"{n_cand} candidate{'s' if n_cand != 1 else ''} affected" if failed
                  else "every fit succeeded"))
    if results.search_time is not None:
        items.append(("Search time", format_seconds(results.search_time),
                      f"stopped by {results.stopped_by}" if results.stopped_by
                      else "ran to its end"))
    total = float(np.nansum(results.fit_time * results.evaluated.sum(axis=1)))
    items.append(("Refit time", format_seconds(results.refit_time),
                  f"search fits: {format_seconds(total)} in total"
                  if results.refit_time is not None else "no refit (refit=False)"))
    return items


def best_params_table(results):
    params = results.param_dicts[results.best]
    rows = [[Cell(name, kind="name"), value_cell(value, 80)] for name, value in params.items()]
    return Table(["parameter", "value"], rows)


def notes(results):
    """Things to know when reading the report, as sentences."""
    found = []
    if results.ranked_note:
        found.append(results.ranked_note)
    if results.n_failed_fits:
        n = int(results.failed.sum())
        found.append(
            f"{results.n_failed_fits} of {results.n_fits} fits failed (NaN score); "
            f"{n} candidate{'s' if n != 1 else ''} with a failed fold "
            f"{'are' if n != 1 else 'is'} ranked last and shown as red crosses in the plots.")
    if results.stopped_by:
        found.append(
            f"The search was stopped by {results.stopped_by}"
            f"{'' if results.search_time is None else ' after ' + format_seconds(results.search_time)}"
            ": it kept every candidate whose folds were all done, and evaluated no other.")
    if results.raced_out.any():
        n = int(results.raced_out.sum())
        found.append(
            f"Racing stopped {n} candidate{'s' if n != 1 else ''} before their last fold "
            f"(unlikely to beat the incumbent): their scores are means over the folds they "
            f"ran, and they rank after every fully evaluated candidate.")
    if results.candidate_ids is not None:
        found.append(
            f"Hyperband: one row per candidate and rung, after the {results.resource} "
            "trained so far; each candidate's last rung (its final score) is ranked first, "
            f"as the search's refit choice is; scores after different {results.resource} "
            "do not compare directly.")
    elif results.iterations is not None:
        found.append(
            "Successive halving: candidates of later iterations were trained on more "
            f"{results.resource}, so they are ranked first; scores of different iterations "
            "do not compare directly.")
    if results.best_index is not None and results.rank[results.best_index] != 1:
        found.append(
            f"The search's refit choice (best_index_ = {results.best_index}) is not the "
            "top-ranked candidate: refit chose by its own rule.")
    return found


# -- leaderboard ----------------------------------------------------------------------------
def leaderboard(results, top=None):
    """Ranked candidates: rank, every metric, fit time, every parameter."""
    order = list(results.order)
    shown = order if top is None else order[:top]
    header = ["rank", "cand."]
    for m in results.metrics:
        header.append(f"CV {results.labels[m]}")
        if m in results.train_mean:
            header.append(f"train {results.labels[m]}")
    if results.iterations is not None:
        header += ["iter", results.resource]
    header.append("fit time")
    header += [p.name for p in results.params]
    ranges = {}
    for m in results.metrics:
        finite = results.mean[m][np.isfinite(results.mean[m])]
        ranges[m] = (finite.min(), finite.max()) if len(finite) else (None, None)
    rank = results.rank
    rows = []
    for i in shown:
        row = [Cell(str(rank[i]), kind="num"), Cell(str(i), kind="num")]
        for m in results.metrics:
            row.append(_score_cell(results.mean[m][i], results.std[m][i], *ranges[m]))
            if m in results.train_mean:
                row.append(_score_cell(results.train_mean[m][i]))
        if results.iterations is not None:
            row += [Cell(str(results.iterations[i]), kind="num"),
                    Cell(format_number(results.n_resources[i]), kind="num")]
        row.append(Cell(format_seconds(results.fit_time[i]), kind="num"))
        row += [value_cell(p.values[i]) for p in results.params]
        rows.append(row)
    highlight = shown.index(results.best) if results.best in shown else None
    rows_are = "evaluation" if results.candidate_ids is not None else "candidate"
    caption = (f"Top {len(shown)} of {results.n_candidates} {rows_are}s"
               if len(shown) < results.n_candidates else
               f"All {results.n_candidates} {rows_are}{'s' if results.n_candidates != 1 else ''}")
    caption += "; mean \N{PLUS-MINUS SIGN} std over folds; fit time is the mean per fold."
    return Table(header, rows, highlight, caption)


def metrics_table(results):
    """With several metrics: the best candidate of each, and the refit choice's score."""
    if len(results.metrics) < 2:
        return None
    b = results.best
    rows = []
    for m in results.metrics:
        score = results.mean[m]
        if np.isfinite(score).any():
            top = int(np.nanargmax(score))
            best_text = format_score(score[top], results.std[m][top])
        else:
            top, best_text = None, "failed"
        rows.append([
            Cell(results.labels[m] + (" (ranked)" if m == results.primary else "")),
            Cell(best_text, kind="num"),
            Cell("" if top is None else str(top), kind="num"),
            _score_cell(score[b], results.std[m][b]),
        ])
    return Table(["metric", "best mean CV score", "by candidate",
                  f"refit choice (cand. {b})"], rows)


def importance_table(importance):
    if not importance.available:
        return None
    rows = [[Cell(name), Cell(f"{share * 100:.1f}%", kind="num", bar=float(share)),
             Cell(_interval(lo, hi), kind="num")]
            for name, share, lo, hi in zip(importance.names, importance.shares,
                                           importance.lower, importance.upper)]
    rows.append([Cell("interactions (jointly)"),
                 Cell(f"{importance.interactions * 100:.1f}%", kind="num",
                      bar=float(importance.interactions)), Cell("")])
    return Table(["hyperparameter", "share of score variance", "5-95 % interval"], rows)


def pairs_table(importance):
    """The pairs' interaction shares (None when there are no pairs)."""
    if not importance.available or not importance.pairs:
        return None
    rows = [[Cell(f"{a} \N{MULTIPLICATION SIGN} {b}"),
             Cell(f"{share * 100:.1f}%", kind="num", bar=float(share)),
             Cell(_interval(lo, hi), kind="num")]
            for a, b, share, lo, hi in importance.pairs]
    return Table(["pair", "interaction share", "5-95 % interval"], rows)


def _interval(lower, upper):
    return f"{lower * 100:.0f}-{upper * 100:.0f}%"


def importance_fit_note(importance):
    """One sentence on how well the model predicts unseen candidates."""
    if importance.fit_r2 is None:
        return ""
    note = (f"Model fitted on {importance.n_candidates} candidates; leave-one-out "
            f"R\N{SUPERSCRIPT TWO} {importance.fit_r2:.2f}")
    if importance.fit_r2 < 0.3:
        note += " (low: with few or noisy candidates, read the shares as rough)"
    note += "."
    if importance.constant:
        note += " Not varied: " + ", ".join(importance.constant) + "."
    if importance.left_out:
        note += (" Not modelled (set by some candidates only): "
                 + ", ".join(importance.left_out) + ".")
    return note


# -- Pareto front ---------------------------------------------------------------------------
def objective_label(results, objective):
    """``'CV accuracy'``, ``'fit time'``: an objective as tables name it."""
    if objective.is_time:
        return objective.key.replace("_", " ")
    return f"CV {results.labels[objective.key]}"


def direction(objective):
    return "higher is better" if objective.maximised else "lower is better"


def _objective_text(objective, i):
    mean, std = objective.mean[i], objective.std[i]
    if objective.is_time:
        text, spread = format_seconds(mean), format_seconds(std)
    elif np.isfinite(mean) and abs(mean) >= 100:  # counts (sizes): no four decimals
        text, spread = format_number(mean, 6), format_number(std, 3)
    else:
        return format_score(mean, std)
    return text + (f" \N{PLUS-MINUS SIGN} {spread}" if np.isfinite(std) else "")


def pareto_summary(results):
    """One sentence: how many candidates are on the front, of which objectives."""
    front = results.pareto_front
    names = ", ".join(f"{objective_label(results, o)} ({direction(o)})"
                      for o in results.objectives)
    text = (f"{len(front)} of {results.n_candidates} candidate"
            f"{'s' if results.n_candidates != 1 else ''} "
            f"{'are' if len(front) != 1 else 'is'} Pareto-optimal on {names}: no other "
            "candidate is at least as good on every objective and better on one.")
    refit = results.best_index
    if refit is not None and refit in set(front.tolist()):
        text += f" The refit choice, candidate {refit}, is on the front."
    elif refit is not None:
        text += (f" The refit choice, candidate {refit}, is not on the front: refit chose "
                 "by its own rule.")
    return text


def pareto_table(results):
    """The front's candidates, sorted by the first objective: objectives, parameters."""
    front = [int(i) for i in results.pareto_front]
    arrows = {True: "\N{UPWARDS ARROW}", False: "\N{DOWNWARDS ARROW}"}
    header = ["cand."] + [f"{objective_label(results, o)} {arrows[o.maximised]}"
                          for o in results.objectives]
    header += [p.name for p in results.params]
    rows = []
    for i in front:
        row = [Cell(str(i), kind="num")]
        row += [Cell(_objective_text(o, i), kind="num") for o in results.objectives]
        row += [value_cell(p.values[i]) for p in results.params]
        rows.append(row)
    refit = results.best_index
    highlight = front.index(refit) if refit is not None and refit in front else None
    first = results.objectives[0]
    caption = (f"The {len(front)} candidate{'s' if len(front) != 1 else ''} of the Pareto "
               f"front, by {objective_label(results, first)} ({direction(first)}); "
               "mean \N{PLUS-MINUS SIGN} std over folds; \N{UPWARDS ARROW} higher is better, "
               "\N{DOWNWARDS ARROW} lower is better.")
    return Table(header, rows, highlight, caption)


# -- learning curve ------------------------------------------------------------------------
def learning_curve_summary(results):
    """Final and best epoch of the refitted network, as sentences."""
    history = results.history
    if not history:
        return ""
    last = history[-1]
    text = (f"The refitted best model ({results.history_owner}) trained for "
            f"{len(history)} epochs on the whole training set; final train loss "
            f"{format_number(last.get('train_loss', np.nan))}")
    valid = [r.get("valid_loss", np.nan) for r in history]
    if np.isfinite(valid).any():
        best = int(np.nanargmin(valid))
        text += (f", validation loss {format_number(valid[-1])} (lowest "
                 f"{format_number(valid[best])} at epoch {best + 1})")
    return text + "."


def curves_summary(results, curves):
    """One sentence on the curves drawn: how many, which record, divergences."""
    n = len(curves.rows)
    what = "validation loss" if curves.key == "valid_loss" else "training loss"
    text = f"The {what} of {n} candidate{'s' if n != 1 else ''}, epoch by epoch"
    if results.candidate_ids is not None:
        text += " (each at its last rung)"
    if curves.n_diverged_fits:
        text += (f"; {curves.n_diverged_fits} fit{'s' if curves.n_diverged_fits != 1 else ''} "
                 "diverged (a non-finite training loss)")
    return text + "."


def rung_table(results):
    """HyperbandSearchCV: how well each rung's ranking predicted the final one."""
    from ._curves import rung_correlations

    rows = rung_correlations(results)
    if not rows:
        return None
    cells = [[Cell(format_number(level), kind="num"), Cell(str(n), kind="num"),
              Cell("n/a" if not np.isfinite(rho) else f"{rho:+.2f}", kind="num")]
             for level, n, rho in rows]
    return Table([results.resource, "candidates trained further", "rank correlation"], cells,
                 caption="Spearman correlation between the candidates' scores at a rung and "
                 "their final scores: near 1, the early rungs ranked them as the last did "
                 "(few epochs suffice to tell them apart); near 0, early stopping was a "
                 "lottery (consider a larger min_epochs).")


# -- test data -------------------------------------------------------------------------------
# sklearn scoring names of the headline test metrics; "neg_" ones are negated.
_HEADLINE_SCORERS = {
    "accuracy": "accuracy",
    "precision_macro": "precision (macro)",
    "recall_macro": "recall (macro)",
    "f1_macro": "F1 (macro)",
    "r2": "R\N{SUPERSCRIPT TWO}",
    "neg_mean_absolute_error": "MAE",
    "neg_root_mean_squared_error": "RMSE",
}


def _metric_text(x):
    x = float(x)
    return f"{x:.4f}" if np.isfinite(x) and abs(x) < 100 else format_number(x, 6)


def test_summary_table(results, test):
    """Test metrics, each next to the refit choice's mean CV score where the
    search scored the same metric."""
    b = results.best
    cv_of, extra = {}, []
    for m in test.search_scores:
        name = results.scorer_names.get(m)
        headline = _HEADLINE_SCORERS.get(name)
        if headline in test.summary:
            sign = -1.0 if name.startswith("neg_") else 1.0
            cv_of[headline] = sign * results.mean[m][b]
        else:
            extra.append(m)
    rows = [[Cell(name), Cell(_metric_text(value), kind="num"),
             Cell(_metric_text(cv_of[name]) if name in cv_of else "", kind="num")]
            for name, value in test.summary.items()]
    rows += [[Cell(f"{results.labels[m]} (search scorer)"),
              Cell(_metric_text(test.search_scores[m]), kind="num"),
              Cell(_metric_text(results.mean[m][b]), kind="num")] for m in extra]
    return Table(["metric", f"test ({test.n_samples} samples)", "mean CV"], rows)


def per_class_table(test):
    if test.task != "classification":
        return None
    rows = []
    for r in test.per_class:
        first = Cell(r["label"]) if r.get("average") else value_cell(r["label"], 30)
        rows.append([first] + [Cell(f"{r[k]:.3f}", kind="num", bar=r[k])
                               for k in ("precision", "recall", "f1")]
                    + [Cell(str(r["support"]), kind="num")])
    return Table(["class", "precision", "recall", "F1", "support"], rows)
