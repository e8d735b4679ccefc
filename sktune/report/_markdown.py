"""The report as markdown: for terminals, notebooks and pull-request comments.

Text only (no images): the summary, best parameters, leaderboard, the Pareto
front of a multi-objective search, metrics, importance with text bars,
learning-curve facts and test metrics, built from the same tables as the HTML
page.
"""

import numpy as np

from . import _tables
from ._importance import METHOD

_BAR_WIDTH = 20


def _escape(text):
    """Safe inside a GFM table cell: no pipes, no line breaks."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text):
    text = _escape(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(cell):
    if cell.kind in ("param", "name"):
        return _code(cell.text)
    if cell.kind == "fail":
        return "**failed**"
    return _escape(cell.text)


def _table(table, bold_row=None):
    if table is None:
        return []
    align = ["---:" if table.rows and table.rows[0][k].kind in ("num", "fail") else "---"
             for k in range(len(table.header))]
    lines = ["| " + " | ".join(_escape(h) for h in table.header) + " |",
             "| " + " | ".join(align) + " |"]
    for k, row in enumerate(table.rows):
        cells = [_cell(c) for c in row]
        if k == bold_row:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _bar(share):
    filled = int(round(max(0.0, min(1.0, share)) * _BAR_WIDTH))
    return "\N{FULL BLOCK}" * filled + "\N{LIGHT SHADE}" * (_BAR_WIDTH - filled)


def render_markdown(report, top=10):
    """Markdown text of ``report`` with ``top`` leaderboard rows."""
    results, importance, test = report._results, report._importance, report._test
    title, sub = _tables.headline(results)
    out = [f"# Cross-validation report: {title}", "", f"{sub}.", ""]
    out += ["| | | |", "|---|---:|---|"]
    for label, value, detail in _tables.summary_items(results, test):
        out.append(f"| {_escape(label)} | **{_escape(value)}** | {_escape(detail)} |")
    out.append("")
    for note in _tables.notes(results):
        out.append(f"> {note}")
        out.append("")
    findings = report.advice()
    if findings:
        out += ["## What to change next", ""] + [f"- {_escape(f)}" for f in findings] + [""]
    out += [f"## Best parameters (candidate {results.best})", ""]
    out += _table(_tables.best_params_table(results)) + [""]
    board = _tables.leaderboard(results, top)
    out += ["## Leaderboard", ""] + _table(board, board.highlight) + ["", f"_{board.caption}_",
                                                                     ""]
    if results.multi_objective:
        front = _tables.pareto_table(results)
        out += ["## Pareto front", "", _tables.pareto_summary(results), ""]
        out += _table(front, front.highlight) + ["", f"_{front.caption}_", ""]
    metrics = _tables.metrics_table(results)
    if metrics is not None:
        out += ["## Every metric", ""] + _table(metrics) + [""]
    out += ["## Hyperparameter importance", ""]
    if importance.available:
        out += ["| hyperparameter | share of score variance | 5-95 % | |",
                "|---|---:|---:|---|"]
        for name, share, lo, hi in zip(importance.names, importance.shares,
                                       importance.lower, importance.upper):
            out.append(f"| {_code(name)} | {share * 100:.1f}% | {lo * 100:.0f}-{hi * 100:.0f}% "
                       f"| `{_bar(share)}` |")
        out.append(f"| interactions (jointly) | {importance.interactions * 100:.1f}% | | "
                   f"`{_bar(importance.interactions)}` |")
        if importance.pairs:
            out += ["", "| pair | interaction share | 5-95 % |", "|---|---:|---:|"]
            out += [f"| {_code(a)} \N{MULTIPLICATION SIGN} {_code(b)} | {share * 100:.1f}% | "
                    f"{lo * 100:.0f}-{hi * 100:.0f}% |" for a, b, share, lo, hi in importance.pairs]
        out += ["", _tables.importance_fit_note(importance), "", f"_Method: {METHOD}_", ""]
    else:
        out += [f"Not estimated: {importance.reason}", ""]
    if report._curves is not None:
        out += ["## Training curves of every candidate", "",
                _tables.curves_summary(results, report._curves), ""]
        rungs = _tables.rung_table(results)
        if rungs is not None:
            out += _table(rungs) + ["", f"_{rungs.caption}_", ""]
    if results.history:
        out += ["## Learning curve of the refitted best model", "",
                _tables.learning_curve_summary(results), ""]
    if test is not None:
        out += [f"## Test data ({test.n_samples} samples)", ""]
        out += _table(_tables.test_summary_table(results, test)) + [""]
        per_class = _tables.per_class_table(test)
        if per_class is not None:
            out += _table(per_class) + [""]
            out += _confusion_lines(test)
    return "\n".join(out).rstrip() + "\n"


def _confusion_lines(test, max_classes=12):
    n = len(test.classes)
    if n > max_classes:
        return [f"_Confusion matrix omitted ({n} classes); see the HTML report._", ""]
    labels = [_escape(_tables.value_cell(c, 12).text) for c in test.classes]
    lines = ["Confusion matrix (rows: true, columns: predicted):", "",
             "| true \\ predicted | " + " | ".join(labels) + " |",
             "|---|" + "---:|" * n]
    for label, row in zip(labels, np.asarray(test.confusion)):
        lines.append(f"| {label} | " + " | ".join(str(int(v)) for v in row) + " |")
    return lines + [""]
