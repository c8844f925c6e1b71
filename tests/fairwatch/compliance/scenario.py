"""Stored data for report tests: a generated day of events replayed through the monitor of
``fairwatch run`` (:func:`fairwatch.simulation.simulated_run`) into a real embedded sink and a
real alert store, with a known breach, a silence, rejected events and a duplicate.

The stream (:mod:`tests.fairwatch.backtest.stream`) selects half of each group, except from
10:00 to 14:00 on Mon 05 Jan 2026 when group B is selected at 0.1. The rule
``demographic_parity_difference > 0.10`` (2 evaluations, clears at 0.05) on ``1h/5m`` windows
fires at 10:26 and resolves at 14:56 (see tests/fairwatch/backtest/test_backtest_command.py).
A silence by ``ana`` mutes the model's alerts from 11:00 to 12:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from alerting.silences import Matcher, Silence
from alerting.store import AlertStore
from fairwatch.app import load
from fairwatch.replay import RecordedEvents
from fairwatch.simulation import simulated_run
from monitor.config import MonitorConfig
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.decode import Record
from tests.fairwatch.backtest.stream import HOUR, START, Drift, make_events

CONFIG = """\
sensitive: {attributes: [group]}
windows: [1h/5m, 1h]
allowed_lateness: 1m
engine: {min_group_size: 30}
embedded_sink: {path: STATE/metrics.sqlite}
state_dir: STATE/state
alerting:
  rules:
    - name: selection-parity
      condition: demographic_parity_difference > 0.10
      selector: {window: 1h/5m}
      clear_threshold: 0.05
      for: 2 evaluations
      receivers: [pager]
  receivers:
    - {type: pagerduty, name: pager, routing_key_env: REPORT_TEST_ROUTING_KEY}
"""
DROP = Drift(START + 10 * HOUR, START + 14 * HOUR, "B", 0.1)
SILENCE = Silence(
    (Matcher("model_id", "=", "credit"), Matcher("attribute", "=", "group")),
    START + 11 * HOUR,
    START + 12 * HOUR,
    created_by="ana",
    comment="retraining in progress (FW-12)",
    id="0a1b2c3d4e5f",
)
INVALID = 3  # predictions with an invalid decision, rejected
PER_GROUP = 30  # predictions per group in every 5 minutes
DAY = 24 * HOUR


@dataclass(frozen=True)
class Stored:
    """Where the run left its data."""

    folder: Path
    config_path: Path
    config: MonitorConfig
    sink_path: Path
    bodies: list[dict[str, Any]]


def write_config(folder: Path, text: str = CONFIG) -> Path:
    path = folder / "fairwatch.yaml"
    path.write_text(text.replace("STATE", str(folder)), encoding="utf-8")
    return path


def bodies(hours: float = 24.0) -> list[tuple[float, dict[str, Any]]]:
    """The events, with a duplicate and :data:`INVALID` invalid predictions near the start."""
    events = make_events(hours=hours, per_group=PER_GROUP, drifts=[DROP])
    arrival, first = next((a, b) for a, b in events if "prediction" in b)
    extra = [(arrival, dict(first))]  # an at-least-once duplicate
    extra += [
        (arrival, {**first, "prediction_id": f"broken-{index}", "prediction": 7})
        for index in range(INVALID)
    ]
    return events[:5] + extra + events[5:]


class Tee:
    """A metrics sink writing to the embedded sink and to ``other`` (the same rows to both)."""

    name = "tee"

    def __init__(self, first: EmbeddedSink, other: Any) -> None:
        self.sinks = (first, other)

    def on_evaluations(self, evaluations: Any, now: float, watermark: float) -> None:
        for sink in self.sinks:
            sink.on_evaluations(evaluations, now, watermark)

    def write_pipeline(self, samples: Any, now: float) -> None:
        for sink in self.sinks:
            sink.write_pipeline(samples, now)

    def flush(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            sink.flush(timeout)

    def backlog(self) -> int:
        return sum(sink.backlog() for sink in self.sinks)

    def is_full(self) -> bool:
        return any(sink.is_full() for sink in self.sinks)

    def is_reachable(self) -> bool:
        return all(sink.is_reachable() for sink in self.sinks)

    def samples(self) -> list[Any]:
        return []

    def close(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            sink.close(timeout)


def replay(folder: Path, hours: float = 24.0, also: Any = None) -> Stored:
    """Replay the events into ``folder`` (sink, alert store) and return where they are;
    ``also``: another sink that gets the same rows (InfluxDB)."""
    config_path = write_config(folder)
    config = load(config_path, secrets=False)
    store = AlertStore(Path(config.state_dir) / "alerting.sqlite")
    store.add_silence(SILENCE)
    store.close()
    events = bodies(hours)
    recorded = RecordedEvents.of(
        [
            Record(
                config.kafka.predictions_topic if "model_id" in body else config.kafka.labels_topic,
                0,
                index,
                None,
                orjson.dumps(body),
            )
            for index, (_arrival, body) in enumerate(events)
        ],
        [arrival for arrival, _body in events],
    )
    sink_path = Path(config.embedded_sink.path) if config.embedded_sink else folder / "none"
    sink = EmbeddedSink(sink_path)
    try:
        simulated_run(config, recorded, sink=sink if also is None else Tee(sink, also)).run()
    finally:
        sink.close()
    return Stored(folder, config_path, config, sink_path, [body for _a, body in events])
