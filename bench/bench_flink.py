"""Benchmark of the Flink job (``fairwatch flink render``) on the local Flink cluster and Kafka,
compared in the same run with ``fairwatch run`` on the same topic.

Prints, each measured in this run:

1. throughput: prediction events per second through the Flink job at parallelism 1 and 2, and
   through one ``fairwatch run`` daemon over the same topic (bench_daemon.py's measurement),
   each from a third of the backlog on (the JIT compilers are done by then) to its end; per
   second of wall time and per CPU second of the process doing the work (the TaskManager's JVM;
   the daemon), which is the per-core rate on a machine shared with other work; also the
   pane-topic records the job wrote per second (what an evaluator reads) and the rate at which
   Python reads and decodes such records (kafka-python + json: an evaluator's input limit);
2. latency at steady produce rates (``--rate``, default 5,000 events/s; the job at parallelism
   2): from sending an event until the pane topic (``read_committed``) holds a progress record
   covering its offset, which is committed in the same transaction as its pane counts (p50, p99);
3. state with many predictions waiting for labels (random UUID ids, 30-day label horizon): the
   job's checkpointed state size (full and incremental) and checkpoint duration once they are
   all read.

The events are bench_daemon.py's (two sensitive attributes of 2 and 4 values, their
intersection; windows 1h and 1d/1h, so one pane size). Needs the local servers and Flink:

    python deploy/local/localservers.py start --state-dir /tmp/s > /tmp/s.env && source /tmp/s.env
    python deploy/local/flink.py start --state-dir /tmp/s > /tmp/f.env && source /tmp/f.env
    .venv/bin/python bench/bench_flink.py [--events 300000] [--rate 1000,5000] [--pending 1000000]
        [--skip-throughput] [--skip-latency] [--skip-state] [--skip-daemon]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_daemon import (  # noqa: E402  (a sibling script)
    bench_config,
    create_topics,
    event_bytes,
    produce_backlog,
)

from fairwatch.flink.job import JobOptions, render  # noqa: E402
from fairwatch.flink.submit import Cluster, submit  # noqa: E402


def rest(path: str, method: str = "GET") -> Any:
    import urllib.request

    url = os.environ["FAIRWATCH_TEST_FLINK_REST_URL"].rstrip("/") + path
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def taskmanager_cpu() -> float:
    """CPU seconds (user + system) the TaskManager's JVM has used so far."""
    state_dir = Path(os.environ["FAIRWATCH_TEST_FLINK_STATE_DIR"])
    pid = (state_dir / "flink-taskmanager" / "flink-taskmanager.pid").read_text().strip()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Rate:
    """Events per second of wall time, and per CPU second of the process doing the work (the
    per-core rate: on a machine shared with other work, wall time depends on the others)."""

    events: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.events / self.cpu_seconds

    def __str__(self) -> str:
        return (
            f"{self.per_second:>9,.0f} events/s, {self.per_cpu_second:>9,.0f} events per CPU "
            f"second ({self.cpu_seconds / self.seconds:.2f} cores busy)"
        )


@dataclass
class FlinkJob:
    """A job submitted from ``bench_config``; cancelled by :meth:`cancel`."""

    topics: list[str]
    bootstrap: str
    parallelism: int
    checkpoint_interval: float = 1.0
    delivery: str = "exactly-once"
    changes: dict[str, Any] = field(default_factory=dict)
    pane_topic: str = ""
    job_id: str = ""
    submitted_in: float = 0.0

    def submit(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.pane_topic = f"bench-panes-{suffix}"
        create_topics(self.bootstrap, [self.pane_topic], 2)
        home = Path(os.environ["FAIRWATCH_TEST_FLINK_HOME"])
        conf = Path(os.environ["FAIRWATCH_TEST_FLINK_CONF_DIR"])
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), self.bootstrap, self.topics, **self.changes)
            options = JobOptions(
                pane_topic=self.pane_topic,
                group_id=f"bench-flink-{suffix}",
                parallelism=self.parallelism,
                checkpoint_interval=self.checkpoint_interval,
                delivery=self.delivery,
            )
            job_file = Path(directory) / "job.sql"
            job_file.write_text(render(config, options))
            started = time.perf_counter()
            self.job_id = submit(job_file, Cluster(home, conf))
            self.submitted_in = time.perf_counter() - started

    def cancel(self) -> None:
        if self.job_id:
            rest(f"/jobs/{self.job_id}?mode=cancel", "PATCH")


