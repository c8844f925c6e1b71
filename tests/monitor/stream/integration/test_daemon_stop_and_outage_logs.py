"""The daemon's servers misbehave: SIGTERM still stops it in time, and a broker outage is two log
lines, not kafka-python's hundreds (dedicated servers, stopped and restarted by the tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import InfluxDBConnection, create_influxdb_database
from tests.monitor.stream.conftest import DaemonProcess, daemon_config, produce, write_config
from tests.monitor.stream.integration.test_daemon_kafka import topics
from tests.monitor.stream.reference import make_events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SHUTDOWN_TIMEOUT = 5.0


def test_sigterm_while_influxdb_is_down_and_consumption_paused_exits_0_in_time(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    local_servers_factory: Callable[[str], Any],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    server = local_servers_factory("influxdb")
    influx = create_influxdb_database(
        InfluxDBConnection(server.url, server.token, server.org, server.bucket, server.database),
        "shutdown",
    )
    names = topics(kafka_topic, partitions=2)
    config = daemon_config(tmp_path, kafka_bootstrap, names, influx)
    config["influxdb"]["buffer_points"] = 300  # small: the outage must pause consumption
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(8000, seed=41, models=("credit", "fraud"))
    produce(kafka_bootstrap, names[0], predictions[:2000])
    produce(kafka_bootstrap, names[1], labels[: len(labels) // 4])
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    daemon.wait_for_log("event=daemon_started")
    server.stop()
    flowing = threading.Event()

    def keep_producing() -> None:  # events keep coming while the daemon is stopped
        for start in range(2000, len(predictions), 500):
            produce(kafka_bootstrap, names[0], predictions[start : start + 500])
            flowing.set()

    producer = threading.Thread(target=keep_producing, daemon=True)
    producer.start()
    daemon.wait_for_log("event=consumption_paused", timeout=90)
    assert flowing.wait(60)
    code, seconds = daemon.terminate(timeout=60)
    log = daemon.log()
    assert code == 0 and seconds < SHUTDOWN_TIMEOUT + 5, (seconds, log[-3000:])
    assert "event=final_checkpoint taken=True" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    producer.join(60)


@pytest.mark.parametrize("consumer_process", [True, False], ids=["child-process", "in-process"])
def test_a_broker_outage_is_one_line_when_it_goes_and_one_when_it_is_back(
    tmp_path: Path,
    consumer_process: bool,
    local_servers_factory: Callable[[str], Any],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    kafka = local_servers_factory("kafka")
    names = ["predictions", "labels", "dead-letters"]
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    admin.create_topics(
        [NewTopic(names[0], 2, 1), NewTopic(names[1], 2, 1), NewTopic(names[2], 1, 1)]
    )
    admin.close()
    config = daemon_config(tmp_path, kafka.bootstrap, names)
    config["kafka"]["consumer_process"] = consumer_process
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(1000, seed=8)
    # bad events too: the daemon process then has a dead-letter producer of its own
    produce(kafka.bootstrap, names[0], [*predictions[:500], b"not json", b"{}"])
    produce(kafka.bootstrap, names[1], labels[:200])
    daemon = daemon_processes(path, tmp_path / "daemon.log").start()
    daemon.wait_for_log("event=daemon_started")
    assert len(dead_letters(kafka.bootstrap, names[2], 2)) == 2
    before = len(daemon.log().splitlines())

    kafka.stop()
    daemon.wait_for_log("event=kafka_unreachable", timeout=60)
    kafka.start()
    daemon.wait_for_log("event=kafka_reachable", timeout=120)
    outage = daemon.log().splitlines()[before:]
    text = "\n".join(outage)
    assert text.count("event=kafka_unreachable") == 1, text
    assert text.count("event=kafka_reachable") == 1, text
    assert f"bootstrap={kafka.bootstrap}" in text
    # kafka-python's own lines: none about connections, a stray other warning at most
    assert len([line for line in outage if "logger=kafka." in line]) <= 2, text
    assert len(outage) <= 10, text
    # it goes on after the outage: more bad events reach the dead-letter topic
    produce(kafka.bootstrap, names[0], [*predictions[500:], b"[]"])
    assert len(dead_letters(kafka.bootstrap, names[2], 3)) == 3, daemon.log()[-3000:]
    code, seconds = daemon.terminate(timeout=60)
    assert code == 0 and seconds < SHUTDOWN_TIMEOUT + 5, daemon.log()[-3000:]


def dead_letters(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> list[Any]:
    """The dead letters in ``topic``, once there are ``count`` (or the timeout is over)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=500
    )
    letters: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(letters) < count and time.monotonic() < deadline:
            letters.extend(consumer)
    finally:
        consumer.close()
    return letters
