"""The human form of a mitigation as one self-contained HTML page (inline CSS and SVG plots).

Self-contained on purpose and in the audit page's look (:mod:`fairwatch.audit.render_html`,
whose stylesheet it reuses), so that it can move onto a shared report scaffold unchanged.
"""

from __future__ import annotations

from html import escape

from fairwatch.mitigate.core import MitigationReport
from fairwatch.mitigate.plots import curve_figure, rates_figure
from fairwatch.mitigate.render_table import shown_metrics, threshold_text
from fairwatch.report.page import STATUS_TEXT, STYLE
from monitor.engine.results import Disparity, GroupResult

EXTRA_STYLE = """
.card .value small { font-size:14px; color:var(--muted); font-weight:400; }
.arrow { color:var(--muted); padding:0 4px; }
.figure.wide svg { width:100%; }
tr.chosen td { background:#fff3e0; font-weight:600; }
tr.dominated td { color:var(--muted); }
details { margin:10px 0; } summary { cursor:pointer; color:var(--muted); }
.caveats { background:#fff; border:1px solid var(--line); border-radius:10px; padding:4px 18px; }
.caveats li { margin:6px 0; }
"""
RATES = (("selection_rate", "Selection rate"), ("tpr", "TPR"), ("fpr", "FPR"))


def _number(value: float | None, digits: int = 3) -> str:
    return '<span class="na">—</span>' if value is None else f"{value:.{digits}f}"


def _change(before: float | None, after: float | None, digits: int = 3) -> str:
    return f'{_number(before, digits)}<span class="arrow">→</span>{_number(after, digits)}'


def _cards(report: MitigationReport) -> str:
    before, after = report.before.outcome, report.after.outcome
    metric = report.problem.metric.replace("_", " ")
    kept = int((~report.problem.searched()).sum())
    cards = [
        (metric, _change(before.disparity, after.disparity), ""),
        ("accuracy", _change(before.accuracy, after.accuracy), ""),
        ("balanced accuracy", _change(before.balanced_accuracy, after.balanced_accuracy), ""),
        ("tolerance", f"{report.curve[report.chosen].tolerance:.4g}", ""),
        ("groups", f"{len(report.problem.groups)} <small>({kept} kept)</small>", ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {kind}"><div class="label">{escape(label)}</div>'
            f'<div class="value">{value}</div></div>'
            for label, value, kind in cards
        )
        + "</div>"
    )


def _rate_cell(old: GroupResult | None, new: GroupResult | None, rate: str) -> str:
    if old is None or new is None:
        return '<td><span class="na">—</span></td>'
    interval = new.intervals.get(rate)
    ci = "" if interval is None else f'<span class="ci">{interval[0]:.3f}–{interval[1]:.3f}</span>'
    return f"<td>{_change(old.rates.get(rate), new.rates.get(rate))}{ci}</td>"


