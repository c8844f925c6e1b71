"""A running source through a rebalance of its consumer group (integration, a real broker).

kafka-python (3.0) mishandles a JoinGroup/SyncGroup round trip that completes while no poll is
waiting for it (see :mod:`monitor.kafka.source`): it throws it away and joins again, or never waits
for it again. Here the round trip is made slower than a poll while the caller works between polls,
as the pipeline does, or never completes; the source must get its partitions back and hand out
what was produced meanwhile. The coordinator removes the member to start the rebalance, as when
its session expired on a starved host: at its next heartbeat (every 3 s) the consumer joins again.
And a start is not followed by a second rebalance, which kafka-python would start by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import MonitorConfig
from monitor.kafka import source as source_module
from monitor.kafka.group import leave_group
from monitor.kafka.source import KafkaSource
from tests.monitor.kafka.test_consumer_process import kafka_config, predictions
from tests.monitor.stream.conftest import produce

SLOW_JOIN = 0.2  # seconds a join round trip takes, longer than a poll (kafka.poll_timeout_ms 100)
WORK = 0.5  # seconds the caller works between two polls


@pytest.fixture
def config(tmp_path: Path, kafka_bootstrap: str, kafka_topic: Callable[..., str]) -> MonitorConfig:
    return kafka_config(
        tmp_path, kafka_bootstrap, kafka_topic(2, "predictions"), kafka_topic(1, "labels")
    )


@pytest.fixture
def source(config: MonitorConfig) -> Iterator[KafkaSource]:
    source = KafkaSource(config.kafka, "instance")
    source.start({})
    yield source
    source.close(timeout=5)


def slow_joins(source: KafkaSource, monkeypatch: pytest.MonkeyPatch, delay: float) -> list[bool]:
    """Make every join round trip of ``source``'s consumer take ``delay`` seconds more; returns
    whether the source was ready at the start of each (kafka-python's internals: the one place a
    join can be slowed down without slowing the broker)."""
    coordinator = source._consumer._coordinator
    join = coordinator._do_join_and_sync_async
    ready: list[bool] = []

    async def slow_join() -> Any:
        ready.append(source.is_ready())
        assignment = await join()
        await coordinator._manager._net.sleep(delay)
        return assignment

    monkeypatch.setattr(coordinator, "_do_join_and_sync_async", slow_join)
    return ready


class Caller:
    """Polls ``source`` as the pipeline does: ``WORK`` seconds of work after each poll."""

    def __init__(self, source: KafkaSource, config: MonitorConfig) -> None:
        self.source = source
        self.max_records = config.kafka.max_poll_records
        self.received: list[Any] = []

    def poll_until(self, condition: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            self.received.extend(self.source.poll(self.max_records, 0.1))
            time.sleep(WORK)


def test_a_rebalance_completes_when_a_join_takes_longer_than_a_poll(
    kafka_bootstrap: str,
    config: MonitorConfig,
    source: KafkaSource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert source.is_ready()
    joins = slow_joins(source, monkeypatch, SLOW_JOIN)
    caller = Caller(source, config)
    leave_group(config.kafka, "instance", 5.0)
    caller.poll_until(lambda: bool(joins), 15)
    assert joins, "no rebalance within 15s"
    produce(kafka_bootstrap, config.kafka.predictions_topic, predictions("r", 20))
    caller.poll_until(lambda: len(caller.received) >= 20, 30)
    assert len(caller.received) == 20, f"{len(joins)} joins in 30s, ready {source.is_ready()}"
    assert not joins[0]  # not ready while the group rebalanced
    assert source.is_ready()
    assert len(joins) <= 3  # not one rebalance after another


def test_a_consumer_whose_rebalance_never_completes_is_replaced(
    kafka_bootstrap: str,
    config: MonitorConfig,
    source: KafkaSource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(source_module, "REJOIN_TIMEOUT", 3.0)
    joins = slow_joins(source, monkeypatch, 3600)  # as a join nothing waits for any more
    caller = Caller(source, config)
    leave_group(config.kafka, "instance", 5.0)
    caller.poll_until(lambda: bool(joins), 15)
    assert joins, "no rebalance within 15s"
    produce(kafka_bootstrap, config.kafka.predictions_topic, predictions("h", 20))
    caller.poll_until(lambda: len(caller.received) >= 20, 30)
    assert len(caller.received) == 20, f"ready {source.is_ready()}"
    assert source.is_ready()


def test_a_start_is_not_followed_by_a_second_rebalance(
    config: MonitorConfig, source: KafkaSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kafka-python rebalances again when the topics' metadata it noted at the first join was
    # stale; each rebalance is a chance to lose the join on a busy host
    joins = slow_joins(source, monkeypatch, 0.0)
    Caller(source, config).poll_until(lambda: False, 3)  # the first metadata refresh comes
    assert joins == []
    assert source.is_ready()
