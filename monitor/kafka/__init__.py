"""Kafka connectors: the event source (in process, or in a consumer process), its consumer group
(:mod:`~monitor.kafka.group`) and start errors (:mod:`~monitor.kafka.errors`), the dead-letter
producer, and the rate-limited connection log."""
