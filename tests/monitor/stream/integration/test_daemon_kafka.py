"""The daemon as a process against the real Kafka broker and InfluxDB server."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.config import config_from_dict
from tests.monitor.stream.conftest import (
    DaemonProcess,
    daemon_config,
    influx_group_counts,
    produce,
    write_config,
)
from tests.monitor.stream.reference import make_events, reference_counts
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
THRESHOLDS = {"credit": 0.5, "fraud": 0.4}


def topics(kafka_topic: Callable[..., str], partitions: int = 3) -> list[str]:
    return [
        kafka_topic(partitions, "predictions"),
        kafka_topic(partitions, "labels"),
        kafka_topic(1, "dead-letters"),
    ]


def expected_and_sizes(
    config: dict[str, Any], predictions: list[dict[str, Any]], labels: list[dict[str, Any]]
) -> tuple[Any, dict[str, float]]:
    parsed = config_from_dict(config)
    sizes = {spec.name: spec.size for spec in parsed.windows}
    return reference_counts(predictions, labels, parsed.windows, thresholds=THRESHOLDS), sizes


def test_kill_9_at_random_moments_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    influxdb_database: Any,
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    names = topics(kafka_topic)
    config = daemon_config(tmp_path, kafka_bootstrap, names, influxdb_database)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(12000, seed=21, models=("credit", "fraud"))
    # a few duplicates, as at-least-once producers send them
    predictions_sent = predictions + random.Random(2).sample(predictions, 100)
    rng = random.Random(99)

    def producer() -> None:  # events keep flowing while the daemon is killed and restarted
        chunk = len(predictions_sent) // 8
        for start in range(0, len(predictions_sent), chunk):
            produce(kafka_bootstrap, names[0], predictions_sent[start : start + chunk])
            produce(
                kafka_bootstrap,
                names[1],
                labels[
                    start * len(labels) // len(predictions_sent) : (start + chunk)
                    * len(labels)
                    // len(predictions_sent)
                ],
            )
            time.sleep(0.7)  # the stream's pace: events keep arriving over several seconds

    flow = threading.Thread(target=producer)
    flow.start()
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    for run in range(1, 5):  # killed at a random moment of each of four runs
        daemon.wait_for_log("event=daemon_started", count=run)
        time.sleep(rng.uniform(0.2, 2.5))  # a random moment of the run to kill it at
        daemon.kill()
        daemon.start()
    flow.join()
    expected, sizes = expected_and_sizes(config, predictions, labels)
    assert wait_until(lambda: influx_group_counts(influxdb_database, sizes) == expected, 90, 1.0), (
        daemon.log()[-4000:]
    )
    code, seconds = daemon.terminate()
    assert code == 0 and seconds < 8
    assert daemon.log().count("event=daemon_started") == 5


BAD_PREDICTIONS: list[tuple[str, bytes]] = [
    ("invalid_json", b'{"prediction_id": '),
    ("not_object", b"[1, 2]"),
    (
        "missing_field",
        b'{"model_id": "credit", "timestamp": 1, "prediction": 1, '
        b'"sensitive": {"sex": "F", "race": "A"}}',
    ),
    (
        "wrong_type",
        b'{"prediction_id": 7, "model_id": "credit", "timestamp": 1, '
        b'"prediction": 1, "sensitive": {"sex": "F", "race": "A"}}',
    ),
    (
        "non_finite_score",
        b'{"prediction_id": "nan", "model_id": "credit", "timestamp": 1, '
        b'"score": NaN, "sensitive": {"sex": "F", "race": "A"}}',
    ),
    (
        "score_out_of_range",
        b'{"prediction_id": "big", "model_id": "credit", "timestamp": 1, '
        b'"score": 3.5, "sensitive": {"sex": "F", "race": "A"}}',
    ),
    (
        "bad_timestamp",
        b'{"prediction_id": "t", "model_id": "credit", "timestamp": "noon", '
        b'"prediction": 1, "sensitive": {"sex": "F", "race": "A"}}',
    ),
    ("oversized", b'{"prediction_id": "' + b"x" * 70000 + b'"}'),
    (
        "unknown_model",
        b'{"prediction_id": "u", "model_id": "other", "timestamp": 1, '
        b'"prediction": 1, "sensitive": {"sex": "F", "race": "A"}}',
    ),
    (
        "missing_attribute",
        b'{"prediction_id": "m", "model_id": "credit", "timestamp": 1, '
        b'"prediction": 1, "sensitive": {"sex": "F"}}',
    ),
]
BAD_LABELS: list[tuple[str, bytes]] = [
    ("label_not_binary", b'{"prediction_id": "p-1-1", "label": 2}'),
    ("invalid_json", b"\x00\x01garbage"),
]


def test_each_bad_input_goes_to_the_dead_letter_topic_and_the_daemon_keeps_going(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    from kafka import KafkaConsumer

    from monitor.sinks.embedded import EmbeddedSink

    names = topics(kafka_topic, partitions=2)
    config = daemon_config(tmp_path, kafka_bootstrap, names)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(600, seed=1)
    half = len(predictions) // 2
    produce(
        kafka_bootstrap,
        names[0],
        predictions[:half] + [raw for _r, raw in BAD_PREDICTIONS] + predictions[half:],
    )
    produce(kafka_bootstrap, names[1], [raw for _r, raw in BAD_LABELS] + labels)
    daemon = daemon_processes(path, tmp_path / "daemon.log").start()
    consumer = KafkaConsumer(
        names[2],
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    letters: list[Any] = []
    deadline = time.monotonic() + 60
    while len(letters) < len(BAD_PREDICTIONS) + len(BAD_LABELS) and time.monotonic() < deadline:
        letters.extend(consumer)
    consumer.close()
    found = sorted(
        (
            dict(letter.headers)["fairwatch.reason"].decode(),
            letter.value,
            dict(letter.headers)["fairwatch.source.topic"].decode(),
        )
        for letter in letters
    )
    assert found == sorted(
        [(reason, raw, names[0]) for reason, raw in BAD_PREDICTIONS]
        + [(reason, raw, names[1]) for reason, raw in BAD_LABELS]
    )
    assert daemon.alive()
    code, seconds = daemon.terminate()
    assert code == 0 and seconds < 8
    expected, sizes = expected_and_sizes(config, predictions, labels)
    sink = EmbeddedSink(config["embedded_sink"]["path"])
    got = {
        (r["window"], r["model_id"], r["time"] - sizes[r["window"]], r["attribute"], r["group"]): (
            r["n"],
            r["predicted_positive"],
            r["tp"],
            r["fp"],
            r["tn"],
            r["fn"],
        )
        for r in sink.groups()
    }
    invalid = {
        (r["reason"], r["topic"]): r["value"]
        for r in sink.pipeline("fairwatch_pipeline_events_invalid_total")
    }
    sink.close()
    assert got == expected
    assert invalid[("oversized", names[0])] == 1 and invalid[("invalid_json", names[1])] == 1


def test_sigterm_exits_zero_within_seconds_and_a_second_instance_is_refused(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    from monitor.sinks.embedded import EmbeddedSink

    names = topics(kafka_topic, partitions=2)
    config = daemon_config(tmp_path, kafka_bootstrap, names)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, labels = make_events(2000, seed=5)
    produce(kafka_bootstrap, names[0], predictions[:1000])
    first = daemon_processes(path, tmp_path / "first.log").start()
    first.wait_for_log("event=daemon_started")
    # the second instance: same group, its own state directory
    other = tmp_path / "other"
    other.mkdir()
    second_config = {
        **config,
        "state_dir": str(other / "state"),
        "embedded_sink": {"path": str(other / "metrics.sqlite")},
    }
    second = daemon_processes(
        write_config(other / "fairwatch.yaml", second_config), other / "second.log"
    ).start()
    assert second.wait(timeout=60) == 3
    assert "another instance is consuming in consumer group" in second.log()
    # the same state directory is refused at once, before touching Kafka
    third = daemon_processes(path, tmp_path / "third.log").start()
    assert third.wait(timeout=30) == 3
    assert "is in use by another fairwatch process" in third.log()
    # the first instance got every partition back and counts everything, once
    produce(kafka_bootstrap, names[0], predictions[1000:])
    produce(kafka_bootstrap, names[1], labels)
    first.wait_for_log("event=partial_assignment", timeout=10)
    expected, sizes = expected_and_sizes(config, predictions, labels)

    def counted() -> bool:
        sink = EmbeddedSink(config["embedded_sink"]["path"])
        try:
            got = {
                (
                    r["window"],
                    r["model_id"],
                    r["time"] - sizes[r["window"]],
                    r["attribute"],
                    r["group"],
                ): (r["n"], r["predicted_positive"], r["tp"], r["fp"], r["tn"], r["fn"])
                for r in sink.groups()
            }
        finally:
            sink.close()
        return got == expected

    assert wait_until(counted, 60, 1.0), first.log()[-3000:]
    code, seconds = first.terminate()
    assert code == 0 and seconds < 5, first.log()[-2000:]
    assert "event=final_checkpoint taken=True" in first.log()


def test_metrics_endpoint_carries_the_pipeline_counters(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    names = topics(kafka_topic, partitions=1)
    config = daemon_config(
        tmp_path, kafka_bootstrap, names, health={"host": "127.0.0.1", "port": port}
    )
    path = write_config(tmp_path / "fairwatch.yaml", config)
    predictions, _labels = make_events(300, seed=8)
    produce(kafka_bootstrap, names[0], [*predictions, orjson.dumps([1])])
    daemon = daemon_processes(path, tmp_path / "daemon.log").start()
    daemon.wait_for_log("event=daemon_started")

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    assert wait_until(
        lambda: f'fairwatch_pipeline_events_consumed_total{{topic="{names[0]}"}} 301.0' in scrape(),
        30,
        0.5,
    ), scrape()
    text = scrape()
    assert 'fairwatch_pipeline_events_invalid_total{reason="not_object"' in text
    assert "fairwatch_pipeline_predictions_awaiting_label 300.0" in text
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        assert response.status == 200
    assert daemon.terminate()[0] == 0
