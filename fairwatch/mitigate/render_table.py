"""The terminal form of a mitigation: thresholds, rates and disparities before → after, curve."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fairwatch.mitigate.core import MitigationReport
from monitor.engine.results import Disparity, GroupResult
from monitor.engine.thresholds.candidates import SELECT_NONE

RATES = (("selection_rate", "selection rate"), ("tpr", "TPR"), ("fpr", "FPR"))
#: The difference metrics shown before → after (the constraint's first).
SHOWN_METRICS = (
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
    "accuracy_difference",
    "demographic_parity_ratio",
)
STATUS_STYLE = {"breach": "bold red", "undecided": "yellow", "ok": "green", "not_computable": "dim"}


def threshold_text(threshold: float) -> str:
    """``0.4127`` or ``nobody`` (the threshold above every score)."""
    return "nobody" if threshold >= SELECT_NONE else f"{threshold:.4f}"


def shown_metrics(report: MitigationReport) -> list[str]:
    metric = report.problem.metric
    return [metric, *(name for name in SHOWN_METRICS if name != metric)]


def _by_metric(disparities: tuple[Disparity, ...], attribute: str) -> dict[str, Disparity]:
    return {d.metric: d for d in disparities if d.attribute == attribute and d.group is None}


def _value(disparity: Disparity | None) -> Text:
    if disparity is None or disparity.value is None:
        return Text("—", style="dim")
    text = Text(f"{disparity.value:.3f}")
    if disparity.ci_low is not None and disparity.ci_high is not None:
        text.append(f" {disparity.ci_low:.3f}–{disparity.ci_high:.3f}", style="dim")
    return text


def _rate(group: GroupResult, rate: str) -> str:
    value = group.rates.get(rate)
    return "—" if value is None else f"{value:.3f}"


def threshold_table(report: MitigationReport) -> Table:
    table = Table(
        title=f"thresholds ({report.attribute})", title_justify="left", title_style="bold"
    )
    for heading in ("group", "n", "threshold", *(name for _rate, name in RATES)):
        table.add_column(heading, justify="left" if heading == "group" else "right")
    before = {g.group: g for g in report.before.evaluation.groups}
    after = {g.group: g for g in report.after.evaluation.groups}
    searched = report.problem.searched()
    for group, flag, threshold in zip(
        report.problem.groups, searched, report.after.outcome.thresholds, strict=True
    ):
        old, new = before.get(group.name), after.get(group.name)
        cells = [
            f"{_rate(old, rate)} → {_rate(new, rate)}" if old and new else "—"
            for rate, _name in RATES
        ]
        label = Text(group.name) if flag else Text(f"{group.name} (kept: small)", style="yellow")
        table.add_row(
            label,
            f"{group.n:,}",
            f"{report.options.threshold:g} → {threshold_text(threshold)}",
            *cells,
        )
    return table


def disparity_table(report: MitigationReport) -> Table:
    level = round(report.options.ci_level * 100)
    table = Table(title="disparities before → after", title_justify="left", title_style="bold")
    table.add_column("metric")
    table.add_column(f"before ({level}% CI)", justify="right")
    table.add_column(f"after ({level}% CI)", justify="right")
    table.add_column("status after")
    before = _by_metric(report.before.evaluation.disparities, report.attribute)
    after = _by_metric(report.after.evaluation.disparities, report.attribute)
    for metric in shown_metrics(report):
        new = after.get(metric)
        status = Text("—") if new is None else Text(new.status, style=STATUS_STYLE[new.status])
        name = f"{metric} (constrained)" if metric == report.problem.metric else metric
        table.add_row(name, _value(before.get(metric)), _value(new), status)
    return table


def curve_table(report: MitigationReport) -> Table:
    objective = report.options.objective
    table = Table(title="trade-off curve", title_justify="left", title_style="bold")
    table.add_column("tolerance", justify="right")
    table.add_column(report.problem.metric.replace("_", " "), justify="right")
    for heading, name in (("accuracy", "accuracy"), ("balanced accuracy", "balanced_accuracy")):
        table.add_column(heading + (" (objective)" if name == objective else ""), justify="right")
    table.add_column("")
    for position, point in enumerate(report.curve):
        result = point.outcome
        marks = ["chosen"] if position == report.chosen else []
        marks += ["pareto"] if point.pareto else []
        style = "bold" if position == report.chosen else ("" if point.pareto else "dim")
        table.add_row(
            f"{point.tolerance:.4f}",
            _number(result.disparity),
            f"{result.accuracy:.4f}",
            f"{result.balanced_accuracy:.4f}",
            " ".join(marks),
            style=style,
        )
    return table


def summary_lines(report: MitigationReport) -> list[Text]:
    before, after = report.before.outcome, report.after.outcome
    chosen = report.curve[report.chosen]
    how = (
        f"tolerance {chosen.tolerance:g}"
        if report.chosen_by == "tolerance"
        else f"the fairest Pareto point with accuracy ≥ {report.options.min_accuracy:g} "
        f"(tolerance {chosen.tolerance:.4f})"
    )
    lines = [
        Text(
            f"{report.source}: {report.rows:,} rows, {report.labeled_rows:,} labeled; "
            f"{report.options.constraint} on {report.attribute}, {how}"
        ),
        Text(
            f"{report.problem.metric}: {_number(before.disparity)} → {_number(after.disparity)}; "
            f"accuracy {before.accuracy:.4f} → {after.accuracy:.4f}; balanced accuracy "
            f"{before.balanced_accuracy:.4f} → {after.balanced_accuracy:.4f}",
            style="bold",
        ),
    ]
    reference = report.reference
    if reference is not None:
        derandomised = reference.derandomised
        lines.append(
            Text(
                f"fairlearn ThresholdOptimizer (randomised): accuracy "
                f"{reference.expected_accuracy:.4f} at disparity "
                f"{_number(reference.expected_disparity)}; its derandomised thresholds: "
                f"accuracy {derandomised.accuracy:.4f} at disparity "
                f"{_number(derandomised.disparity)}",
                style="dim",
            )
        )
    return lines


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def render_table(report: MitigationReport, file: IO[str], width: int | None = None) -> None:
    console = Console(file=file, width=width or (None if file.isatty() else 160))
    for line in summary_lines(report):
        console.print(line)
    console.print(threshold_table(report))
    console.print(disparity_table(report))
    console.print(curve_table(report))
