"""The human form of an audit as one self-contained HTML page (inline CSS and SVG plots)."""

from __future__ import annotations

from html import escape

from fairwatch.audit.core import AuditReport
from fairwatch.audit.fail_on import GateResult
from fairwatch.audit.render_proxies import proxies_section
from fairwatch.audit.render_table import extremes_cell
from fairwatch.report.page import Card, badge, cards, figure, number, page
from fairwatch.report.plots import (
    THIN_BIN_ROWS,
    disparity_figure,
    group_rates_figure,
    reference_figure,
    reliability_figure,
)
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.results import RATE_LABELS, Disparity, GroupResult, signed

TABLE_RATES = (
    ("selection_rate", "Selection rate"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("ppv", "PPV"),
    ("accuracy", "Accuracy"),
    ("base_rate", "Base rate"),
)

# What only this report has: the fairness gate's verdict.
STYLE = """
.verdict { margin:18px 0 0; padding:12px 16px; border-radius:10px; background:#fff;
           border-left:5px solid var(--ok); }
.verdict.fail { border-left-color:var(--breach); }
.verdict ul { margin:6px 0 0; padding-left:20px; }
.figure.reliability svg { max-width:860px; }
"""


def _rate_cell(group: GroupResult, rate: str) -> str:
    value = group.rates.get(rate)
    if value is None:
        return '<td><span class="na">undefined</span></td>'
    interval = group.intervals.get(rate)
    ci = "" if interval is None else f'<span class="ci">{interval[0]:.3f}–{interval[1]:.3f}</span>'
    if rate in group.small_rates:
        return f'<td class="small">{value:.3f}{ci}<span class="ci">small</span></td>'
    return f"<td>{value:.3f}{ci}</td>"


def _groups_table(groups: list[GroupResult], min_group_size: int, level: int, scored: bool) -> str:
    head = "".join(f"<th>{title}<br>({level}% CI)</th>" for _rate, title in TABLE_RATES)
    calibration_head = "<th>ECE</th><th>Calibration gap<br>(score − rate)</th>" if scored else ""
    rows = []
    for group in groups:
        small = ", ".join(RATE_LABELS.get(rate, rate) for rate in group.small_rates)
        name = escape(group.group) + (
            f" <span class='small'>(under {min_group_size} for {escape(small)})</span>"
            if small
            else ""
        )
        coverage = "" if group.label_coverage is None else f"{group.label_coverage:.0%}"
        cells = "".join(_rate_cell(group, rate) for rate, _title in TABLE_RATES)
        calibration = ""
        if scored:
            gap = '<span class="na">—</span>'
            if group.calibration_gap is not None:
                gap = signed(group.calibration_gap)
                if "calibration_gap" in group.small_rates:
                    gap = f'<span class="small">{gap}<span class="ci">small</span></span>'
            calibration = f"<td>{number(group.ece)}</td><td>{gap}</td>"
        rows.append(
            f"<tr><td>{name}</td><td>{group.n:,}</td><td>{group.n_labeled:,}"
            f'<span class="ci">{coverage}</span></td>{cells}{calibration}</tr>'
        )
    return (
        '<table class="numbers"><thead><tr><th>Group</th><th>n</th><th>Labeled</th>'
        f"{head}{calibration_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _reliability_note(min_group_size: int, level: int) -> str:
    return (
        '<p class="note">Reliability: each point is one score bin of one group, at the mean score '
        "of its labeled rows (exact, from the summed scores) and the share of them with label 1; "
        f"vertical bars are {level}% Wilson intervals, larger points hold more rows; bins of "
        f"fewer than {THIN_BIN_ROWS} rows are faint hollow points off the line. Points above the "
        "dashed diagonal mean the scores understate the outcome rate, points below overstate it. "
        "The calibration gap (mean score − observed rate) per group feeds the calibration "
        "difference; dashed groups have fewer than "
        f"{min_group_size} labeled scored rows and are left out of it.</p>"
    )


def _metric_name(disparity: Disparity) -> str:
    if disparity.metric.endswith(REFERENCE_SUFFIX):
        rate = disparity.metric[: -len(REFERENCE_SUFFIX)].replace("_", " ")
        group, reference = escape(str(disparity.group)), escape(str(disparity.reference_group))
        return f"{rate} ratio: {group} / {reference}"
    return escape(disparity.metric.replace("_", " "))


def _disparity_table(disparities: list[Disparity], level: int) -> str:
    rows = []
    for disparity in disparities:
        interval = '<span class="na">—</span>'
        if disparity.ci_low is not None and disparity.ci_high is not None:
            interval = f"{disparity.ci_low:.3f}–{disparity.ci_high:.3f}"
        threshold = "—" if disparity.threshold is None else f"{disparity.threshold:g}"
        if disparity.metric.endswith(REFERENCE_SUFFIX) and disparity.threshold:
            threshold = f"{disparity.threshold:g}–{1 / disparity.threshold:.3g}"
        status = disparity.status
        extremes = escape(extremes_cell(disparity))
        small = escape(", ".join(disparity.small_groups))
        rows.append(
            f'<tr><td class="text">{escape(disparity.attribute)}</td>'
            f'<td class="text">{_metric_name(disparity)}</td><td>{number(disparity.value)}</td>'
            f"<td>{interval}</td><td>{threshold}</td>"
            f'<td class="text">{badge(status)}</td>'
            f'<td class="text">{extremes}</td><td>{disparity.min_group_n:,}</td>'
            f'<td class="text small">{small}</td></tr>'
        )
    return (
        '<table class="numbers"><thead><tr><th>Attribute</th><th class="text">Metric</th>'
        "<th>Value</th>"
        f'<th>{level}% CI</th><th>Threshold</th><th class="text">Status</th>'
        '<th class="text">Highest vs lowest</th><th>Smallest n</th>'
        '<th class="text">Left out (small)</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _cards(report: AuditReport) -> str:
    statuses = [d.status for d in report.evaluation.disparities]
    breaches = statuses.count("breach")
    return cards(
        [
            Card("Rows", f"{report.rows:,}"),
            Card("Labeled", f"{report.labeled_rows:,}"),
            Card("Breaches", str(breaches), "breach" if breaches else "ok"),
            Card("Undecided", str(statuses.count("undecided"))),
            Card("Not computable", str(statuses.count("not_computable"))),
            Card("Groups", str(len(report.evaluation.groups))),
            Card("Mode", report.options.engine.mode),
        ]
    )


GATE_BADGE = {"PASS": "ok", "FAIL": "breach", "UNDECIDED": "undecided"}


def _verdict(gate: GateResult | None) -> str:
    if gate is None:
        return ""
    items = "".join(
        f"<li>{badge(GATE_BADGE[result.verdict], result.verdict)} "
        f"<strong>{escape(result.rule)}</strong>: {escape(result.summary)}"
        + (
            "<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in result.reasons) + "</ul>"
            if result.reasons
            else ""
        )
        + "</li>"
        for result in gate.results
    )
    state = "failed" if gate.failed else "passed"
    return (
        f'<div class="verdict{" fail" if gate.failed else ""}"><strong>Fairness gate '
        f"{state}</strong> ({escape(gate.headline().split(': ', 1)[1])}):<ul>{items}</ul></div>"
    )


def render_html(report: AuditReport, gate: GateResult | None = None) -> str:
    engine = report.options.engine
    level = round(engine.ci_level * 100)
    evaluation = report.evaluation
    parts = [
        "<h1>Fairness audit</h1>",
        f'<p class="source">{escape(report.source)}</p>',
        _cards(report),
        _verdict(gate),
    ]
    summary = disparity_figure(evaluation.disparities)
    parts.append("<h2>Disparities at a glance</h2>")
    parts.append(
        f'<p class="note">Diamonds are the observed values, shaded bars their {level}% '
        "intervals, colour the status (red breach, orange undecided: the interval straddles the "
        "threshold, green ok, grey not computable: fewer than two groups with "
        f"{engine.min_group_size} rows for the rate). Dashed lines are thresholds.</p>"
    )
    if summary:
        parts.append(figure(summary))
    attributes = list(dict.fromkeys(group.attribute for group in evaluation.groups))
    for attribute in attributes:
        groups = [g for g in evaluation.groups if g.attribute == attribute]
        disparities = [d for d in evaluation.disparities if d.attribute == attribute]
        parts.append(f"<h2>{escape(attribute)}</h2>")
        parts.append(figure(group_rates_figure(groups)))
        reference = reference_figure([d for d in disparities if d.group is not None])
        if reference:
            parts.append(figure(reference))
        reliability = reliability_figure(groups, engine.min_group_size) if report.scored else None
        if reliability:
            parts.append(figure(reliability, kind="reliability"))
            parts.append(_reliability_note(engine.min_group_size, level))
        parts.append(_groups_table(groups, engine.min_group_size, level, report.scored))
        parts.append("<h3>Disparities</h3>")
        parts.append(_disparity_table(disparities, level))
    if evaluation.dropped_groups:
        parts.append(
            f'<p class="note">{evaluation.dropped_groups} small group(s) were dropped by the cap '
            f"of {engine.max_groups} groups per attribute.</p>"
        )
    parts.append(proxies_section(report.proxies))
    parts.append(
        "<footer>Group rates carry Wilson score intervals; disparities carry simulation "
        "intervals computed from the counts (the calibration difference from each score bin's "
        "counts); ratios to the reference group carry MOVER-J intervals. Undefined rates (zero "
        "denominator) are shown as undefined, never as 0. "
        "Definitions: docs/metrics.md. Generated by fairwatch audit.</footer>"
    )
    return page(f"Fairness audit — {report.source}", parts, STYLE)
