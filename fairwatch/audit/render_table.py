"""The terminal form of an audit: one table of groups per attribute, then the disparities."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fairwatch.audit.core import AuditReport
from fairwatch.audit.render_proxies import proxies_table
from monitor.engine.disparities import REFERENCE_SUFFIX
from monitor.engine.results import Disparity, GroupResult, signed

SHOWN_RATES = (
    ("selection_rate", "selection rate"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("ppv", "PPV"),
    ("accuracy", "accuracy"),
)
STATUS_STYLE = {"breach": "bold red", "undecided": "yellow", "ok": "green", "not_computable": "dim"}
STATUS_TEXT = {
    "breach": "BREACH",
    "undecided": "undecided",
    "ok": "ok",
    "not_computable": "not computable",
}


def _rate_cell(group: GroupResult, rate: str) -> Text:
    value = group.rates.get(rate)
    if value is None:
        return Text("—", style="dim")
    interval = group.intervals.get(rate)
    small = rate in group.small_rates
    text = Text(f"{value:.3f}", style="yellow" if small else "")
    if interval is not None:
        text.append(f" {interval[0]:.2f}–{interval[1]:.2f}", style="dim")
    if small:
        text.append(" small", style="yellow")
    return text


def _gap_cell(group: GroupResult) -> Text:
    """Mean score − observed rate, signed (``small`` below the minimum group size)."""
    if group.calibration_gap is None:
        return Text("—", style="dim")
    if "calibration_gap" in group.small_rates:
        return Text(f"{signed(group.calibration_gap)} small", style="yellow")
    return Text(signed(group.calibration_gap))


def _metric_label(disparity: Disparity) -> str:
    if disparity.metric.endswith(REFERENCE_SUFFIX):
        rate = disparity.metric[: -len(REFERENCE_SUFFIX)].replace("_", " ")
        return f"{rate} ratio {disparity.group} / {disparity.reference_group}"
    return disparity.metric


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def group_tables(report: AuditReport) -> list[Table]:
    tables = []
    attributes = list(dict.fromkeys(g.attribute for g in report.evaluation.groups))
    for attribute in attributes:
        table = Table(title=f"{attribute}", title_justify="left", title_style="bold")
        table.add_column("group")
        table.add_column("n", justify="right")
        table.add_column("labeled", justify="right")
        for _rate, heading in SHOWN_RATES:
            table.add_column(heading, justify="right")
        if report.scored:
            table.add_column("ECE", justify="right")
            table.add_column("calibration gap", justify="right")
        for group in report.evaluation.groups:
            if group.attribute != attribute:
                continue
            small = bool(group.small_rates)
            calibration = (Text(_number(group.ece)), _gap_cell(group)) if report.scored else ()
            table.add_row(
                Text(group.group, style="yellow" if small else ""),
                f"{group.n:,}",
                f"{group.n_labeled:,}",
                *(_rate_cell(group, rate) for rate, _heading in SHOWN_RATES),
                *calibration,
            )
        tables.append(table)
    return tables


def disparity_table(report: AuditReport) -> Table:
    level = round(report.options.engine.ci_level * 100)
    table = Table(title="disparities", title_justify="left", title_style="bold")
    for heading, justify in (
        ("attribute", "left"),
        ("metric", "left"),
        (f"value ({level}% CI)", "right"),
        ("threshold", "right"),
        ("status", "left"),
        ("highest vs lowest", "left"),
        ("min n", "right"),
        ("left out (small)", "left"),
    ):
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for disparity in report.evaluation.disparities:
        value = Text(_number(disparity.value))
        if disparity.ci_low is not None and disparity.ci_high is not None:
            value.append(f" {disparity.ci_low:.3f}–{disparity.ci_high:.3f}", style="dim")
        table.add_row(
            disparity.attribute,
            _metric_label(disparity),
            value,
            "—" if disparity.threshold is None else f"{disparity.threshold:g}",
            Text(STATUS_TEXT[disparity.status], style=STATUS_STYLE[disparity.status]),
            extremes_cell(disparity),
            f"{disparity.min_group_n:,}",
            Text(", ".join(disparity.small_groups), style="yellow"),
        )
    return table


def extremes_cell(disparity: Disparity) -> str:
    """``FPR African-American 0.448 vs Caucasian 0.235`` ("reference" for the reference's own
    ratio, "—" when not computable)."""
    if disparity.group is not None and disparity.group == disparity.reference_group:
        return "the reference"
    return disparity.extremes or "—"


def summary_line(report: AuditReport) -> Text:
    statuses = [d.status for d in report.evaluation.disparities]
    breaches = statuses.count("breach")
    engine = report.options.engine
    text = Text(f"{report.source}: {report.rows:,} rows, {report.labeled_rows:,} labeled; ")
    text.append(f"{breaches} breach(es)", style="bold red" if breaches else "green")
    text.append(
        f", {statuses.count('undecided')} undecided, {statuses.count('not_computable')} not "
        f"computable; {engine.mode} mode, groups under {engine.min_group_size} for a rate are "
        "left out of its comparisons (marked small)"
    )
    if engine.favourable(report.options.model_id) == 0:
        text.append("; prediction 0 is favourable")
    if report.evaluation.dropped_groups:
        text.append(f"; {report.evaluation.dropped_groups} small group(s) dropped by the cap")
    return text


def render_table(report: AuditReport, file: IO[str], width: int | None = None) -> None:
    console = Console(file=file, width=width or (None if file.isatty() else 160))
    console.print(summary_line(report))
    for table in group_tables(report):
        console.print(table)
    console.print(disparity_table(report))
    if report.proxies is not None:
        console.print(proxies_table(report.proxies))
