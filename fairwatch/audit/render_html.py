"""The human form of an audit as one self-contained HTML page (inline CSS and SVG plots)."""

from __future__ import annotations

from html import escape

from fairwatch.audit.core import AuditReport
from fairwatch.audit.fail_on import GateResult
from fairwatch.audit.plots import (
    THIN_BIN_ROWS,
    disparity_figure,
    group_rates_figure,
    reference_figure,
    reliability_figure,
)
from fairwatch.audit.render_proxies import proxies_section
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.results import RATE_LABELS, Disparity, GroupResult, signed

STATUS_TEXT = {
    "breach": "breach",
    "undecided": "undecided",
    "ok": "ok",
    "not_computable": "not computable",
}
TABLE_RATES = (
    ("selection_rate", "Selection rate"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("ppv", "PPV"),
    ("accuracy", "Accuracy"),
    ("base_rate", "Base rate"),
)

STYLE = """
:root { --ink:#263238; --muted:#607d8b; --line:#e0e6ea; --ok:#2e7d32; --breach:#c62828;
        --undecided:#ef8f00; --unsure:#8d8d8d; --bg:#f7f9fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:28px 28px 60px; }
h1 { font-size:24px; margin:0 0 4px; }
h2 { font-size:18px; margin:36px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:22px 0 8px; }
.source { color:var(--muted); margin:0 0 20px; word-break:break-all; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .value { font-size:24px; font-weight:600; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card.breach .value { color:var(--breach); } .card.ok .value { color:var(--ok); }
.verdict { margin:18px 0 0; padding:12px 16px; border-radius:10px; background:#fff;
           border-left:5px solid var(--ok); }
.verdict.fail { border-left-color:var(--breach); }
.verdict ul { margin:6px 0 0; padding-left:20px; }
.figure { background:#fff; border:1px solid var(--line); border-radius:10px; padding:10px;
          overflow-x:auto; margin:8px 0 14px; }
.figure svg { max-width:100%; height:auto; display:block; }
.figure.reliability svg { max-width:860px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line);
        border-radius:10px; overflow:hidden; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right;
         vertical-align:top; }
th { background:#eef2f4; font-weight:600; font-size:12px; color:var(--muted); }
th:first-child, td:first-child, td.text, th.text { text-align:left; }
tr:last-child td { border-bottom:none; }
.ci { color:var(--muted); font-size:12px; display:block; }
.na { color:#b0bec5; }
.small { color:var(--unsure); }
.badge { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px;
         font-weight:600; color:#fff; white-space:nowrap; }
.badge.ok { background:var(--ok); } .badge.breach { background:var(--breach); }
.badge.undecided { background:var(--undecided); }
.badge.not_computable { background:var(--unsure); }
.note { color:var(--muted); font-size:13px; }
footer { margin-top:40px; color:var(--muted); font-size:12px; }
"""


def _number(value: float | None, digits: int = 3) -> str:
    return '<span class="na">—</span>' if value is None else f"{value:.{digits}f}"


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
            calibration = f"<td>{_number(group.ece)}</td><td>{gap}</td>"
        rows.append(
            f"<tr><td>{name}</td><td>{group.n:,}</td><td>{group.n_labeled:,}"
            f'<span class="ci">{coverage}</span></td>{cells}{calibration}</tr>'
        )
    return (
        "<table><thead><tr><th>Group</th><th>n</th><th>Labeled</th>"
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
        extremes = escape(_extremes(disparity))
        small = escape(", ".join(disparity.small_groups))
        rows.append(
            f'<tr><td class="text">{escape(disparity.attribute)}</td>'
            f'<td class="text">{_metric_name(disparity)}</td><td>{_number(disparity.value)}</td>'
            f"<td>{interval}</td><td>{threshold}</td>"
            f'<td class="text"><span class="badge {status}">{STATUS_TEXT[status]}</span></td>'
            f'<td class="text">{extremes}</td><td>{disparity.min_group_n:,}</td>'
            f'<td class="text small">{small}</td></tr>'
        )
    return (
        '<table><thead><tr><th>Attribute</th><th class="text">Metric</th><th>Value</th>'
        f'<th>{level}% CI</th><th>Threshold</th><th class="text">Status</th>'
        '<th class="text">Highest vs lowest</th><th>Smallest n</th>'
        '<th class="text">Left out (small)</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _extremes(disparity: Disparity) -> str:
    if disparity.group is not None and disparity.group == disparity.reference_group:
        return "the reference"
    return disparity.extremes or "—"


def _cards(report: AuditReport) -> str:
    statuses = [d.status for d in report.evaluation.disparities]
    breaches = statuses.count("breach")
    cards = [
        ("Rows", f"{report.rows:,}", ""),
        ("Labeled", f"{report.labeled_rows:,}", ""),
        ("Breaches", str(breaches), "breach" if breaches else "ok"),
        ("Undecided", str(statuses.count("undecided")), ""),
        ("Not computable", str(statuses.count("not_computable")), ""),
        ("Groups", str(len(report.evaluation.groups)), ""),
        ("Mode", report.options.engine.mode, ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {kind}"><div class="label">{label}</div>'
            f'<div class="value">{value}</div></div>'
            for label, value, kind in cards
        )
        + "</div>"
    )


GATE_BADGE = {"PASS": "ok", "FAIL": "breach", "UNDECIDED": "undecided"}


def _verdict(gate: GateResult | None) -> str:
    if gate is None:
        return ""
    items = "".join(
        f'<li><span class="badge {GATE_BADGE[result.verdict]}">{result.verdict}</span> '
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
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Fairness audit — {escape(report.source)}</title>",
        f"<style>{STYLE}</style></head><body><main>",
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
        parts.append(f'<div class="figure">{summary}</div>')
    attributes = list(dict.fromkeys(group.attribute for group in evaluation.groups))
    for attribute in attributes:
        groups = [g for g in evaluation.groups if g.attribute == attribute]
        disparities = [d for d in evaluation.disparities if d.attribute == attribute]
        parts.append(f"<h2>{escape(attribute)}</h2>")
        parts.append(f'<div class="figure">{group_rates_figure(groups)}</div>')
        reference = reference_figure([d for d in disparities if d.group is not None])
        if reference:
            parts.append(f'<div class="figure">{reference}</div>')
        reliability = reliability_figure(groups, engine.min_group_size) if report.scored else None
        if reliability:
            parts.append(f'<div class="figure reliability">{reliability}</div>')
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
    parts.append("</main></body></html>")
    return "\n".join(parts)
