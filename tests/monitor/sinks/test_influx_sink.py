"""The InfluxDB sink against a real InfluxDB server (1.8 with its 2.x API): content, overwrite,
outage and restart, rejected writes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from influxdb_client.client.write_api import SYNCHRONOUS

from monitor.engine.results import Disparity, WindowEvaluation
from monitor.sinks.embedded import EmbeddedSink
from monitor.sinks.errors import SinkRejectedError, SinkUnavailableError
from monitor.sinks.influx import InfluxSink
from monitor.sinks.points import (
    DISPARITY_MEASUREMENT,
    GROUP_MEASUREMENT,
    PIPELINE_MEASUREMENT,
    evaluation_rows,
)
from monitor.types import CounterSample
from tests.monitor.sinks.influx_servers import InfluxTarget, canonical, read_rows
from tests.monitor.sinks.sink_builders import engine_evaluations, make_evaluation

pytestmark = pytest.mark.integration

HOUR = 3600.0
START = 1_700_000_000.0 - 1_700_000_000.0 % HOUR


def _sink(target: InfluxTarget, **options: Any) -> InfluxSink:
    options = {
        "flush_interval": 0.1,
        "retry_initial": 0.1,
        "retry_max": 0.5,
        "timeout": 3.0,
        **options,
    }
    return InfluxSink(target.url, target.token, target.org, target.bucket, **options)


def _expected(evaluations: list, measurement: str) -> list:
    rows = evaluation_rows(evaluations)
    return canonical([row for row in rows if row.measurement == measurement])


def test_engine_evaluations_read_back_exactly_and_equal_the_embedded_sink(
    influxdb_database: Any,
    tmp_path: Path,
) -> None:
    influx_target = InfluxTarget.of(influxdb_database)
    model = f"sink-{uuid.uuid4().hex[:8]}"
    evaluations = engine_evaluations(model, [START + HOUR, START + 2 * HOUR])
    sink = _sink(influx_target)
    sink.on_evaluations(evaluations, now=START + 2 * HOUR, watermark=START + 2 * HOUR)
    sink.flush()
    assert sink.backlog() == 0
    sink.close()
    embedded = EmbeddedSink(tmp_path / "metrics.db")
    embedded.on_evaluations(evaluations, now=START + 2 * HOUR, watermark=START + 2 * HOUR)
    for measurement in (GROUP_MEASUREMENT, DISPARITY_MEASUREMENT):
        stored = read_rows(influx_target, measurement, model)
        assert len(stored) == len(
            [r for r in evaluation_rows(evaluations) if r.measurement == measurement]
        )
        assert canonical(stored) == _expected(evaluations, measurement)
        assert canonical(stored) == canonical(embedded.rows(measurement))
    # field types survive the round trip: counts as integers, rates as floats
    group = next(row for row in read_rows(influx_target, GROUP_MEASUREMENT, model))
    assert type(group.fields["n"]) is int and type(group.fields["selection_rate"]) is float


def test_writing_a_window_again_overwrites_its_points(influx_target: InfluxTarget) -> None:
    model = f"sink-{uuid.uuid4().hex[:8]}"
    sink = _sink(influx_target)
    first = engine_evaluations(model, [START + HOUR], bias=0.0, seed=1)
    revised = engine_evaluations(model, [START + HOUR], bias=0.3, seed=2)
    sink.on_evaluations(first, now=0, watermark=0)
    sink.flush()
    sink.on_evaluations(revised, now=1, watermark=1)
    # the same revision twice: still one point each
    sink.on_evaluations(revised, now=2, watermark=2)
    sink.flush()
    sink.close()
    for measurement in (GROUP_MEASUREMENT, DISPARITY_MEASUREMENT):
        assert canonical(read_rows(influx_target, measurement, model)) == _expected(
            revised, measurement
        )


def _small_groups_window(model: str, small: tuple[str, ...]) -> WindowEvaluation:
    """One window's race parity, with ``small`` too small to be compared."""
    parity = Disparity(
        "race", "demographic_parity_difference", 0.2, 0.12, 0.28, 40 if small else 60, "breach",
        0.1, rate="selection_rate", highest_group="Black", highest_rate=0.5,
        lowest_group="White", lowest_rate=0.3, small_groups=small,
    )  # fmt: skip
    return WindowEvaluation(model, "1h", START, START + HOUR, (), (parity,))


