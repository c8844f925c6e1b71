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


def sink_tables(config: MonitorConfig, job: JobOptions) -> str:
    dead_letters = {
        "connector": "kafka",
        "topic": config.kafka.dead_letter_topic,
        **kafka_properties(config),
        "key.format": "raw",
        "key.fields": "record_key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }
    panes = {
        "connector": "upsert-kafka",
        "topic": job.pane_topic,
        **kafka_properties(config),
        "key.format": "json",
        "value.format": "json",
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
  model_id STRING NOT NULL,
  pane_seconds DOUBLE NOT NULL,
  pane_start DOUBLE NOT NULL,
  attribute STRING NOT NULL,
  group_name STRING NOT NULL,
  {counts},
  PRIMARY KEY (model_id, pane_seconds, pane_start, attribute, group_name) NOT ENFORCED
) WITH (
{options(panes)}
);"""
