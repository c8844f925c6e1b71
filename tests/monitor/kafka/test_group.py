"""The consumer group of the Kafka source: the static member id and the conflict message."""

from __future__ import annotations

from monitor.config import KafkaSettings
from monitor.kafka.group import conflict_message, default_instance_id


def test_instance_id_is_stable_per_state_directory() -> None:
    settings = KafkaSettings(group_id="g")
    first = default_instance_id(settings, "/var/lib/fairwatch")
    assert first == default_instance_id(settings, "/var/lib/fairwatch/")
    assert first != default_instance_id(settings, "/var/lib/other")
    assert default_instance_id(KafkaSettings(instance_id="fixed"), "/x") == "fixed"


def test_the_conflict_message_says_how_many_partitions_were_assigned_and_what_to_do() -> None:
    message = conflict_message("g", {1, 2}, {1, 2, 3, 4}, ["predictions", "labels"])
    assert "consumer group 'g'" in message
    assert "assigned 2 of the 4 partitions of ['predictions', 'labels']" in message
    assert "another kafka.group_id and state_dir" in message
