"""The report's figures, drawn with matplotlib's object API into SVG text.

Figures are ``matplotlib.figure.Figure`` objects saved straight to SVG: pyplot
is never imported, so the user's backend and open figures are untouched, and
the style lives in a local ``rc_context``. Every function returns the SVG
document as a string, or None when the figure does not apply.
"""

import io
import math

import numpy as np

from ._deps import figure_class, require
from ._format import format_number, short_repr

ACCENT = "#3b5bdb"
BEST = "#f76707"
FAIL = "#e03131"
MUTED = "#adb5bd"
INK = "#343a40"
SECOND = "#12b886"

_STYLE = {
    "font.size": 9,
    "font.family": "DejaVu Sans",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": "#495057",
    "axes.edgecolor": "#ced4da",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e9ecef",
    "grid.linewidth": 0.8,
    "xtick.color": "#6c757d",
    "ytick.color": "#6c757d",
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "text.color": INK,
    "svg.fonttype": "path",
    "svg.hashsalt": "sktune-report",
}

#: Width of a figure that spans the report (inches); half-width ones are 6.
FULL_WIDTH = 11.0
HALF_WIDTH = 5.6
_MAX_PARAM_PANELS = 24
_MAX_CATEGORIES = 20
_MAX_HEATMAP_LABELS = 25


def _render(draw, width, height, *args):
    """Run ``draw(fig, *args)`` on a new Figure inside the report style; return SVG."""
    mpl = require("matplotlib")
    with mpl.rc_context(_STYLE):
        fig = figure_class()(figsize=(width, height), layout="constrained")
        draw(fig, *args)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _mark_failed(ax, x, label=True):
    """Failed candidates as red crosses in a band along the bottom of the axes."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return
    ax.scatter(x, np.full(len(x), 0.04), transform=ax.get_xaxis_transform(), marker="x",
               color=FAIL, s=22, linewidths=1.2, zorder=4,
               label=f"failed ({len(x)})" if label else None)
    finite = x[np.isfinite(x)]
    if len(finite):  # keep them inside the x range
        ax.dataLim.update_from_data_x(finite, ignore=False)
        ax.autoscale_view(scaley=False)


def _legend_above(ax):
    """A one-line legend above the axes, where it hides no point."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=4, borderaxespad=0.0,
              handletextpad=0.4, columnspacing=1.2)


def _reserve_fail_band(ax):
    """Lower the y range so that the failure band sits below every score."""
    low, high = ax.get_ylim()
    ax.set_ylim(low - 0.1 * (high - low), high)


def _plain_log_axis(ax, which="x"):
    """Log-scale ticks written as plain numbers (0.001, 0.01, ... or 0.2, 0.5, 1)."""
    ticker = require("matplotlib.ticker")
    axis = ax.xaxis if which == "x" else ax.yaxis
    low, high = ax.get_xlim() if which == "x" else ax.get_ylim()
    subs = (1.0,) if high / max(low, 1e-300) > 100 else (1.0, 2.0, 5.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_number(v, 3)))
    axis.set_minor_formatter(ticker.NullFormatter())


def _param_label(name, max_chars=34):
    """Long pipeline names keep their end (``…__classifier__C``)."""
    if len(name) <= max_chars:
        return name
    return "\N{HORIZONTAL ELLIPSIS}" + name[-(max_chars - 1):]


def _score_axis_label(results, metric):
    return f"mean CV {results.labels[metric]}"


# -- per-fold spread -------------------------------------------------------------
def plot_fold_spread(results, top=10):
    """Every fold's score of the best ``top`` candidates (mean as a bar)."""
    metric = results.primary
    order = [i for i in results.order if np.isfinite(results.mean[metric][i])][:top]
    if not order:
        return None
    height = 0.9 + 0.32 * len(order)
    return _render(_draw_fold_spread, HALF_WIDTH, height, results, order)


