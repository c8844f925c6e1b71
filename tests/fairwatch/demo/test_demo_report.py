"""The demo's report (:mod:`fairwatch.demo.report`) from what a sink holds.

A few windows are evaluated and written to an embedded sink; the report draws one disparity
figure and one group-rate figure per attribute from them, lists the alert and the run's facts,
and writes a JSON twin with the same alerts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fairwatch.demo.report import ReportData, hours, when, write_report
from fairwatch.episodes import Episode
from fairwatch.report.timeseries import Span
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.sinks.embedded import EmbeddedSink

HOUR = 3600.0
START = 1_767_571_200.0  # Mon 05 Jan 2026 00:00 UTC


@pytest.fixture
def sink(tmp_path: Path) -> EmbeddedSink:
    sink = EmbeddedSink(tmp_path / "metrics.sqlite")
    evaluations = []
    for hour in range(6):
        female = 120 if hour < 3 else 40  # the drift: women selected far less from hour 3 on
        counts = {
            ("sex", "Female"): GroupCounts(400, female, female // 2, female // 2, 140, 140),
            ("sex", "Male"): GroupCounts(400, 120, 60, 60, 140, 140),
            ("race", "Black"): GroupCounts(300, 90, 45, 45, 100, 110),
            ("race", "White"): GroupCounts(500, 150, 75, 75, 170, 180),
        }
        end = START + (hour + 1) * HOUR
        evaluations.append(
            evaluate("credit", "1h", end - HOUR, end, counts, EngineConfig(bootstrap_samples=100))
        )
    sink.on_evaluations(evaluations, START + 7 * HOUR, START + 7 * HOUR)
    sink.flush()
    yield sink
    sink.close()


def report_data(alerts: list[Episode]) -> ReportData:
    return ReportData(
        title="demo <test>",
        model_id="credit",
        window="1h",
        metric="demographic_parity_difference",
        attributes=("sex", "race"),
        threshold=0.1,
        clear_threshold=0.07,
        min_group_size=100,
        start=START,
        end=START + 6 * HOUR,
        drift=Span(START + 3 * HOUR, START + 6 * HOUR, "injected drift"),
        drift_description="Women are selected less from hour 3 on.",
        alerts=alerts,
        facts=[("Seed", "7"), ("Data", "made up <here>")],
        summary={"events": 4800},
    )


def test_the_report_shows_each_attribute_the_alert_and_the_facts(
    tmp_path: Path, sink: EmbeddedSink
) -> None:
    alert = Episode(
        rule="selection-rate-parity",
        model_id="credit",
        attribute="sex",
        metric="demographic_parity_difference",
        window="1h",
        fired_at=START + 4 * HOUR,
        resolved_at=None,
        value_at_firing=0.2,
        peak_value=0.2,
        fingerprint="abc123",
    )
    html_path, json_path = write_report(tmp_path / "out", report_data([alert]), sink)
    page = html_path.read_text(encoding="utf-8")
    assert "<title>demo &lt;test&gt;</title>" in page
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.DOTALL)
    assert len(captions) == 1 + 2 * 2  # the timeline, then per attribute: disparity, rates
    assert page.count("<svg") == 5
    assert page.index("<b>sex</b>") < page.index("<b>race</b>")  # in the order asked
    assert "selection-rate-parity" in page and "abc123" in page and "0.200" in page
    assert when(alert.fired_at) in page and "Mon 05 Jan 04:00 UTC" in page
    assert "made up &lt;here&gt;" in page  # facts are text
    # cards: no alert before the drift, detected one hour after it began, not resolved
    assert re.search(r"Drift detected after</div><div class=\"value\">1.0 h<", page)
    assert re.search(r"Resolved after drift end</div><div class=\"value\">not resolved<", page)
    machine = json.loads(json_path.read_text(encoding="utf-8"))
    assert machine["events"] == 4800
    assert [a["fingerprint"] for a in machine["alerts"]] == ["abc123"]


def test_time_helpers() -> None:
    assert when(None) == "—" and hours(None) == "—"
    assert when(START) == "Mon 05 Jan 00:00 UTC"
    assert hours(5400) == "1.5 h"
