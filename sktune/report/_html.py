"""The HTML page of a report: template, CSS and figure embedding.

The page is self-contained: CSS in a ``<style>`` element, every plot an SVG
``<img>`` with a ``data:`` URI, no script, no font or file from elsewhere.
All rules are scoped under ``.skr`` so that the same markup can be shown
inside a notebook (``_repr_html_``) without restyling the notebook.
"""

import base64
import html

from .._version import __version__
from . import _plots, _tables
from ._importance import METHOD

# Leaderboard rows shown first; the rest sit in a collapsed section.
_TOP = 15
_MAX_ROWS = 500
_MAX_METRIC_PANELS = 6

_CSS = """
.skr{--ink:#212529;--muted:#6c757d;--line:#e3e6ea;--card:#fff;--accent:#3b5bdb;
--best:#fff4e6;--best-line:#f76707;--fail:#e03131;--bg:#f5f6f8;
font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"Noto Sans","DejaVu Sans",sans-serif;color:var(--ink);line-height:1.45;font-size:14px;
background:var(--bg);padding:0 0 32px;box-sizing:border-box}
.skr *,.skr *::before,.skr *::after{box-sizing:border-box}
.skr .wrap{max-width:1180px;margin:0 auto;padding:0 24px}
.skr header.head{background:linear-gradient(120deg,#364fc7,#5c7cfa);color:#fff;
padding:26px 0 22px;margin-bottom:22px}
.skr .kicker{text-transform:uppercase;letter-spacing:.08em;font-size:11px;opacity:.85}
.skr h1{font-size:24px;margin:4px 0 4px;font-weight:650;overflow-wrap:anywhere}
.skr .sub{margin:0;opacity:.92;font-size:14px}
.skr nav{margin-top:14px;display:flex;flex-wrap:wrap;gap:6px}
.skr nav a{color:#fff;text-decoration:none;font-size:12px;padding:3px 10px;border-radius:99px;
background:rgba(255,255,255,.16)}
.skr nav a:hover{background:rgba(255,255,255,.3)}
.skr h2{font-size:17px;margin:0 0 4px;font-weight:650}
.skr .lede{color:var(--muted);margin:0 0 12px;font-size:13px}
.skr section{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:18px 20px;margin:0 0 18px;min-width:0}
.skr .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;
margin:0 0 18px}
.skr .card{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:12px 14px;min-width:0}
.skr .card.primary{border-top:3px solid var(--accent)}
.skr .card .label{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.skr .card .value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;
margin:2px 0}
.skr .card .detail{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.skr .grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;
margin:0 0 18px}
.skr .grid2>section{margin:0}
@media (max-width:900px){.skr .grid2{grid-template-columns:minmax(0,1fr)}}
.skr figure{margin:8px 0 0;text-align:center}
.skr figure img{max-width:100%;height:auto;display:inline-block}
.skr figure.full img{width:100%}
.skr figcaption,.skr .note{font-size:12.5px;color:var(--muted);text-align:left;margin-top:6px}
.skr .callout{border-left:4px solid #fab005;background:#fff9db;padding:10px 14px;
border-radius:6px;margin:0 0 18px;font-size:13px}
.skr .callout p{margin:2px 0}
.skr section.advice{border-left:4px solid var(--accent)}
.skr section.advice ul{margin:6px 0 0;padding-left:20px}
.skr section.advice li{margin:3px 0;font-size:13.5px}
.skr .scroll{overflow-x:auto;max-width:100%}
.skr table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;
width:100%}
.skr th{text-align:left;font-weight:600;color:#495057;border-bottom:2px solid var(--line);
padding:6px 10px;white-space:nowrap;background:#fafbfc;position:sticky;top:0}
.skr td{padding:5px 10px;border-bottom:1px solid #f1f3f5;vertical-align:middle}
.skr tbody tr:nth-child(even) td{background-color:#fafbfc}
.skr tr.best td{background-color:var(--best)!important}
.skr tr.best td:first-child{box-shadow:inset 3px 0 0 var(--best-line)}
.skr td.num,.skr th.num{text-align:right;white-space:nowrap}
.skr td.param{max-width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:12px}
.skr td.fail{color:var(--fail);font-weight:600;text-align:right}
.skr td.bar{background-image:linear-gradient(90deg,rgba(59,91,219,.55),rgba(59,91,219,.55));
background-repeat:no-repeat;background-size:var(--w) 3px;background-position:10px 100%}
.skr .scroll+.scroll,.skr .scroll+figure{margin-top:14px}
.skr table.kv,.skr table.compact{width:auto;max-width:100%}
.skr table.kv td:first-child{color:var(--muted);padding-right:24px;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:12px;overflow-wrap:anywhere}
.skr table.kv td.param{max-width:46em}
.skr details{margin-top:10px}
.skr summary{cursor:pointer;color:var(--accent);font-size:13px}
.skr .method{font-size:12.5px;color:#495057;background:#f8f9fa;border-radius:6px;
padding:8px 12px;margin-top:10px}
.skr footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
.skr .empty{color:var(--muted);font-style:italic;font-size:13px}
"""


