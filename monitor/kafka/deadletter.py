"""The dead-letter topic: every rejected record, byte for byte, with the reason in headers.

A dead letter's value and key are the original record's, unchanged. Headers (UTF-8):
``fairwatch.reason`` (the value of its :class:`monitor.stream.decode.Reason`, e.g.
``invalid_json``), ``fairwatch.detail`` (a readable explanation),
``fairwatch.source.topic``, ``fairwatch.source.partition`` and ``fairwatch.source.offset``.

Delivery is at least once: the daemon calls :meth:`KafkaDeadLetters.flush` before each
checkpoint and does not checkpoint until every dead letter is acknowledged, so a crash replays
the records and sends their dead letters again rather than losing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from monitor.config import KafkaSettings
from monitor.kafka.connection import create_client, kafka_client_settings
from monitor.stream.decode import InvalidEvent

logger = logging.getLogger(__name__)

HEADER_REASON = "fairwatch.reason"
HEADER_DETAIL = "fairwatch.detail"


def headers(error: InvalidEvent) -> list[tuple[str, bytes]]:
    """The dead-letter headers of a rejected record."""
    record = error.record
    return [
        (HEADER_REASON, error.reason.encode()),
        (HEADER_DETAIL, error.detail.encode("utf-8", "replace")),
        ("fairwatch.source.topic", record.topic.encode()),
        ("fairwatch.source.partition", str(record.partition).encode()),
        ("fairwatch.source.offset", str(record.offset).encode()),
    ]


class KafkaDeadLetters:
    """Produces dead letters to the configured topic with kafka-python (acks=all): the
    :class:`monitor.types.DeadLetters` of ``fairwatch run``.

    The producer is created when the first dead letter comes. No call blocks for more than
    ``connect_timeout`` seconds while the cluster is away: creating the producer gives up after
    that (and is tried again ``retry_interval`` seconds later; the letters wait), sending waits
    at most that long for metadata.
    """

    def __init__(
        self, settings: KafkaSettings, connect_timeout: float = 2.0, retry_interval: float = 10.0
    ) -> None:
        self.topic = settings.dead_letter_topic
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.retry_interval = retry_interval
        self._retry_at = 0.0
        self._producer: Any = None
        self._unsent: list[InvalidEvent] = []
        self._inflight: list[tuple[InvalidEvent, Any]] = []

    def _ensure_producer(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer

            self._retry_at = time.monotonic() + self.retry_interval
            self._producer = create_client(
                KafkaProducer,
                {
                    "acks": "all",
                    "linger_ms": 20,
                    "max_block_ms": int(self.connect_timeout * 1000),
                    "retries": 5,
                    "reconnect_backoff_max_ms": 2000,
                    "max_request_size": 8 * 1024 * 1024,
                    **kafka_client_settings(self.settings),
                },
                self.connect_timeout,
            )
        return self._producer

    def send(self, errors: Sequence[InvalidEvent]) -> None:
        """Hand dead letters to the producer; any it cannot take now are retried by flush."""
        self._unsent.extend(errors)
        self._send_unsent()

    def _send_unsent(self) -> None:
        if not self._unsent:
            return
        if self._producer is None and time.monotonic() < self._retry_at:
            return  # the last attempt to connect failed: the letters wait for the next one
        try:
            producer = self._ensure_producer()
        except Exception as failure:
            logger.warning("event=dead_letter_producer_unavailable error=%s", failure)
            return
        waiting, self._unsent = self._unsent, []
        for position, letter in enumerate(waiting):
            try:
                future = producer.send(
                    self.topic,
                    value=letter.record.value or b"",
                    key=letter.record.key,
                    headers=headers(letter),
                )
            except Exception as failure:
                logger.warning("event=dead_letter_send_failed error=%s", failure)
                self._unsent.extend(waiting[position:])
                return
            self._inflight.append((letter, future))

    def flush(self, timeout: float) -> bool:
        """Wait until every dead letter so far is acknowledged; False if some are not (yet)."""
        self._send_unsent()
        if self._producer is not None and self._inflight:
            try:
                self._producer.flush(timeout=timeout)
            except Exception as failure:
                logger.warning("event=dead_letter_flush_failed error=%s", failure)
        still: list[tuple[InvalidEvent, Any]] = []
        for letter, future in self._inflight:
            if not future.is_done:
                still.append((letter, future))
            elif future.failed():
                self._unsent.append(letter)
        self._inflight = still
        return not self._unsent and not self._inflight

    def close(self, timeout: float = 2.0) -> None:
        """Close the producer, waiting at most ``timeout`` seconds for letters in flight (they
        are not acknowledged, so the checkpoint did not pass them: they are sent again)."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=timeout)
            finally:
                self._producer = None