def _threshold_table(report: MitigationReport) -> str:
    before = {g.group: g for g in report.before.evaluation.groups}
    after = {g.group: g for g in report.after.evaluation.groups}
    rows = []
    for group, searched, threshold in zip(
        report.problem.groups,
        report.problem.searched(),
        report.after.outcome.thresholds,
        strict=True,
    ):
        name = escape(group.name)
        if not searched:
            name += (
                f' <span class="small">(kept: under {report.options.min_group_size} rows '
                "for the constraint's rates)</span>"
            )
        cells = "".join(
            _rate_cell(before.get(group.name), after.get(group.name), rate) for rate, _t in RATES
        )
        rows.append(
            f"<tr><td>{name}</td><td>{group.n:,}</td><td>{group.positives:,} / "
            f"{group.negatives:,}</td><td>{report.options.threshold:g}<span class='arrow'>→"
            f"</span><strong>{threshold_text(threshold)}</strong></td>{cells}</tr>"
        )
    heads = "".join(f"<th>{title}<br>before → after</th>" for _rate, title in RATES)
    return (
        "<table><thead><tr><th>Group</th><th>n</th><th>Labeled<br>1 / 0</th>"
        f"<th>Threshold</th>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _interval(disparity: Disparity | None) -> str:
    if disparity is None or disparity.ci_low is None or disparity.ci_high is None:
        return ""
    return f'<span class="ci">{disparity.ci_low:.3f}–{disparity.ci_high:.3f}</span>'


def _disparity_table(report: MitigationReport, level: int) -> str:
    def by_metric(disparities: tuple[Disparity, ...]) -> dict[str, Disparity]:
        return {
            d.metric: d for d in disparities if d.attribute == report.attribute and d.group is None
        }

    before = by_metric(report.before.evaluation.disparities)
    after = by_metric(report.after.evaluation.disparities)
    rows = []
    for metric in shown_metrics(report):
        old, new = before.get(metric), after.get(metric)
        name = escape(metric.replace("_", " "))
        if metric == report.problem.metric:
            name = f"<strong>{name}</strong> (constrained)"
        status = ""
        if new is not None:
            status = f'<span class="badge {new.status}">{STATUS_TEXT[new.status]}</span>'
        threshold = "—" if new is None or new.threshold is None else f"{new.threshold:g}"
        rows.append(
            f'<tr><td class="text">{name}</td>'
            f"<td>{_number(None if old is None else old.value)}{_interval(old)}</td>"
            f"<td>{_number(None if new is None else new.value)}{_interval(new)}</td>"
            f'<td>{threshold}</td><td class="text">{status}</td></tr>'
        )
    return (
        f'<table><thead><tr><th class="text">Metric</th><th>Before ({level}% CI)</th>'
        f'<th>After ({level}% CI)</th><th>Threshold</th><th class="text">Status after</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _curve_table(report: MitigationReport) -> str:
    objective = report.options.objective
    rows = []
    for position, point in enumerate(report.curve):
        result = point.outcome
        kind = "chosen" if position == report.chosen else ("" if point.pareto else "dominated")
        marks = ("chosen · " if position == report.chosen else "") + (
            "Pareto" if point.pareto else "dominated"
        )
        rows.append(
            f'<tr class="{kind}"><td>{point.tolerance:.4f}</td><td>{_number(result.disparity, 4)}'
            f"</td><td>{result.accuracy:.4f}</td><td>{result.balanced_accuracy:.4f}</td>"
            f'<td class="text">{marks}</td></tr>'
        )
    heads = [
        title + (" (objective)" if name == objective else "")
        for name, title in (("accuracy", "Accuracy"), ("balanced_accuracy", "Balanced accuracy"))
    ]
    return (
        f"<table><thead><tr><th>Tolerance</th><th>{escape(report.problem.metric)}</th>"
        f'<th>{heads[0]}</th><th>{heads[1]}</th><th class="text"></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _reference(report: MitigationReport) -> str:
    reference = report.reference
    if reference is None:
        return ""
    derandomised = reference.derandomised
    tolerance = report.curve[report.chosen].tolerance
    meets = derandomised.disparity is not None and derandomised.disparity <= tolerance
    relaxed = "exact parity" if reference.tolerance is None else f"tol {reference.tolerance:g}"
    return (
        "<h2>fairlearn's ThresholdOptimizer, for reference</h2>"
        f'<p class="note">On the same scores ({relaxed}), fairlearn\'s randomised solution has an '
        f"expected accuracy of {reference.expected_accuracy:.4f} at disparity "
        f"{_number(reference.expected_disparity, 4)}, but each group mixes two thresholds at "
        "random: two identical applicants can get different decisions. Rounded to each "
        f"group's nearest deterministic threshold it gives accuracy "
        f"{derandomised.accuracy:.4f} at disparity {_number(derandomised.disparity, 4)}, which "
        f"{'meets' if meets else '<strong>does not meet</strong>'} the tolerance. The thresholds "
        "above come from an exact search over every deterministic choice.</p>"
    )


CAVEATS = (
    "Post-processing needs the sensitive attribute <strong>at decision time</strong>: each "
    "decision uses its group's threshold, so the attribute must be collected and available "
    "where the decision is made.",
    "Group-specific thresholds treat people differently by a protected characteristic, which "
    "several laws restrict (disparate treatment; in the US, race-normed cut-offs in employment "
    "testing are prohibited by 42 U.S.C. § 2000e-2(l)): take legal advice before deploying them.",
    "In credit (ECOA / Regulation B in the US) and under EU non-discrimination law, using a "
    "protected attribute in the decision itself may be unlawful even when it improves parity.",
    "The thresholds are fitted to this file: check them on data they were not chosen on, and "
    "keep monitoring (fairwatch run) after applying them.",
)


def render_html(report: MitigationReport) -> str:
    level = round(report.options.ci_level * 100)
    chosen = report.curve[report.chosen]
    how = (
        f"the search at tolerance {chosen.tolerance:g}"
        if report.chosen_by == "tolerance"
        else f"the fairest Pareto point with accuracy ≥ {report.options.min_accuracy:g} "
        f"(tolerance {chosen.tolerance:.4f})"
    )
    metric = escape(report.problem.metric.replace("_", " "))
    objective = report.options.objective.replace("_", " ")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Fairness mitigation — {escape(report.source)}</title>",
        f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><main>",
        "<h1>Fairness mitigation: per-group thresholds</h1>",
        f'<p class="source">{escape(report.source)} · {report.rows:,} rows, '
        f"{report.labeled_rows:,} labeled · {escape(report.options.constraint)} on "
        f"{escape(report.attribute)} · chosen by {escape(how)}</p>",
        _cards(report),
        "<h2>The trade-off</h2>",
        f'<div class="figure wide">{curve_figure(report)}</div>',
        f'<p class="note">Each point is the most {escape(objective)} '
        f"any deterministic per-group thresholds reach with {metric} at most the point's "
        "tolerance (tolerances from 0 to the disparity of the unconstrained thresholds). The "
        "blue step is the Pareto front: moving right along it buys objective with disparity; "
        "where it is flat, more disparity buys nothing. The star is the chosen point, the "
        "diamond today's single threshold. Points at tolerance 0 can only select everybody or "
        "nobody in some group; when far below the rest they are drawn at the bottom edge (▼) "
        "with their value.</p>",
        "<h2>Thresholds and rates</h2>",
        f'<p class="note">Decision rule: <code>score &gt;= threshold</code> of the row\'s group '
        "(a threshold is the lowest score the group still selects; “nobody” selects no row). "
        f"Rates are the engine's, with {level}% Wilson intervals after mitigation.</p>",
        _threshold_table(report),
        f'<div class="figure wide">{rates_figure(report)}</div>',
        "<h2>Disparities before and after</h2>",
        _disparity_table(report, level),
        '<p class="note">Values and simulation intervals from the engine, recomputed from the '
        "counts of the new decisions. The constrained metric's threshold is the tolerance; an "
        "after value within it can still be <em>undecided</em> when its interval straddles "
        "it. Other metrics may move the other way: equalising one rate unequalises others.</p>",
        _reference(report),
        "<h2>Before you apply them</h2>",
        '<div class="caveats"><ul>'
        + "".join(f"<li>{caveat}</li>" for caveat in CAVEATS)
        + "</ul></div>",
        "<details><summary>Every point of the curve</summary>",
        _curve_table(report),
        "</details>",
        "<footer>Thresholds from an exact search over each group's sorted scores; figures "
        "from fairwatch's metric engine. How to read this page: docs/mitigation.md. "
        "Generated by fairwatch mitigate.</footer>",
        "</main></body></html>",
    ]
    return "\n".join(part for part in parts if part)
