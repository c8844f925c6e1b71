"""The Kafka tables of the Flink job: the two sources read as raw bytes, the dead-letter topic
and the upsert topic of the pane counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fairwatch.flink.sql import identifier, options
from monitor.config import MonitorConfig

if TYPE_CHECKING:
    from fairwatch.flink.job import JobOptions

KAFKA_SECURITY = {
    "security_protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "ssl_cafile": "ssl.truststore.location",
}


SINK_BUFFER_ROWS = 10_000
TRANSACTION_TIMEOUT_MS = 900_000


class RenderError(ValueError):
    """The configuration cannot be expressed as a Flink job; the message says which key."""


def kafka_properties(config: MonitorConfig) -> dict[str, str]:
    """``properties.*`` of every Kafka table: the brokers and kafka.security, in Java names."""
    kafka = config.kafka
    settings = {"properties.bootstrap.servers": ",".join(kafka.bootstrap_servers)}
    security = dict(kafka.security)
    user = security.pop("sasl_plain_username", None)
    password = security.pop("sasl_plain_password", None)
    for key, value in security.items():
        if key not in KAFKA_SECURITY:
            raise RenderError(
                f"kafka.security.{key}: not translated to the Flink job; set "
                f"'properties.<java name>' in the rendered SQL by hand (known: "
                f"{', '.join(sorted([*KAFKA_SECURITY, 'sasl_plain_username']))})"
            )
        settings[f"properties.{KAFKA_SECURITY[key]}"] = str(value)
        if key == "ssl_cafile":
            settings["properties.ssl.truststore.type"] = "PEM"
    if user is not None:
        module = (
            "org.apache.kafka.common.security.scram.ScramLoginModule"
            if str(security.get("sasl_mechanism", "PLAIN")).startswith("SCRAM")
            else "org.apache.kafka.common.security.plain.PlainLoginModule"
        )
        settings["properties.sasl.jaas.config"] = (
            f'{module} required username="{user}" password="{password or ""}";'
        )
    return settings


def source_table(name: str, topic: str, group_id: str, config: MonitorConfig) -> str:
    settings = {
        "connector": "kafka",
        "topic": topic,
        **kafka_properties(config),
        "properties.group.id": group_id,
        "properties.auto.offset.reset": "earliest",
        "scan.startup.mode": "group-offsets",
        "key.format": "raw",
        "key.fields": "record_key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }
    return f"""CREATE TEMPORARY TABLE {identifier(name)} (
  record_key BYTES,
  record_value BYTES,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  arrived AS PROCTIME()
) WITH (
{options(settings)}
);"""


def sink_tables(config: MonitorConfig, job: JobOptions, group_id: str) -> str:
    """The dead-letter table and the pane topic's upsert table (keys: JSON text built by
    :mod:`fairwatch.flink.panes`; values: JSON without null members), both written in Kafka
    transactions when the delivery is exactly once."""
    prefix = job.transactional_id_prefix or group_id
    dead_letters = {
        "connector": "kafka",
        "topic": config.kafka.dead_letter_topic,
        **kafka_properties(config),
        "key.format": "raw",
        "key.fields": "record_key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        **delivery(job, f"{prefix}-dead-letters"),
    }
    panes = {
        "connector": "upsert-kafka",
        "topic": job.pane_topic or config.kafka.pane_topic,
        **kafka_properties(config),
        "key.format": "raw",
        "value.format": "json",
        "value.json.encode.ignore-null-fields": "true",
        "value.fields-include": "EXCEPT_KEY",
        # one writer: each checkpoint's pane counts and progress in one transaction
        "sink.parallelism": "1",
        # the latest value per key is written once per flush, not once per update
        "sink.buffer-flush.max-rows": str(SINK_BUFFER_ROWS),
        "sink.buffer-flush.interval": "1 s",
        **delivery(job, f"{prefix}-panes"),
    }
    counts = ",\n  ".join(
        f"{name} BIGINT" for name in ("n", "predicted_positive", "tp", "fp", "tn", "fn")
    )
    return f"""CREATE TEMPORARY TABLE fairwatch_dead_letters (
  record_key BYTES,
  record_value BYTES,
  headers MAP<STRING, BYTES> METADATA
) WITH (
{options(dead_letters)}
);

CREATE TEMPORARY TABLE fairwatch_pane_counts (
  record_key STRING NOT NULL,
  {counts},
  score_histogram ARRAY<ARRAY<BIGINT>>,
  score_offsets ARRAY<BIGINT>,
  score_predictions ARRAY<BIGINT>,
  event_time DOUBLE,
  `offset` BIGINT,
  PRIMARY KEY (record_key) NOT ENFORCED
) WITH (
{options(panes)}
);"""


def delivery(job: JobOptions, transactional_id_prefix: str) -> dict[str, str]:
    """A sink's delivery guarantee; exactly once writes transactions named by the prefix."""
    if job.delivery == "at-least-once":
        return {"sink.delivery-guarantee": "at-least-once"}
    return {
        "sink.delivery-guarantee": "exactly-once",
        "sink.transactional-id-prefix": transactional_id_prefix,
        # below the brokers' transaction.max.timeout.ms (15 min by default); Flink's own
        # default (1 h) is refused by a broker left at its defaults
        "properties.transaction.timeout.ms": str(TRANSACTION_TIMEOUT_MS),
    }
