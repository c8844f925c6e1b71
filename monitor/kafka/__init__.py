"""Kafka connectors: the event source (in-process or in a consumer process), the dead-letter
producer, and the rate-limited connection log."""
