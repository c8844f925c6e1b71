"""Benchmark of the streaming daemon against the local Kafka broker (and InfluxDB for latency).

Prints three figures, each measured in this run:

1. throughput: prediction events per second through one daemon (the real run loop, Kafka source,
   decode, join store, windows, evaluation, sink), and the rate of a bare kafka-python consumer
   (poll and discard) draining the same topic, alternating the two (``--rounds``); the ratio
   compares the best of each and the medians;
2. resident memory of a pipeline process holding 5 million predictions waiting for labels, and
   the rate at which it fills (``--random-ids``: random UUID prediction ids, whose inserts land
   all over the join store's index, instead of sequential ones);
3. event-to-InfluxDB latency (p50, p99) at a steady 5,000 events/s: from sending an event until
   InfluxDB's ``n`` of its window includes it (points are stamped with the window end, which
   lies in the future while the window is open, hence the query's ``stop: 1h``).

Events have two sensitive attributes of 2 and 4 values (plus their intersection).

    deploy/local/servers.sh start --env-file /tmp/servers.env && source /tmp/servers.env
    .venv/bin/python bench/bench_daemon.py [--events 300000] [--rounds 3] [--pending 5000000]
        [--random-ids] [--skip-throughput] [--skip-memory] [--skip-latency]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEXES = [b"Female", b"Male"]
RACES = [b"Asian", b"Black", b"Hispanic", b"White"]


def event_bytes(index: int, timestamp: float, prediction_id: bytes | None = None) -> bytes:
    return (
        b'{"prediction_id":"%s","model_id":"credit","timestamp":%.3f,"score":0.%04d,'
        b'"sensitive":{"sex":"%s","race":"%s"}}'
        % (
            prediction_id or b"p-%012d" % index,
            timestamp,
            (index * 7919) % 10000,
            SEXES[index % 2],
            RACES[(index // 2) % 4],
        )
    )


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    admin.close()


def produce_backlog(bootstrap: str, topic: str, count: int) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=1 << 20, acks=1)
    start = 1_700_000_000.0
    for index in range(count):
        producer.send(topic, key=b"p-%012d" % index, value=event_bytes(index, start + index * 0.05))
    producer.flush()
    producer.close()


def bare_rate(bootstrap: str, topic: str, partitions: int, count: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=8 << 20,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    consumed = 0
    started = None
    while consumed < count:
        batches = consumer.poll(timeout_ms=500, max_records=20000)
        if started is None and batches:
            started = time.perf_counter()
        consumed += sum(len(records) for records in batches.values())
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return count / elapsed


def bench_config(tmp: Path, bootstrap: str, topics: list[str], **changes: Any) -> Any:
    from monitor.config import config_from_dict

    return config_from_dict(bench_data(tmp, bootstrap, topics, **changes))


def bench_data(tmp: Path, bootstrap: str, topics: list[str], **changes: Any) -> dict[str, Any]:
    """The benchmarks' configuration, as a ``fairwatch.yaml`` holds it."""
    data: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "group_id": f"bench-{uuid.uuid4().hex[:8]}",
            "predictions_topic": topics[0],
            "labels_topic": topics[1],
            "dead_letter_topic": topics[2],
        },
        "models": {"credit": {"threshold": 0.5}},
        "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
        "windows": ["1h", "1d/1h"],
        "allowed_lateness": "1d",
        "state_dir": str(tmp / "state"),
        "embedded_sink": {"path": str(tmp / "metrics.sqlite")},
        "health": {"host": "127.0.0.1", "port": 0},
    }
    data.update(changes)
    return data


def daemon_rate(bootstrap: str, topics: list[str], count: int) -> float:
    """The real run loop in this process (Kafka source, embedded sink) over the backlog."""
    from fairwatch.app import build_daemon
    from monitor.stream.counters import EVENTS_CONSUMED

    with tempfile.TemporaryDirectory() as directory:
        config = bench_config(Path(directory), bootstrap, topics)
        daemon = build_daemon(config, alerting=False, health=False)
        counters = daemon.pipeline.counters
        thread = threading.Thread(target=daemon.run)
        thread.start()
        while not counters.total(EVENTS_CONSUMED):
            time.sleep(0.005)
        started = time.perf_counter()
        first = counters.total(EVENTS_CONSUMED)
        while counters.total(EVENTS_CONSUMED) < count:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        daemon.stop()
        thread.join()
        return (count - first) / elapsed


