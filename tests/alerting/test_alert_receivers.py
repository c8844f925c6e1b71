"""Each receiver against a real HTTP server on 127.0.0.1 that checks the exact requests."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from alerting.config import parse_alerting_config
from alerting.errors import ConfigError, ReceiverError
from alerting.probe import probe_notification
from alerting.receivers import DeliveryContext
from alerting.receivers.pagerduty import PagerDutyConfig, PagerDutyReceiver
from alerting.receivers.slack import SlackConfig, SlackReceiver
from alerting.receivers.webhook import (
    SIGNATURE_HEADER,
    WebhookConfig,
    WebhookReceiver,
    sign,
    verify_signature,
)
from tests.alerting.alert_servers import Reply, always, sequence, slack_api

NOW = 1_700_000_000.0
FIRING = replace(probe_notification("r", NOW), test=False)
RESOLVED = replace(
    FIRING,
    status="resolved",
    alerts=tuple(replace(a, status="resolved", ends_at=NOW + 600) for a in FIRING.alerts),
)
CONTEXT = DeliveryContext(idempotency_key="key-1", now=NOW)


def annotated(notification):
    links = {
        "runbook_url": "https://runbooks.example/dp",
        "dashboard_url": "https://grafana.example/d/f",
        "owner": "risk-team",
    }
    return replace(
        notification,
        alerts=tuple(
            replace(a, annotations={**a.annotations, **links}) for a in notification.alerts
        ),
    )


# Slack -------------------------------------------------------------------------------------
def slack_receiver(monkeypatch, url: str, **extra) -> SlackReceiver:
    monkeypatch.setenv("FW_TEST_SLACK_TOKEN", "xoxb-test-token")
    return SlackReceiver(
        SlackConfig(
            name="slack",
            token_env="FW_TEST_SLACK_TOKEN",
            channel="#fairness",
            base_url=f"{url}/api/",
            **extra,
        )
    )


def test_slack_posts_block_kit_and_threads_the_resolve(http_server, monkeypatch) -> None:
    server = http_server(slack_api("xoxb-test-token"))
    receiver = slack_receiver(monkeypatch, server.url)

    first = receiver.send(annotated(FIRING), CONTEXT)
    (request,) = server.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-test-token"
    body = request.json()
    assert body["channel"] == "#fairness" and "thread_ts" not in body
    assert body["text"].startswith("[FIRING] fairwatch-test-model: demographic_parity_difference")
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header" and "FIRING" in blocks[0]["text"]["text"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[1]["fields"]}
    assert fields["*Model*"] == "fairwatch-test-model"
    assert fields["*Metric*"] == "demographic_parity_difference"
    assert fields["*Value (95% CI)*"] == "0.123 [0.101, 0.145]"
    assert fields["*Threshold*"] == "> 0.1 (point)"
    assert fields["*Window*"].startswith("1h: 2023-11-14T21:13:20Z")
    table = blocks[2]["text"]["text"]
    assert table.startswith("```group") and "female  1200  0.310 [0.284, 0.337]" in table
    links = blocks[3]["elements"][0]["text"]
    assert "<https://grafana.example/d/f|Dashboard>" in links
    assert "<https://runbooks.example/dp|Runbook>" in links and "owner: risk-team" in links
    assert first.thread_ref == "1700000000.000000" and not first.clear_thread

    context = replace(CONTEXT, thread_ref=first.thread_ref)
    second = receiver.send(RESOLVED, context)
    resolve = server.requests[1].json()
    assert resolve["thread_ts"] == "1700000000.000000"
    assert resolve["text"].startswith("[RESOLVED]")
    assert second.clear_thread


@pytest.mark.parametrize(
    ("reply", "kind", "retry_after"),
    [
        (Reply(200, {"ok": False, "error": "invalid_auth"}), "auth", None),
        (Reply(200, {"ok": False, "error": "channel_not_found"}), "client", None),
        (
            Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
            "rate_limited",
            7.0,
        ),
        (Reply(500, {"ok": False, "error": "internal_error"}), "server", None),
        (Reply(503, b"upstream unavailable", {"Content-Type": "text/plain"}), "server", None),
    ],
)
def test_slack_failures_are_classified(http_server, monkeypatch, reply, kind, retry_after):
    server = http_server(always(reply))
    receiver = slack_receiver(monkeypatch, server.url)
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert raised.value.kind == kind and raised.value.retry_after == retry_after
    assert "xoxb-test-token" not in str(raised.value)
    assert len(server.requests) == 1  # slack-sdk's own retries are off: the outbox retries


def test_slack_incoming_webhook(http_server, monkeypatch) -> None:
    server = http_server(sequence(Reply(200, b"ok"), Reply(500, b"oops")))
    monkeypatch.setenv("FW_TEST_SLACK_HOOK", f"{server.url}/services/T000/B000/secret-part")
    receiver = SlackReceiver(SlackConfig(name="hook", webhook_url_env="FW_TEST_SLACK_HOOK"))
    receiver.send(FIRING, CONTEXT)
    body = server.requests[0].json()
    assert server.requests[0].path == "/services/T000/B000/secret-part"
    assert body["blocks"][0]["type"] == "header" and body["text"].startswith("[FIRING]")
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert raised.value.kind == "server"
    assert "secret-part" not in str(raised.value)


def test_slack_config_needs_one_mode_and_its_secret(monkeypatch) -> None:
    monkeypatch.delenv("FW_TEST_MISSING", raising=False)
    with pytest.raises(ConfigError, match="token_env: environment variable FW_TEST_MISSING"):
        SlackReceiver(SlackConfig(name="s", token_env="FW_TEST_MISSING", channel="#c"))
    with pytest.raises(ConfigError, match=r"alerting.receivers\[0\]: expected either token_env"):
        parse_alerting_config({"receivers": [{"type": "slack", "name": "s", "channel": "#c"}]})


# PagerDuty ---------------------------------------------------------------------------------
def test_pagerduty_trigger_and_resolve(http_server, monkeypatch) -> None:
    server = http_server(always(Reply(202, {"status": "success", "message": "Event processed"})))
    monkeypatch.setenv("FW_TEST_PD_KEY", "R0UTING-KEY")
    receiver = PagerDutyReceiver(
        PagerDutyConfig(
            name="pd",
            routing_key_env="FW_TEST_PD_KEY",
            url=f"{server.url}/v2/enqueue",
            severity_map={"info": "warning"},
        )
    )
    receiver.send(annotated(FIRING), CONTEXT)
    receiver.send(RESOLVED, CONTEXT)
    trigger, resolve = (request.json() for request in server.requests)
    assert server.requests[0].path == "/v2/enqueue"
    assert trigger["routing_key"] == "R0UTING-KEY" and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == FIRING.alerts[0].fingerprint
    payload = trigger["payload"]
    assert payload["severity"] == "warning"  # info mapped by severity_map
    assert payload["source"] == "fairwatch" and payload["component"] == "fairwatch-test-model"
    assert payload["class"] == "demographic_parity_difference" and payload["group"] == "sex"
    assert payload["custom_details"]["ci"] == [0.101, 0.145]
    assert payload["custom_details"]["groups"][0]["group"] == "female"
    assert {link["text"] for link in trigger["links"]} == {"Dashboard", "Runbook"}
    assert resolve == {
        "routing_key": "R0UTING-KEY",
        "event_action": "resolve",
        "dedup_key": FIRING.alerts[0].fingerprint,
    }


def test_pagerduty_bad_request_is_a_client_error(http_server, monkeypatch) -> None:
    server = http_server(always(Reply(400, {"status": "invalid event"})))
    monkeypatch.setenv("FW_TEST_PD_KEY", "R0UTING-KEY")
    receiver = PagerDutyReceiver(
        PagerDutyConfig(name="pd", routing_key_env="FW_TEST_PD_KEY", url=f"{server.url}/v2/enqueue")
    )
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert (raised.value.kind, raised.value.retryable) == ("client", False)
    assert "R0UTING-KEY" not in str(raised.value)


# Generic webhook ----------------------------------------------------------------------------
def test_webhook_payload_follows_the_documented_schema(http_server) -> None:
    server = http_server(always(Reply(200)))
    receiver = WebhookReceiver(
        WebhookConfig(name="hook", url=f"{server.url}/alerts", headers={"X-Team": "risk"})
    )
    receiver.send(FIRING, CONTEXT)
    (request,) = server.requests
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["X-Team"] == "risk"
    assert SIGNATURE_HEADER not in request.headers
    body = request.json()
    assert {k: body[k] for k in ("version", "receiver", "status", "test", "alert_count")} == {
        "version": "1",
        "receiver": "r",
        "status": "firing",
        "test": False,
        "alert_count": 1,
    }
    documented = {
        "status",
        "rule",
        "severity",
        "model_id",
        "attribute",
        "metric",
        "window",
        "value",
        "ci",
        "threshold",
        "groups",
        "fingerprint",
        "starts_at",
        "ends_at",
        "labels",
        "annotations",
        "extremes",
        "small_groups",
    }
    assert documented <= set(body)  # the primary alert at the top level
    (alert,) = body["alerts"]
    assert documented <= set(alert) and {k: body[k] for k in documented} == {
        k: alert[k] for k in documented
    }
    assert alert["ci"] == [0.101, 0.145] and alert["starts_at"] == "2023-11-14T22:13:20+00:00"
    assert alert["ends_at"] is None and alert["groups"][1]["group"] == "male"
    assert alert["extremes"]["highest_group"] == "male" and alert["small_groups"] == []


def test_webhook_primary_alert_is_the_first_firing_one(http_server) -> None:
    server = http_server(always(Reply(200)))
    receiver = WebhookReceiver(WebhookConfig(name="hook", url=server.url))
    firing = replace(FIRING.alerts[0], model_id="credit-v4", fingerprint="f" * 16)
    mixed = replace(FIRING, alerts=(RESOLVED.alerts[0], firing))
    receiver.send(mixed, CONTEXT)
    body = server.requests[0].json()
    assert (body["status"], body["model_id"], body["fingerprint"]) == (
        "firing",
        "credit-v4",
        "f" * 16,
    )
    assert [a["status"] for a in body["alerts"]] == ["resolved", "firing"]


def test_webhook_hmac_is_verified_by_the_receiving_server(http_server, monkeypatch) -> None:
    secret = "s3cr3t-hmac"
    verdicts: list[bool] = []

    def verify(request, index):
        ok = verify_signature(
            secret,
            request.headers.get(SIGNATURE_HEADER),
            request.body,
            now=time.time(),
            tolerance=300,
        )
        verdicts.append(ok)
        return Reply(200 if ok else 401)

    server = http_server(verify)
    monkeypatch.setenv("FW_TEST_HMAC", secret)
    receiver = WebhookReceiver(
        WebhookConfig(name="signed", url=server.url, hmac_secret_env="FW_TEST_HMAC")
    )
    receiver.send(FIRING, replace(CONTEXT, now=time.time()))
    assert verdicts == [True]
    # a request replayed later than the tolerance is refused, as is a forged signature
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, replace(CONTEXT, now=time.time() - 3600))
    assert raised.value.kind == "auth" and verdicts[-1] is False
    body = server.requests[0].body
    header = server.requests[0].headers[SIGNATURE_HEADER]
    assert not verify_signature(secret, header, body + b" ", now=time.time())
    assert not verify_signature("other-secret", header, body, now=time.time())
    assert header == sign(secret, int(header.split(",")[0][2:]), body)


@pytest.mark.parametrize(
    ("reply", "kind", "retryable"),
    [
        (Reply(400), "client", False),
        (Reply(404), "client", False),
        (Reply(401), "auth", False),
        (Reply(403), "auth", False),
        (Reply(500), "server", True),
        (Reply(502), "server", True),
        (Reply(429, headers={"Retry-After": "12"}), "rate_limited", True),
    ],
)
def test_webhook_status_classification(http_server, reply, kind, retryable) -> None:
    server = http_server(always(reply))
    receiver = WebhookReceiver(WebhookConfig(name="hook", url=server.url))
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert (raised.value.kind, raised.value.retryable) == (kind, retryable)
    if kind == "rate_limited":
        assert raised.value.retry_after == 12.0


def test_webhook_timeout_and_connection_refused(http_server) -> None:
    slow = http_server(always(Reply(200, delay=1.0)))
    receiver = WebhookReceiver(WebhookConfig(name="hook", url=slow.url, timeout=0.2))
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert (raised.value.kind, raised.value.retryable) == ("timeout", True)

    gone = http_server(always(Reply(200)))
    gone.stop()
    receiver = WebhookReceiver(WebhookConfig(name="hook", url=f"{gone.url}/token-in-path"))
    with pytest.raises(ReceiverError) as raised:
        receiver.send(FIRING, CONTEXT)
    assert raised.value.kind == "connection" and "token-in-path" not in str(raised.value)
