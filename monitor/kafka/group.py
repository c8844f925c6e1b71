"""The consumer group of a Kafka source: its static member id, the checks made when it joins
(co-partitioned topics, a second instance), and leaving the group when it closes."""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any

from monitor.config import KafkaSettings
from monitor.kafka.connection import create_client, kafka_client_settings

logger = logging.getLogger(__name__)


def default_instance_id(settings: KafkaSettings, state_dir: str) -> str:
    """A group.instance.id stable across restarts of one deployment: the group, the host and
    the state directory (a second instance elsewhere gets another id and is detected)."""
    if settings.instance_id:
        return settings.instance_id
    digest = hashlib.sha1(str(Path(state_dir).resolve()).encode()).hexdigest()[:10]
    return f"{settings.group_id}-{socket.gethostname()}-{digest}"


def log_co_partitioning(counts: Mapping[str, int], topics: Sequence[str]) -> None:
    """Log whether the prediction and label topics (``topics``, in that order) have the same
    number of partitions (``counts`` by topic), so that a key lands in the same partition."""
    predictions, labels = (counts[topic] for topic in topics)
    if predictions == labels:
        logger.info(
            "event=co_partitioning_checked predictions_partitions=%d labels_partitions=%d "
            "co_partitioned=true",
            predictions,
            labels,
        )
    else:
        logger.warning(
            "event=co_partitioning_checked predictions_partitions=%d labels_partitions=%d "
            "co_partitioned=false note=a_single_instance_still_joins_correctly_but_the_"
            "topics_cannot_be_split_across_instances",
            predictions,
            labels,
        )


def conflict_message(
    group_id: str, assigned: Set[Any], partitions: Set[Any], topics: Sequence[str]
) -> str:
    """What :class:`monitor.kafka.errors.GroupConflictError` says: this instance was assigned
    only some of the ``partitions`` of ``topics``."""
    return (
        f"another instance is consuming in consumer group {group_id!r}: this "
        f"instance was assigned {len(assigned)} of the {len(partitions)} partitions "
        f"of {list(topics)}. Counts are not yet merged across instances, so a second "
        "instance would publish partial metrics; stop the other instance or give this one "
        "another kafka.group_id and state_dir."
    )


def leave_group(settings: KafkaSettings, instance_id: str, timeout: float) -> None:
    """Remove the static member ``instance_id`` from the group within about ``timeout`` seconds
    (else its partitions stay assigned to it until its session times out); failures are only
    logged (the session timeout removes it anyway)."""
    try:
        from kafka.admin import KafkaAdminClient, MemberToRemove

        milliseconds = max(100, int(timeout * 1000 / 2))
        admin = create_client(
            KafkaAdminClient,
            {"request_timeout_ms": milliseconds, **kafka_client_settings(settings)},
            timeout / 2,
        )
        try:
            admin.remove_group_members(
                settings.group_id, [MemberToRemove(group_instance_id=instance_id)]
            )
        finally:
            admin.close()
        logger.info("event=left_group group=%s instance=%s", settings.group_id, instance_id)
    except Exception as error:  # the session timeout removes it anyway
        logger.warning("event=leave_group_failed error=%s", error)
