"""The interfaces of the alert manager's parts (STYLE.md: Protocols live in one types.py).

* ``Clock`` and ``Ticker``: what drives the manager's timers. The manager never reads a clock
  itself; a ticker calls ``tick(now)`` periodically (``alerting.tickers``: a scheduler thread on
  the wall clock for ``fairwatch run``, a clock moved by hand for replays and tests).
* ``Receiver``: one notification integration (``alerting.receivers``); ``MessageProducer``: what
  the advice topic publishes with (Kafka, built by the composition root).
* ``Stage``: one step of the notification path (``alerting.notify``), and the views of the store
  the stages read and write (``SilenceSource``, ``NotificationLog``, ``TriggerLog``; all
  implemented by ``alerting.store.AlertStore``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from alerting.dedup import LogEntry
    from alerting.model import Notification
    from alerting.notify.batch import Batch
    from alerting.receivers import ReceiverConfig
    from alerting.receivers.common import DeliveryContext, DeliveryResult, ReceiverConfigBase
    from alerting.silences import Silence
    from alerting.store import Enqueue

#: Returns the current time (epoch seconds): ``time.time``, or a replay's event time.
Clock = Callable[[], float]

#: The alert manager's ``tick(now)``: flush due groups, deliver due notifications; returns how
#: many were delivered.
Tick = Callable[[float], int]


class Ticker(Protocol):
    """Calls ``tick(now)`` periodically between ``start`` and ``stop``; ``now`` is the moment
    of each tick on the ticker's own clock."""

    def start(self, tick: Tick) -> None:
        """Begin calling ``tick``; calling it again while started changes nothing."""

    def stop(self) -> None:
        """Stop calling ``tick`` (waiting for a call under way)."""


class Receiver(Protocol):
    """One notification integration (Slack, PagerDuty, webhook, retraining)."""

    name: str
    kind: Literal["notify", "retrain"]

    @property
    def config(self) -> ReceiverConfigBase: ...

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        """Deliver once or raise ``ReceiverError`` (never retries itself)."""

    def close(self) -> None: ...


class MessageProducer(Protocol):
    """Publishes messages to a topic (``fairwatch.advice_topic.KafkaMessageProducer``)."""

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Send one message and wait for the broker's acknowledgement; raise on failure."""

    def close(self) -> None: ...


#: Builds the receiver of one ``alerting.receivers`` config (``build_receiver``, or a replay's
#: recording receiver).
ReceiverFactory = Callable[["ReceiverConfig"], Receiver]


class Stage(Protocol):
    """One step of the notification path: returns the batch to hand to the next stage (perhaps
    with fewer alerts, or with what the stage found out), or ``None`` to stop: nothing is sent."""

    def process(self, batch: Batch) -> Batch | None: ...


class SilenceSource(Protocol):
    """Where the silences are kept (``fairwatch silence`` edits them while the daemon runs)."""

    def silences(self, now: float | None = None, include_expired: bool = True) -> list[Silence]:
        """The silences not yet expired at ``now`` (all of them with ``include_expired``)."""


class NotificationLog(Protocol):
    """What was last notified of each alert group to each receiver."""

    def log_entry(self, receiver: str, group_key: str) -> LogEntry | None: ...


class TriggerLog(Protocol):
    """The retraining triggers: which alert episodes triggered a receiver, and when each model
    last did."""

    def episode_seen(self, receiver: str, episode: str) -> bool: ...

    def last_trigger(self, receiver: str, model_id: str) -> float | None: ...

    def enqueue_trigger(self, item: Enqueue, model_id: str, episode: str, now: float) -> None:
        """Queue ``item`` and record the trigger (episode, cooldown) in one transaction."""