class PaneWatcher(threading.Thread):
    """Reads a pane topic (``read_committed``) and notes when each partition's progress offset
    became visible, and how many records came."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self.offsets: dict[int, int] = {}  # partition -> last offset read by the job
        self.seen: list[tuple[float, dict[int, int]]] = []  # (time, offsets) per change
        self.records = 0
        self.first_record: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            changed = False
            for batch in self.consumer.poll(timeout_ms=100).values():
                for message in batch:
                    self.records += 1
                    if self.first_record is None:
                        self.first_record = time.perf_counter()
                    key = json.loads(message.key)
                    if "progress" in key and message.value is not None:
                        self.offsets[key["partition"]] = json.loads(message.value)["offset"]
                        changed = True
            if changed:
                self.seen.append((time.perf_counter(), dict(self.offsets)))
        self.consumer.close()

    def read(self) -> int:
        """Records the job has read (offsets + 1, over partitions)."""
        return sum(offset + 1 for offset in self.offsets.values())

    def wait_read(self, count: int, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while self.read() < count:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the job read {self.read():,} of {count:,} in {timeout:.0f} s")
            time.sleep(0.05)
        return time.perf_counter()


def flink_rate(bootstrap: str, topics: list[str], count: int, parallelism: int) -> tuple[Rate, str]:
    """A job at ``parallelism`` over the backlog: its rate, and its pane topic."""
    job = FlinkJob(topics, bootstrap, parallelism)
    job.submit()
    watcher = PaneWatcher(bootstrap, job.pane_topic)
    watcher.start()
    try:
        # measured from a third of the backlog on: the JIT compilers have done most of their
        # work on the job's generated code by then (their CPU time counts in the TaskManager's)
        watcher.wait_read(count // 3, timeout=1800)
        cpu_before, records_before = taskmanager_cpu(), watcher.records
        first_at, first = watcher.seen[-1]
        already = sum(offset + 1 for offset in first.values())
        done_at = watcher.wait_read(count, timeout=1800)
        rate = Rate(count - already, done_at - first_at, taskmanager_cpu() - cpu_before)
        written = (watcher.records - records_before) / rate.seconds
        print(
            f"  flink parallelism {parallelism}: {rate} (submitted in {job.submitted_in:.0f} s; "
            f"{watcher.records:,} pane-topic records, {written:,.0f}/s; "
            f"load {load()})",
            flush=True,
        )
        return rate, written
    finally:
        watcher.stop.set()
        watcher.join()
        job.cancel()


def daemon_rate(bootstrap: str, topics: list[str], count: int) -> Rate:
    """``fairwatch run``'s loop in this process over the backlog (as bench_daemon.py measures
    it), with the CPU time of this process over the same span."""
    from fairwatch.app import build_daemon

    with tempfile.TemporaryDirectory() as directory:
        config = bench_config(Path(directory), bootstrap, topics)
        daemon = build_daemon(config, alerting=False, health=False)
        counters = daemon.pipeline.counters
        thread = threading.Thread(target=daemon.run)
        thread.start()
        while sum(counters.consumed.values()) < count // 3:  # as for the Flink job
            time.sleep(0.005)
        started, cpu_before = time.perf_counter(), process_cpu()
        first = sum(counters.consumed.values())
        while sum(counters.consumed.values()) < count:
            time.sleep(0.01)
        rate = Rate(count - first, time.perf_counter() - started, process_cpu() - cpu_before)
        daemon.stop()
        thread.join()
        return rate


def evaluator_input(bootstrap: str, count: int) -> float:
    """Records/s at which kafka-python reads and json-decodes pane records (the job's format, 10
    score bins) from a topic: the ceiling of an evaluator written with them."""
    from kafka import KafkaConsumer, KafkaProducer

    topic = f"bench-pane-records-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [topic], 3)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=1 << 20)
    value = json.dumps(
        {
            "n": 412,
            "predicted_positive": 97,
            "tp": 51,
            "fp": 12,
            "tn": 230,
            "fn": 30,
            "score_histogram": [[58, 61, 47, 35, 22, 10, 5, 3, 1, 0], [2, 4, 6, 9, 10, 11, 9, 11]],
            "score_offsets": [-41007, 12011, 3, -99, 1200, 0, 77, -5, 19, 2],
        }
    ).encode()
    for index in range(count):
        key = (
            '{"attribute":"race&sex","group_name":"Black&Female","model_id":"credit",'
            f'"pane_seconds":3600.0,"pane_start":{1.7e9 + 3600 * index!r}}}'
        ).encode()
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=8 << 20,
    )
    read = 0
    started: float | None = None
    while read < count:
        for batch in consumer.poll(timeout_ms=500, max_records=20000).values():
            if started is None:
                started = time.perf_counter()
            for message in batch:
                json.loads(message.key)
                json.loads(message.value)
                read += 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return count / elapsed


def throughput(bootstrap: str, count: int, rounds: int, skip_daemon: bool) -> None:
    partitions = 3
    suffix = uuid.uuid4().hex[:8]
    topics = [f"bench-predictions-{suffix}", f"bench-labels-{suffix}", f"bench-dlq-{suffix}"]
    create_topics(bootstrap, topics, partitions)
    print(f"producing {count:,} prediction events ...", flush=True)
    produce_backlog(bootstrap, topics[0], count)
    rates: dict[str, list[Rate]] = {"p1": [], "p2": [], "daemon": []}
    records_per_second = 0.0
    for _round in range(rounds):
        rate, records_per_second = flink_rate(bootstrap, topics, count, 1)
        rates["p1"].append(rate)
        rates["p2"].append(flink_rate(bootstrap, topics, count, 2)[0])
        if not skip_daemon:
            rates["daemon"].append(daemon_rate(bootstrap, topics, count))
            print(f"  fairwatch run:        {rates['daemon'][-1]} (load {load()})", flush=True)
    wall = {
        name: statistics.median(r.per_second for r in got) for name, got in rates.items() if got
    }
    cpu = {
        name: statistics.median(r.per_cpu_second for r in got) for name, got in rates.items() if got
    }
    line = (
        f"throughput (medians of {rounds} round(s), {os.cpu_count()} cores shared, load "
        f"{load()}): flink p1 {wall['p1']:,.0f} events/s ({cpu['p1']:,.0f} per CPU second), "
        f"p2 {wall['p2']:,.0f} events/s ({cpu['p2']:,.0f} per CPU second)"
    )
    if "daemon" in wall:
        line += (
            f"; fairwatch run {wall['daemon']:,.0f} events/s ({cpu['daemon']:,.0f} per CPU "
            f"second): per CPU second the job does {cpu['p1'] / cpu['daemon']:.2f}x the daemon"
        )
    print(line, flush=True)
    per_second = evaluator_input(bootstrap, 200_000)
    print(
        f"evaluator input: kafka-python + json read and decode {per_second:,.0f} pane records/s "
        f"(the job wrote {records_per_second:,.0f}/s at parallelism 1 over this backlog)",
        flush=True,
    )


def latency(bootstrap: str, rate: int, seconds: float, checkpoint_interval: float) -> None:
    from kafka import KafkaProducer

    suffix = uuid.uuid4().hex[:8]
    topics = [f"lat-predictions-{suffix}", f"lat-labels-{suffix}", f"lat-dlq-{suffix}"]
    create_topics(bootstrap, topics, 3)
    job = FlinkJob(topics, bootstrap, 2, checkpoint_interval)
    job.submit()
    watcher = PaneWatcher(bootstrap, job.pane_topic)
    watcher.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    try:
        warm = producer.send(topics[0], key=b"warm", value=event_bytes(0, time.time()))
        producer.flush()
        meta = warm.get(timeout=30)
        deadline = time.perf_counter() + 120
        while watcher.offsets.get(meta.partition, -1) < meta.offset:
            if time.perf_counter() > deadline:
                raise RuntimeError("the job did not count the first event in 120 s")
            time.sleep(0.05)
        sent: list[tuple[float, Any]] = []
        started = time.perf_counter()
        index = 1
        while time.perf_counter() - started < seconds:
            due = int((time.perf_counter() - started) * rate)
            while index <= due:
                value = event_bytes(index, time.time())
                future = producer.send(topics[0], key=b"p-%012d" % index, value=value)
                if index % 50 == 0:
                    sent.append((time.perf_counter(), future))
                index += 1
            time.sleep(0.002)
        producer.flush()
        achieved = index / (time.perf_counter() - started)
        samples = []
        for sent_at, future in sent:
            meta = future.get(timeout=30)
            seen_at = next(
                (
                    at
                    for at, offsets in watcher.seen
                    if offsets.get(meta.partition, -1) >= meta.offset
                ),
                None,
            )
            while seen_at is None:  # not visible yet: wait for it
                time.sleep(0.05)
                seen_at = next(
                    (
                        at
                        for at, offsets in watcher.seen
                        if offsets.get(meta.partition, -1) >= meta.offset
                    ),
                    None,
                )
            samples.append(seen_at - sent_at)
        samples.sort()
        print(
            f"latency at {rate:,} events/s for {seconds:.0f} s ({index:,} events, produced at "
            f"{achieved:,.0f}/s; parallelism 2, checkpoint interval {checkpoint_interval:g} s, "
            "exactly once): "
            f"event to pane topic p50 {samples[len(samples) // 2]:.2f} s, "
            f"p99 {samples[int(len(samples) * 0.99)]:.2f} s (load {load()})",
            flush=True,
        )
    finally:
        producer.close()
        watcher.stop.set()
        watcher.join()
        job.cancel()


def produce_waiting(bootstrap: str, topic: str, count: int) -> float:
    """``count`` predictions with random UUID ids (no labels will come); returns events/s."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=1 << 20, acks=1)
    ids = random.Random(7)
    started = time.perf_counter()
    now = time.time()
    for index in range(count):
        key = str(uuid.UUID(int=ids.getrandbits(128))).encode()
        timestamp = now - 86400 + index * (86400 / count)
        producer.send(topic, key=key, value=event_bytes(index, timestamp, key))
    producer.flush()
    producer.close()
    return count / (time.perf_counter() - started)


