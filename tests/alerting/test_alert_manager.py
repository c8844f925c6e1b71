"""The alert manager end to end against real HTTP receivers on 127.0.0.1, time driven by `now`."""

from __future__ import annotations

import time

import pytest

from alerting import AlertManager
from alerting.silences import new_silence
from alerting.tickers import SchedulerTicker
from tests.alerting.alert_builders import HOUR, T0, config, evaluation, webhook
from tests.alerting.alert_servers import Reply, always, sequence, slack_api


def manager(cfg, tmp_path) -> AlertManager:
    return AlertManager(cfg, tmp_path, rand=lambda: 0.0)  # no jitter: backoff = half ceiling


def statuses(server) -> list[str]:
    return [request.json()["status"] for request in server.requests]


def breach_until_firing(m: AlertManager, start: float = T0, model_id: str = "credit-v3") -> float:
    """Two breaching windows (the rule's `for`); returns the time the alert fired."""
    m.on_evaluations([evaluation(0.12, start, model_id=model_id)], start)
    m.on_evaluations([evaluation(0.13, start + HOUR, model_id=model_id)], start + HOUR)
    return start + HOUR


def test_full_lifecycle_notifies_fire_repeat_and_resolve_once_each(http_server, tmp_path):
    server = http_server(always(Reply(200)))
    m = manager(config([webhook("hook", server.url)]), tmp_path)

    m.on_evaluations([evaluation(0.12, T0)], T0)
    assert m.tick(T0 + 600) == 0 and server.requests == []  # pending sends nothing
    fired = T0 + HOUR
    m.on_evaluations([evaluation(0.13, fired)], fired)
    assert m.tick(fired + 29) == 0  # group_wait not over
    assert m.tick(fired + 30) == 1
    assert statuses(server) == ["firing"]
    alert = server.requests[0].json()["alerts"][0]
    assert (alert["rule"], alert["model_id"], alert["value"], alert["severity"]) == (
        "dp",
        "credit-v3",
        0.13,
        "critical",
    )

    # in the hysteresis band: still firing, nothing new until repeat_interval
    m.on_evaluations([evaluation(0.09, fired + HOUR)], fired + HOUR)
    for minutes in range(5, 4 * 60, 5):
        m.tick(fired + 30 + minutes * 60)
    assert statuses(server) == ["firing"]
    m.tick(fired + 30 + 4 * HOUR)
    assert statuses(server) == ["firing", "firing"]  # repeat_interval

    cleared = fired + 5 * HOUR
    m.on_evaluations([evaluation(0.05, cleared)], cleared)
    m.tick(cleared + 300)
    assert statuses(server) == ["firing", "firing", "resolved"]
    resolved = server.requests[-1].json()["alerts"][0]
    assert resolved["ends_at"] is not None and resolved["fingerprint"] == alert["fingerprint"]
    for minutes in range(5, 120, 5):
        m.tick(cleared + 300 + minutes * 60)
    assert len(server.requests) == 3
    assert m.alerts() == []  # resolved alert forgotten after resolved_retention
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in m.samples()}
    sent = "fairwatch_alert_notifications_sent_total"
    assert samples[(sent, (("receiver", "hook"), ("status", "firing")))] == 2
    assert samples[(sent, (("receiver", "hook"), ("status", "resolved")))] == 1
    assert samples[("fairwatch_alert_instances", (("state", "firing"),))] == 0
    m.stop()


