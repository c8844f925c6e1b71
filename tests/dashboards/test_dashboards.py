"""The dashboards without a server: the committed JSON is what dashboards/generate.py makes, the
layout is sound, and every query names only measurements, fields, tags and counters that the code
declares. (The queries run against a real InfluxDB in integration/test_dashboard_queries.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from alerting.metrics import ALERTING_METRICS
from dashboards.blocks import flux
from dashboards.names import check_query
from monitor.sinks.counters import SINK_METRICS
from monitor.sinks.points import PIPELINE_MEASUREMENT
from monitor.stream.counters import DAEMON_METRICS, GATE_METRICS, PIPELINE_METRICS
from tests.deploy.dashboard_queries import ROOT, dashboards, panel_queries

BOARDS = dashboards()


def test_there_are_four_provisioned_dashboards() -> None:
    assert sorted(BOARDS) == [
        "disparity-heatmap.json",
        "fleet-overview.json",
        "model-detail.json",
        "pipeline-health.json",
    ]
    for board in BOARDS.values():
        assert board["uid"].startswith("fairwatch-") and board["panels"]


def test_generated_json_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "dashboards/generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _all_panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for item in items for p in (item, *_all_panels(item.get("panels", [])))]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_layout_has_no_overlaps_and_ids_are_unique(name: str) -> None:
    panels = _all_panels(BOARDS[name]["panels"])
    assert len({panel["id"] for panel in panels}) == len(panels)
    boxes = []
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        boxes.append(
            (grid["x"], grid["y"], grid["x"] + grid["w"], grid["y"] + grid["h"], panel["title"])
        )
    for index, (x1, y1, x2, y2, title) in enumerate(boxes):
        for a1, b1, a2, b2, other in boxes[index + 1 :]:
            assert x2 <= a1 or a2 <= x1 or y2 <= b1 or b2 <= y1, f"{title} overlaps {other}"
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "fairwatch-influxdb"
            assert panel.get("description"), f"{panel['title']} has no description"


def _all_queries(board: dict[str, Any]) -> list[str]:
    queries = [query.text for query in panel_queries("", board)]
    return queries + [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_query_names_only_declared_measurements_fields_and_tags(name: str) -> None:
    queries = _all_queries(BOARDS[name])
    assert queries
    for query in queries:
        check_query(query)


def test_the_check_refuses_a_field_or_tag_the_schema_does_not_have() -> None:
    good = flux(
        'filter(fn: (r) => r._measurement == "fairness_group" and r._field == "tpr")',
        'keep(columns: ["_time", "_value", "group"])',
    )
    check_query(good)
    for wrong in (
        good.replace('"tpr"', '"true_positive_rate"'),  # no such field
        good.replace('"group"]', '"cohort"]'),  # no such tag
        good.replace("fairness_group", "fairness_groups"),  # no such measurement
        # a counter under its name before 0.2
        good.replace("fairness_group", "fairwatch_pipeline").replace("tpr", "events_consumed"),
    ):
        with pytest.raises(ValueError):
            check_query(wrong)


def test_pipeline_health_reads_declared_counters_with_their_labels() -> None:
    """Each pipeline query reads one declared counter or gauge and keeps exactly its labels."""
    declared = {
        m.name: m
        for m in (
            *PIPELINE_METRICS,
            *DAEMON_METRICS,
            *GATE_METRICS,
            *SINK_METRICS,
            *ALERTING_METRICS,
        )
    }
    read = set()
    for board in BOARDS.values():
        for query in _all_queries(board):
            if f'r._measurement == "{PIPELINE_MEASUREMENT}"' not in query:
                continue
            (name,) = re.findall(r'r\._field == "(\w+)"', query)
            metric = declared[name]
            kept = re.search(r"keep\(columns: \[(.*)\]\)", query)
            if kept:
                assert re.findall(r'"(\w+)"', kept.group(1)) == ["_time", "_value", *metric.labels]
            read.add(name)
    assert len(read) >= 12