def _esc(text):
    return html.escape(str(text), quote=True)


def _img(svg, alt, full=False, caption=""):
    if svg is None:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    cls = ' class="full"' if full else ""
    return (f'<figure{cls}><img alt="{_esc(alt)}" src="data:image/svg+xml;base64,{data}">'
            f"{cap}</figure>")


def _cell(cell):
    classes = [cell.kind] if cell.kind != "text" else []
    style = ""
    if cell.bar is not None:
        classes.append("bar")
        style = f' style="--w:{max(0.0, min(1.0, cell.bar)) * 100:.1f}%"'
    cls = f' class="{" ".join(classes)}"' if classes else ""
    title = f' title="{_esc(cell.full)}"' if cell.full else ""
    return f"<td{cls}{style}{title}>{_esc(cell.text)}</td>"


def _table(table, css_class="", rows=None, wrap=True):
    if table is None:
        return ""
    numeric = [bool(table.rows) and table.rows[0][k].kind in ("num", "fail")
               for k in range(len(table.header))]
    head = "".join(f'<th{" class=num" if n else ""}>{_esc(h)}</th>'
                   for h, n in zip(table.header, numeric))
    body = []
    for k, row in enumerate(table.rows if rows is None else rows):
        best = ' class="best"' if rows is None and k == table.highlight else ""
        body.append(f"<tr{best}>{''.join(_cell(c) for c in row)}</tr>")
    cls = f' class="{css_class}"' if css_class else ""
    out = f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{out}</div>' if wrap else out


def _section(anchor, title, lede, body):
    lede_html = f'<p class="lede">{_esc(lede)}</p>' if lede else ""
    return f'<section id="skr-{anchor}"><h2>{_esc(title)}</h2>{lede_html}{body}</section>'


def build_figures(report):
    """Every figure of the report as SVG text (None where it does not apply)."""
    results, importance, test = report._results, report._importance, report._test
    figures = {
        "folds": _plots.plot_fold_spread(results),
        "history": _plots.plot_history(results),
        "metrics": (_plots.plot_history(results, results.metrics[:_MAX_METRIC_PANELS])
                    if len(results.metrics) > 1 else None),
        "params": _plots.plot_param_scores(results, importance.names or None,
                                           report._main_dependences()),
        "pairs": _plots.plot_dependence_pairs(report._pair_dependences(), results),
        "curves": _plots.plot_curves(results, report._curves),
        "importance": _plots.plot_importance(importance),
        "cost": _plots.plot_cost(results),
        "pareto": _plots.plot_pareto(results, report._pareto_axes),
        "learning": _plots.plot_learning_curve(results.history),
        "confusion": None,
        "residuals": None,
    }
    if test is not None and test.task == "classification":
        figures["confusion"] = _plots.plot_confusion(test)
    elif test is not None:
        figures["residuals"] = _plots.plot_residuals(test)
    return figures


def _leaderboard_html(results):
    table = _tables.leaderboard(results)
    top = _table(_tables.leaderboard(results, _TOP))
    extra = ""
    if results.n_candidates > _TOP:
        shown = min(results.n_candidates, _MAX_ROWS)
        more = (f" (the first {_MAX_ROWS}; report.frame has every one)"
                if results.n_candidates > _MAX_ROWS else "")
        extra = (f"<details><summary>Show all {results.n_candidates} candidates{more}"
                 f"</summary>{_table(table, rows=table.rows[:shown])}</details>")
    caption = _tables.leaderboard(results, _TOP).caption
    return top + f'<p class="note">{_esc(caption)} Hover a cut value to see it whole.</p>' + extra