def _draw_fold_spread(fig, results, order):
    ax = fig.add_subplot()
    metric = results.primary
    folds = results.folds[metric]
    rank = results.rank
    rng = np.random.default_rng(0)
    for row, i in enumerate(order):
        y = -row
        scores = folds[i][np.isfinite(folds[i])]
        color = BEST if i == results.best else ACCENT
        if len(scores):
            ax.plot([scores.min(), scores.max()], [y, y], color=color, alpha=0.35, lw=5,
                    solid_capstyle="round")
        jitter = rng.uniform(-0.12, 0.12, len(scores))
        ax.scatter(scores, y + jitter, s=16, color=color, alpha=0.8, zorder=3,
                   edgecolors="white", linewidths=0.5)
        ax.plot([results.mean[metric][i]] * 2, [y - 0.3, y + 0.3], color=INK, lw=1.6, zorder=4)
    ax.set_yticks([-r for r in range(len(order))])
    ax.set_yticklabels([f"#{rank[i]}  (cand. {i})" for i in order])
    ax.set_ylim(-len(order) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"{results.labels[metric]} per fold (bar: mean)")


# -- optimisation history ----------------------------------------------------------
def plot_history(results, metrics=None):
    """Score of every candidate in evaluation order, with the best so far.

    ``metrics`` defaults to the ranked metric alone; several give one panel each.
    """
    metrics = metrics or [results.primary]
    height = 3.3 if len(metrics) == 1 else 1.9 * len(metrics) + 0.4
    return _render(_draw_history, HALF_WIDTH if len(metrics) == 1 else FULL_WIDTH, height,
                   results, metrics)


