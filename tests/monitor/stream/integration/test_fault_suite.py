"""The fault suite: a realistic multi-partition stream through the daemon, with the default
``allowed_lateness``, against the real broker and InfluxDB.

Every scenario ends with the same proof: InfluxDB's counts per window and group equal the batch
computation over exactly the valid events (tests/monitor/stream/reference.py), every bad message is
in the dead-letter topic with its reason and nothing else is, and no prediction was counted late —
each partition is in event-time order, so none is.

- (a) backlog catch-up: the whole stream is produced first, then a fresh daemon reads it;
- (b) the stream is produced while the daemon runs, with kill -9 at random moments, a broker
  outage and an InfluxDB outage (dedicated servers);
- (c) partitions produced unevenly: partition 0 gets its whole two days before partitions 1 and
  2 get anything.

The stream (tests/monitor/stream/stream.py) is the same in all three.
"""

from __future__ import annotations

import random
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.monitor.stream.conftest import (
    DaemonProcess,
    daemon_config,
    dedicated_servers,
    influx_group_counts,
    write_config,
)
from tests.monitor.stream.integration.test_daemon_kafka import expected_and_sizes, topics
from tests.monitor.stream.stream import (
    LABELS,
    PARTITIONS,
    PREDICTIONS,
    Message,
    Stream,
    make_stream,
    send,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# Enough windows to compare: 48 tumbling hours and 53 six-hour windows sliding by the hour, per
# model; each event lands in one pane per specification.
WINDOWS = ["1h", "6h/1h"]
KILLS = 5
OUTAGE_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fault_config(
    tmp_path: Path, bootstrap: str, names: Sequence[str], influx: Any, port: int
) -> dict[str, Any]:
    """daemon_config with the default allowed_lateness (10m), the suite's windows and a fixed
    /metrics port (the same for every incarnation of the daemon).

    Kept from daemon_config, for the CI budget: checkpoint_interval 300ms and the InfluxDB
    flush_interval 200ms (the daemon catches up and the test sees the end within a second),
    engine.bootstrap_samples 50 (fewer bootstrap resamples per evaluated window) and
    max_poll_records 2000 (smaller batches than the default 20000: the backlog is read in many
    batches that interleave the partitions, the case the watermark must get right).
    """
    config = daemon_config(
        tmp_path,
        bootstrap,
        names,
        influx,
        windows=WINDOWS,
        health={"host": "127.0.0.1", "port": port},
    )
    config.pop("allowed_lateness", None)  # the point of the suite: the default, 10m
    return config


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The daemon's /metrics as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


class Progress:
    """How many input records the daemon has not checkpointed yet: the end offsets of the input
    topics minus the offsets it committed to Kafka (which follow its checkpoints)."""

    def __init__(self, bootstrap: str, group: str, names: Sequence[str]) -> None:
        from kafka import KafkaConsumer, TopicPartition
        from kafka.admin import KafkaAdminClient

        self.group = group
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.partitions = [
            TopicPartition(name, number) for name in names for number in range(PARTITIONS)
        ]

    def behind(self) -> int:
        try:
            end = self.consumer.end_offsets(self.partitions)
            committed = self.admin.list_group_offsets({self.group: self.partitions})[self.group]
        except Exception:  # the broker is restarting: not known now
            return -1
        done = {tp: max(found.offset, 0) for tp, found in committed.items()}  # -1: none yet
        return sum(end[tp] - done.get(tp, 0) for tp in self.partitions)

    def wait(self, daemon: DaemonProcess, timeout: float) -> None:
        """Until every input record is checkpointed (fails at once if the daemon exits)."""

        def done() -> bool:
            assert daemon.alive(), f"the daemon exited:\n{daemon.log()[-3000:]}"
            return self.behind() == 0

        assert wait_until(done, timeout, 0.5), (
            f"{self.behind()} records not checkpointed after {timeout:.0f}s:\n"
            f"{daemon.log()[-3000:]}"
        )

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


def dead_letters(bootstrap: str, topic: str) -> list[Any]:
    """Every message of the dead-letter topic."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    end = consumer.end_offsets([partition])[partition]
    letters: list[Any] = []
    deadline = time.monotonic() + 30
    while consumer.position(partition) < end and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            letters.extend(records)
    consumer.close()
    assert len(letters) == end, f"read {len(letters)} of {end} dead letters"
    return letters


def reported(influx: Any, field: str) -> tuple[int, float, float]:
    """A counter as written to the ``fairwatch_pipeline`` measurement by every incarnation of
    the daemon: (series found, largest value ever reported, sum over series of the last value).
    A series is one label set; the ``instance`` and ``incarnation`` tags make one per process."""
    query = (
        f'from(bucket: "{influx.bucket}") |> range(start: 0) '
        '|> filter(fn: (r) => r._measurement == "fairwatch_pipeline" '
        f'and r._field == "{field}")'
    )
    series, largest, last_sum = 0, 0.0, 0.0
    with influx.client() as client:
        for table in client.query_api().query(query, org=influx.org):
            values = [float(record.get_value()) for record in table.records]
            if values:
                series += 1
                largest = max(largest, *values)
                last_sum += values[-1]
    return series, largest, last_sum


def late_now(port: int) -> float | None:
    """``fairwatch_pipeline_events_late_total`` of the running daemon (``None`` when /metrics
    does not answer yet)."""
    try:
        return total(scrape(port), "fairwatch_pipeline_events_late_total")
    except OSError:
        return None


@dataclass
class Outcome:
    """What a scenario measured."""

    rows_compared: int
    rows_equal: int
    predictions_expected: int  # n summed over the 1h windows: every valid prediction once each
    predictions_counted: int
    late: float
    dead_letters: int
    dead_letters_distinct: int
    kills: int
    differences: list[str]

    def show(self, scenario: str, extra: str = "") -> None:
        print(
            f"\n[fault suite {scenario}] rows compared={self.rows_compared} "
            f"rows equal={self.rows_equal} predictions counted={self.predictions_counted}"
            f"/{self.predictions_expected} late={self.late:g} dead letters={self.dead_letters} "
            f"(distinct {self.dead_letters_distinct}) kills={self.kills}{extra}"
        )


def finish(
    daemon: DaemonProcess,
    port: int,
    stream: Stream,
    config: dict[str, Any],
    influx: Any,
    bootstrap: str,
    names: Sequence[str],
    kills: int = 0,
) -> tuple[Outcome, dict[tuple[str, tuple[tuple[str, str], ...]], float], list[Any]]:
    """After everything is checkpointed: the counters, a clean stop, InfluxDB and the dead
    letters compared with the stream."""
    samples = scrape(port)
    code, seconds = daemon.terminate()
    assert code == 0 and seconds < 10, daemon.log()[-3000:]
    assert "event=final_checkpoint taken=True" in daemon.log()
    expected, sizes = expected_and_sizes(config, stream.predictions, stream.labels)
    got = influx_group_counts(influx, sizes)
    keys = sorted(set(expected) | set(got), key=repr)
    equal = sum(1 for key in keys if expected.get(key) == got.get(key))
    differences = [
        f"{key}: expected {expected.get(key)}, InfluxDB {got.get(key)}"
        for key in keys
        if expected.get(key) != got.get(key)
    ]

    def predictions_in(counts: dict[Any, tuple[int, ...]]) -> int:
        return sum(value[0] for key, value in counts.items() if key[0] == "1h" and key[3] == "sex")

    letters = dead_letters(bootstrap, names[2])
    distinct = {
        (
            dict(letter.headers)["fairwatch.source.topic"],
            dict(letter.headers)["fairwatch.source.partition"],
            dict(letter.headers)["fairwatch.source.offset"],
        )
        for letter in letters
    }
    outcome = Outcome(
        rows_compared=len(keys),
        rows_equal=equal,
        predictions_expected=predictions_in(expected),
        predictions_counted=predictions_in(got),
        late=total(samples, "fairwatch_pipeline_events_late_total"),
        dead_letters=len(letters),
        dead_letters_distinct=len(distinct),
        kills=kills,
        differences=differences,
    )
    return outcome, samples, letters


def letter_contents(letters: Sequence[Any]) -> Counter[tuple[str, str, bytes]]:
    """(source topic, reason, value) of each dead letter."""
    return Counter(
        (
            dict(letter.headers)["fairwatch.source.topic"].decode(),
            dict(letter.headers)["fairwatch.reason"].decode(),
            letter.value,
        )
        for letter in letters
    )


def expected_letters(stream: Stream, names: Sequence[str]) -> Counter[tuple[str, str, bytes]]:
    role = {PREDICTIONS: names[0], LABELS: names[1]}
    return Counter((role[bad.topic], bad.reason, bad.value) for bad in stream.bad)


def check_counts(outcome: Outcome) -> None:
    assert outcome.rows_equal == outcome.rows_compared, (
        f"{outcome.rows_compared - outcome.rows_equal} of {outcome.rows_compared} window-group "
        f"rows differ from the batch computation; predictions counted "
        f"{outcome.predictions_counted} of {outcome.predictions_expected}, late "
        f"{outcome.late:g}; first differences:\n" + "\n".join(outcome.differences[:8])
    )


def check_single_run(
    outcome: Outcome,
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    letters: Sequence[Any],
    stream: Stream,
    names: Sequence[str],
) -> None:
    """The checks of a scenario the daemon ran through in one process (no replays)."""
    assert letter_contents(letters) == expected_letters(stream, names)
    invalid = Counter(
        {
            (dict(labels)["topic"], dict(labels)["reason"]): int(value)
            for (name, labels), value in samples.items()
            if name == "fairwatch_pipeline_events_invalid_total"
        }
    )
    assert +invalid == Counter(
        (topic, reason) for topic, reason, _value in expected_letters(stream, names).elements()
    )
    check_counts(outcome)
    assert outcome.late == 0, f"late {outcome.late:g}: in-order events counted late"
    duplicates = (
        total(samples, "fairwatch_pipeline_events_duplicate_total", kind="prediction"),
        total(samples, "fairwatch_pipeline_events_duplicate_total", kind="label"),
    )
    assert duplicates == (stream.duplicate_predictions, stream.duplicate_labels)
    assert total(samples, "fairwatch_pipeline_labels_joined_total") == len(stream.labels)


def test_backlog_catch_up_with_the_default_lateness_counts_every_event(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    influxdb_database: Any,
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    names = topics(kafka_topic)
    port = free_port()
    config = fault_config(tmp_path, kafka_bootstrap, names, influxdb_database, port)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    stream = make_stream()
    started = time.monotonic()
    send(kafka_bootstrap, {PREDICTIONS: names[0], LABELS: names[1]}, stream.messages)
    produced = time.monotonic() - started
    progress = Progress(kafka_bootstrap, config["kafka"]["group_id"], names[:2])
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    try:
        progress.wait(daemon, 90)
    finally:
        progress.close()
    caught_up = time.monotonic() - started - produced
    outcome, samples, letters = finish(
        daemon, port, stream, config, influxdb_database, kafka_bootstrap, names
    )
    outcome.show(
        "a: backlog",
        f" messages={len(stream.messages)} produced in {produced:.1f}s, "
        f"caught up in {caught_up:.1f}s",
    )
    check_single_run(outcome, samples, letters, stream, names)


def test_uneven_partitions_one_produced_two_days_ahead_count_every_event(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    influxdb_database: Any,
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    names = topics(kafka_topic)
    roles = {PREDICTIONS: names[0], LABELS: names[1]}
    port = free_port()
    config = fault_config(tmp_path, kafka_bootstrap, names, influxdb_database, port)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    stream = make_stream()
    progress = Progress(kafka_bootstrap, config["kafka"]["group_id"], names[:2])
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    daemon.wait_for_log("event=daemon_started")
    try:
        # partition 0 gets its whole two days (predictions and their labels) and the daemon
        # reads all of it; only then do partitions 1 and 2 get their first record. The gap is a
        # few seconds of wall time, well inside pipeline.idle_timeout (default 60s).
        ahead = stream.select([0])
        started = time.monotonic()
        send(kafka_bootstrap, roles, ahead)
        progress.wait(daemon, 60)
        gap = time.monotonic() - started
        send(kafka_bootstrap, roles, stream.select([1, 2]))
        progress.wait(daemon, 90)
    finally:
        progress.close()
    outcome, samples, letters = finish(
        daemon, port, stream, config, influxdb_database, kafka_bootstrap, names
    )
    first_hours = max(m.arrival for m in ahead if m.topic == PREDICTIONS) - stream.start
    outcome.show(
        "c: uneven partitions",
        f" partition 0 ahead by {first_hours / 3600:.1f}h of event time "
        f"({len(ahead)} messages, read in {gap:.1f}s before partitions 1 and 2 began); "
        f"partitions that became idle: "
        f"{total(samples, 'fairwatch_pipeline_partitions_became_idle_total'):g}",
    )
    check_single_run(outcome, samples, letters, stream, names)


class Production(threading.Thread):
    """Produces chunks of the stream at a steady pace, never past ``limit`` chunks (so that
    each fault happens while production is under way) and never while ``broker`` is held."""

    def __init__(
        self, bootstrap: str, roles: dict[str, str], chunks: list[list[Message]], pace: float
    ) -> None:
        super().__init__(name="production", daemon=True)
        self.bootstrap = bootstrap
        self.roles = roles
        self.chunks = chunks
        self.pace = pace
        self.sent = 0
        self.limit = 0
        self.changed = threading.Condition()
        self.broker = threading.Lock()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for index, chunk in enumerate(self.chunks):
                with self.changed:
                    while index >= self.limit:
                        self.changed.wait()
                with self.broker:
                    send(self.bootstrap, self.roles, chunk)
                with self.changed:
                    self.sent = index + 1
                    self.changed.notify_all()
                time.sleep(self.pace)  # the stream's pace: events arrive over time
        except BaseException as failure:  # reported by the test, not lost in the thread
            self.failure = failure
            with self.changed:
                self.sent = len(self.chunks) + 1
                self.changed.notify_all()

    def allow(self, chunks: int) -> None:
        with self.changed:
            self.limit = chunks
            self.changed.notify_all()

    def reach(self, chunks: int, timeout: float = 60) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.sent >= chunks, timeout)
        if self.failure is not None:
            raise self.failure


def test_kill_9_and_outages_while_the_stream_flows_lose_nothing_and_count_nothing_late(
    tmp_path: Path,
    local_servers_factory: Callable[[str], Any],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    kafka, influx_server, influx, names = dedicated_servers(
        local_servers_factory, "faults", partitions=3
    )
    port = free_port()
    config = fault_config(tmp_path, kafka.bootstrap, names, influx, port)
    path = write_config(tmp_path / "fairwatch.yaml", config)
    stream = make_stream()
    count = 48
    chunks = [
        stream.messages[
            len(stream.messages) * part // count : len(stream.messages) * (part + 1) // count
        ]
        for part in range(count)
    ]
    production = Production(
        kafka.bootstrap, {PREDICTIONS: names[0], LABELS: names[1]}, chunks, pace=0.25
    )
    rng = random.Random(2024)
    plan = ["kill", "kill", "broker", "kill", "influxdb", "kill", "kill"]
    marks = [count * (step + 1) // (len(plan) + 1) for step in range(len(plan))] + [count]
    kills = 0
    timeline: list[str] = []
    late_by_incarnation: list[float | None] = []
    started = time.monotonic()
    daemon = daemon_processes(path, tmp_path / "daemon.log", FAIRWATCH_TEST_TOKEN="x").start()
    daemon.wait_for_log("event=daemon_started")
    production.allow(marks[0])
    production.start()
    for step, action in enumerate(plan):
        production.reach(marks[step])
        production.allow(marks[step + 1])  # production goes on while the fault happens
        timeline.append(f"{time.monotonic() - started:.0f}s {action} at chunk {production.sent}")
        if action == "kill":
            daemon.wait_for_log("event=daemon_started", count=kills + 1)
            time.sleep(rng.uniform(0.2, 2.5))  # a random moment of the run to kill it at
            late_by_incarnation.append(late_now(port))  # its counters die with it
            daemon.kill()
            kills += 1
            daemon.start()
        elif action == "broker":
            with production.broker:  # the producers wait, as they would for a broker
                kafka.stop()
                time.sleep(OUTAGE_SECONDS)  # the outage's length, not a wait
                assert daemon.alive(), daemon.log()[-3000:]
                kafka.start()
        else:
            influx_server.stop()
            time.sleep(OUTAGE_SECONDS)  # the outage's length, not a wait
            assert daemon.alive(), daemon.log()[-3000:]
            influx_server.start()
    production.reach(count, timeout=120)
    production.join(timeout=10)
    progress = Progress(kafka.bootstrap, config["kafka"]["group_id"], names[:2])
    try:
        progress.wait(daemon, 120)
    finally:
        progress.close()
    outcome, _samples, letters = finish(
        daemon, port, stream, config, influx, kafka.bootstrap, names, kills
    )
    # Counters restart with each process: each killed incarnation's /metrics was read just
    # before its kill, the last one's at the end. What the incarnations reported to
    # fairwatch_pipeline (every 5 s, so a short-lived one may never have) is checked as well.
    late_by_incarnation.append(outcome.late)
    reporting, _largest, _sum = reported(influx, "fairwatch_pipeline_checkpoints_total")
    late_series, late_largest, late_sum = reported(influx, "fairwatch_pipeline_events_late_total")
    outcome.late = sum(value or 0.0 for value in late_by_incarnation) + late_largest
    outcome.show(
        "b: kill -9 and outages",
        f" broker and InfluxDB down {OUTAGE_SECONDS:.0f}s each; late per incarnation "
        f"{late_by_incarnation}; fairwatch_pipeline: {reporting} series of checkpoints, "
        f"late series={late_series} largest={late_largest:g} sum of last={late_sum:g}; "
        f"{time.monotonic() - started:.0f}s; timeline: {'; '.join(timeline)}",
    )
    assert reporting >= 1, "no fairwatch_pipeline report found: the counter query is broken"
    assert kills >= KILLS
    assert daemon.log().count("event=daemon_started") == kills + 1
    # at least once: a kill may replay records and send their dead letters again
    assert set(letter_contents(letters)) == set(expected_letters(stream, names))
    assert outcome.dead_letters_distinct == len(stream.bad)
    check_counts(outcome)
    assert outcome.late == 0, f"late {outcome.late:g}: in-order events counted late"
