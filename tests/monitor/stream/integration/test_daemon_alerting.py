"""End to end: biased events through Kafka and the daemon page a webhook once, then resolve once."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.alerting.alert_servers import RecordingServer, Reply
from tests.monitor.stream.conftest import DaemonProcess, daemon_config, produce, write_config
from tests.monitor.stream.integration.test_daemon_kafka import topics
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
HOUR = 3600.0


def hour_of_events(
    hour: int, female_rate: float, male_rate: float, rng: random.Random, count: int = 240
) -> list[dict[str, Any]]:
    start = 1_700_000_000.0 - 1_700_000_000.0 % HOUR + hour * HOUR
    events = []
    for index in range(count):
        sex = "Female" if index % 2 else "Male"
        rate = female_rate if sex == "Female" else male_rate
        events.append(
            {
                "prediction_id": f"h{hour}-{index}",
                "model_id": "credit",
                "timestamp": start + index * (HOUR / count),
                "prediction": int(rng.random() < rate),
                "sensitive": {"sex": sex, "race": rng.choice(["A", "B"])},
            }
        )
    return events


def test_injected_bias_fires_once_and_resolves_once(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    server = RecordingServer(lambda _request, _index: Reply(200))
    names = topics(kafka_topic, partitions=1)
    config = daemon_config(
        tmp_path,
        kafka_bootstrap,
        names,
        windows=["1h"],
        sensitive={"attributes": ["sex", "race"]},
        allowed_lateness="10m",  # rules judge windows once closed: keep the watermark close
        alerting={
            "rules": [
                {
                    "name": "parity",
                    "selector": {"model_id": "credit", "attribute": "sex", "window": "1h"},
                    "condition": "demographic_parity_difference > 0.2",
                    "clear_threshold": 0.15,
                    "for": 0,
                    "receivers": ["hook"],
                }
            ],
            "routing": {"group_wait": 0, "group_interval": "1s", "repeat_interval": "4h"},
            "receivers": [{"type": "webhook", "name": "hook", "url": server.url, "timeout": "2s"}],
            "tick_interval": 0.2,
        },
    )
    path = write_config(tmp_path / "fairwatch.yaml", config)
    rng = random.Random(4)
    daemon = daemon_processes(path, tmp_path / "daemon.log").start()
    try:
        daemon.wait_for_log("event=daemon_started")
        biased = [e for hour in range(3) for e in hour_of_events(hour, 0.15, 0.85, rng)]
        produce(kafka_bootstrap, names[0], biased)

        def statuses() -> list[str]:
            return [request.json()["status"] for request in server.requests]

        assert wait_until(lambda: "firing" in statuses(), 60, 0.2), daemon.log()[-3000:]
        fair = [e for hour in range(3, 6) for e in hour_of_events(hour, 0.5, 0.5, rng)]
        produce(kafka_bootstrap, names[0], fair)
        assert wait_until(lambda: "resolved" in statuses(), 60, 0.2), daemon.log()[-3000:]
        time.sleep(3)  # a quiet period, not a wait: no third notification may follow in it
        assert statuses() == ["firing", "resolved"]
        alert = server.requests[0].json()["alerts"][0]
        assert alert["labels"]["attribute"] == "sex" and alert["labels"]["model_id"] == "credit"
        assert daemon.terminate()[0] == 0
    finally:
        server.stop()