def state(bootstrap: str, count: int) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = [f"state-predictions-{suffix}", f"state-labels-{suffix}", f"state-dlq-{suffix}"]
    create_topics(bootstrap, topics, 3)
    print(f"producing {count:,} predictions with random UUID ids ...", flush=True)
    produced = produce_waiting(bootstrap, topics[0], count)
    job = FlinkJob(topics, bootstrap, 2, 10.0, changes={"label_horizon": "30d"})
    job.submit()
    watcher = PaneWatcher(bootstrap, job.pane_topic)
    watcher.start()
    try:
        started = time.perf_counter()
        during: dict[int, dict[str, Any]] = {}  # checkpoints completed while the job filled
        while watcher.read() < count:
            if time.perf_counter() - started > 3600:
                raise RuntimeError(f"the job read {watcher.read():,} of {count:,} in an hour")
            latest = (rest(f"/jobs/{job.job_id}/checkpoints").get("latest") or {}).get("completed")
            if latest:
                during[latest["id"]] = latest
            time.sleep(1.0)
        filled = count / (time.perf_counter() - started)
        after = max(during, default=0)
        completed: list[dict[str, Any]] = []
        deadline = time.perf_counter() + 300
        while len(completed) < 3 and time.perf_counter() < deadline:
            latest = rest(f"/jobs/{job.job_id}/checkpoints")["latest"]["completed"]
            if latest and latest["id"] > after and all(c["id"] != latest["id"] for c in completed):
                completed.append(latest)
            time.sleep(0.5)
        full = max(c["state_size"] for c in completed)
        idle = statistics.median(c["end_to_end_duration"] for c in completed) / 1000
        filling = list(during.values()) or completed
        slowest = max(c["end_to_end_duration"] for c in filling) / 1000
        typical = statistics.median(c["end_to_end_duration"] for c in filling) / 1000
        delta = statistics.median(c["checkpointed_size"] for c in filling)
        print(
            f"state: {count:,} predictions waiting for labels (random UUID ids, 30-day horizon; "
            f"produced at {produced:,.0f}/s, read by the job at parallelism 2 at "
            f"{filled:,.0f}/s): checkpointed state {full / 1e6:,.0f} MB "
            f"({full / count:,.0f} bytes per waiting prediction); checkpoints every 10 s while "
            f"it filled: {typical:.2f} s median, {slowest:.2f} s the slowest, "
            f"{delta / 1e6:,.1f} MB incremental (median of {len(filling)}); once full: "
            f"{idle:.2f} s (load {load()})",
            flush=True,
        )
    finally:
        watcher.stop.set()
        watcher.join()
        job.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--rate", default="5000", help="produce rates of the latency runs (comma-separated)"
    )
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--checkpoint-interval", type=float, default=1.0)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-daemon", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-state", action="store_true")
    args = parser.parse_args()
    if "FAIRWATCH_TEST_FLINK_REST_URL" not in os.environ:
        sys.exit("start the local Flink cluster first (deploy/local/flink.py start; see above)")
    bootstrap = os.environ.get("FAIRWATCH_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    overview = rest("/overview")
    print(
        f"flink {overview['flink-version']}: {overview['taskmanagers']} TaskManager(s), "
        f"{overview['slots-total']} slots; {os.cpu_count()} cores, load {load()}",
        flush=True,
    )
    if not args.skip_throughput:
        throughput(bootstrap, args.events, args.rounds, args.skip_daemon)
    if not args.skip_latency:
        for rate in (int(value) for value in args.rate.split(",")):
            latency(bootstrap, rate, args.latency_seconds, args.checkpoint_interval)
    if not args.skip_state:
        state(bootstrap, args.pending)


if __name__ == "__main__":
    main()
