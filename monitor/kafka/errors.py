"""Why a Kafka source cannot run; each message says what to fix (``fairwatch run`` prints it)."""

from __future__ import annotations

from monitor.config import KafkaSettings


class SourceError(Exception):
    """The source cannot run; the message says what to fix."""


class GroupConflictError(SourceError):
    """Another instance consumes in the same consumer group."""


class KafkaUnreachableError(SourceError):
    """No broker answered within ``kafka.startup_timeout`` at start."""


def unreachable_message(settings: KafkaSettings) -> str:
    """The one line ``fairwatch run`` prints when the cluster did not answer at start."""
    return (
        f"cannot reach Kafka at {','.join(settings.bootstrap_servers)} within "
        f"{settings.startup_timeout:g}s (kafka.startup_timeout); check kafka.bootstrap_servers"
    )