def test_pending_alert_that_clears_sends_nothing(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    m = manager(config([webhook("hook", server.url)]), tmp_path)
    m.on_evaluations([evaluation(0.12, T0)], T0)
    m.on_evaluations([evaluation(0.02, T0 + HOUR)], T0 + HOUR)
    m.on_evaluations([evaluation(None, T0 + 2 * HOUR)], T0 + 2 * HOUR)  # insufficient data
    for minutes in range(0, 600, 5):
        m.tick(T0 + minutes * 60)
    assert server.requests == []
    m.stop()


def test_grouping_puts_alerts_sharing_group_by_labels_in_one_message(http_server, tmp_path):
    server = http_server(always(Reply(200)))
    cfg = config([webhook("hook", server.url)], routing={"group_by": ["rule"], "group_wait": "1m"})
    m = manager(cfg, tmp_path)
    fired = breach_until_firing(m, model_id="credit-v3")
    breach_until_firing(m, start=T0 + 20, model_id="credit-v4")
    m.tick(fired + 59)
    assert server.requests == []
    m.tick(fired + 60)
    (request,) = server.requests
    body = request.json()
    assert body["group_labels"] == {"rule": "dp"}
    assert sorted(a["model_id"] for a in body["alerts"]) == ["credit-v3", "credit-v4"]
    m.stop()


def test_restart_between_firing_and_resolve(http_server, monkeypatch, tmp_path) -> None:
    """No duplicate page after a restart; the resolve still arrives, in the Slack thread."""
    hook = http_server(always(Reply(200)))
    slack = http_server(slack_api("xoxb-test-token"))
    monkeypatch.setenv("FW_TEST_SLACK_TOKEN", "xoxb-test-token")
    receivers = [
        webhook("hook", hook.url),
        {
            "type": "slack",
            "name": "slack",
            "token_env": "FW_TEST_SLACK_TOKEN",
            "channel": "#fairness",
            "base_url": f"{slack.url}/api/",
        },
    ]
    cfg = config(receivers)
    first = manager(cfg, tmp_path)
    fired = breach_until_firing(first)
    first.tick(fired + 30)
    assert statuses(hook) == ["firing"] and len(slack.requests) == 1
    first.stop()

    second = manager(cfg, tmp_path)
    later = fired + HOUR
    second.on_evaluations([evaluation(0.14, later)], later)
    for minutes in range(0, 60, 5):
        second.tick(later + minutes * 60)
    assert statuses(hook) == ["firing"] and len(slack.requests) == 1  # not paged again
    cleared = later + HOUR
    second.on_evaluations([evaluation(0.01, cleared)], cleared)
    second.stop()  # stopped after the alert resolved, before its resolve was sent

    third = manager(cfg, tmp_path)
    for seconds in range(0, 120, 10):
        third.tick(cleared + seconds)
    assert statuses(hook) == ["firing", "resolved"]
    firing_ts = "1700000000.000000"
    assert [r.json().get("thread_ts") for r in slack.requests] == [None, firing_ts]
    third.stop()


def test_receiver_outage_then_delivered_exactly_once(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    port = server.port
    server.stop()  # the receiver is down
    cfg = config([webhook("hook", f"http://127.0.0.1:{port}")])
    m = manager(cfg, tmp_path)
    fired = breach_until_firing(m)
    now = fired + 30
    for _ in range(5):
        assert m.tick(now) == 0
        now += 120
    m.stop()  # the daemon restarts during the outage: the outbox is durable

    back = http_server(always(Reply(200)), port=port)
    m = manager(cfg, tmp_path)
    assert m.tick(now + 60) == 1
    for minutes in range(1, 30):
        m.tick(now + 60 + minutes * 60)
    assert statuses(back) == ["firing"]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in m.samples()}
    assert samples[("fairwatch_alert_outbox_notifications", (("status", "delivered"),))] == 1
    assert samples[("fairwatch_alert_outbox_notifications", (("status", "pending"),))] == 0
    m.stop()


@pytest.mark.parametrize(
    ("replies", "ticks", "expected_attempts"),
    [
        # 500 twice: retried after 0.5 s then 1 s (backoff 1 s doubling, jitter pinned to half)
        (
            (Reply(500), Reply(500), Reply(200)),
            (0, 0.4, 0.5, 1.4, 1.5, 5, 60),
            [1, 1, 2, 2, 3, 3, 3],
        ),
        # 429 with Retry-After: 120 s is honoured over the shorter backoff
        (
            (Reply(429, headers={"Retry-After": "120"}), Reply(200)),
            (0, 1, 60, 119, 120, 600),
            [1, 1, 1, 1, 2, 2],
        ),
        # 400 is not retried
        ((Reply(400), Reply(200)), (0, 1, 60, 3600), [1, 1, 1, 1]),
    ],
    ids=["server-error-retried", "retry-after-honoured", "client-error-dropped"],
)
def test_retries(http_server, tmp_path, replies, ticks, expected_attempts) -> None:
    server = http_server(sequence(*replies))
    m = manager(config([webhook("hook", server.url)]), tmp_path)
    fired = breach_until_firing(m)
    start = fired + 30
    attempts = []
    for offset in ticks:
        m.tick(start + offset)
        attempts.append(len(server.requests))
    assert attempts == expected_attempts
    keys = {request.headers["Idempotency-Key"] for request in server.requests}
    assert len(keys) == 1  # the same notification every time
    counters = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in m.samples()}
    sent = counters.get(
        ("fairwatch_alert_notifications_sent_total", (("receiver", "hook"), ("status", "firing"))),
        0,
    )
    assert sent == (0 if replies[0].status == 400 else 1)
    if replies[0].status == 400:
        assert (
            counters[
                (
                    "fairwatch_alert_notifications_dropped_total",
                    (("reason", "client"), ("receiver", "hook")),
                )
            ]
            == 1
        )
    m.stop()


