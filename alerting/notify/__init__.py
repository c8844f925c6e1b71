"""The notification path as small composed stages (``alerting.types.Stage``), one module each.

``mute`` (silences) → ``dedup`` (the notification log; ``trigger`` for the retraining receiver:
once per episode, cooldown) → ``snapshot`` (the ``Notification`` receivers see) → ``key``
(idempotency key) → ``enqueue`` (the durable outbox). ``pipeline`` composes them for routed
receivers, the retraining receiver and the advice topic; ``batch`` is what flows between them.
"""

from alerting.notify.batch import Batch
from alerting.notify.pipeline import Pipeline, advice, retraining, routed

__all__ = ["Batch", "Pipeline", "advice", "retraining", "routed"]