def _draw_history(fig, results, metrics):
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    x = np.arange(1, results.n_candidates + 1)
    halving = results.iterations is not None
    for ax, metric in zip(axes, metrics):
        score = results.mean[metric]
        ok = np.isfinite(score)
        if halving:
            _draw_halving_points(ax, results, x, score)
        else:
            full = ok & ~results.raced_out
            ax.scatter(x[full], score[full], s=18, color=ACCENT, alpha=0.75, zorder=3,
                       edgecolors="white", linewidths=0.4, label="candidate")
            if (ok & results.raced_out).any():  # means over fewer folds: not the best so far
                partial = ok & results.raced_out
                ax.scatter(x[partial], score[partial], s=18, facecolors="none",
                           edgecolors=ACCENT, alpha=0.75, linewidths=0.8, zorder=3,
                           label="raced out (folds run)")
            best_so_far = np.fmax.accumulate(np.where(full, score, -np.inf))
            shown = np.isfinite(best_so_far)
            ax.step(x[shown], best_so_far[shown], where="post", color=BEST, lw=1.6,
                    label="best so far")
        b = results.best
        if np.isfinite(score[b]):
            ax.scatter([b + 1], [score[b]], s=90, facecolors="none", edgecolors=BEST,
                       linewidths=1.6, zorder=5, label="refit choice")
        _mark_failed(ax, x[~ok])
        if not ok.all():
            _reserve_fail_band(ax)
        ax.set_ylabel(results.labels[metric] if len(metrics) > 1
                      else _score_axis_label(results, metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
    _legend_above(axes[0])
    axes[-1].set_xlabel("candidate, in evaluation order" if results.candidate_ids is None
                        else "candidate at a rung, in evaluation order")


def _draw_halving_points(ax, results, x, score):
    """One colour per amount of resource (one per halving iteration; Hyperband's
    brackets share the colours of their epochs)."""
    mpl = require("matplotlib")
    levels = np.unique(results.n_resources)
    cmap = mpl.colormaps["viridis"]
    for k, level in enumerate(levels):
        rows = results.n_resources == level
        mask = rows & np.isfinite(score)
        unit = results.resource
        if level == 1 and unit.endswith("s"):  # 1 epoch, 1 sample
            unit = unit[:-1]
        amount = f"{format_number(level)} {unit}"
        label = (amount if results.candidate_ids is not None
                 else f"iter {results.iterations[rows][0]} ({amount})")
        color = cmap(0.15 + 0.7 * k / max(len(levels) - 1, 1))
        ax.scatter(x[mask], score[mask], s=18, color=color, zorder=3, edgecolors="white",
                   linewidths=0.4, label=label)


# -- score against each hyperparameter ------------------------------------------------
def plot_param_scores(results, names=None, dependence=None):
    """One panel per hyperparameter: the ranked score against its values, and
    the model's partial dependence (``dependence``: name -> its
    :class:`~._dependence.Dependence`) with its band where there is one."""
    params = [p for p in results.params if p.n_distinct > 1]
    if names is not None:
        by_name = {p.name: p for p in params}
        params = [by_name[n] for n in names if n in by_name] + \
            [p for p in params if p.name not in names]
    params = params[:_MAX_PARAM_PANELS]
    if not params:
        return None
    ncols = min(3, len(params))
    nrows = math.ceil(len(params) / ncols)
    width = FULL_WIDTH if ncols > 1 else HALF_WIDTH
    return _render(_draw_param_scores, width, 0.3 + 2.45 * nrows, results, params, ncols,
                   dependence or {})


def _draw_param_scores(fig, results, params, ncols, dependence):
    nrows = math.ceil(len(params) / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    score = results.mean[results.primary]
    for ax, param in zip(axes.flat, params):
        curve = dependence.get(param.name)
        if param.kind == "numeric":
            _draw_numeric_param(ax, param, score, results.best)
            if curve is not None and not curve.categorical[0]:
                _draw_dependence_line(ax, curve)
        else:
            position = _draw_categorical_param(ax, param, score, results.best)
            if curve is not None:
                _draw_dependence_points(ax, curve, position)
        ax.set_title(_param_label(param.name), fontsize=9)
    if not np.isfinite(score).all():
        _reserve_fail_band(axes.flat[0])
    for ax in axes.flat[len(params):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(_score_axis_label(results, results.primary))


def _draw_numeric_param(ax, param, score, best):
    x = param.numeric_values()
    ok = np.isfinite(score) & np.isfinite(x)
    ax.scatter(x[ok], score[ok], s=16, color=ACCENT, alpha=0.65, zorder=3,
               edgecolors="white", linewidths=0.4)
    distinct = np.unique(x[ok])
    if 1 < len(distinct) <= 12 and ok.sum() >= 2 * len(distinct):  # repeated values: a grid
        tops = [score[ok][x[ok] == v].max() for v in distinct]
        ax.plot(distinct, tops, color=ACCENT, lw=1, alpha=0.5, zorder=2)
    if ok[best]:
        ax.scatter([x[best]], [score[best]], s=80, facecolors="none", edgecolors=BEST,
                   linewidths=1.6, zorder=5)
    _mark_failed(ax, x[~np.isfinite(score) & np.isfinite(x)], label=False)
    if param.log:
        ax.set_xscale("log")
        _plain_log_axis(ax)
        ax.set_xlabel("log scale", fontsize=7, color=MUTED)
    elif np.all(np.mod(x[np.isfinite(x)], 1) == 0):
        ax.xaxis.get_major_locator().set_params(integer=True)


def _draw_categorical_param(ax, param, score, best):
    categories, codes = param.categories()
    best_of = np.array([np.nanmax(np.where(codes == c, score, np.nan))
                        if np.isfinite(score[codes == c]).any() else -np.inf
                        for c in range(len(categories))])
    shown = np.argsort(-best_of, kind="stable")[:_MAX_CATEGORIES]
    shown = np.sort(shown)
    position = {c: k for k, c in enumerate(shown)}
    rng = np.random.default_rng(0)
    for c in shown:
        mask = codes == c
        ok = mask & np.isfinite(score)
        xs = position[c] + rng.uniform(-0.18, 0.18, ok.sum())
        ax.scatter(xs, score[ok], s=16, color=ACCENT, alpha=0.65, zorder=3,
                   edgecolors="white", linewidths=0.4)
        if ok.any():
            ax.plot([position[c] - 0.3, position[c] + 0.3], [score[ok].max()] * 2, color=INK,
                    lw=1.2, zorder=4)
        failed = mask & ~np.isfinite(score)
        _mark_failed(ax, np.full(failed.sum(), position[c]), label=False)
    if codes[best] in position and np.isfinite(score[best]):
        ax.scatter([position[codes[best]]], [score[best]], s=80, facecolors="none",
                   edgecolors=BEST, linewidths=1.6, zorder=5)
    labels = [short_repr(categories[c], 16) for c in shown]
    ax.set_xticks(range(len(shown)))
    rotate = len(shown) > 4 or sum(len(t) for t in labels) > 24
    ax.set_xticklabels(labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(shown) - 0.4)
    ax.grid(axis="x", visible=False)
    if len(shown) < len(categories):
        ax.set_xlabel(f"best {len(shown)} of {len(categories)} values", fontsize=7, color=MUTED)
    return {_category_key(categories[c]): k for c, k in position.items()}


def _category_key(value):
    from ._results import _value_key

    return _value_key(value)


def _draw_dependence_line(ax, curve):
    x = np.asarray(curve.values[0], dtype=float)
    band = 1.96 * curve.std
    ax.fill_between(x, curve.mean - band, curve.mean + band, color=SECOND, alpha=0.15, lw=0,
                    zorder=1)
    ax.plot(x, curve.mean, color=SECOND, lw=1.6, zorder=2)


def _draw_dependence_points(ax, curve, position):
    shown = [(position[_category_key(v)], m, sd) for v, m, sd in
             zip(curve.values[0], curve.mean, curve.std) if _category_key(v) in position]
    if not shown:
        return
    x, mean, sd = (np.array(t, dtype=float) for t in zip(*shown))
    ax.errorbar(x + 0.32, mean, yerr=1.96 * sd, fmt="D", color=SECOND, ms=4, elinewidth=1.2,
                capsize=2, zorder=4)


def plot_dependence_pairs(dependences, results):
    """Heatmaps of the predicted score over pairs of hyperparameters, the
    candidates tried as dots."""
    if not dependences:
        return None
    ncols = min(3, len(dependences))
    width = FULL_WIDTH if ncols > 1 else HALF_WIDTH
    return _render(_draw_dependence_pairs, width, 3.3, dependences, results, ncols)


def _draw_dependence_pairs(fig, dependences, results, ncols):
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    params = {p.name: p for p in results.params}
    for ax, dep in zip(axes, dependences):
        (y, y_ticks, y_labels, y_log), (x, x_ticks, x_labels, x_log) = (
            _pair_axis(values, log, cat)
            for values, log, cat in zip(dep.values, dep.log, dep.categorical))
        image = ax.pcolormesh(x, y, dep.mean, shading="nearest", cmap="viridis")
        if y_log:
            ax.set_yscale("log")
        if x_log:
            ax.set_xscale("log")
        if y_ticks is not None:
            ax.set_yticks(y_ticks, y_labels)
        if x_ticks is not None:
            ax.set_xticks(x_ticks, x_labels)
        tried_y, tried_x = (_tried_coordinate(params.get(n), values, cat)
                            for n, values, cat in zip(dep.names, dep.values, dep.categorical))
        if tried_y is not None and tried_x is not None:
            ax.scatter(tried_x, tried_y, s=10, color="white", edgecolors=INK, linewidths=0.4,
                       zorder=3)
        ax.set_ylabel(_param_label(dep.names[0], 24))
        ax.set_xlabel(_param_label(dep.names[1], 24))
        ax.grid(False)
        fig.colorbar(image, ax=ax, shrink=0.85, label="predicted score")
    for ax in axes[len(dependences):]:
        ax.set_visible(False)


def _pair_axis(values, log, categorical):
    """``(coordinates, ticks, labels, log)`` of one axis of a heatmap."""
    if categorical:
        labels = [short_repr(v, 12) for v in values]
        return np.arange(len(values), dtype=float), np.arange(len(values)), labels, False
    return np.asarray(values, dtype=float), None, None, log


def _tried_coordinate(param, values, categorical):
    if param is None:
        return None
    if not categorical:
        return param.numeric_values() if param.kind == "numeric" else None
    keys = [_category_key(v) for v in values]
    return np.array([keys.index(_category_key(v)) if _category_key(v) in keys else np.nan
                     for v in param.values], dtype=float)



# -- importance ------------------------------------------------------------------------
def plot_importance(importance):
    """Horizontal bars: share of score variance per hyperparameter."""
    if not importance.available:
        return None
    n = len(importance.names) + 1
    return _render(_draw_importance, HALF_WIDTH, 0.8 + 0.3 * n, importance)


def _draw_importance(fig, importance):
    ax = fig.add_subplot()
    names = [_param_label(n, 28) for n in importance.names] + ["interactions"]
    values = np.append(importance.shares, importance.interactions) * 100
    colors = [ACCENT] * len(importance.names) + [MUTED]
    y = -np.arange(len(values))
    ax.barh(y, values, color=colors, height=0.62)
    k = len(importance.names)
    lower, upper = importance.lower * 100, importance.upper * 100
    ax.errorbar(importance.shares * 100, y[:k],
                xerr=[importance.shares * 100 - lower, upper - importance.shares * 100],
                fmt="none", ecolor=INK, elinewidth=0.9, capsize=2.5, zorder=4)
    ends = np.append(upper, values[-1])
    for yi, v, end in zip(y, values, ends):
        ax.text(end + 1, yi, f"{v:.0f}%", va="center", fontsize=8, color=INK)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlim(0, max(float(ends.max()) * 1.15 + 6, 10))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("share of the score variance explained (%); bars: 5-95 % interval")


# -- cost against quality ---------------------------------------------------------------
def plot_cost(results):
    """Mean fit time against score, with the cheapest-for-its-score front."""
    if not np.isfinite(results.fit_time).any():
        return None
    return _render(_draw_cost, HALF_WIDTH, 3.0, results)


def _draw_cost(fig, results):
    ax = fig.add_subplot()
    score = results.mean[results.primary]
    time = results.fit_time
    ok = np.isfinite(score) & np.isfinite(time)
    ax.scatter(time[ok], score[ok], s=18, color=ACCENT, alpha=0.7, zorder=3,
               edgecolors="white", linewidths=0.4, label="candidate")
    order = np.argsort(time[ok], kind="stable")
    t, s = time[ok][order], score[ok][order]
    if len(t):
        front = s >= np.maximum.accumulate(s)
        ax.step(t[front], s[front], where="post", color=SECOND, lw=1.5,
                label="best score for its cost")
    b = results.best
    if ok[b]:
        ax.scatter([time[b]], [score[b]], s=90, facecolors="none", edgecolors=BEST,
                   linewidths=1.6, zorder=5, label="refit choice")
    _mark_failed(ax, time[~np.isfinite(score) & np.isfinite(time)])
    if not ok.all():
        _reserve_fail_band(ax)
    positive = time[np.isfinite(time) & (time > 0)]
    if len(positive) and positive.max() / positive.min() > 10:
        ax.set_xscale("log")
        _plain_log_axis(ax)
    ax.set_xlabel("mean fit time per fold (s)")
    ax.set_ylabel(_score_axis_label(results, results.primary))
    _legend_above(ax)


# -- Pareto front ------------------------------------------------------------------------
#: Front candidates labelled with their number when there are at most this many.
_MAX_FRONT_LABELS = 20


def _objective_axis_label(results, objective):
    if objective.is_time:
        what = f"mean {objective.key.replace('_', ' ')} per fold (s)"
    else:
        what = _score_axis_label(results, objective.key)
    return f"{what} ({'higher' if objective.maximised else 'lower'} is better)"


def plot_pareto(results, axes):
    """Two objectives of a multi-objective search: every candidate, the front's
    highlighted, and the front on these two objectives as a step line.

    ``axes`` names the objectives of the x and y axes. The SVG groups the
    points by ``gid``: ``pareto-candidates`` (off the front), ``pareto-front``.
    """
    if not results.multi_objective or axes is None:
        return None
    by_name = {o.name: o for o in results.objectives}
    x, y = by_name[axes[0]], by_name[axes[1]]
    if not (np.isfinite(x.mean) & np.isfinite(y.mean)).any():
        return None
    return _render(_draw_pareto, HALF_WIDTH + 0.6, 3.6, results, x, y)


def _draw_pareto(fig, results, x, y):
    from ..search._pareto import pareto_mask

    ax = fig.add_subplot()
    xs, ys = x.mean, y.mean
    ok = np.isfinite(xs) & np.isfinite(ys)
    on_front = results.pareto_optimal & ok
    off = ok & ~on_front
    ax.scatter(xs[off], ys[off], s=18, color=ACCENT, alpha=0.6, zorder=3, edgecolors="white",
               linewidths=0.4, label="candidate", gid="pareto-candidates")
    front = np.flatnonzero(on_front)
    # The front of these two objectives (with more objectives, some of the front's
    # candidates are dominated in this projection): the line joins those that are not.
    plane = front[pareto_mask(np.column_stack([x.to_minimise()[front],
                                               y.to_minimise()[front]]))]
    plane = plane[np.lexsort([ys[plane], xs[plane]])]
    if len(plane):
        # a larger-is-better x keeps the next point's y up to it ("pre"), a
        # smaller-is-better one keeps this point's y until the next ("post")
        ax.step(xs[plane], ys[plane], where="pre" if x.maximised else "post", color=SECOND,
                lw=1.5, zorder=2, label="front of these two objectives" if len(results.objectives) > 2
                else "Pareto front")
    ax.scatter(xs[front], ys[front], s=34, color=SECOND, zorder=4, edgecolors="white",
               linewidths=0.6, label=f"Pareto-optimal ({len(front)})", gid="pareto-front")
    if len(front) <= _MAX_FRONT_LABELS:
        for i in front:
            ax.annotate(str(i), (xs[i], ys[i]), xytext=(4, 3), textcoords="offset points",
                        fontsize=7, color=INK)
    b = results.best
    if results.best_index is not None and ok[b]:
        ax.scatter([xs[b]], [ys[b]], s=90, facecolors="none", edgecolors=BEST,
                   linewidths=1.6, zorder=5, label="refit choice")
    for objective, which in ((x, "x"), (y, "y")):
        values = objective.mean[ok]
        positive = values[values > 0]
        if (objective.is_time and len(positive) == len(values) and len(values)
                and positive.max() / positive.min() > 10):
            (ax.set_xscale if which == "x" else ax.set_yscale)("log")
            _plain_log_axis(ax, which)
    ax.set_xlabel(_objective_axis_label(results, x))
    ax.set_ylabel(_objective_axis_label(results, y))
    _legend_above(ax)


# -- learning curves --------------------------------------------------------------------
def plot_learning_curve(history):
    """Train and validation loss per epoch (and the validation score)."""
    if not history:
        return None
    score_key = next((k for k in ("valid_acc", "valid_r2") if any(k in r for r in history)),
                     None)
    width = FULL_WIDTH if score_key else HALF_WIDTH
    return _render(_draw_learning_curve, width, 2.8, history, score_key)


def _column(history, key):
    return np.array([float(r.get(key, np.nan)) for r in history])


def _draw_learning_curve(fig, history, score_key):
    axes = fig.subplots(1, 2 if score_key else 1, squeeze=False)[0]
    epochs = np.array([r.get("epoch", i + 1) for i, r in enumerate(history)])
    ax = axes[0]
    ax.plot(epochs, _column(history, "train_loss"), color=ACCENT, lw=1.6, label="train loss")
    valid = _column(history, "valid_loss")
    if np.isfinite(valid).any():
        ax.plot(epochs, valid, color=BEST, lw=1.6, label="validation loss")
        best = int(np.nanargmin(valid))
        ax.scatter([epochs[best]], [valid[best]], s=40, color=BEST, zorder=4,
                   label=f"lowest validation loss (epoch {epochs[best]})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(loc="upper right")
    ax.set_title("Loss per epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if score_key:
        ax = axes[1]
        label = "validation accuracy" if score_key == "valid_acc" else "validation R\u00b2"
        ax.plot(epochs, _column(history, score_key), color=SECOND, lw=1.6)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize() + " per epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)


# -- every candidate's training curves --------------------------------------------------
def plot_curves(results, curves, highlight=3):
    """Every candidate's fold-mean loss per epoch, coloured by its final score;
    the best ``highlight`` drawn thick, diverged fits marked with a cross."""
    if curves is None or not any(len(c) for c in curves.curves):
        return None
    return _render(_draw_curves, FULL_WIDTH, 3.2, results, curves, highlight)


def _draw_curves(fig, results, curves, highlight):
    mpl = require("matplotlib")
    ax = fig.add_subplot()
    score = results.mean[results.primary][curves.rows]
    finite = np.isfinite(score)
    low, high = (np.min(score[finite]), np.max(score[finite])) if finite.any() else (0, 1)
    norm = mpl.colors.Normalize(low, high if high > low else low + 1)
    cmap = mpl.colormaps["viridis"]
    best = np.argsort(-np.where(finite, score, -np.inf), kind="stable")[:highlight]
    for i in np.argsort(np.where(finite, score, -np.inf), kind="stable"):
        curve = curves.curves[i]
        epochs = np.arange(1, len(curve) + 1)
        if i in best:
            continue
        color = cmap(norm(score[i])) if finite[i] else FAIL
        ax.plot(epochs, curve, color=color, lw=0.8, alpha=0.55, zorder=2)
    for rank, i in enumerate(best, start=1):
        curve = curves.curves[i]
        ax.plot(np.arange(1, len(curve) + 1), curve, color=BEST, lw=2.0, zorder=4,
                alpha=1.0 - 0.25 * (rank - 1),
                label=f"#{rank}: candidate {curves.rows[i]}" if rank <= 3 else None)
    for i in np.flatnonzero(curves.diverged):
        curve = curves.curves[i]
        known = np.flatnonzero(np.isfinite(curve))
        if len(known):
            ax.scatter([known[-1] + 1], [curve[known[-1]]], marker="x", color=FAIL, s=30,
                       zorder=5)
    if curves.diverged.any():
        ax.scatter([], [], marker="x", color=FAIL, s=30,
                   label=f"diverged ({int(curves.diverged.sum())})")
    positive = np.concatenate([c[np.isfinite(c)] for c in curves.curves])
    if len(positive) and positive.min() > 0 and positive.max() / positive.min() > 30:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(curves.key.replace("_", " ") + " (mean over folds)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.9,
                 label=_score_axis_label(results, results.primary))
    ax.legend(loc="upper right")


# -- test data ----------------------------------------------------------------------------
def plot_confusion(test):
    """Confusion matrix (colour: share of the true class; text: counts)."""
    n = len(test.classes)
    side = min(max(3.0, 0.42 * n + 1.6), 7.5)
    return _render(_draw_confusion, side + 0.9, side, test)


def _draw_confusion(fig, test):
    ax = fig.add_subplot()
    counts = test.confusion
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    n = len(test.classes)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                            fontsize=8 if n <= 12 else 6,
                            color="white" if share[i, j] > 0.55 else INK)
    step = max(1, math.ceil(n / _MAX_HEATMAP_LABELS))
    labels = [short_repr(c, 14) for c in test.classes]
    rotate = sum(len(t) for t in labels[::step]) > 30
    ax.set_xticks(range(0, n, step))
    ax.set_yticks(range(0, n, step))
    ax.set_xticklabels(labels[::step], rotation=45 if rotate else 0,
                       ha="right" if rotate else "center")
    ax.set_yticklabels(labels[::step])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")


def plot_residuals(test):
    """Predicted against true values, and residuals against predictions."""
    return _render(_draw_residuals, FULL_WIDTH, 3.2, test)


def _draw_residuals(fig, test):
    left, right = fig.subplots(1, 2)
    y, p = test.y_true, test.y_pred
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    left.plot([lo, hi], [lo, hi], color=MUTED, lw=1, ls="--", label="perfect")
    left.scatter(y, p, s=12, color=ACCENT, alpha=0.55, edgecolors="none")
    left.set_xlabel("true value")
    left.set_ylabel("predicted value")
    left.set_title("Predicted against true (test)")
    left.legend(loc="upper left")
    right.axhline(0, color=MUTED, lw=1, ls="--")
    right.scatter(p, y - p, s=12, color=ACCENT, alpha=0.55, edgecolors="none")
    right.set_xlabel("predicted value")
    right.set_ylabel("residual (true \N{MINUS SIGN} predicted)")
    right.set_title("Residuals (test)")

