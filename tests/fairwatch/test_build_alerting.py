"""The one composition root of alerting (fairwatch.app.build_alerting) on a simulated clock, and
build_daemon wiring it: gate with alert_delay, resume after a restart, counters, ownership."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alerting.manager import AlertManager
from alerting.metrics import INSTANCES, TRANSITIONS
from alerting.receivers import ReceiverConfig
from alerting.tickers import ManualTicker
from alerting.types import Receiver
from fairwatch.app import build_alerting, build_daemon
from fairwatch.episodes import RecordingReceiver
from monitor.config import MonitorConfig
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import WINDOWS_RELEASED
from monitor.stream.memory import EmbeddedSource
from tests.alerting.alert_builders import HOUR, T0, evaluation
from tests.monitor.stream.conftest import daemon_config
from tests.monitor.stream.reference import records

ALERTING = {
    "rules": [
        {
            "name": "parity",
            "selector": {"attribute": "sex"},
            "condition": "demographic_parity_difference > 0.10",
            "clear_threshold": 0.05,
            "for": "2 evaluations",
            "receivers": ["hook"],
        }
    ],
    "receivers": [{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/never"}],
    "routing": {"group_wait": "30s"},
}


def settings(tmp_path: Path, **changes: Any) -> MonitorConfig:
    data = daemon_config(
        tmp_path,
        "127.0.0.1:1",
        ["predictions", "labels", "dead"],
        windows=["1h"],
        sensitive={"attributes": ["sex"]},
        allowed_lateness="1m",
        alerting=ALERTING,
        pipeline={"checkpoint_interval": "0s", "shutdown_timeout": "5s", "alert_delay": "1h"},
        **changes,
    )
    data["engine"]["min_group_size"] = 30
    return MonitorConfig.model_validate(data)


class Recorders(dict[str, RecordingReceiver]):
    """A receiver factory for build_alerting that records, by receiver name."""

    def __call__(self, config: ReceiverConfig) -> Receiver:
        self[config.name] = RecordingReceiver(config)
        return self[config.name]


def test_build_alerting_on_a_simulated_clock_holds_windows_for_the_delay_and_ticks(
    tmp_path: Path,
) -> None:
    watermark = [-math.inf]
    clock = ManualTicker(T0, every=10.0)
    receivers = Recorders()
    alerting = build_alerting(
        settings(tmp_path),
        receivers=receivers,
        clock=clock,
        ticker=clock,
    )
    alerting.resume(-math.inf)
    first, second = (
        evaluation(0.2, T0 + hour * HOUR, model_id="credit", window="1h") for hour in (1, 2)
    )
    watermark[0] = T0 + 2 * HOUR - 1  # both windows closed, but alert_delay is 1h
    alerting.gate.on_evaluations([first, second], clock(), watermark[0])
    assert alerting.gate.released == 0 and alerting.manager.alerts() == []
    watermark[0] = T0 + 3 * HOUR
    clock.advance(T0 + 3 * HOUR)
    alerting.gate.on_evaluations(
        [], clock(), watermark[0]
    )  # now both are released, in order: it fires
    assert [state.status for state in alerting.manager.alerts()] == ["firing"]
    clock.advance(T0 + 3 * HOUR + 20)
    assert receivers["hook"].delivered == []  # group_wait (30s) runs on the simulated clock
    clock.advance(T0 + 3 * HOUR + 30)
    [body] = receivers["hook"].delivered
    assert (body["status"], body["model_id"], clock.delivered) == ("firing", "credit", 1)
    names = {sample.name for source in alerting.counter_sources for sample in source.samples()}
    assert {TRANSITIONS.name, WINDOWS_RELEASED.name} <= names
    alerting.manager.stop()


def predictions(hours: int, female_rate: float) -> list[dict[str, Any]]:
    """200 predictions an hour from T0, half each sex; women selected at ``female_rate``."""
    events = []
    for hour in range(hours):
        for index in range(200):
            female = index % 2 == 1
            selected = (index // 2) % 10 < (female_rate if female else 0.5) * 10
            events.append(
                {
                    "prediction_id": f"p{hour}-{index}",
                    "model_id": "credit",
                    "timestamp": T0 + hour * HOUR + index * (HOUR / 200),
                    "prediction": int(selected),
                    "sensitive": {"sex": "Female" if female else "Male", "race": "A"},
                }
            )
    return events


def test_build_daemon_wires_its_own_alerting_and_stops_it(tmp_path: Path) -> None:
    daemon = build_daemon(
        settings(tmp_path),
        source=EmbeddedSource(records("predictions", predictions(6, 0.1), 1)),
        sink=EmbeddedSink(str(tmp_path / "metrics.sqlite")),
        health=False,
    )
    names = {sample.name for sample in daemon.samples()}
    assert {INSTANCES.name, WINDOWS_RELEASED.name} <= names
    assert daemon.run(stop_when_idle=True) == 0
    [manager] = [s for s in daemon.counter_sources if isinstance(s, AlertManager)]
    with pytest.raises(sqlite3.ProgrammingError):  # stopped with the daemon: store closed
        manager.store.load_alerts()


def test_a_replay_alerting_is_resumed_by_build_daemon_and_stays_the_callers(
    tmp_path: Path,
) -> None:
    config = settings(tmp_path)
    first = build_daemon(
        config,
        source=EmbeddedSource(records("predictions", predictions(6, 0.1), 1)),
        sink=EmbeddedSink(str(tmp_path / "metrics.sqlite")),
        health=False,
        clock=lambda: T0 + 6 * HOUR,  # its alert group waits (group_wait) for ever
    )
    assert first.run(stop_when_idle=True) == 0
    restored = first.pipeline.watermark.value
    assert math.isfinite(restored)

    clock = ManualTicker(T0 + 6 * HOUR, every=60.0)
    receivers = Recorders()
    alerting = build_alerting(
        config,
        receivers=receivers,
        clock=clock,
        ticker=clock,
    )
    daemon = build_daemon(
        config,
        source=EmbeddedSource([]),
        sink=EmbeddedSink(str(tmp_path / "metrics.sqlite")),
        alerting=alerting,
        health=False,
        clock=clock,
    )
    # resumed: a window judged before the restart (closed an alert_delay before the restored
    # watermark) is not judged again
    assert alerting.gate.decide("credit", "1h", restored - HOUR - 60, restored) == "skip"
    assert daemon.run(stop_when_idle=True) == 0
    assert [state.status for state in alerting.manager.alerts()] == ["firing"]  # not stopped
    clock.advance(T0 + 7 * HOUR)  # ticked by the clock build_daemon started: the restored
    [body] = receivers["hook"].delivered  # alert's group is notified after group_wait
    assert body["status"] == "firing"
    alerting.manager.stop()
