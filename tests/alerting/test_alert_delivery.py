"""Backoff, the outbox's serialisation, low-volume alerts and secret-free logs."""

from __future__ import annotations

import logging

import pytest

from alerting import AlertManager
from alerting.delivery import backoff
from alerting.model import Notification
from alerting.probe import probe_notification
from alerting.receivers.common import RetryConfig
from tests.alerting.alert_builders import HOUR, T0, config, evaluation, webhook
from tests.alerting.alert_servers import Reply, always

RETRY = RetryConfig(initial_backoff=1, max_backoff=60)


@pytest.mark.parametrize(
    ("attempt", "random", "retry_after", "expected"),
    [
        (1, 0.0, None, 0.5),  # half of the first ceiling (1 s) at the lowest jitter
        (1, 1.0, None, 1.0),  # all of it at the highest
        (3, 0.5, None, 3.0),  # ceiling 4 s: between 2 s and 4 s
        (10, 1.0, None, 60.0),  # capped at max_backoff
        (1, 0.0, 30.0, 30.0),  # Retry-After wins over a shorter backoff
        (10, 1.0, 5.0, 60.0),  # but never shortens it
    ],
)
def test_backoff(attempt, random, retry_after, expected) -> None:
    assert backoff(attempt, RETRY, retry_after, lambda: random) == pytest.approx(expected)


def test_notification_round_trips_through_the_outbox_encoding() -> None:
    notification = probe_notification("hook", T0)
    assert Notification.from_json(notification.to_json()) == notification


def test_low_volume_alert_fires_after_the_configured_time(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    cfg = config(
        [webhook("hook", server.url)], rule={"low_volume": {"after": "3h", "severity": "info"}}
    )
    manager = AlertManager(cfg, tmp_path)
    for hour in range(5):
        now = T0 + hour * HOUR
        manager.on_evaluations([evaluation(None, now, min_group_n=7)], now)
        manager.tick(now + 60)
    bodies = [request.json() for request in server.requests]
    assert [b["status"] for b in bodies] == ["firing"]
    (alert,) = bodies[0]["alerts"]
    assert (alert["kind"], alert["severity"], alert["value"], alert["metric"]) == (
        "low_volume",
        "info",
        7.0,
        "min_group_n",
    )
    assert alert["starts_at"] == "2023-11-15T01:13:20+00:00"  # 3 h after the first starved window
    now = T0 + 6 * HOUR
    manager.on_evaluations([evaluation(0.01, now)], now)  # enough data again
    manager.tick(now + 300)
    assert [r.json()["status"] for r in server.requests] == ["firing", "resolved"]
    manager.stop()


def test_logs_carry_no_secrets(http_server, tmp_path, monkeypatch, caplog) -> None:
    server = http_server(always(Reply(500, b"down")))
    secret_path = "/hooks/T0KEN-in-the-path"
    monkeypatch.setenv("FW_TEST_HOOK_URL", server.url + secret_path)
    monkeypatch.setenv("FW_TEST_HMAC", "hmac-secret-value")
    receiver = {
        "type": "webhook",
        "name": "hook",
        "url_env": "FW_TEST_HOOK_URL",
        "hmac_secret_env": "FW_TEST_HMAC",
    }
    manager = AlertManager(config([receiver]), tmp_path)
    caplog.set_level(logging.DEBUG, logger="fairwatch")
    manager.on_evaluations([evaluation(0.2, T0)], T0)
    manager.on_evaluations([evaluation(0.2, T0 + HOUR)], T0 + HOUR)
    for seconds in (30, 60, 120, 300):
        manager.tick(T0 + HOUR + seconds)
    assert server.requests and server.requests[0].path == secret_path
    assert "event=notification_retry" in caplog.text and "reason=server" in caplog.text
    assert "T0KEN" not in caplog.text and "hmac-secret-value" not in caplog.text
    manager.stop()
