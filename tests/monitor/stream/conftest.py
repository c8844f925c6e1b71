"""Fixtures of the daemon's integration tests: topics, a config file, the daemon as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.paths import ROOT
from tests.waiting import wait_until

FAIRWATCH = [sys.executable, "-m", "fairwatch.cli"]


class DaemonProcess:
    """``fairwatch run --config FILE`` as a child process, with its log in a file."""

    def __init__(self, config_path: Path, log_path: Path, env: dict[str, str] | None = None):
        self.config_path = config_path
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*FAIRWATCH, "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=ROOT,
        )
        log.close()
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds until exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 60.0, count: int = 1) -> None:
        """Wait until ``text`` appears ``count`` times in the log (of every run so far)."""

        def logged() -> bool:
            if self.log().count(text) >= count:
                return True
            if not self.alive():
                raise AssertionError(
                    f"daemon exited before logging {text!r}:\n{self.log()[-3000:]}"
                )
            return False

        if not wait_until(logged, timeout, 0.1):
            raise AssertionError(
                f"daemon did not log {text!r} in {timeout}s:\n{self.log()[-3000:]}"
            )

    def stop_quietly(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def daemon_processes() -> Iterator[Callable[[Path, Path], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def make(config_path: Path, log_path: Path, **env: str) -> DaemonProcess:
        daemon = DaemonProcess(config_path, log_path, env)
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop_quietly()


def produce(
    bootstrap: str,
    topic: str,
    events: Iterable[dict[str, Any] | bytes],
    partitions: int | None = None,
) -> int:
    """Send events keyed by prediction id (raw bytes keyed ``bad``); returns how many."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024
    )
    count = 0
    for event in events:
        if isinstance(event, bytes):
            producer.send(topic, value=event, key=b"bad")
        else:
            producer.send(
                topic, value=orjson.dumps(event), key=str(event["prediction_id"]).encode()
            )
        count += 1
    producer.flush(timeout=60)
    producer.close()
    return count


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def daemon_config(
    tmp_path: Path,
    bootstrap: str,
    topics: Sequence[str],
    influx: Any | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A daemon config for the given topics (predictions, labels, dead letters)."""
    predictions, labels, dead_letters = topics
    data: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "group_id": f"group-{predictions}",
            "predictions_topic": predictions,
            "labels_topic": labels,
            "dead_letter_topic": dead_letters,
            "max_poll_records": 2000,
        },
        "models": {"credit": {"threshold": 0.5}, "fraud": {"threshold": 0.4}},
        "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
        "windows": ["1h", "2h/30m"],
        "label_horizon": "30d",
        "engine": {"bootstrap_samples": 50},
        "state_dir": str(tmp_path / "state"),
        "health": {"host": "127.0.0.1", "port": 0},
        "pipeline": {"checkpoint_interval": "300ms", "shutdown_timeout": "5s"},
    }
    if influx is not None:
        data["influxdb"] = {
            "url": influx.url,
            "org": influx.org,
            "bucket": influx.bucket,
            "token_env": "FAIRWATCH_TEST_TOKEN",
            "flush_interval": "200ms",
        }
    else:
        data["embedded_sink"] = {"path": str(tmp_path / "metrics.sqlite")}
    data.update(changes)
    return data


def influx_group_counts(
    influx: Any, sizes: dict[str, float]
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """``fairness_group`` counts in InfluxDB keyed like tests.monitor.stream.reference.Counts."""
    fields = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
    query = (
        f'from(bucket: "{influx.bucket}") |> range(start: 0) '
        '|> filter(fn: (r) => r._measurement == "fairness_group")'
    )
    rows: dict[tuple[Any, ...], dict[str, int]] = {}
    with influx.client() as client:
        for table in client.query_api().query(query, org=influx.org):
            for record in table.records:
                if record.get_field() not in fields:
                    continue
                window = record.values["window"]
                key = (
                    window,
                    record.values["model_id"],
                    record.get_time().timestamp() - sizes[window],
                    record.values["attribute"],
                    record.values["group"],
                )
                rows.setdefault(key, {})[record.get_field()] = int(record.get_value())
    return {key: tuple(value.get(name, 0) for name in fields) for key, value in rows.items()}


def dedicated_servers(
    local_servers_factory: Callable[[str], Any], database: str, partitions: int
) -> tuple[Any, Any, Any, list[str]]:
    """A Kafka broker and an InfluxDB server of the test's own (to stop and restart), with the
    topics ``predictions`` and ``labels`` of ``partitions`` partitions and ``dead-letters``, and
    a fresh database: ``(kafka server, influx server, influx connection, topic names)``."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from tests.conftest import InfluxDBConnection, create_influxdb_database

    kafka = local_servers_factory("kafka")
    server = local_servers_factory("influxdb")
    influx = create_influxdb_database(
        InfluxDBConnection(server.url, server.token, server.org, server.bucket, server.database),
        database,
    )
    names = ["predictions", "labels", "dead-letters"]
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    admin.create_topics(
        [
            NewTopic(names[0], partitions, 1),
            NewTopic(names[1], partitions, 1),
            NewTopic(names[2], 1, 1),
        ]
    )
    admin.close()
    return kafka, server, influx, names
