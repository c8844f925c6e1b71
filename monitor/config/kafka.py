"""The ``kafka:`` section: brokers, topics, the consumer group and the consumer's tuning."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from monitor.config.durations import Duration
from monitor.config.sections import Section


class KafkaSettings(Section):
    bootstrap_servers: list[str] = Field(default_factory=lambda: ["localhost:9092"])
    group_id: str = "fairwatch"
    client_id: str = "fairwatch"
    predictions_topic: str = "predictions"
    labels_topic: str = "labels"
    dead_letter_topic: str = "fairwatch-dead-letter"
    # What the daemon reads: the prediction and label events (``events``, it counts them itself),
    # or the pane counts a counting tier (the Flink job of ``fairwatch flink render``) writes to
    # ``pane_topic`` (``pane_counts``: it only evaluates them; docs/scaling.md).
    mode: Literal["events", "pane_counts"] = "events"
    pane_topic: str = "fairwatch-pane-counts"
    # Static group membership (group.instance.id): a restarted instance takes its partitions back
    # at once instead of waiting for the session of the crashed one to time out. Default:
    # derived from group_id, the host name and the state directory.
    instance_id: str | None = None
    session_timeout_ms: int = Field(default=15000, ge=1000)
    # How long `fairwatch run` waits for the broker at start before it exits with code 4
    startup_timeout: Duration = Field(default=60.0, gt=0.0)
    # Run the consumer in a child process so fetching overlaps with counting
    # (monitor/kafka/consumer_process.py)
    consumer_process: bool = True
    max_poll_records: int = Field(default=20000, ge=1)
    poll_timeout_ms: int = Field(default=200, ge=1)
    # Passed unchanged to kafka-python's consumer, producer and admin client, e.g.
    # security_protocol, sasl_mechanism, sasl_plain_username, sasl_plain_password, ssl_cafile.
    security: dict[str, Any] = Field(default_factory=dict)

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
