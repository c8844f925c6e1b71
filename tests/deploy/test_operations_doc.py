"""docs/operations.md stays true: its Prometheus rules name metrics the daemon exports, its
dashboard links name provisioned dashboards, and the runbook covers every alert kind. The metric
names in the docs are the declared ones (monitor.counters), and the 0.2 rename table is complete."""

from __future__ import annotations

import json
import re

import yaml

from alerting.metrics import ALERTING_METRICS
from monitor.counters import Metric
from monitor.engine.disparities import METRICS
from monitor.health import BUILD_INFO
from monitor.sinks.counters import SINK_METRICS
from monitor.stream.counters import DAEMON_METRICS, GATE_METRICS, PIPELINE_METRICS
from tests.deploy.dashboard_queries import ROOT

DOC = (ROOT / "docs/operations.md").read_text()
WRITTEN: tuple[Metric, ...] = (
    *PIPELINE_METRICS,
    *DAEMON_METRICS,
    *GATE_METRICS,
    *SINK_METRICS,
    *ALERTING_METRICS,
)
EXPORTED = {metric.name: metric for metric in (*WRITTEN, BUILD_INFO)}
RENAMED = DOC.split("### Metric names renamed in 0.2", 1)[1].split("\n#", 1)[0]


def _rename_table() -> list[tuple[str, str, str]]:
    """(InfluxDB field before 0.2, /metrics name before 0.2 or "unchanged", name from 0.2)."""
    rows = re.findall(r"^\| `(\w+)` \| (`\w+`|unchanged) \| `(\w+)` \|$", RENAMED, flags=re.M)
    return [(field, prom.strip("`"), new) for field, prom, new in rows]


def test_prometheus_rules_use_exported_metrics() -> None:
    block = re.search(r"```yaml\n(groups:.*?)```", DOC, flags=re.S)
    assert block is not None
    rules = yaml.safe_load(block.group(1))["groups"][0]["rules"]
    assert len(rules) >= 6
    for rule in rules:
        for name in re.findall(r"\bfairwatch_\w+", rule["expr"]):
            assert name in EXPORTED, f"{rule['alert']}: {name} is not exported"
        for name in re.findall(r"\b(?:rate|increase)\((fairwatch_\w+)", rule["expr"]):
            assert EXPORTED[name].kind == "counter", f"{rule['alert']}: rate() of gauge {name}"


def test_the_docs_name_only_declared_metrics() -> None:
    """Outside the rename table (and the sentence of alerting.md that names the old names), every
    ``fairwatch_...`` name in the docs is a declared metric or the measurement."""
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text().replace(RENAMED, "")
        text = re.sub(r"^.*before 0\.2.*$", "", text, flags=re.M)
        for name in re.findall(r"\bfairwatch_\w+", text):
            if name.endswith("_"):  # a family written with a wildcard: fairwatch_alert_..._*_total
                continue
            assert name in EXPORTED or name == "fairwatch_pipeline", f"{path.name}: {name}"


def test_the_rename_table_maps_every_old_name_to_a_declared_one() -> None:
    rows = _rename_table()
    assert len({field for field, _prom, _new in rows}) == len(rows)
    assert len({new for _field, _prom, new in rows}) == len(rows)
    for field, prom, new in rows:
        assert new in EXPORTED, new
        assert prom == "unchanged" or prom != new, (prom, new)
        if prom == "unchanged":  # was exported under this name already
            assert new == "fairwatch_" + field + (
                "_total" if EXPORTED[new].kind == "counter" else ""
            )
    # every metric of the pipeline, the daemon, the gate and the sinks had another field before,
    # but those added since (kafka.mode: pane_counts)
    renamed = {new for _field, _prom, new in rows}
    added_since = {
        "fairwatch_pipeline_panes_updated_total",
        "fairwatch_pipeline_panes_ignored_total",
    }
    declared = {
        metric.name for metric in (*PIPELINE_METRICS, *DAEMON_METRICS, *GATE_METRICS, *SINK_METRICS)
    }
    assert declared - added_since <= renamed
    assert added_since <= declared and not added_since & renamed


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


def test_schema_doc_lists_every_written_metric_with_its_kind_and_labels() -> None:
    schema = (ROOT / "docs/influxdb-schema.md").read_text()
    section = schema.split("## `fairwatch_pipeline`", 1)[1].split("\n## ", 1)[0]
    listed = {
        name: (kind, tuple(re.findall(r"`(\w+)`", labels)))
        for name, kind, labels in re.findall(
            r"^\| `(\w+)` \| (counter|gauge) \|([^|]*)\|", section, flags=re.M
        )
    }
    assert listed == {metric.name: (metric.kind, metric.labels) for metric in WRITTEN}
