"""The report from InfluxDB (Flux, as the dashboards query it) is the report from the embedded
sink: the same replayed day is written to a real InfluxDB server and to the embedded sink at
once, and the two reports say the same, figure for figure and byte for byte but for the name of
the store they were read from.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from fairwatch.compliance.influx import InfluxReader
from fairwatch.compliance.output import render
from fairwatch.compliance.period import Period
from fairwatch.compliance.render_json import document
from fairwatch.compliance.sources import EmbeddedReader
from fairwatch.compliance.stores import report_for
from monitor.sinks.influx import InfluxSink
from tests.conftest import InfluxDBConnection, create_influxdb_database
from tests.fairwatch.backtest.stream import HOUR, START
from tests.fairwatch.compliance.scenario import INVALID, Stored, replay

DAY = Period(START, START + 24 * HOUR)


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, influxdb: InfluxDBConnection
) -> tuple[Stored, InfluxDBConnection]:
    database = create_influxdb_database(influxdb, f"report_{uuid.uuid4().hex[:12]}")
    sink = InfluxSink(database.url, database.token, database.org, database.bucket)
    try:
        stored = replay(tmp_path_factory.mktemp("influx-day"), also=sink)
        sink.flush(60)
    finally:
        sink.close(60)
    return stored, database


def reports(both: tuple[Stored, InfluxDBConnection]) -> tuple[Any, Any]:
    stored, database = both
    influx = InfluxReader(database.url, database.token, database.org, database.bucket)
    embedded = EmbeddedReader(stored.sink_path)
    try:
        return (
            report_for(stored.config, DAY, reader=influx),
            report_for(stored.config, DAY, reader=embedded),
        )
    finally:
        influx.close()
        embedded.close()


def test_influxdb_and_the_embedded_sink_give_the_same_report(
    both: tuple[Stored, InfluxDBConnection],
) -> None:
    from_influx, from_embedded = reports(both)
    influx, embedded = document(from_influx), document(from_embedded)
    assert (influx.pop("source"), embedded.pop("source")) == ("influxdb", "embedded")
    assert influx == embedded
    [model] = influx["models"]
    windows = {series["window"]: series for series in model["attributes"][0]["windows"]}
    assert windows["1h/5m"]["windows_in_period"] == 288 and windows["1h"]["windows_in_period"] == 24
    [alert] = model["alerts"]
    assert alert["fired_at"] == "2026-01-05T10:26:00Z"
    assert influx["data_quality"]["rejected_total"] == INVALID
    assert influx["data_quality"]["consumed"]["predictions"] > 17000


def test_the_influxdb_report_is_deterministic(both: tuple[Stored, InfluxDBConnection]) -> None:
    first, _embedded = reports(both)
    second, _embedded = reports(both)
    for format in ("html", "json"):
        assert render(first, format).content == render(second, format).content


def test_the_command_reads_influxdb_when_configured(
    both: tuple[Stored, InfluxDBConnection],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fairwatch.cli import main

    stored, database = both
    text = stored.config_path.read_text().replace(
        f"embedded_sink: {{path: {stored.sink_path}}}",
        f"influxdb: {{url: '{database.url}', org: {database.org}, bucket: '{database.bucket}',"
        " token_env: REPORT_TEST_INFLUX_TOKEN}",
    )
    assert "influxdb:" in text
    path = tmp_path / "influx.yaml"
    path.write_text(text)
    monkeypatch.setenv("REPORT_TEST_INFLUX_TOKEN", database.token)
    argv = ["report", "--config", str(path), "--from", "2026-01-05", "--to", "2026-01-06"]
    assert main([*argv, "--format", "json", "--output", str(tmp_path) + "/"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.is_file() and '"source": "influxdb"' in written.read_text()
