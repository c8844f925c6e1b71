"""The advice topic against the real Kafka broker, wired as ``fairwatch run`` wires it
(:func:`fairwatch.app.build_alerting`): one message per firing, keyed by model, on a topic
fairwatch creates compacted; the same advice as the webhook's (a real HTTP server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from alerting.tickers import ManualTicker
from fairwatch.advice_topic import KafkaMessageProducer, cleanup_policy
from fairwatch.app import build_alerting
from monitor.config import MonitorConfig
from monitor.config.kafka import KafkaSettings
from tests.alerting.alert_builders import HOUR, T0
from tests.alerting.alert_servers import RecordingServer, Reply, always
from tests.monitor.engine.advice_windows import scored_rows, window_of

MODEL = "credit-v3"


def monitor_config(tmp_path: Path, bootstrap: str, topic: str, hook: str) -> MonitorConfig:
    return MonitorConfig.model_validate(
        {
            "kafka": {"bootstrap_servers": bootstrap},
            "sensitive": {"attributes": ["sex"]},
            "state_dir": str(tmp_path / "state"),
            "embedded_sink": {"path": str(tmp_path / "metrics.sqlite")},
            "engine": {"bootstrap_samples": 100},
            "alerting": {
                "rules": [
                    {
                        "name": "dp",
                        "selector": {"attribute": "sex"},
                        "condition": "demographic_parity_difference > 0.10",
                        "clear_threshold": 0.08,
                        "for": "2 evaluations",
                        "receivers": ["hook"],
                    }
                ],
                "receivers": [{"type": "webhook", "name": "hook", "url": hook}],
                "routing": {"group_wait": "30s"},
                "advice": {"topic": topic, "retry": {"initial_backoff": "1s"}},
            },
        }
    )


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout * 1000),
    )
    messages = []
    try:
        for message in consumer:
            messages.append(message)
            if len(messages) >= expected:
                # one more short poll: nothing else may follow
                extra = consumer.poll(timeout_ms=1000)
                messages.extend(record for batch in extra.values() for record in batch)
                break
    finally:
        consumer.close()
    return messages


def topic_policy(bootstrap: str, topic: str) -> str | None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fairwatch-tests")
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=["cleanup.policy"])
        return cleanup_policy(admin.describe_configs([resource], config_filter="all"), topic)
    finally:
        admin.close()


def test_the_advice_of_a_firing_alert_is_published_once_keyed_by_model(
    tmp_path: Path,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    http_server: Callable[..., RecordingServer],
) -> None:
    hook = http_server(always(Reply(200)))
    topic = unique_name("advice")
    config = monitor_config(tmp_path, kafka_bootstrap, topic, hook.url)
    ticker = ManualTicker(T0, every=60.0)
    alerting = build_alerting(config, ticker=ticker)
    manager = alerting.manager
    engine = config.engine
    # fires at the second window, still firing at the third: one message
    for index, seed in enumerate((0, 1, 2)):
        end = T0 + (index + 1) * HOUR
        window = window_of(scored_rows(seed=seed), engine, MODEL, "sex", window_end=end)
        manager.on_evaluations([window], end, end)
    manager.tick(T0 + 3 * HOUR + 30)
    manager.tick(T0 + 3 * HOUR + 60)
    manager.stop()

    (request,) = hook.requests
    advice = request.json()["advice"]
    assert advice["status"] == "advised"
    assert advice["window_end"] == "2023-11-15T00:13:20+00:00"  # the window that fired
    (message,) = consume(kafka_bootstrap, topic, expected=1)
    assert message.key == MODEL.encode()
    value = orjson.loads(message.value)
    assert (value["type"], value["model_id"], value["rule"], value["version"]) == (
        "threshold_advice",
        MODEL,
        "dp",
        "1",
    )
    assert value["advice"] == advice
    assert value["fingerprint"] == request.json()["fingerprint"]
    assert topic_policy(kafka_bootstrap, topic) == "compact"  # created compacted


def test_an_existing_topic_is_used_as_it_is(
    kafka_bootstrap: str, kafka_topic: Callable[..., str]
) -> None:
    topic = kafka_topic(partitions=1)  # not compacted: published to all the same (warned)
    producer = KafkaMessageProducer(KafkaSettings(bootstrap_servers=[kafka_bootstrap]))
    producer.publish(topic, b"m", b'{"advice": 1}')
    producer.close()
    (message,) = consume(kafka_bootstrap, topic, expected=1)
    assert (message.key, message.value) == (b"m", b'{"advice": 1}')
    assert topic_policy(kafka_bootstrap, topic) == "delete"


@pytest.mark.parametrize("bootstrap", ["127.0.0.1:1"])
def test_an_unreachable_broker_raises_so_the_outbox_retries(bootstrap: str) -> None:
    producer = KafkaMessageProducer(KafkaSettings(bootstrap_servers=[bootstrap]), timeout=1.0)
    with pytest.raises(Exception):  # noqa: B017 - kafka-python's timeout error
        producer.publish("advice", b"m", b"{}")
    producer.close()