def throughput(bootstrap: str, count: int, rounds: int) -> None:
    partitions = 3
    suffix = uuid.uuid4().hex[:8]
    topics = [f"bench-predictions-{suffix}", f"bench-labels-{suffix}", f"bench-dlq-{suffix}"]
    create_topics(bootstrap, topics, partitions)
    print(f"producing {count:,} prediction events ...", flush=True)
    produce_backlog(bootstrap, topics[0], count)
    bare: list[float] = []
    daemon: list[float] = []
    for _round in range(rounds):
        bare.append(bare_rate(bootstrap, topics[0], partitions, count))
        print(f"  bare kafka-python poll-and-discard: {bare[-1]:>10,.0f} events/s", flush=True)
        daemon.append(daemon_rate(bootstrap, topics, count))
        print(
            f"  fairwatch daemon:                   {daemon[-1]:>10,.0f} events/s "
            f"({daemon[-1] / bare[-1]:.0%} of the bare run before it)",
            flush=True,
        )
    print(
        f"throughput: daemon {max(daemon):,.0f} events/s "
        f"(median {statistics.median(daemon):,.0f}), "
        f"bare consumer {max(bare):,.0f} events/s (median {statistics.median(bare):,.0f}), "
        f"ratio of the best runs {max(daemon) / max(bare):.0%}, of the medians "
        f"{statistics.median(daemon) / statistics.median(bare):.0%}"
    )


# -- memory ------------------------------------------------------------------------------------


def synthetic_records(count: int, batch: int, random_ids: bool = False) -> Iterator[list[Any]]:
    from monitor.stream.decode import Record

    start = 1_700_000_000.0
    ids = random.Random(7)
    for first in range(0, count, batch):
        yield [
            Record(
                "predictions",
                index % 3,
                index // 3,
                None,
                event_bytes(
                    index,
                    start + index * 0.001,
                    str(uuid.UUID(int=ids.getrandbits(128))).encode() if random_ids else None,
                ),
            )
            for index in range(first, min(count, first + batch))
        ]


