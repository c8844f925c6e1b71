"""The machine form of an audit: plain JSON (shape documented in docs/metrics.md)."""

from __future__ import annotations

from typing import Any

import orjson

from fairwatch.audit.core import AuditReport
from fairwatch.audit.fail_on import GateResult
from fairwatch.audit.render_proxies import proxies_dict
from monitor.engine.rates import RATE_NAMES
from monitor.engine.results import Disparity, GroupResult


def group_dict(group: GroupResult) -> dict[str, Any]:
    result: dict[str, Any] = {
        "attribute": group.attribute,
        "group": group.group,
        "n": group.n,
        "n_labeled": group.n_labeled,
        "predicted_positive": group.predicted_positive,
        "tp": group.tp,
        "fp": group.fp,
        "tn": group.tn,
        "fn": group.fn,
    }
    for rate in RATE_NAMES:
        result[rate] = group.rates.get(rate)
    result["label_coverage"] = group.label_coverage
    result["ece"] = group.ece
    result["calibration_gap"] = group.calibration_gap
    for rate in RATE_NAMES:
        interval = group.intervals.get(rate)
        result[f"{rate}_ci"] = None if interval is None else [interval[0], interval[1]]
    result["small_rates"] = list(group.small_rates)
    result["reliability"] = [
        {
            "lower": item.lower,
            "upper": item.upper,
            "n": item.n,
            "mean_score": item.mean_score,
            "observed_rate": item.observed_rate,
        }
        for item in group.reliability
    ]
    return result


def disparity_dict(disparity: Disparity) -> dict[str, Any]:
    interval = None
    if disparity.ci_low is not None and disparity.ci_high is not None:
        interval = [disparity.ci_low, disparity.ci_high]
    return {
        "attribute": disparity.attribute,
        "metric": disparity.metric,
        "value": disparity.value,
        "ci": interval,
        "min_group_n": disparity.min_group_n,
        "status": disparity.status,
        "threshold": disparity.threshold,
        "mode": disparity.mode,
        "group": disparity.group,
        "reference_group": disparity.reference_group,
        "rate": disparity.rate,
        "highest_group": disparity.highest_group,
        "highest_rate": disparity.highest_rate,
        "lowest_group": disparity.lowest_group,
        "lowest_rate": disparity.lowest_rate,
        "small_groups": list(disparity.small_groups),
    }


def gate_dict(gate: GateResult) -> dict[str, Any]:
    return {
        "passed": not gate.failed,
        "allow_insufficient": gate.allow_insufficient,
        "rules": [
            {
                "rule": result.rule,
                "verdict": result.verdict,
                "summary": result.summary,
                "reasons": list(result.reasons),
            }
            for result in gate.results
        ],
    }


def report_dict(report: AuditReport, gate: GateResult | None = None) -> dict[str, Any]:
    evaluation = report.evaluation
    statuses = [d.status for d in evaluation.disparities]
    engine = report.options.engine
    result: dict[str, Any] = {
        "groups": [group_dict(group) for group in evaluation.groups],
        "disparities": [disparity_dict(d) for d in evaluation.disparities],
        "summary": {
            "source": report.source,
            "rows": report.rows,
            "labeled_rows": report.labeled_rows,
            "dropped_groups": evaluation.dropped_groups,
            "breaches": statuses.count("breach"),
            "undecided": statuses.count("undecided"),
            "not_computable": statuses.count("not_computable"),
            "mode": engine.mode,
            "ci_level": engine.ci_level,
            "min_group_size": engine.min_group_size,
            "favourable_prediction": engine.favourable(report.options.model_id),
            "gate_failures": gate.failures() if gate is not None else [],
            "gate": gate_dict(gate) if gate is not None else None,
        },
    }
    if report.proxies is not None:
        result["proxies"] = proxies_dict(report.proxies)
    return result


def render_json(report: AuditReport, gate: GateResult | None = None) -> str:
    return orjson.dumps(report_dict(report, gate), option=orjson.OPT_INDENT_2).decode()
