"""The Kafka producer of the advice topic (``alerting.advice``), with the daemon's Kafka settings.

The composition root (:func:`fairwatch.app.build_alerting`) hands it to the alert manager, whose
outbox calls :meth:`KafkaMessageProducer.publish` from its delivery tick (never on the pipeline's
thread): one message at a time, acknowledged by every in-sync replica (``acks=all``) or raised,
so the outbox retries it. The producer connects at the first message, and first creates the
topic when it is missing, compacted (``cleanup.policy=compact``: the latest advice of each model
is kept), with the broker's default partitions and replication.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from monitor.config.kafka import KafkaSettings
from monitor.kafka.connection import create_client
from monitor.kafka.source import kafka_client_settings

logger = logging.getLogger(__name__)

#: The topic's configuration when fairwatch creates it.
TOPIC_CONFIG = {"cleanup.policy": "compact"}


class KafkaMessageProducer:
    """``publish(topic, key, value)`` with kafka-python; waits at most ``timeout`` seconds for
    the cluster and for each acknowledgement."""

    def __init__(self, settings: KafkaSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._producer: Any = None
        self._topics: set[str] = set()
        self._lock = threading.Lock()

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        with self._lock:
            producer = self._ensure_producer()
            if topic not in self._topics:
                self._ensure_topic(topic)
                self._topics.add(topic)
            producer.send(topic, key=key, value=value).get(timeout=self.timeout)

    def _ensure_producer(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = create_client(
                KafkaProducer,
                {
                    "acks": "all",
                    "max_block_ms": int(self.timeout * 1000),
                    "retries": 3,
                    "reconnect_backoff_max_ms": 2000,
                    **kafka_client_settings(self.settings),
                },
                self.timeout,
            )
        return self._producer

    def _ensure_topic(self, topic: str) -> None:
        """Create ``topic`` compacted when it does not exist (an existing topic is left as it
        is: a warning says when it is not compacted)."""
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = create_client(KafkaAdminClient, kafka_client_settings(self.settings), self.timeout)
        try:
            try:
                admin.create_topics([NewTopic(topic, topic_configs=dict(TOPIC_CONFIG))])
                logger.info("event=advice_topic_created topic=%s cleanup_policy=compact", topic)
                return
            except TopicAlreadyExistsError:
                pass
            resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=["cleanup.policy"])
            policy = cleanup_policy(admin.describe_configs([resource], config_filter="all"), topic)
            if policy is not None and "compact" not in policy:
                logger.warning(
                    "event=advice_topic_not_compacted topic=%s cleanup_policy=%s "
                    "action=publishing_anyway",
                    topic,
                    policy,
                )
        finally:
            admin.close()

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                try:
                    self._producer.close(timeout=self.timeout)
                finally:
                    self._producer = None


def cleanup_policy(described: Any, topic: str) -> str | None:
    """The ``cleanup.policy`` of ``topic`` in kafka-python's ``describe_configs`` answer
    (``{"topic": {name: {config: {"value": …}}}}``); None when absent."""
    try:
        return str(described["topic"][topic]["cleanup.policy"]["value"])
    except (KeyError, TypeError):
        return None
