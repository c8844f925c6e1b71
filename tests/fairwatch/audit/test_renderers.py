"""The three forms of an audit (``render_json``, ``render_table``, ``render_html``) say the same.

One report is rendered three ways; each form carries every group's counts and every
disparity's verdict, and the gate's result when there is one.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from fairwatch.audit.core import AuditOptions, AuditReport, run_audit
from fairwatch.audit.fail_on import parse_rules, run_gate
from fairwatch.audit.render_html import render_html
from fairwatch.audit.render_json import render_json, report_dict
from fairwatch.audit.render_table import extremes_cell, render_table
from monitor.engine.evaluate import EngineConfig
from tests.paths import DATA


@pytest.fixture(scope="module")
def report() -> AuditReport:
    options = AuditOptions(attributes=("sex", "race"), engine=EngineConfig(bootstrap_samples=200))
    return run_audit(DATA / "audit_events.jsonl", options)


def gate(report: AuditReport):
    engine = report.options.engine
    return run_gate(
        report.evaluation.disparities,
        report.evaluation.groups,
        parse_rules("sex:demographic_parity_difference"),
        mode=engine.mode,
        min_group_size=engine.min_group_size,
        ci_level=engine.ci_level,
    )


def test_json_carries_every_group_and_disparity_with_missing_as_null(report: AuditReport) -> None:
    verdict = gate(report)
    data = json.loads(render_json(report, verdict))
    assert data == json.loads(json.dumps(report_dict(report, verdict)))
    groups = {(g["attribute"], g["group"]): g for g in data["groups"]}
    for group in report.evaluation.groups:
        row = groups[(group.attribute, group.group)]
        assert (row["n"], row["tp"], row["fp"], row["tn"], row["fn"]) == (
            group.n, group.tp, group.fp, group.tn, group.fn,
        )  # fmt: skip
        for rate, value in group.rates.items():
            assert row[rate] == value  # None stays null
    assert len(data["disparities"]) == len(report.evaluation.disparities)
    assert data["summary"]["breaches"] == sum(
        d.status == "breach" for d in report.evaluation.disparities
    )
    assert data["summary"]["gate"]["passed"] is not verdict.failed
    assert [rule["rule"] for rule in data["summary"]["gate"]["rules"]] == [
        result.rule for result in verdict.results
    ]
    assert data["summary"]["gate_failures"] == verdict.failures()


def test_the_table_names_every_group_and_verdict(report: AuditReport) -> None:
    out = io.StringIO()
    render_table(report, out, width=200)
    text = out.getvalue()
    assert text.startswith(f"{report.source}: 400 rows, 360 labeled")
    for group in report.evaluation.groups:
        assert group.group in text
    assert "BREACH" in text  # sex: demographic parity
    for disparity in report.evaluation.disparities:
        if disparity.value is not None and disparity.group is None:
            assert f"{disparity.value:.3f}" in text


def test_the_page_has_a_section_and_figures_per_attribute(report: AuditReport) -> None:
    page = render_html(report, gate(report))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    attributes = list(dict.fromkeys(group.attribute for group in report.evaluation.groups))
    assert re.findall(r"<h2>(\w+)</h2>", page) == attributes == ["race", "sex"]
    # per attribute: rates, reference ratios, reliability (the rows have scores)
    assert page.count("<figure") == 1 + 3 * 2
    assert page.count("<svg") == page.count("<figure")
    for disparity in report.evaluation.disparities:
        assert extremes_cell(disparity).replace("·", "") in page.replace("·", "")
    assert '<span class="badge breach">FAIL</span>' in page  # the gate's verdict


def test_extremes_name_the_reference_and_the_undefined() -> None:
    from monitor.engine.results import Disparity

    reference = Disparity("sex", "selection_rate_ratio_to_reference", 1.0, 1.0, 1.0, 40, "ok",
                          0.8, group="M", reference_group="M")  # fmt: skip
    missing = Disparity("sex", "demographic_parity_difference", None, None, None, 3,
                        "not_computable", 0.1)  # fmt: skip
    assert extremes_cell(reference) == "the reference"
    assert extremes_cell(missing) == "—"
