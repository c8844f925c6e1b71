"""docs/operations.md stays true: its Prometheus rules name metrics the daemon exports, its
dashboard links name provisioned dashboards, and the runbook covers every alert kind."""

from __future__ import annotations

import json
import re

import yaml

from alerting.metrics import HELP as ALERTING_HELP
from monitor.engine.disparities import METRICS
from monitor.health import metric_name
from monitor.sinks.influx import SAMPLE_HELP as SINK_HELP
from monitor.stream.counters import HELP as PIPELINE_HELP
from tests.deploy.dashboard_queries import ROOT

DOC = (ROOT / "docs/operations.md").read_text()


def _exported_families() -> set[str]:
    return {metric_name(name) for name in (*PIPELINE_HELP, *ALERTING_HELP, *SINK_HELP)}


def test_prometheus_rules_use_exported_metrics() -> None:
    block = re.search(r"```yaml\n(groups:.*?)```", DOC, flags=re.S)
    assert block is not None
    rules = yaml.safe_load(block.group(1))["groups"][0]["rules"]
    assert len(rules) >= 6
    families = _exported_families()
    for rule in rules:
        for name in re.findall(r"\bfairwatch_\w+", rule["expr"]):
            family = name.removesuffix("_total")
            assert family in families, f"{rule['alert']}: {name} is not exported"
            if name.endswith("_total"):
                assert family + "_total" == name


def test_dashboard_links_name_provisioned_dashboards() -> None:
    boards = (ROOT / "dashboards/json").glob("*.json")
    uids = {json.loads(path.read_text())["uid"] for path in boards}
    linked = set(re.findall(r"/d/([a-z0-9-]+)", DOC))
    assert linked and linked <= uids
    compose = (ROOT / "deploy/compose/fairwatch.yaml").read_text()
    assert set(re.findall(r"/d/([a-z0-9-]+)", compose)) <= uids
    anchors = re.findall(r"operations\.md#([a-z0-9-]+)", compose)
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", DOC, flags=re.M)
    }
    assert anchors and set(anchors) <= headings


def test_runbook_covers_every_disparity_metric_and_alert_kind() -> None:
    runbook = DOC.split("## Runbook", 1)[1]
    for metric in METRICS:
        base = metric.name.removesuffix("_difference").removesuffix("_ratio")
        words = base.replace("_", " ")
        assert words in runbook.lower(), f"no runbook entry for {metric.name}"
    for heading in (
        "disparity breach",
        "ratio to the reference group",
        "low volume",
        "retraining requested",
    ):
        assert f"### Runbook: {heading}" in runbook


def test_schema_doc_lists_every_pipeline_and_sink_counter() -> None:
    schema = (ROOT / "docs/influxdb-schema.md").read_text()
    section = schema.split("## `fairwatch_pipeline`", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \| (?:counter|gauge) \|", section, flags=re.M))
    assert listed == set(PIPELINE_HELP) | set(SINK_HELP)
