"""The notification path as small composed stages (``alerting.types.Stage``), one module each.

``mute`` (silences) → ``dedup`` (the notification log; ``trigger`` for the retraining receiver:
once per episode, cooldown) → ``snapshot`` (the ``Notification`` receivers see) → ``key``
(idempotency key) → ``enqueue`` (the durable outbox). ``pipeline`` composes them for routed
receivers and for the retraining receiver; ``batch`` is what flows between them.
"""

from alerting.notify.batch import Batch
from alerting.notify.pipeline import Pipeline, retraining, routed

__all__ = ["Batch", "Pipeline", "retraining", "routed"]
