"""Alert rules judge closed windows only: the daemon's wiring of the alert manager.

Sliding windows are re-evaluated while they fill; a rule with ``for`` judging those partial
windows would be reset by every nearly empty newest window and never fire.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from alerting import AlertManager, parse_alerting_config
from fairwatch.app import build_daemon
from monitor.config import MonitorConfig
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from tests.monitor.stream.conftest import daemon_config
from tests.monitor.stream.reference import records

HOUR = 3600.0
START = 1_700_000_000.0 - 1_700_000_000.0 % HOUR


def hours_of_events(first: int, last: int, female_rate: float, rng: random.Random) -> list[Any]:
    events = []
    for hour in range(first, last):
        for index in range(200):
            sex = "Female" if index % 2 else "Male"
            rate = female_rate if sex == "Female" else 0.5
            events.append(
                {
                    "prediction_id": f"h{hour}-{index}",
                    "model_id": "credit",
                    "timestamp": START + hour * HOUR + index * (HOUR / 200),
                    "prediction": int(rng.random() < rate),
                    "sensitive": {"sex": sex, "race": "A"},
                }
            )
    return events


def run(tmp_path: Path, events: list[Any]) -> list[Any]:
    alerting = {
        "rules": [
            {
                "name": "parity",
                "selector": {"attribute": "sex", "window": "2h/30m"},
                "condition": "demographic_parity_difference > 0.2",
                "clear_threshold": 0.1,
                "for": "3 evaluations",
            }
        ],
    }
    data = daemon_config(
        tmp_path,
        "127.0.0.1:1",
        ["predictions", "labels", "dead"],
        windows=["2h/30m"],
        sensitive={"attributes": ["sex"]},
        allowed_lateness="5m",
        alerting=alerting,
        # an evaluation after every batch of 100 events, as a live stream has them
        pipeline={"checkpoint_interval": "0s", "shutdown_timeout": "5s"},
    )
    data["kafka"]["max_poll_records"] = 100
    # a window's newest half hour (50 per group) is below the minimum; a whole window is not
    data["engine"]["min_group_size"] = 150
    config = MonitorConfig.model_validate(data)
    daemon = build_daemon(
        config,
        source=EmbeddedSource(records("predictions", events, 1)),
        sink=EmbeddedSink(str(tmp_path / "metrics.sqlite")),
        dead_letters=MemoryDeadLetters(),
        health=False,
    )
    assert daemon.run(stop_when_idle=True) == 0
    manager = AlertManager(parse_alerting_config(alerting), config.state_dir)
    try:
        return manager.alerts()
    finally:
        manager.stop()


def test_a_sustained_breach_on_sliding_windows_fires(tmp_path: Path) -> None:
    rng = random.Random(1)
    events = hours_of_events(0, 4, 0.5, rng) + hours_of_events(4, 12, 0.1, rng)
    alerts = run(tmp_path, events)
    assert [(alert.key.attribute, alert.status) for alert in alerts] == [("sex", "firing")]


def test_a_fair_stream_never_fires(tmp_path: Path) -> None:
    alerts = run(tmp_path, hours_of_events(0, 12, 0.5, random.Random(2)))
    assert all(alert.status != "firing" for alert in alerts)
