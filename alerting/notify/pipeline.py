"""The notification path: stages run in order until one stops the batch.

After Alertmanager's ``notify`` package (a ``MultiStage`` of small stages, each handed the
alerts and the time): the routed receivers and the retraining receiver share the mute, snapshot,
idempotency-key and enqueue stages and differ in their dedup.

=================  ============================================================================
routed receivers   Mute → Notifiable → Dedup (notification log) → Snapshot → IdempotencyKey
                   → Queue (written with the tick's other groups)
retraining         OncePerEpisode → Mute → Cooldown → Snapshot (with evidence) → IdempotencyKey
                   → QueueTrigger (written at once, with the episode and the cooldown)
advice topic       OncePerEpisode → Mute → Snapshot → IdempotencyKey → QueueTrigger
=================  ============================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

from alerting.notify.batch import Batch
from alerting.notify.dedup import Dedup
from alerting.notify.enqueue import Queue, QueueTrigger
from alerting.notify.key import IdempotencyKey
from alerting.notify.mute import Mute, Notifiable
from alerting.notify.snapshot import Snapshot
from alerting.notify.trigger import Cooldown, OncePerEpisode
from alerting.store import AlertStore
from alerting.types import Stage
from monitor.counters import Counters


class Pipeline:
    """Stages run in order; a stage returning ``None`` stops the batch (itself a ``Stage``)."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    def process(self, batch: Batch) -> Batch | None:
        current: Batch | None = batch
        for stage in self.stages:
            if current is None:
                break
            current = stage.process(current)
        return current


def routed(store: AlertStore, counters: Counters, queue: Queue) -> Pipeline:
    """The path of an aggregation group's notification to a routed receiver."""
    return Pipeline(
        [
            Mute(store, counters),
            Notifiable(),
            Dedup(store, counters),
            Snapshot(),
            IdempotencyKey(),
            queue,
        ]
    )


def retraining(store: AlertStore, counters: Counters, cooldown: float) -> Pipeline:
    """The path of a firing alert's retraining trigger to one retraining receiver."""
    return Pipeline(
        [
            OncePerEpisode(store),
            Mute(store, counters),
            Cooldown(store, cooldown, counters),
            Snapshot(evidence=True),
            IdempotencyKey(),
            QueueTrigger(store),
        ]
    )


def advice(store: AlertStore, counters: Counters) -> Pipeline:
    """The path of a firing alert's advice to the advice topic (one message per episode)."""
    return Pipeline(
        [
            OncePerEpisode(store),
            Mute(store, counters),
            Snapshot(),
            IdempotencyKey(),
            QueueTrigger(store, event="advice_queued"),
        ]
    )
