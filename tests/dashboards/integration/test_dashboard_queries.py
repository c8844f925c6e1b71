"""Every Flux query of every dashboard panel, variable and annotation runs against the real
InfluxDB (1.8, Flux 0.65) after events went through the real daemon into the InfluxDB sink,
and returns rows. The example queries of docs/influxdb-schema.md are run the same way.

(The checks that need no server are in tests/dashboards/test_dashboards.py.)"""

from __future__ import annotations

import itertools
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerting.metrics import NOTIFICATIONS_FAILED
from monitor.counters import Counters
from monitor.sinks.counters import WRITE_FAILURES
from monitor.sinks.influx import InfluxSink
from monitor.sinks.points import pipeline_rows
from monitor.stream.counters import (
    EVENTS_DEAD_LETTERED,
    EVENTS_LATE,
    LABELS_JOINED,
    WINDOWS_EVALUATED,
)
from monitor.types import CounterSample
from tests.deploy.dashboard_queries import ROOT, dashboards, interpolate, panel_queries
from tests.deploy.pipeline_seed import events, run_daemon
from tests.monitor.sinks.influx_servers import InfluxTarget

pytestmark = pytest.mark.integration

HOUR = 3600.0
PREFERRED = {"attribute": "sex", "window": "1h"}


@dataclass(frozen=True)
class Seeded:
    target: InfluxTarget
    model_id: str
    start: datetime
    stop: datetime


def _failing_sink_samples(step: int) -> list[Any]:
    """The counters of an InfluxDB sink pointed at a closed port on 127.0.0.1 (real failures)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = InfluxSink(
        f"http://127.0.0.1:{port}",
        "t",
        "o",
        "b",
        flush_interval=0.01,
        retry_initial=0.01,
        retry_max=0.02,
        timeout=1.0,
    )
    sink.write_rows(pipeline_rows([CounterSample("probe", 1.0)], now=0.0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        s.name == WRITE_FAILURES.name and s.value >= step for s in sink.samples()
    ):
        time.sleep(0.01)
    samples = [s for s in sink.samples() if s.name == WRITE_FAILURES.name]
    sink.close(timeout=0.1)
    return [
        CounterSample(s.name, float(step), {**s.labels, "sink": "failing"}, s.kind) for s in samples
    ]


def _supplement(step: int) -> list[Any]:
    """Counters a short run cannot produce: notification failures (the alert manager's counter
    class) and sink write failures (from a sink that really failed), growing with ``step``."""
    alerts = Counters()
    alerts.inc(NOTIFICATIONS_FAILED, step, receiver="slack", reason="server")
    return [*alerts.samples(), *_failing_sink_samples(step)]


@pytest.fixture
def seeded(influxdb_database: Any, tmp_path: Path) -> Iterator[Seeded]:
    """Twelve hours of biased events through the real daemon into a database of their own."""
    influx_target = InfluxTarget.of(influxdb_database)
    model_id = f"dash-{uuid.uuid4().hex[:8]}"
    now = time.time()
    start = now - now % HOUR - 12 * HOUR

    def sink() -> InfluxSink:
        return InfluxSink(
            influx_target.url,
            influx_target.token,
            influx_target.org,
            influx_target.bucket,
            flush_interval=0.1,
        )

    ticks = itertools.count()
    daemon = run_daemon(
        model_id,
        events(model_id, start, hours=12),
        sink(),
        tmp_path,
        clock=lambda: now - 1800 + 20 * next(ticks),
    )
    counters = daemon.pipeline.counters
    assert counters.get(WINDOWS_EVALUATED) >= 12 and counters.get(LABELS_JOINED) > 0
    assert counters.total(EVENTS_LATE)
    assert daemon.counters.get(EVENTS_DEAD_LETTERED) == 2
    extra = sink()
    for step in (1, 2, 3):
        extra.write_pipeline(_supplement(step), now=now - (3 - step) * 60)
    extra.flush()
    extra.close()
    stop = datetime.fromtimestamp(now + 60, UTC)
    yield Seeded(influx_target, model_id, stop - timedelta(days=2), stop)


def _run(seeded: Seeded, flux: str) -> list[dict[str, Any]]:
    with seeded.target.client() as client:
        tables = client.query_api().query(flux, org=seeded.target.org)
    return [record.values for table in tables for record in table.records]


def _variables(seeded: Seeded, board: dict[str, Any]) -> dict[str, list[str]]:
    """Each variable's values, resolved in order like Grafana: query variables are run (and must
    return values), and the value used for later queries is the seeded model, ``sex``, ``1h``."""
    chosen: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "custom":
            options = [option["value"] for option in variable["options"]]
        else:
            flux = interpolate(
                variable["query"], chosen, seeded.start, seeded.stop, seeded.target.bucket
            )
            options = [str(row["_value"]) for row in _run(seeded, flux)]
        assert options, f"variable {name} returned no values"
        preferred = seeded.model_id if name == "model" else PREFERRED.get(name, options[0])
        assert preferred in options, (name, options)
        chosen[name] = preferred
        values[name] = [preferred, *(o for o in options if o != preferred)]
    return values


BOARDS = dashboards()


def test_every_dashboard_and_doc_query_returns_rows(seeded: Seeded) -> None:
    ran = sum(_check_board(seeded, name, board) for name, board in BOARDS.items())
    assert ran >= 35
    _check_schema_doc_examples(seeded)


def _check_board(seeded: Seeded, name: str, board: dict[str, Any]) -> int:
    values = _variables(seeded, board)
    custom = {v["name"] for v in board["templating"]["list"] if v["type"] == "custom"}
    queries = panel_queries(name, board)
    assert queries
    ran = 0
    for query in queries:
        used = set(re.findall(r"\$\{?(\w+)", query.text))
        # a repeated panel runs once per value; custom variables are tried with every option
        expand = [v for v in used if v == query.repeat or v in custom]
        combinations = [{}] if not expand else [{expand[0]: value} for value in values[expand[0]]]
        for override in combinations:
            chosen = {key: options[0] for key, options in values.items()} | override
            flux = interpolate(query.text, chosen, seeded.start, seeded.stop, seeded.target.bucket)
            rows = _run(seeded, flux)
            assert rows, f"{query.dashboard} {query.where} {override} returned no rows:\n{flux}"
            ran += 1
    assert ran >= len(queries)
    return ran


def _check_schema_doc_examples(seeded: Seeded) -> None:
    text = (ROOT / "docs/influxdb-schema.md").read_text()
    examples = re.findall(r"```flux\n(.*?)```", text, flags=re.S)
    assert len(examples) >= 3
    for example in examples:
        flux = example.replace('"fairwatch"', f'"{seeded.target.bucket}"').replace(
            '"credit"', f'"{seeded.model_id}"'
        )
        assert _run(seeded, flux), f"no rows:\n{flux}"