def test_a_rewritten_window_no_longer_names_a_group_that_was_small(
    influx_target: InfluxTarget,
) -> None:
    """Early in a window's life a group is too small; once its labels are in it is compared.
    InfluxDB keeps a field a rewrite leaves out: the sink writes ``small_groups`` as ``""``."""
    model = f"sink-{uuid.uuid4().hex[:8]}"
    sink = _sink(influx_target)
    early = _small_groups_window(model, ("Asian",))
    later = _small_groups_window(model, ())
    sink.on_evaluations([early], now=0, watermark=0)
    sink.flush()
    (first,) = read_rows(influx_target, DISPARITY_MEASUREMENT, model)
    assert first.fields["small_groups"] == "Asian"
    sink.on_evaluations([later], now=1, watermark=1)
    sink.flush()
    sink.close()
    (point,) = read_rows(influx_target, DISPARITY_MEASUREMENT, model)
    assert "small_groups" not in point.fields and point.fields["min_group_n"] == 60
    assert canonical([point]) == _expected([later], DISPARITY_MEASUREMENT)
    # what the server holds: the field, empty (Flux reads an empty string as null), not "Asian"
    # (a dashboard's table shows no small group)
    flux = (
        f'from(bucket: "{influx_target.bucket}") |> range(start: 1970-01-01T00:00:00Z) '
        f'|> filter(fn: (r) => r._measurement == "{DISPARITY_MEASUREMENT}" and '
        f'r.model_id == "{model}" and r._field == "small_groups")'
    )
    with influx_target.client() as client:
        values = [
            record.get_value()
            for table in client.query_api().query(flux, org=influx_target.org)
            for record in table.records
        ]
    assert len(values) == 1 and values[0] in ("", None)


def test_pipeline_samples_are_written(influx_target: InfluxTarget) -> None:
    model = f"sink-{uuid.uuid4().hex[:8]}"
    sink = _sink(influx_target)
    sink.write_pipeline(
        [
            CounterSample(
                "fairwatch_pipeline_events_invalid_total",
                3,
                {"reason": "bad_json", "model_id": model},
            ),
            CounterSample("fairwatch_pipeline_events_consumed_total", 40, {"model_id": model}),
        ],
        now=START + 30,
    )
    sink.flush()
    sink.close()
    rows = read_rows(influx_target, PIPELINE_MEASUREMENT, model)
    assert sorted((dict(row.tags).get("reason", ""), row.fields) for row in rows) == [
        ("", {"fairwatch_pipeline_events_consumed_total": 40.0}),
        ("bad_json", {"fairwatch_pipeline_events_invalid_total": 3.0}),
    ]


def test_survives_the_server_going_away_and_coming_back(
    local_servers_factory: Callable[[str], Any],
) -> None:
    server = local_servers_factory("influxdb")  # dedicated: this test stops and restarts it
    target = InfluxTarget.of(server)
    model = f"outage-{uuid.uuid4().hex[:8]}"
    sink = _sink(target, max_backlog=100)
    before = engine_evaluations(model, [START + HOUR])
    sink.on_evaluations(before, now=0, watermark=0)
    sink.flush()
    assert sink.is_reachable()

    server.stop()
    during = engine_evaluations(model, [START + 2 * HOUR, START + 3 * HOUR], seed=3)
    revised_before = engine_evaluations(model, [START + HOUR], bias=0.3, seed=4)
    sink.on_evaluations(during, now=1, watermark=1)
    sink.on_evaluations(revised_before, now=2, watermark=2)
    with pytest.raises(SinkUnavailableError, match="did not accept"):
        sink.flush(timeout=1.0)
    assert sink.backlog() == len(evaluation_rows(during + revised_before))  # nothing dropped
    assert sink.is_full()  # the daemon pauses consumption here
    assert not sink.is_reachable()
    assert not sink.wait_for_space(timeout=0.2)
    failures = {
        s.labels.get("reason"): s.value
        for s in sink.samples()
        if s.name == "fairwatch_sink_write_failures_total"
    }
    assert failures.get("connection", 0) >= 1

    server.start()
    sink.flush(timeout=60)
    assert sink.backlog() == 0 and not sink.is_full() and sink.is_reachable()
    sink.close()
    final = revised_before + during
    for measurement in (GROUP_MEASUREMENT, DISPARITY_MEASUREMENT):
        assert canonical(read_rows(target, measurement, model)) == _expected(final, measurement)


