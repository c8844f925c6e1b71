"""Benchmark of the evaluator (``kafka.mode: pane_counts``): how many pane-topic records it
applies per second, and what evaluating the windows they change costs — its own limit, to set
beside what the Flink job writes (bench_flink.py: 39–58 pane records/s at 8,000 events/s).

No servers: the pane topic is made in memory (the records a job writes for ``--days`` of one
model with sex (2 values) × race (5) and their intersection, windows ``1h`` and ``1d/1h``, 50
score bins) and fed to the evaluator's pipeline (decode, apply, evaluate) as the daemon does.

Prints, each measured in this run:

1. **rebuild**: applying the whole compacted topic from its beginning (a new evaluator, or one
   whose state was lost) — records/s, and the evaluation of every window it changed;
2. **steady state**: updates of the current hour's panes (what a job writes as events and
   labels arrive), applied in batches of ``--batch`` and the changed windows evaluated after
   each batch (the daemon evaluates every checkpoint interval) — pane updates/s end to end.

    .venv/bin/python bench/bench_evaluator.py [--days 30] [--batch 200] [--updates 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import MonitorConfig, config_from_dict
from monitor.stream.decode import Record
from monitor.stream.pipeline import Pipeline
from monitor.stream.state import StateStore

TOPIC = "fairwatch-pane-counts"
SEXES = ("Female", "Male")
RACES = ("White", "Black", "Hispanic", "Asian", "Other")
BINS = 50
START = 1_714_521_600.0  # 2024-05-01T00:00:00Z


def config(state_dir: str) -> MonitorConfig:
    return config_from_dict(
        {
            "kafka": {"mode": "pane_counts", "pane_topic": TOPIC},
            "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
            "windows": ["1h", "1d/1h"],
            "label_horizon": "30d",
            "state_dir": state_dir,
            "embedded_sink": {"path": str(Path(state_dir) / "unused.sqlite")},
        }
    )


def groups() -> list[tuple[str, str]]:
    out = [("sex", sex) for sex in SEXES] + [("race", race) for race in RACES]
    return out + [("race&sex", f"{race}&{sex}") for race in RACES for sex in SEXES]


def value(rng: random.Random, n: int) -> dict[str, object]:
    labeled = int(n * 0.7)
    positives = int(labeled * 0.4)
    histogram = [[0] * BINS, [0] * BINS]
    predictions = [0] * BINS
    for _ in range(min(n, 200)):
        predictions[rng.randrange(BINS)] += 1
    for label, count in ((0, labeled - positives), (1, positives)):
        for _ in range(min(count, 100)):
            histogram[label][rng.randrange(BINS)] += 1
    return {
        "n": n,
        "predicted_positive": int(n * 0.3),
        "tp": positives // 2,
        "fp": (labeled - positives) // 4,
        "tn": (labeled - positives) - (labeled - positives) // 4,
        "fn": positives - positives // 2,
        "score_histogram": histogram,
        "score_offsets": [rng.randint(-5000, 5000) for _ in range(BINS)],
        "score_predictions": predictions,
    }


def record(offset: int, pane_start: float, attribute: str, group: str, body: object) -> Record:
    key = {
        "attribute": attribute,
        "group_name": group,
        "model_id": "credit",
        "pane_seconds": 3600.0,
        "pane_start": pane_start,
    }
    return Record(
        TOPIC,
        0,
        offset,
        json.dumps(key, separators=(",", ":")).encode(),
        json.dumps(body, separators=(",", ":")).encode(),
    )


def progress(offset: int, event_time: float) -> Record:
    key = {"partition": 0, "progress": "predictions"}
    body = {"event_time": event_time, "offset": offset}
    return Record(TOPIC, 0, offset, json.dumps(key).encode(), json.dumps(body).encode())


def feed(pipeline: Pipeline, records: list[Record], batch: int, evaluate: bool) -> float:
    """Seconds to apply ``records`` in batches (and evaluate after each when asked)."""
    started = time.perf_counter()
    for first in range(0, len(records), batch):
        pipeline.process(records[first : first + batch])
        pipeline.tick(time.time(), {(TOPIC, 0): 0})
        if evaluate:
            pipeline.evaluate(time.time())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--updates", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    pairs = groups()
    with tempfile.TemporaryDirectory() as directory:
        pipeline = Pipeline(config(directory), StateStore(directory))
        pipeline.own_partitions([(TOPIC, 0), ("predictions", 0)])
        hours = args.days * 24
        topic = [
            record(index, START + hour * 3600.0, attribute, group, value(rng, rng.randint(50, 400)))
            for index, (hour, (attribute, group)) in enumerate(
                (hour, pair) for hour in range(hours) for pair in pairs
            )
        ]
        topic.append(progress(len(topic), START + hours * 3600.0 - 1.0))
        seconds = feed(pipeline, topic, 2000, evaluate=False)
        windows = len(pipeline.counts.changed)
        started = time.perf_counter()
        pipeline.evaluate(time.time())
        evaluating = time.perf_counter() - started
        print(
            f"rebuild: {len(topic):,} pane records ({args.days} days × {len(pairs)} groups) "
            f"applied in {seconds:.2f} s = {len(topic) / seconds:,.0f} records/s; "
            f"then {windows:,} windows evaluated in {evaluating:.2f} s "
            f"({evaluating / max(windows, 1) * 1000:.2f} ms per window)"
        )
        offset = len(topic)
        updates = []
        for index in range(args.updates):
            hour = hours - 1 - (index % 2)  # the last two hours (late labels)
            attribute, group = pairs[index % len(pairs)]
            updates.append(
                record(offset + index, START + hour * 3600.0, attribute, group, value(rng, 400))
            )
        seconds = feed(pipeline, updates, args.batch, evaluate=True)
        batches = -(-len(updates) // args.batch)
        print(
            f"steady state: {len(updates):,} pane updates in batches of {args.batch}, the changed "
            f"windows (1h and 24 sliding 1d/1h ones per hour touched) evaluated after each of the "
            f"{batches:,} batches: {seconds:.2f} s = {len(updates) / seconds:,.0f} pane updates/s "
            f"({seconds / batches * 1000:.1f} ms per batch)"
        )
        pipeline.close()


if __name__ == "__main__":
    main()