def _summary_html(results, test):
    cards = []
    for k, (label, value, detail) in enumerate(_tables.summary_items(results, test)):
        primary = " primary" if k == 0 else ""
        cards.append(f'<div class="card{primary}"><div class="label">{_esc(label)}</div>'
                     f'<div class="value">{_esc(value)}</div>'
                     f'<div class="detail">{_esc(detail)}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _body(report, figures):
    results, importance, test = report._results, report._importance, report._test
    title, sub = _tables.headline(results)
    parts = []
    links = [("best", "Best"), ("leaderboard", "Leaderboard"), ("folds", "Folds & history"),
             ("params", "Hyperparameters"), ("importance", "Importance & cost")]
    if results.multi_objective:
        links.insert(2, ("pareto", "Pareto front"))
    if report._curves is not None:
        links.append(("curves", "Training curves"))
    if results.history:
        links.append(("learning", "Learning curve"))
    if len(results.metrics) > 1:
        links.append(("metrics", "Metrics"))
    if test is not None:
        links.append(("test", "Test data"))
    nav = "".join(f'<a href="#skr-{a}">{_esc(t)}</a>' for a, t in links)
    parts.append(
        f'<header class="head"><div class="wrap"><div class="kicker">sktune \N{MIDDLE DOT} '
        f'cross-validation report</div><h1>{_esc(title)}</h1><p class="sub">{_esc(sub)}</p>'
        f"<nav>{nav}</nav></div></header>")
    parts.append('<div class="wrap">')
    parts.append(_summary_html(results, test))
    notes = _tables.notes(results)
    if notes:
        parts.append('<div class="callout">' + "".join(f"<p>{_esc(n)}</p>" for n in notes)
                     + "</div>")
    findings = report.advice()
    if findings:
        parts.append('<section id="skr-advice" class="advice"><h2>What to change next</h2><ul>'
                     + "".join(f"<li>{_esc(f)}</li>" for f in findings) + "</ul></section>")
    parts.append(_section("best", "Best parameters",
                          f"The refit choice: candidate {results.best}.",
                          _table(_tables.best_params_table(results), "kv")))
    parts.append(_section("leaderboard", "Leaderboard", "", _leaderboard_html(results)))
    if results.multi_objective:
        parts.append(_pareto_html(report, figures))

    multi = len(results.metrics) > 1
    folds = _section("folds", "Fold scores", "Does the winner win on every fold? Each dot is "
                     "one fold, the bar the mean; the refit choice is orange.",
                     _img(figures["folds"], "fold scores of the top candidates"))
    history_lede = ("Mean CV score of each candidate in the order it was evaluated; the "
                    "orange line is the best so far.")
    if results.search_name in ("GridSearchCV", "RandomizedSearchCV"):
        history_lede += " This search evaluates its candidates independently, so the order " \
                        "carries no learning."
    if results.candidate_ids is not None:
        history_lede = (f"Mean CV score of each candidate at each rung, coloured by the "
                        f"{results.resource} trained; every bracket starts again with many "
                        f"candidates and few {results.resource}.")
    elif results.iterations is not None:
        history_lede = ("Mean CV score of each candidate at each halving iteration (colour); "
                        f"later iterations train on more {results.resource}.")
    history = _section("history", "Search history", history_lede,
                       _img(figures["history"], "search history"))
    parts.append(f'<div class="grid2">{folds}{history}</div>')

    if figures["params"] is None:
        params_body = '<p class="empty">Only one candidate, or no hyperparameter varied.</p>'
    else:
        caption = ("Each dot is a candidate; the orange ring is the refit choice; lines join "
                   "the best score per value; red crosses are failed candidates. Panels "
                   "follow the importance order.")
        if report._model is not None:
            caption += (" Green: the model's partial dependence (the predicted score with the "
                        "other hyperparameters averaged over their range) and its 95 % band.")
        params_body = _img(figures["params"], "score against each hyperparameter", full=True,
                           caption=caption)
    parts.append(_section("params", "Score against each hyperparameter", "", params_body))

    if importance.available:
        pairs = _tables.pairs_table(importance)
        imp_body = (_img(figures["importance"], "hyperparameter importance")
                    + (_table(pairs, "compact") if pairs is not None else "")
                    + f'<p class="note">{_esc(_tables.importance_fit_note(importance))}</p>'
                    + f'<div class="method"><b>Method.</b> {_esc(METHOD)}</div>')
    else:
        imp_body = f'<p class="empty">Not estimated: {_esc(importance.reason)}</p>'
    imp = _section("importance", "Hyperparameter importance",
                   "How much of the variation of the score each hyperparameter explains.",
                   imp_body)
    cost = _section("cost", "Cost and quality",
                    "Mean fit time per fold against the score. The green line links the "
                    "candidates no cheaper one beats.",
                    _img(figures["cost"], "fit time against score"))
    parts.append(f'<div class="grid2">{imp}{cost}</div>')

    if figures["pairs"] is not None:
        parts.append(_section(
            "pairs", "Partial dependence of pairs",
            "The predicted score over two hyperparameters at once (the others averaged "
            "over their range), for the pairs with the largest interaction shares; dots are "
            "the candidates tried.", _img(figures["pairs"], "partial dependence of pairs",
                                          full=True)))
    if figures["curves"] is not None:
        parts.append(_section(
            "curves", "Training curves of every candidate", _tables.curves_summary(results,
                                                                                 report._curves),
            _img(figures["curves"], "every candidate's training curves", full=True,
                 caption="Each line is a candidate (its folds' mean), coloured by its mean CV "
                 "score; the best three are orange; red crosses mark fits that diverged.")
            + _rung_table_html(report)))
    if results.history:
        parts.append(_section(
            "learning", "Learning curve of the refitted best model",
            _tables.learning_curve_summary(results),
            _img(figures["learning"], "learning curve", full=True,
                 caption="The refitted best model on the whole training set. Validation "
                 "curves use the model's own validation_fraction split.")))
    if multi:
        shown = results.metrics[:_MAX_METRIC_PANELS]
        more = (f" (the first {len(shown)} of {len(results.metrics)} metrics are plotted)"
                if len(shown) < len(results.metrics) else "")
        parts.append(_section(
            "metrics", "Every metric",
            "Best candidate of each metric and the refit choice's scores; below, every "
            f"candidate's mean CV score of each metric in evaluation order{more}.",
            _table(_tables.metrics_table(results))
            + _img(figures["metrics"], "every metric in evaluation order", full=True)))
    if test is not None:
        parts.append(_test_html(results, test, figures))
    parts.append(f"<footer>Made by sktune {_esc(__version__)} from the search's cv_results_"
                 " (the search was only read, not refitted).</footer>")
    parts.append("</div>")
    return f'<div class="skr">{"".join(parts)}</div>'


def _rung_table_html(report):
    table = _tables.rung_table(report._results)
    if table is None:
        return ""
    return (_table(table, "compact")
            + f'<p class="note">{_esc(table.caption)}</p>')


def _pareto_html(report, figures):
    results = report._results
    table = _tables.pareto_table(results)
    x, y = report._pareto_axes
    caption = (f"{x} against {y}: each dot is a candidate, the green ones are on the "
               "Pareto front (numbered by candidate), the green line is the front of these "
               "two objectives, the orange ring the refit choice; failed candidates are "
               "left out.")
    if len(results.objectives) > 2:
        caption += (" With more than two objectives, a candidate of the front can look "
                    "dominated here: it is better on an objective not shown. "
                    "cv_report(search, pareto_axes=(x, y)) picks the two shown.")
    body = (_img(figures["pareto"], f"Pareto front: {x} against {y}", caption=caption)
            + f'<div class="scroll" style="margin-top:14px">{_table(table, wrap=False)}</div>'
            + f'<p class="note">{_esc(table.caption)}</p>')
    return _section("pareto", "Pareto front", _tables.pareto_summary(results), body)


def _test_html(results, test, figures):
    summary = _table(_tables.test_summary_table(results, test), "compact")
    if test.task == "classification":
        left = _section("test", "Test data", "The refitted best model on the held-out data.",
                        summary + _table(_tables.per_class_table(test)))
        right = _section("confusion", "Confusion matrix", "Rows are true classes; colour "
                         "is the share of the row, text the count.",
                         _img(figures["confusion"], "confusion matrix"))
        return f'<div class="grid2">{left}{right}</div>'
    return _section("test", "Test data", "The refitted best model on the held-out data.",
                    summary + _img(figures["residuals"], "residual plots", full=True,
                                   caption="Residuals should scatter evenly around zero; "
                                   "a funnel or a curve shows what the model misses."))


def render_html(report, document=True):
    """The report as a whole HTML page, or as a fragment for notebooks."""
    if report._figures is None:
        report._figures = build_figures(report)
    body = _body(report, report._figures)
    style = f"<style>{_CSS}</style>"
    if not document:
        return style + body
    title, _ = _tables.headline(report._results)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)} \N{EM DASH} cross-validation report</title>{style}"
        "<style>html,body{margin:0;background:#f5f6f8}</style></head>"
        f"<body>{body}</body></html>\n"
    )
