"""The default consumer path (:mod:`monitor.kafka.consumer_process`): the Kafka consumer in a child
process, handing its batches to the daemon, decoded with the decoder the daemon polls with.

Against the real broker (integration): every record arrives once and decoded, a restart resumes
from the positions handed in, commits reach the broker, pause holds records back until resume,
a dead child is reported, and closing leaves no child behind. Without a broker (a closed port):
an unreachable cluster is reported after ``startup_timeout`` and a stop ends a start at once;
readiness follows what the child's batches say about its partitions.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from monitor.config import MonitorConfig
from monitor.kafka.consumer_process import ProcessSource, _Status
from monitor.kafka.errors import KafkaUnreachableError, SourceError
from monitor.stream.decode import batch_decoder
from monitor.types import StartInterrupted, TopicPartition
from tests.monitor.kafka.test_kafka_connection import closed_port
from tests.monitor.stream.conftest import produce
from tests.monitor.stream.test_pipeline import make_config, prediction
from tests.waiting import wait_until

CHILD = "fairwatch-consumer"


def predictions(prefix: str, count: int) -> list[dict[str, Any]]:
    return [prediction(f"{prefix}{i}", 1_700_000_000.0) for i in range(count)]


def children() -> list[Any]:
    return [child for child in multiprocessing.active_children() if child.name == CHILD]


class Received:
    """What the daemon got from the source: ids, labels, reasons, positions (merged); it polls
    as the daemon does, with the pipeline's decoder of ``config``."""

    def __init__(self, config: MonitorConfig) -> None:
        self.decoder = batch_decoder(config)
        self.max_records = config.kafka.max_poll_records
        self.predictions: list[str] = []
        self.labels: list[tuple[str, int]] = []
        self.rejected: list[str] = []
        self.positions: dict[tuple[str, int], int] = {}

    def poll(self, source: ProcessSource, timeout: float = 0.5) -> bool:
        batch = source.poll_decoded(self.max_records, timeout, self.decoder)
        if batch is None:
            return False
        self.predictions.extend(batch.predictions.prediction_id)
        self.labels.extend(zip(batch.labels.prediction_id, batch.labels.label, strict=True))
        self.rejected.extend(str(error.reason) for error in batch.rejected)
        for key, offset in batch.positions.items():
            self.positions[key] = max(self.positions.get(key, 0), offset)
        return True

    def drain(self, source: ProcessSource, seconds: float) -> None:
        """Take whatever comes for ``seconds`` (a period of time, not a wait for something)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll(source, 0.2)

    def until(
        self, source: ProcessSource, condition: Callable[[], object], timeout: float = 120
    ) -> None:
        """Poll until ``condition`` holds; fails saying what came and what the child reports."""

        def polled() -> object:
            self.poll(source)
            return condition()

        # each poll waits up to half a second itself; the deadline is generous for a busy machine
        assert wait_until(polled, timeout, 0.0), (
            f"after {timeout:.0f}s: {len(self.predictions)} predictions, {len(self.labels)} "
            f"labels, rejected {self.rejected}, positions {self.positions}, lag {source.lag({})}, "
            f"ready {source.is_ready()}"
        )


@pytest.fixture
def sources() -> Iterator[Callable[..., ProcessSource]]:
    """``sources(config)``: a started consumer process, closed at the end of the test."""
    made: list[ProcessSource] = []

    def start(
        config: MonitorConfig, positions: Mapping[TopicPartition, int] | None = None
    ) -> ProcessSource:
        source = ProcessSource(config.kafka, f"instance-{len(made)}")
        made.append(source)
        source.start(dict(positions or {}))
        return source

    yield start
    for source in made:
        source.close(timeout=5)


def kafka_config(tmp_path: Path, bootstrap: str, predictions: str, labels: str) -> MonitorConfig:
    return make_config(
        tmp_path,
        kafka={
            "bootstrap_servers": bootstrap,
            "group_id": f"group-{predictions}",
            "predictions_topic": predictions,
            "labels_topic": labels,
            "startup_timeout": "60s",
            "poll_timeout_ms": 100,
        },
    )


@pytest.fixture
def topics(kafka_topic: Callable[..., str]) -> tuple[str, str]:
    return kafka_topic(2, "predictions"), kafka_topic(1, "labels")


@pytest.fixture
def config(tmp_path: Path, kafka_bootstrap: str, topics: tuple[str, str]) -> MonitorConfig:
    return kafka_config(tmp_path, kafka_bootstrap, *topics)


def test_every_record_arrives_once_decoded_and_a_restart_resumes_from_positions(
    kafka_bootstrap: str, config: MonitorConfig, sources: Callable[..., Any]
) -> None:
    predictions_topic, labels_topic = config.kafka.predictions_topic, config.kafka.labels_topic
    ids = [f"p{i:04d}" for i in range(400)]
    produce(kafka_bootstrap, predictions_topic, [prediction(key, 1_700_000_000.0) for key in ids])
    produce(kafka_bootstrap, predictions_topic, [b"{not json"])
    labels = [{"prediction_id": key, "label": i % 2} for i, key in enumerate(ids[:150])]
    produce(kafka_bootstrap, labels_topic, labels)

    source = sources(config)
    assert source.is_ready()
    assert source.partitions() == {
        (predictions_topic, 0),
        (predictions_topic, 1),
        (labels_topic, 0),
    }
    received = Received(config)
    received.until(source, lambda: len(received.predictions) >= 400)
    received.until(source, lambda: len(received.labels) >= 150)
    received.until(source, lambda: received.rejected)
    assert sorted(received.predictions) == ids  # each once
    assert sorted(received.labels) == sorted((e["prediction_id"], e["label"]) for e in labels)
    assert received.rejected == ["invalid_json"]
    assert sum(received.positions.values()) == 400 + 1 + 150

    def caught_up() -> bool:
        received.poll(source)
        lag = source.lag({})
        return bool(lag) and set(lag.values()) == {0}

    assert wait_until(caught_up, 30, 0.0), source.lag({})
    source.close(timeout=5)

    # a restart hands in the checkpointed positions: only what lies after them comes again
    resume_at = {key: offset - 10 for key, offset in received.positions.items()}
    again = sources(config, resume_at)
    replay = Received(config)
    replay.until(again, lambda: replay.positions == received.positions)
    assert len(replay.predictions) + len(replay.labels) + len(replay.rejected) == 30
    assert set(replay.predictions) <= set(ids)


def test_commits_reach_the_broker(
    kafka_bootstrap: str, config: MonitorConfig, sources: Callable[..., Any]
) -> None:
    from kafka import KafkaAdminClient

    produce(kafka_bootstrap, config.kafka.predictions_topic, predictions("c", 60))
    source = sources(config)
    received = Received(config)
    received.until(source, lambda: len(received.predictions) == 60)
    source.commit(received.positions)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:

        def committed() -> dict[tuple[str, int], int]:
            group = config.kafka.group_id
            offsets = admin.list_group_offsets({group: None})[group]
            return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}

        assert wait_until(lambda: committed() == received.positions, 30, 0.2), committed()
    finally:
        admin.close()


def test_pause_holds_records_back_until_resume(
    kafka_bootstrap: str, config: MonitorConfig, sources: Callable[..., Any]
) -> None:
    source = sources(config)
    received = Received(config)
    source.pause()
    # the child applies commands between polls; batches fetched before it did are empty (nothing
    # was produced yet) and are drained here for two seconds, so the pause is in force after it
    received.drain(source, 2)
    produce(kafka_bootstrap, config.kafka.predictions_topic, predictions("q", 40))
    # paused: nothing may arrive in three seconds (a quiet period, not a wait for something)
    received.drain(source, 3)
    assert received.predictions == []
    source.resume()
    received.until(source, lambda: len(received.predictions) == 40)


def test_a_child_that_dies_is_reported_and_close_leaves_no_child(
    config: MonitorConfig, sources: Callable[..., Any]
) -> None:
    source = sources(config)
    [child] = children()
    child.kill()

    def reported() -> bool:
        try:
            source.poll_decoded(config.kafka.max_poll_records, 0.2, batch_decoder(config))
        except SourceError as error:
            return "died" in str(error)
        return False

    assert wait_until(reported, 15, 0.0)
    assert not source.is_ready()
    started = time.monotonic()
    source.close(timeout=5)
    assert time.monotonic() - started < 5
    assert children() == []


def test_close_stops_a_running_child_within_its_timeout(
    config: MonitorConfig, sources: Callable[..., Any]
) -> None:
    source = sources(config)
    assert len(children()) == 1
    started = time.monotonic()
    source.close(timeout=8)
    assert time.monotonic() - started < 8
    assert children() == []
    assert not source.is_ready()


# -- without a broker --------------------------------------------------------------------------


def unreachable_config(tmp_path: Path, startup_timeout: str) -> MonitorConfig:
    return make_config(
        tmp_path,
        kafka={
            "bootstrap_servers": f"127.0.0.1:{closed_port()}",
            "startup_timeout": startup_timeout,
        },
    )


def test_an_unreachable_cluster_is_reported_after_the_startup_timeout(tmp_path: Path) -> None:
    config = unreachable_config(tmp_path, "2s")
    source = ProcessSource(config.kafka, "instance")
    started = time.monotonic()
    try:
        with pytest.raises(KafkaUnreachableError) as raised:
            source.start({})
        assert 1.5 < time.monotonic() - started < 20
        assert config.kafka.bootstrap_servers[0] in str(raised.value)
    finally:
        source.close(timeout=5)
    assert children() == []


def test_a_stop_while_starting_ends_the_start_at_once(tmp_path: Path) -> None:
    config = unreachable_config(tmp_path, "60s")
    source = ProcessSource(config.kafka, "instance")
    timer = threading.Timer(1.0, source.interrupt)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StartInterrupted):
            source.start({})
        assert time.monotonic() - started < 5
    finally:
        timer.cancel()
        source.close(timeout=5)
    assert children() == []


class Running:
    def is_alive(self) -> bool:
        return True


def test_readiness_follows_the_childs_partitions(tmp_path: Path) -> None:
    config = unreachable_config(tmp_path, "2s")
    source = ProcessSource(config.kafka, "instance")
    source._batches = queue.Queue()
    source._process, source._ready = Running(), True  # as after a start
    decoder = batch_decoder(config)
    lag = {("predictions", 0): 3}
    source._batches.put(("batch", None, _Status(lag, False)))  # the group rebalances
    assert source.poll_decoded(10, 1.0, decoder) is None
    assert not source.is_ready()
    assert source.lag({}) == lag
    source._batches.put(("batch", None, _Status({}, True)))
    source.poll_decoded(10, 1.0, decoder)
    assert source.is_ready()