def test_timeout_then_success(http_server, tmp_path) -> None:
    server = http_server(sequence(Reply(200, delay=1.0), Reply(200)))
    m = manager(config([webhook("hook", server.url, timeout="0.2s")]), tmp_path)
    fired = breach_until_firing(m)
    assert m.tick(fired + 30) == 0
    assert m.tick(fired + 31) == 1
    assert m.tick(fired + 400) == 0
    assert len(server.requests) == 2  # the timed-out attempt reached the server: same key
    assert len({r.headers["Idempotency-Key"] for r in server.requests}) == 1
    m.stop()


def test_resolve_never_overtakes_its_undelivered_firing(http_server, tmp_path) -> None:
    server = http_server(sequence(Reply(503), Reply(503), Reply(200)))
    m = manager(
        config(
            [webhook("hook", server.url, retry={"initial_backoff": "10m", "max_backoff": "1h"})]
        ),
        tmp_path,
    )
    fired = breach_until_firing(m)
    m.tick(fired + 30)
    m.on_evaluations([evaluation(0.01, fired + HOUR)], fired + HOUR)
    now = fired + HOUR
    for _ in range(20):
        now += 300
        m.tick(now)
    assert statuses(server) == ["firing", "firing", "firing", "resolved"]
    m.stop()


def test_rate_limit_delays_but_does_not_drop(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    limited = webhook("hook", server.url, rate_limit={"max_notifications": 1, "per": "1h"})
    m = manager(config([limited]), tmp_path)
    fired = breach_until_firing(m, model_id="credit-v3")
    breach_until_firing(m, model_id="credit-v4")
    m.tick(fired + 30)
    m.tick(fired + 1800)
    assert len(server.requests) == 1
    m.tick(fired + 30 + HOUR)
    assert sorted(r.json()["alerts"][0]["model_id"] for r in server.requests) == [
        "credit-v3",
        "credit-v4",
    ]
    m.stop()


def test_silence_mutes_until_it_expires(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    m = manager(config([webhook("hook", server.url)]), tmp_path)
    silence = new_silence(
        ["model_id=~credit-.*", "severity=critical"],
        starts_at=T0,
        duration=2 * HOUR,
        max_duration=86400,
    )
    m.store.add_silence(silence)
    fired = breach_until_firing(m)
    for minutes in range(0, 55, 5):
        m.tick(fired + 30 + minutes * 60)
    assert server.requests == []
    m.store.expire_silence(silence.id, fired + HOUR)
    m.tick(fired + HOUR + 300)
    assert statuses(server) == ["firing"]
    counters = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in m.samples()}
    assert (
        counters[("fairwatch_alert_notifications_suppressed_total", (("reason", "silenced"),))] >= 1
    )
    m.stop()


def test_retraining_webhook_evidence_idempotency_and_cooldown(http_server, tmp_path) -> None:
    notify = http_server(always(Reply(200)))
    retrain = http_server(sequence(Reply(503), Reply(202)))
    cfg = config(
        [
            webhook("hook", notify.url),
            {
                "type": "retraining",
                "name": "retrain",
                "url": f"{retrain.url}/retrain",
                "rules": ["d*"],
                "severities": ["critical"],
                "min_consecutive_windows": 3,
                "cooldown": "1d",
                "retry": {"initial_backoff": "1s"},
            },
        ]
    )
    m = manager(cfg, tmp_path)
    fired = breach_until_firing(m)  # firing after 2 windows: not yet 3
    m.tick(fired + 30)
    assert retrain.requests == []
    third = fired + HOUR
    m.on_evaluations([evaluation(0.15, third)], third)
    m.on_evaluations([evaluation(0.16, third)], third + 5)  # a revised window: no new trigger
    m.tick(third)
    m.tick(third + 10)
    assert [r.path for r in retrain.requests] == ["/retrain", "/retrain"]
    first, retry = retrain.requests
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
    assert first.body == retry.body
    body = first.json()
    assert (body["type"], body["model_id"], body["rule"]) == (
        "retraining_request",
        "credit-v3",
        "dp",
    )
    assert [w["value"] for w in body["recent_windows"]] == [0.12, 0.13, 0.15]
    assert body["breach"]["status"] == "firing" and body["breach"]["value"] == 0.15
    assert [g["group"] for g in body["groups"]] == ["female", "male"]

    # resolve, then a new episode within the cooldown: no second retraining
    m.on_evaluations([evaluation(0.01, third + HOUR)], third + HOUR)
    start = third + 2 * HOUR
    for index in range(4):
        m.on_evaluations([evaluation(0.2, start + index * HOUR)], start + index * HOUR)
    m.tick(start + 4 * HOUR)
    assert len(retrain.requests) == 2
    # after the cooldown, a new episode triggers again with a new key
    m.on_evaluations([evaluation(0.01, third + 30 * HOUR)], third + 30 * HOUR)
    start = third + 31 * HOUR
    for index in range(3):
        m.on_evaluations([evaluation(0.2, start + index * HOUR)], start + index * HOUR)
    m.tick(start + 3 * HOUR)
    assert len(retrain.requests) == 3
    assert retrain.requests[2].headers["Idempotency-Key"] != first.headers["Idempotency-Key"]
    m.stop()


def test_scheduler_ticks_in_the_background(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    cfg = config(
        [webhook("hook", server.url)],
        tick_interval=0.05,
        routing={"group_wait": 0},
        rule={"for": 0},
    )
    m = AlertManager(cfg, tmp_path, ticker=SchedulerTicker(cfg.tick_interval, time.time))
    m.start()
    try:
        m.on_evaluations([evaluation(0.2, T0)], time.time())
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        m.stop()
    assert statuses(server) == ["firing"]


def test_malformed_evaluation_is_skipped_and_counted(http_server, tmp_path) -> None:
    from dataclasses import replace

    server = http_server(always(Reply(200)))
    m = manager(config([webhook("hook", server.url)], rule={"for": 0}), tmp_path)
    good = evaluation(0.2, T0)
    bad = replace(good, disparities=(replace(good.disparities[0], value="high"),))
    m.on_evaluations([bad, good], T0)
    m.tick(T0 + 30)
    assert statuses(server) == ["firing"]
    counters = {s.name: s.value for s in m.samples()}
    assert counters["fairwatch_alert_evaluations_rejected_total"] == 1
    m.stop()


def test_alerts_of_a_removed_rule_are_dropped_at_restart(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    first = manager(config([webhook("hook", server.url)]), tmp_path)
    breach_until_firing(first)
    assert len(first.alerts()) == 1
    first.stop()
    renamed = manager(config([webhook("hook", server.url)], rule={"name": "dp2"}), tmp_path)
    assert renamed.alerts() == [] and renamed.store.load_alerts() == []
    renamed.stop()


def test_without_send_resolved_the_next_episode_still_pages(http_server, tmp_path) -> None:
    server = http_server(always(Reply(200)))
    m = manager(config([webhook("hook", server.url, send_resolved=False)]), tmp_path)
    fired = breach_until_firing(m)
    m.tick(fired + 30)
    m.on_evaluations([evaluation(0.01, fired + HOUR)], fired + HOUR)
    m.tick(fired + HOUR + 300)
    assert statuses(server) == ["firing"]  # the resolve is recorded, not sent
    again = breach_until_firing(m, start=fired + 2 * HOUR)
    m.tick(again + 30)
    assert statuses(server) == ["firing", "firing"]
    m.stop()


def test_an_alert_joining_a_notified_group_waits_for_group_interval(http_server, tmp_path):
    server = http_server(always(Reply(200)))
    cfg = config(
        [webhook("hook", server.url)],
        routing={"group_by": ["rule"], "group_wait": "30s", "group_interval": "5m"},
    )
    m = manager(cfg, tmp_path)
    fired = breach_until_firing(m, model_id="credit-v3")
    m.tick(fired + 30)
    breach_until_firing(m, start=T0 + 60, model_id="credit-v4")  # fires at fired + 60
    m.tick(fired + 90)
    m.tick(fired + 329)
    assert len(server.requests) == 1
    m.tick(fired + 330)  # one group_interval after the first flush
    second = server.requests[1].json()
    assert sorted(a["model_id"] for a in second["alerts"]) == ["credit-v3", "credit-v4"]
    m.stop()
