"""Kafka and InfluxDB go away and come back while events flow: afterwards nothing is missing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.monitor.stream.conftest import (
    DaemonProcess,
    daemon_config,
    dedicated_servers,
    influx_group_counts,
    produce,
    write_config,
)
from tests.monitor.stream.integration.test_daemon_kafka import expected_and_sizes
from tests.monitor.stream.reference import make_events
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_kafka_and_influxdb_outages_lose_nothing(
    tmp_path: Path,
    local_servers_factory: Callable[[str], Any],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    kafka, influx_server, influx, names = dedicated_servers(
        local_servers_factory, "outages", partitions=2
    )
    config = daemon_config(tmp_path, kafka.bootstrap, names, influx)
    config["influxdb"]["buffer_points"] = 300  # small: the outage must pause consumption
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(6000, seed=33, models=("credit", "fraud"))
    thirds = [len(predictions) * part // 3 for part in range(4)]
    label_thirds = [len(labels) * part // 3 for part in range(4)]

    def send(part: int) -> None:
        produce(kafka.bootstrap, names[0], predictions[thirds[part] : thirds[part + 1]])
        produce(kafka.bootstrap, names[1], labels[label_thirds[part] : label_thirds[part + 1]])

    send(0)
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    daemon.wait_for_log("event=daemon_started")
    expected, sizes = expected_and_sizes(config, predictions, labels)
    # the daemon has counted and written part of the first third before the broker goes away
    assert wait_until(lambda: influx_group_counts(influx, sizes), 60, 0.5), daemon.log()[-3000:]

    kafka.stop()  # the broker goes away while the daemon runs
    time.sleep(4)  # the outage itself: the daemon must live through 4 s without a broker
    assert daemon.alive()
    kafka.start()
    send(1)

    influx_server.stop()  # the database goes away while events flow
    send(2)
    daemon.wait_for_log("event=consumption_paused", timeout=60)
    time.sleep(2)  # the outage goes on while consumption is paused: the daemon must wait, alive
    assert daemon.alive()
    influx_server.start()

    assert wait_until(lambda: influx_group_counts(influx, sizes) == expected, 120, 2.0), (
        daemon.log()[-4000:]
    )
    assert "event=consumption_resumed" in daemon.log()
    code, seconds = daemon.terminate()
    assert code == 0 and seconds < 10
