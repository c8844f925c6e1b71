"""Real data for the dashboards: biased prediction and label events run through the real daemon
(embedded source, real pipeline, engine and alert manager) into the InfluxDB sink."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from fairwatch.app import build_daemon
from monitor.config import config_from_dict
from monitor.sinks.influx import InfluxSink
from monitor.stream.decode import Record
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters

HOUR = 3600.0


def events(
    model_id: str, start: float, hours: int, per_hour: int = 400, seed: int = 11
) -> list[Record]:
    """Predictions over ``hours`` from ``start`` (women selected less often), 80% labeled,
    a few malformed records and a few late predictions at the end."""
    rng = np.random.default_rng(seed)
    count = hours * per_hour
    times = np.sort(rng.uniform(start, start + hours * HOUR, size=count))
    sex = rng.choice(["Female", "Male"], size=count, p=[0.4, 0.6])
    race = rng.choice(["Asian", "Black", "Other", "White"], size=count, p=[0.1, 0.2, 0.05, 0.65])
    score = np.clip(rng.normal(0.5, 0.2, size=count) - 0.2 * (sex == "Female"), 0.0, 1.0)
    truth = (rng.random(count) < score).astype(int)
    labeled = rng.random(count) < 0.8
    predictions, labels = [], []
    for index in range(count):
        predictions.append(
            {
                "prediction_id": f"{model_id}-{index}",
                "model_id": model_id,
                "timestamp": float(times[index]),
                "score": float(score[index]),
                "sensitive": {"sex": str(sex[index]), "race": str(race[index])},
            }
        )
        if labeled[index]:
            labels.append({"prediction_id": f"{model_id}-{index}", "label": int(truth[index])})
    for index in range(5):  # far behind the watermark: counted as late
        predictions.append(
            {
                "prediction_id": f"{model_id}-late-{index}",
                "model_id": model_id,
                "timestamp": start - 2 * HOUR,
                "score": 0.9,
                "sensitive": {"sex": "Male", "race": "White"},
            }
        )
    offsets = {"predictions": itertools.count(), "labels": itertools.count()}

    def record(topic: str, value: bytes) -> Record:
        return Record(topic, 0, next(offsets[topic]), None, value)

    records = [record("predictions", orjson.dumps(p)) for p in predictions]
    records += [record("predictions", b"{not json"), record("labels", b'{"label": 3}')]
    records += [record("labels", orjson.dumps(label)) for label in labels]
    return records


def run_daemon(
    model_id: str,
    records: list[Record],
    sink: InfluxSink,
    state_dir: Path,
    clock: Callable[[], float],
) -> Any:
    """Run the daemon over ``records`` until they are consumed; returns the daemon."""
    config = config_from_dict(
        {
            "kafka": {"max_poll_records": 500},
            "models": {model_id: {"threshold": 0.5}},
            "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
            "windows": ["1h"],
            "allowed_lateness": "10m",
            "engine": {"min_group_size": 30, "bootstrap_samples": 200},
            "embedded_sink": {"path": str(state_dir / "unused.sqlite")},
            "state_dir": str(state_dir / "state"),
            "alerting": {
                "rules": [
                    {
                        "name": "parity",
                        "selector": {"model_id": model_id},
                        "condition": "demographic_parity_difference > 0.1",
                        "receivers": [],
                    }
                ],
                "receivers": [],
            },
        }
    )
    daemon = build_daemon(
        config,
        source=EmbeddedSource(records),
        sink=sink,
        dead_letters=MemoryDeadLetters(),
        health=False,
        clock=clock,
    )
    daemon.run(stop_when_idle=True)
    return daemon
