"""The machine form of a mitigation: plain JSON (shape documented in docs/mitigation.md)."""

from __future__ import annotations

from typing import Any

import orjson

from fairwatch.audit.render_json import disparity_dict, group_dict
from fairwatch.mitigate.core import Decisions, MitigationReport
from fairwatch.mitigate.reference import FAIRLEARN_CONSTRAINT, Reference
from monitor.engine.thresholds.outcome import Outcome


def _thresholds(report: MitigationReport, result: Outcome) -> dict[str, float]:
    names = [group.name for group in report.problem.groups]
    return dict(zip(names, result.thresholds, strict=True))


def _figures(result: Outcome) -> dict[str, Any]:
    return {
        "objective": result.objective,
        "accuracy": result.accuracy,
        "balanced_accuracy": result.balanced_accuracy,
        "disparity": result.disparity,
    }


def decisions_dict(report: MitigationReport, side: Decisions) -> dict[str, Any]:
    """One side's thresholds, figures and the engine's evaluation (the audit's JSON shapes)."""
    metric = report.problem.metric
    evaluation = side.evaluation
    constrained = [
        d for d in evaluation.disparities if d.metric == metric and d.attribute == report.attribute
    ]
    return {
        "thresholds": _thresholds(report, side.outcome),
        **_figures(side.outcome),
        "metric": disparity_dict(constrained[0]) if constrained else None,
        "groups": [group_dict(group) for group in evaluation.groups],
        "disparities": [disparity_dict(d) for d in evaluation.disparities],
    }


def reference_dict(report: MitigationReport, reference: Reference) -> dict[str, Any]:
    derandomised = reference.derandomised
    tolerance = report.curve[report.chosen].tolerance
    return {
        "method": "fairlearn.postprocessing.ThresholdOptimizer",
        "constraint": FAIRLEARN_CONSTRAINT[report.options.constraint],
        "tolerance": reference.tolerance,
        "expected": {
            "objective": reference.expected_objective,
            "accuracy": reference.expected_accuracy,
            "balanced_accuracy": reference.expected_balanced_accuracy,
            "disparity": reference.expected_disparity,
        },
        "derandomised": {
            "thresholds": _thresholds(report, derandomised),
            **_figures(derandomised),
            "meets_tolerance": derandomised.disparity is not None
            and derandomised.disparity <= tolerance,
        },
    }


def report_dict(report: MitigationReport) -> dict[str, Any]:
    options, problem = report.options, report.problem
    chosen = report.curve[report.chosen]
    after = report.after.outcome.thresholds
    return {
        "summary": {
            "source": report.source,
            "rows": report.rows,
            "labeled_rows": report.labeled_rows,
            "attribute": report.attribute,
            "constraint": options.constraint,
            "metric": problem.metric,
            "objective": options.objective,
            "tolerance": options.effective_tolerance,
            "min_accuracy": options.min_accuracy,
            "chosen_by": report.chosen_by,
            "chosen_tolerance": chosen.tolerance,
            "decision_rule": "score >= threshold",
            "baseline_threshold": options.threshold,
            "min_group_size": options.min_group_size,
            "ci_level": options.ci_level,
        },
        "groups": [
            {
                "group": group.name,
                "n": group.n,
                "labeled_positives": group.positives,
                "labeled_negatives": group.negatives,
                "searched": bool(searched),
                "threshold_before": options.threshold,
                "threshold_after": threshold,
            }
            for group, searched, threshold in zip(
                problem.groups, problem.searched(), after, strict=True
            )
        ],
        "before": decisions_dict(report, report.before),
        "after": decisions_dict(report, report.after),
        "curve": [
            {
                "tolerance": point.tolerance,
                **_figures(point.outcome),
                "pareto": point.pareto,
                "chosen": position == report.chosen,
                "thresholds": _thresholds(report, point.outcome),
            }
            for position, point in enumerate(report.curve)
        ],
        "reference": None if report.reference is None else reference_dict(report, report.reference),
    }


def render_json(report: MitigationReport) -> str:
    return orjson.dumps(report_dict(report), option=orjson.OPT_INDENT_2).decode()