def test_rows_rejected_by_the_server_raise_on_flush(influxdb_database: Any) -> None:
    target = InfluxTarget.of(influxdb_database)  # a database of its own: the conflict stays here
    model = f"reject-{uuid.uuid4().hex[:8]}"
    window_end = 1_000_000_800.0
    with target.client() as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            target.bucket,
            target.org,
            f"fairness_group,model_id=other n=1.5 {int(window_end * 1e9)}",
        )
    sink = _sink(target)
    sink.on_evaluations(
        [make_evaluation(model_id=model, window_end=window_end)], now=0, watermark=0
    )
    with pytest.raises(SinkRejectedError, match="rejected"):
        sink.flush(timeout=30)
    rejected = next(
        s.value for s in sink.samples() if s.name == "fairwatch_sink_rows_rejected_total"
    )
    assert rejected >= 1
    sink.flush(timeout=5)  # reported once; the sink goes on working
    sink.close()


def test_flush_returns_once_rows_are_queryable(influx_target: InfluxTarget) -> None:
    model = f"sink-{uuid.uuid4().hex[:8]}"
    sink = _sink(influx_target, flush_interval=60.0, batch_size=10)  # only size or flush sends
    evaluations = [
        make_evaluation(model_id=model, window_end=START + k * HOUR) for k in range(1, 4)
    ]
    started = time.monotonic()
    sink.on_evaluations(evaluations, now=0, watermark=0)
    sink.flush(timeout=30)
    assert time.monotonic() - started < 30
    assert len(read_rows(influx_target, GROUP_MEASUREMENT, model)) == 9
    sink.close()


def _create_database(target: InfluxTarget, name: str) -> InfluxTarget:
    """Create ``name`` as a database (InfluxDB 1.8) or bucket (2.x); its target."""
    ping = httpx.get(f"{target.url}/ping", timeout=10)
    if ping.headers.get("X-Influxdb-Version", "").lstrip("v").startswith(("2", "3")):
        with target.client() as client:
            client.buckets_api().create_bucket(bucket_name=name, org=target.org)
        return InfluxTarget(target.url, target.token, target.org, name)
    response = httpx.post(
        f"{target.url}/query", data={"q": f'CREATE DATABASE "{name}"'}, timeout=30
    )
    response.raise_for_status()
    return InfluxTarget(target.url, target.token, target.org, f"{name}/autogen")


def test_a_missing_bucket_is_retried_until_it_exists(influx_target: InfluxTarget) -> None:
    name = f"later_{uuid.uuid4().hex[:8]}"
    missing = InfluxTarget(
        influx_target.url,
        influx_target.token,
        influx_target.org,
        f"{name}/autogen" if "/" in influx_target.bucket else name,
    )
    sink = _sink(missing)
    evaluation = make_evaluation(model_id="late-bucket", window_end=START + HOUR)
    sink.on_evaluations([evaluation], now=0, watermark=0)
    with pytest.raises(SinkUnavailableError, match="not_found"):
        sink.flush(timeout=1.5)
    assert sink.is_reachable() is False  # the server answers, but writes fail
    created = _create_database(influx_target, name)
    sink.flush(timeout=30)
    assert sink.is_reachable()
    sink.close()
    assert canonical(read_rows(created, GROUP_MEASUREMENT, "late-bucket")) == _expected(
        [evaluation], GROUP_MEASUREMENT
    )
