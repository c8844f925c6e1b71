"""Test notifications: send one synthetic alert to each configured receiver and report each result
(``fairwatch alerts test``). Bypasses grouping, the notification log and the outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerting.config import AlertingConfig
from alerting.errors import ConfigError, ReceiverError
from alerting.model import AlertSnapshot, Notification
from alerting.receivers import DeliveryContext, Receiver, ReceiverConfig, build_receiver


@dataclass(frozen=True)
class ProbeResult:
    receiver: str
    type: str
    ok: bool
    detail: str
    reason: str | None = None  # failure kind: config, auth, rate_limited, client, server, …


def probe_notification(receiver: str, now: float) -> Notification:
    """A clearly marked synthetic firing notification."""
    alert = AlertSnapshot(
        status="firing",
        rule="fairwatch-test",
        severity="info",
        model_id="fairwatch-test-model",
        attribute="sex",
        metric="demographic_parity_difference",
        window="1h",
        value=0.123,
        ci=(0.101, 0.145),
        threshold=0.1,
        fingerprint="0000000000000000",
        starts_at=now,
        ends_at=None,
        window_start=now - 3600,
        window_end=now,
        groups=(
            {
                "group": "female",
                "n": 1200,
                "n_labeled": 900,
                "rates": {"selection_rate": 0.31},
                "intervals": {"selection_rate": [0.284, 0.337]},
            },
            {
                "group": "male",
                "n": 2400,
                "n_labeled": 1800,
                "rates": {"selection_rate": 0.433},
                "intervals": {"selection_rate": [0.413, 0.453]},
            },
        ),
        labels={"rule": "fairwatch-test", "test": "true"},
        annotations={"summary": "Test notification from `fairwatch alerts test`; ignore it."},
        extremes={
            "rate": "selection_rate",
            "highest_group": "male",
            "highest_rate": 0.433,
            "lowest_group": "female",
            "lowest_rate": 0.31,
        },
    )
    return Notification(
        receiver=receiver,
        group_key='{test="true"}',
        group_labels={"test": "true"},
        status="firing",
        alerts=(alert,),
        created_at=now,
        test=True,
        evidence={"recent_windows": []},
    )


def send_test_notifications(
    config: AlertingConfig,
    now: float,
    only: set[str] | None = None,
    build: Callable[[ReceiverConfig], Receiver] = build_receiver,
    receivers: Mapping[str, Receiver] | None = None,
) -> list[ProbeResult]:
    results = []
    for receiver_config in config.receivers:
        name = receiver_config.name
        if only and name not in only:
            continue
        try:
            receiver = receivers[name] if receivers is not None else build(receiver_config)
        except ConfigError as error:
            results.append(ProbeResult(name, receiver_config.type, False, str(error), "config"))
            continue
        try:
            context = DeliveryContext(idempotency_key=f"fairwatch-test-{name}-{int(now)}", now=now)
            result = receiver.send(probe_notification(name, now), context)
            results.append(ProbeResult(name, receiver_config.type, True, result.detail or "ok"))
        except ReceiverError as error:
            results.append(ProbeResult(name, receiver_config.type, False, str(error), error.kind))
        finally:
            if receivers is None:
                receiver.close()
    return results