def rss_child(count: int, random_ids: bool) -> None:
    """Runs in a fresh process: fill the join store with ``count`` unlabeled predictions."""
    from monitor.stream.counters import PREDICTIONS_AWAITING_LABEL
    from monitor.stream.pipeline import Pipeline
    from monitor.stream.state import StateStore

    def rss_mb(field: str) -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        return float("nan")

    with tempfile.TemporaryDirectory() as directory:
        config = bench_config(
            Path(directory), "unused:9092", ["predictions", "labels", "dlq"], label_horizon="30d"
        )
        pipeline = Pipeline(config, StateStore(config.state_dir, config.pipeline.state_cache_mb))
        started = time.perf_counter()
        last = started
        step = max(count // 5, 1)
        mark, marked_at = step, started
        for records in synthetic_records(count, 20000, random_ids):
            pipeline.process(records)
            if time.perf_counter() - last > 2.0:
                pipeline.checkpoint()
                last = time.perf_counter()
            filled = int(pipeline.counters.get(PREDICTIONS_AWAITING_LABEL))
            if filled >= mark:
                now = time.perf_counter()
                print(
                    f"  {filled:>10,} waiting: {step / (now - marked_at):>8,.0f} events/s",
                    flush=True,
                )
                mark, marked_at = mark + step, now
        pipeline.checkpoint()
        elapsed = time.perf_counter() - started
        size = Path(config.state_dir, "state.sqlite").stat().st_size / 1e6
        print(
            f"memory: {pipeline.counters.get(PREDICTIONS_AWAITING_LABEL):,.0f} predictions "
            "waiting for labels, "
            f"RSS {rss_mb('VmRSS'):.0f} MB (peak {rss_mb('VmHWM'):.0f} MB), state file "
            f"{size:.0f} MB, filled at {count / elapsed:,.0f} events/s "
            f"({'random UUID' if random_ids else 'sequential'} prediction ids)"
        )
        pipeline.close()


# -- latency -----------------------------------------------------------------------------------


def latency(bootstrap: str, rate: int, seconds: float) -> None:
    import yaml
    from kafka import KafkaProducer

    influx_url = os.environ.get("FAIRWATCH_TEST_INFLUXDB_URL")
    if not influx_url:
        print("latency: skipped (set FAIRWATCH_TEST_INFLUXDB_URL, e.g. from servers.sh)")
        return
    token = os.environ.get("FAIRWATCH_TEST_INFLUXDB_TOKEN", "fairwatch:fairwatch")
    database = f"bench_{uuid.uuid4().hex[:8]}"
    import urllib.parse
    import urllib.request

    urllib.request.urlopen(
        f"{influx_url}/query",
        data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'}).encode(),
        timeout=30,
    ).read()
    suffix = uuid.uuid4().hex[:8]
    topics = [f"lat-predictions-{suffix}", f"lat-labels-{suffix}", f"lat-dlq-{suffix}"]
    create_topics(bootstrap, topics, 3)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        config = {
            "kafka": {
                "bootstrap_servers": bootstrap,
                "group_id": f"lat-{suffix}",
                "predictions_topic": topics[0],
                "labels_topic": topics[1],
                "dead_letter_topic": topics[2],
            },
            "models": {"credit": {"threshold": 0.5}},
            "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
            "windows": ["1m"],
            "state_dir": str(tmp / "state"),
            "influxdb": {
                "url": influx_url,
                "org": "fairwatch",
                "bucket": f"{database}/autogen",
                "token_env": "BENCH_INFLUX_TOKEN",
            },
            "health": {"host": "127.0.0.1", "port": 0},
        }
        (tmp / "fairwatch.yaml").write_text(yaml.safe_dump(config))
        log = (tmp / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "fairwatch.cli", "run", "--config", str(tmp / "fairwatch.yaml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "BENCH_INFLUX_TOKEN": token},
        )
        try:
            deadline = time.monotonic() + 60
            while b"event=daemon_started" not in (tmp / "daemon.log").read_bytes():
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise RuntimeError((tmp / "daemon.log").read_text()[-2000:])
                time.sleep(0.1)
            sent_at: list[float] = []
            producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
            stop = threading.Event()
            written: list[tuple[float, int]] = []

            def watch() -> None:
                from influxdb_client import InfluxDBClient

                query = (
                    f'from(bucket: "{database}/autogen") |> range(start: -1h, stop: 1h) '
                    '|> filter(fn: (r) => r._measurement == "fairness_group" and '
                    'r._field == "n" and r.attribute == "sex") |> group() |> sum()'
                )
                with InfluxDBClient(url=influx_url, token=token, org="fairwatch") as client:
                    api = client.query_api()
                    while not stop.is_set():
                        tables = api.query(query)
                        total = sum(int(r.get_value()) for t in tables for r in t.records)
                        written.append((time.time(), total))
                        time.sleep(0.1)

            watcher = threading.Thread(target=watch)
            watcher.start()
            started = time.time()
            index = 0
            while time.time() - started < seconds:
                due = int((time.time() - started) * rate)
                while index < due:
                    now = time.time()
                    producer.send(topics[0], key=b"p-%012d" % index, value=event_bytes(index, now))
                    sent_at.append(now)
                    index += 1
                time.sleep(0.002)
            producer.flush()
            deadline = time.time() + 30
            while (not written or written[-1][1] < len(sent_at)) and time.time() < deadline:
                time.sleep(0.2)
            stop.set()
            watcher.join()
            samples = []
            position = 0
            for number in range(0, len(sent_at), 50):
                while position < len(written) and written[position][1] <= number:
                    position += 1
                if position < len(written):
                    samples.append(written[position][0] - sent_at[number])
            samples.sort()
            p50 = samples[len(samples) // 2]
            p99 = samples[int(len(samples) * 0.99)]
            print(
                f"latency at {rate:,} events/s for {seconds:.0f}s ({len(sent_at):,} events, "
                f"checkpoint_interval 1s, InfluxDB flush_interval 1s): p50 {p50:.2f}s, "
                f"p99 {p99:.2f}s"
            )
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--pending", type=int, default=5_000_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="alternating throughput rounds")
    parser.add_argument(
        "--random-ids",
        action="store_true",
        help="fill the join store with random UUID prediction ids instead of sequential ones",
    )
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.random_ids)
        return
    bootstrap = os.environ.get("FAIRWATCH_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if not args.skip_throughput:
        throughput(bootstrap, args.events, args.rounds)
    if not args.skip_memory:
        child = [sys.executable, __file__, "--rss-child", str(args.pending)]
        subprocess.run(child + (["--random-ids"] if args.random_ids else []), check=True)
    if not args.skip_latency:
        latency(bootstrap, 5000, args.latency_seconds)


if __name__ == "__main__":
    main()
