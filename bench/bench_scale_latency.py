"""End-to-end latency of the scale-out: event → Flink job → pane topic → evaluator
(``fairwatch run`` with ``kafka.mode: pane_counts``) → InfluxDB, at a steady produce rate.

Events (bench_daemon.py's, event time = now) are produced at ``--rate`` per second for
``--seconds``; the job runs at parallelism 2 with checkpoints every ``--checkpoint-interval``
seconds (exactly once); the evaluator runs as its own process with the default
``pipeline.checkpoint_interval`` (1 s) and InfluxDB ``flush_interval`` (1 s). Four times a second
the bench reads the number of predictions InfluxDB holds (``fairness_group`` ``n`` of the ``1h``
windows, summed over the groups of ``sex``): the latency of that moment is how long ago the last
of those predictions was sent (the freshness of what a dashboard shows). Prints p50 and p99 over
the samples taken while producing, after the first 10 s.

Needs the local servers and Flink (see bench_flink.py)::

    .venv/bin/python bench/bench_scale_latency.py [--rate 5000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_daemon import bench_data, create_topics, event_bytes  # noqa: E402
from bench_flink import FlinkJob, PaneWatcher, load  # noqa: E402


def influx_query(url: str, database: str, query: str) -> Any:
    body = urllib.parse.urlencode({"db": database, "q": query}).encode()
    with urllib.request.urlopen(f"{url}/query", data=body, timeout=10) as response:
        return json.loads(response.read())


def counted(url: str, database: str) -> int:
    """Predictions InfluxDB holds: ``n`` of the 1h windows' groups of ``sex``."""
    answer = influx_query(
        url,
        database,
        'SELECT sum("n") FROM fairness_group WHERE "attribute" = \'sex\' AND "window" = \'1h\'',
    )
    series = answer["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def evaluator_config(
    directory: Path, bootstrap: str, topics: list[str], job: FlinkJob, url: str, database: str
) -> Path:
    data = bench_data(directory, bootstrap, topics)
    data["kafka"] = {
        **data["kafka"],
        "mode": "pane_counts",
        "pane_topic": job.pane_topic,
        "group_id": f"bench-evaluator-{uuid.uuid4().hex[:8]}",
    }
    data.pop("embedded_sink")
    data["influxdb"] = {
        "url": url,
        "org": "fairwatch",
        "bucket": f"{database}/autogen",
        "token_env": "FAIRWATCH_BENCH_TOKEN",
    }
    path = directory / "evaluator.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--checkpoint-interval", type=float, default=1.0)
    args = parser.parse_args()
    if "FAIRWATCH_TEST_FLINK_REST_URL" not in os.environ:
        sys.exit("start the local Flink cluster first (deploy/local/flink.py start)")
    bootstrap = os.environ.get("FAIRWATCH_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    url = os.environ.get("FAIRWATCH_TEST_INFLUXDB_URL", "http://127.0.0.1:8086")
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_scale_{suffix}"
    influx_query(url, database, f'CREATE DATABASE "{database}"')
    topics = [f"scale-predictions-{suffix}", f"scale-labels-{suffix}", f"scale-dlq-{suffix}"]
    create_topics(bootstrap, topics, 3)
    job = FlinkJob(topics, bootstrap, 2, args.checkpoint_interval)
    job.submit()
    watcher = PaneWatcher(bootstrap, job.pane_topic)  # what the job has published
    watcher.start()
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    with tempfile.TemporaryDirectory() as directory:
        config = evaluator_config(Path(directory), bootstrap, topics, job, url, database)
        log = (Path(directory) / "evaluator.log").open("wb")
        evaluator = subprocess.Popen(
            [sys.executable, "-m", "fairwatch.cli", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FAIRWATCH_BENCH_TOKEN": "x"},
            cwd=ROOT,
        )
        try:
            producer.send(topics[0], key=b"warm", value=event_bytes(0, time.time()))
            producer.flush()
            deadline = time.perf_counter() + 180
            while counted(url, database) < 1:
                if time.perf_counter() > deadline or evaluator.poll() is not None:
                    raise RuntimeError("the first event did not reach InfluxDB in 180 s")
                time.sleep(0.25)
            sent_at: list[float] = []  # perf_counter when the (i + 1)-th event was sent
            samples: list[tuple[float, int, int]] = []  # (time, in InfluxDB, in the pane topic)
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    published = watcher.read() - 1
                    samples.append((time.perf_counter(), counted(url, database) - 1, published))
                    time.sleep(0.25)

            sampler = threading.Thread(target=watch, daemon=True)
            started = time.perf_counter()
            sampler.start()
            index = 1
            while time.perf_counter() - started < args.seconds:
                due = int((time.perf_counter() - started) * args.rate)
                while index <= due:
                    producer.send(
                        topics[0], key=b"p-%012d" % index, value=event_bytes(index, time.time())
                    )
                    sent_at.append(time.perf_counter())
                    index += 1
                time.sleep(0.002)
            producer.flush()
            ended = time.perf_counter()
            stop.set()
            sampler.join()
            achieved = len(sent_at) / (ended - started)
            steady = [
                sample for sample in samples if sample[0] - started > 10.0 and sample[0] <= ended
            ]
            latencies = sorted(
                at - sent_at[min(count, len(sent_at)) - 1] for at, count, _ in steady if count >= 1
            )
            published = sorted(
                at - sent_at[min(count, len(sent_at)) - 1] for at, _, count in steady if count >= 1
            )
            behind = [bisect.bisect(sent_at, at) - count for at, count, _ in steady]
            if not latencies:
                raise RuntimeError("nothing reached InfluxDB while producing")
            print(
                f"event to InfluxDB at {args.rate:,} events/s for {args.seconds:.0f} s "
                f"({len(sent_at):,} events, produced at {achieved:,.0f}/s; job at parallelism 2, "
                f"checkpoints every {args.checkpoint_interval:g} s, exactly once; evaluator with "
                f"its defaults): freshness p50 {latencies[len(latencies) // 2]:.2f} s, p99 "
                f"{latencies[int(len(latencies) * 0.99)]:.2f} s over {len(latencies)} samples "
                f"(of the pane topic: p50 {published[len(published) // 2]:.2f} s, p99 "
                f"{published[int(len(published) * 0.99)]:.2f} s); "
                f"events sent but not yet in InfluxDB, median {sorted(behind)[len(behind) // 2]:,} "
                f"(load {load()})",
                flush=True,
            )
        finally:
            producer.close()
            evaluator.terminate()
            evaluator.wait(timeout=30)
            log.close()
            watcher.stop.set()
            watcher.join()
            job.cancel()


if __name__ == "__main__":
    main()
